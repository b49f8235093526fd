"""Strings and paths the code computes from literals alone: what a name bound
to one at a notebook's top level holds (``datapath = os.path.join("datasets",
"lifesat", "")``), and the value of an expression over literals and such names
(``datapath + "oecd_bli_2015.csv"``, ``Path(DATA) / "train.csv"``, f-strings).

What a reader is given is then a file the notebook reads, although no literal
names it whole: it is copied into the project like any other input.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

import libcst as cst

from nbprod.convert.analysis.nodes import (
    bound_names,
    descendants,
    dotted,
    literal_value,
    target_names,
)
from nbprod.convert.analysis.resolve import CallSite

_PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"})

# name -> (the string, whether it is a pathlib path)
Known = Mapping[str, tuple[str, bool]]


def forget(constants: dict[str, tuple[str, bool]], stmt: cst.BaseStatement) -> None:
    """Names ``stmt`` may bind hold no known string any more."""
    for name in _may_bind(stmt):
        constants.pop(name, None)


def _may_bind(stmt: cst.BaseStatement) -> set[str]:
    """Every name ``stmt`` binds on some path: loop and ``with`` targets, nested
    assignments, definitions, imports, ``del``, ``:=`` (not a comprehension's
    own names)."""
    found = set(bound_names(stmt))
    for node in descendants(stmt):
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.For):
            targets.append(node.target)
        elif isinstance(node, cst.AsName):
            targets.append(node.name)
        elif isinstance(node, cst.Assign):
            targets += [t.target for t in node.targets]
        elif isinstance(node, cst.AugAssign | cst.AnnAssign | cst.NamedExpr):
            targets.append(node.target)
        elif isinstance(node, cst.Del):
            targets.append(node.target)
        elif isinstance(node, cst.FunctionDef | cst.ClassDef):
            found.add(node.name.value)
        elif isinstance(node, cst.ImportAlias) and node.asname is None:
            found.add((dotted(node.name) or "").split(".")[0])
        for target in targets:
            found.update(target_names(target))
    return found


class KnownStrings:
    """The names bound to known strings as the cells above left them, kept up
    to date statement by statement; and folding an expression over them."""

    def __init__(
        self,
        imports: Mapping[str, str],
        calls: Mapping[int, CallSite],
        constants: Known | None = None,
    ) -> None:
        self.imports = imports
        self.calls = calls
        self.constants: dict[str, tuple[str, bool]] = dict(constants or {})

    def bind(self, stmt: cst.BaseStatement) -> None:
        """What the top-level statement ``stmt`` leaves known."""
        forget(self.constants, stmt)
        if (
            isinstance(stmt, cst.SimpleStatementLine)
            and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Assign)
            and len(stmt.body[0].targets) == 1
            and isinstance(target := stmt.body[0].targets[0].target, cst.Name)
        ):
            value = self.fold(stmt.body[0].value)
            if value is not None:
                path = self._is_path(stmt.body[0].value)
                self.constants[target.value] = (value, path)

    def fold(self, node: cst.BaseExpression) -> str | None:
        """The string a path expression computes from literals and names bound
        to such strings: ``+``, ``os.path.join``, ``Path(...)``, ``/``,
        ``joinpath``, ``with_suffix``, ``str()`` and f-strings; else None."""
        ok, value = literal_value(node)
        if ok:
            return value if isinstance(value, str) else None
        if isinstance(node, cst.Name):
            return self.constants.get(node.value, (None, False))[0]
        if isinstance(node, cst.BinaryOperation):
            left, right = self.fold(node.left), self.fold(node.right)
            if left is None or right is None:
                return None
            if isinstance(node.operator, cst.Add):
                return left + right
            if isinstance(node.operator, cst.Divide) and self._is_path(node.left):
                return posixpath.join(left, right)
            return None
        if isinstance(node, cst.FormattedString):
            return self._fold_fstring(node)
        if isinstance(node, cst.Call):
            return self._fold_call(node)
        return None

    def _is_path(self, node: cst.BaseExpression) -> bool:
        """A ``pathlib.Path`` (``/`` joins it), as far as the code shows."""
        if isinstance(node, cst.BinaryOperation):
            return self._is_path(node.left)
        if isinstance(node, cst.Call):
            return self._qual(node) in _PATH_CLASSES or (
                isinstance(node.func, cst.Attribute)
                and node.func.attr.value in {"joinpath", "with_suffix"}
            )
        if isinstance(node, cst.Name):
            return self.constants.get(node.value, ("", False))[1]
        return False

    def _fold_fstring(self, node: cst.FormattedString) -> str | None:
        out = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(part.value)
            elif (
                isinstance(part, cst.FormattedStringExpression)
                and part.format_spec is None
                and part.conversion in (None, "s")
            ):
                value = self.fold(part.expression)
                if value is None:
                    return None
                out.append(value)
            else:
                return None
        return "".join(out)

    def _qual(self, node: cst.Call) -> str | None:
        """The callee as qualified through the imports: a call inside the one
        being visited is not resolved yet."""
        site = self.calls.get(id(node))
        if site is not None:
            return site.qual
        name = dotted(node.func) or ""
        head, _, rest = name.partition(".")
        if head in self.imports:
            return f"{self.imports[head]}.{rest}" if rest else self.imports[head]
        return name if name == "str" else None

    def _fold_call(self, node: cst.Call) -> str | None:
        if any(a.keyword is not None or a.star for a in node.args):
            return None
        args = [self.fold(a.value) for a in node.args]
        if any(a is None for a in args):
            return None
        strings = [a for a in args if a is not None]
        qual = self._qual(node)
        if qual == "os.path.join" and strings:
            return posixpath.join(*strings)
        if qual in _PATH_CLASSES and len(strings) <= 1:
            return posixpath.normpath(strings[0]) if strings else "."
        if qual == "str" and len(strings) == 1:
            return strings[0]
        func = node.func
        if isinstance(func, cst.Attribute) and self._is_path(func.value):
            base = self.fold(func.value)
            if base is None:
                return None
            if func.attr.value == "joinpath" and strings:
                return posixpath.join(base, *strings)
            if func.attr.value == "with_suffix" and len(strings) == 1:
                return posixpath.splitext(base)[0] + strings[0]
        return None
