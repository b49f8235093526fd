"""Literals that can become config values: hyperparameters given to known ML calls,
file paths given to readers and writers or assigned to ``*_path`` names, UPPER_CASE
constants, and every value of a papermill ``parameters`` cell."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst

from nbprod import known_apis as apis
from nbprod.convert.analysis.effects import path_argument
from nbprod.convert.analysis.facts import Literal, LiteralKind, ParsedCell
from nbprod.convert.analysis.known_strings import KnownStrings
from nbprod.convert.analysis.nodes import literal_value
from nbprod.convert.analysis.resolve import CallSite
from nbprod.convert.analysis.walk import InAssignment
from nbprod.globs import split_pattern

_PATH_BUILDERS = frozenset({"pathlib.Path", "os.path.join"})


@dataclass(frozen=True)
class Literals:
    """A cell's liftable literals, in the order the code holds them."""

    literals: tuple[Literal, ...]


class LiteralsPart(InAssignment):
    """Collects a cell's ``Literals``."""

    def __init__(
        self,
        parsed: ParsedCell,
        imports: Mapping[str, str],
        calls: Mapping[int, CallSite],
        constants: Mapping[str, tuple[str, bool]] | None = None,
    ) -> None:
        self.parsed = parsed
        self.imports = imports
        self.calls = calls
        self.literals: list[Literal] = []
        # id of a path call a glob pattern is matched under -> the whole pattern
        self.globbed: dict[int, tuple[str, str]] = {}  # and the path call it is
        self.known = KnownStrings(imports, calls, constants)

    def result(self) -> Literals:
        return Literals(tuple(self.literals))

    def end(self, stmt: cst.BaseStatement) -> None:
        self.known.bind(stmt)

    def visit_Assign(self, node: cst.Assign) -> None:
        super().visit_Assign(node)
        name = self.assign_target
        if name is None:
            return
        ok, value = literal_value(node.value)
        if self.parsed.cell.is_parameters and self.top_level:
            # papermill injects new values for these: all of them go to config.
            if ok and liftable(value):
                path = isinstance(value, str) and apis.is_path(value, name)
                use: apis.PathUse = "path" if path else ""
                self._literal(node.value, "parameter", name, "", value, use)
        elif ok and isinstance(value, str) and apis.is_path(value, name):
            self._literal(node.value, "path", name, "", value, "path")
        elif isinstance(node.value, (cst.BinaryOperation, cst.FormattedString)):
            # ``train_file = DATA_DIR + "train.csv"``: the file it names.
            folded = self.known.fold(node.value)
            if folded and "://" not in folded and apis.is_path(folded, name):
                self._literal(
                    node.value, "path", name, "", folded, "path", computed=True
                )
        elif ok and name.isupper() and liftable(value):
            self._literal(node.value, "constant", name, "", value)

    def visit_Call(self, node: cst.Call) -> None:
        site = self.calls[id(node)]
        self._pattern_under(node, site)
        path = path_argument(node, site, self.imports)
        if path is not None and path.node is not None:
            # A literal, or a path the code computes from literals
            # (``datapath + "oecd.csv"``): a file to copy, found through the
            # folder's own literal. A name alone is its own assignment's, but
            # for the file a reader reads through it (``read_csv(path)``).
            ok, literal = literal_value(path.node)
            if ok or (isinstance(path.node, cst.Name) and path.direction != "read"):
                value = literal if isinstance(literal, str) else None
            elif path.callee in apis.GLOB_FUNCTIONS:
                value = None  # a pattern joined from parts: _pattern_under's
            else:
                value = self.known.fold(path.node)
            if value and "://" not in value:
                # ``p = Path("cache/x.json")`` is known by its variable; a file handed
                # straight to a reader or writer by its stem.
                builds = path.callee in _PATH_BUILDERS and self.assign_target
                pattern, callee = self.globbed.pop(id(node), ("", ""))
                if callee != path.callee:
                    pattern = ""
                if path.callee in apis.GLOB_FUNCTIONS:
                    # A pattern is known by the folder it matches in.
                    pattern = value
                    value_stem = _stem(split_pattern(value)[0])
                else:
                    value_stem = _stem(value)
                name = self.assign_target if builds else value_stem
                direction = "read" if pattern else path.direction
                self._literal(
                    path.node,
                    "path",
                    name,  # type: ignore[arg-type]
                    path.callee,
                    value,
                    direction,
                    pattern,
                    computed=not ok,
                )
        if site.qual and apis.is_ml_call(site.qual):
            for key, value_node in site.keywords.items():
                if key in apis.NOT_HYPERPARAMETERS:
                    continue
                ok, literal = literal_value(value_node)
                if ok and liftable(literal):
                    self._literal(value_node, "kwarg", key, site.qual, literal)

    def _pattern_under(self, node: cst.Call, site: CallSite) -> None:
        """Note the pattern a glob matches under a folder that a path call of
        literals gives (``glob.glob(os.path.join("data", "*.csv"))``,
        ``Path("data").glob("*.csv")``), for when that call is visited next."""
        func = node.func
        if site.qual in apis.GLOB_FUNCTIONS and site.positional:
            inner = site.positional[0]
            parts = _literal_strings(inner)
            if len(parts) > 1:
                self.globbed[id(inner)] = (posixpath.join(*parts), "os.path.join")
        elif (
            isinstance(func, cst.Attribute)
            and func.attr.value in apis.GLOB_METHODS
            and len(site.positional) == 1
        ):
            folder = _literal_strings(func.value)
            ok, pattern = literal_value(site.positional[0])
            if len(folder) == 1 and ok and isinstance(pattern, str) and pattern:
                prefix = apis.GLOB_METHODS[func.attr.value]
                for receiver in apis.GLOB_RECEIVERS:
                    if site.qual == f"{receiver}.{func.attr.value}":
                        joined = posixpath.join(folder[0], prefix + pattern)
                        self.globbed[id(func.value)] = (joined, receiver)

    def _literal(
        self,
        node: cst.CSTNode,
        kind: LiteralKind,
        name: str,
        callee: str,
        value: object,
        direction: apis.PathUse = "",
        glob: str = "",
        *,
        computed: bool = False,
    ) -> None:
        pos = self.parsed.positions.get(node)
        if pos is None:
            return
        self.literals.append(
            Literal(
                pos.start.line,
                pos.start.column,
                kind,
                name,
                callee,
                value,
                direction,
                glob,
                (pos.end.line, pos.end.column),
                computed,
            )
        )


def _literal_strings(node: cst.BaseExpression) -> list[str]:
    """The arguments of a call when all are literal strings given by position."""
    if not isinstance(node, cst.Call) or not node.args:
        return []
    found = []
    for arg in node.args:
        ok, value = literal_value(arg.value)
        if arg.keyword is not None or arg.star or not (ok and isinstance(value, str)):
            return []
        found.append(value)
    return found


def _stem(path: str) -> str:
    base = path.rstrip("/").rsplit("/", 1)[-1]
    return base.split(".", 1)[0] or "data"


def liftable(value: object) -> bool:
    """Whether a literal value can go to config.yaml as it is."""
    if isinstance(value, (bool, int, float, str)):
        return not (isinstance(value, str) and ("\n" in value or len(value) > 200))
    if isinstance(value, (list, tuple)):
        return 0 < len(value) <= 50 and all(
            isinstance(v, (bool, int, float, str)) for v in value
        )
    if isinstance(value, dict):
        return (
            0 < len(value) <= 50
            and all(isinstance(k, str) for k in value)
            and all(
                isinstance(v, (bool, int, float, str))
                or (
                    isinstance(v, (list, tuple))
                    and all(
                        isinstance(x, (bool, int, float, str, type(None))) for x in v
                    )
                )
                for v in value.values()
            )
        )
    return False
