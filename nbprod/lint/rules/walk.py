"""A notebook as the rules see it: its cells, and for each code cell the facts of
ONE ``ast`` walk (names bound and used, calls, strings, star imports, helpers).

Cells are parsed with the standard library's ``ast`` rather than libcst: lint runs
as a pre-commit hook over every notebook, and ``ast`` parses about thirty times
faster; its positions are all the rules need. Each rule module reads these facts;
none walks a cell again.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nbprod.errors import CellError
from nbprod.lint.finding import Finding
from nbprod.notebook import cell_source

# IPython syntax is masked before parsing: line magics and shell escapes at the
# start of a line are what notebooks mostly hold, and a `pass` keeps the lines and
# the blocks intact. Anything else goes through IPython's own transformer.
_LINE_MAGIC = re.compile(r"^(\s*)[!%](?!%)", re.M)
_MAGIC_CHARS = re.compile(r"^\s*[!%?]|\?\s*$|=\s*[!%]", re.M)
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})


@dataclass
class Cell:
    """One cell: its number (from 1), its source and lines; for a code cell that
    Python parses, the lines dropped above the parsed source (a ``%%time`` line)
    and the facts of its walk."""

    number: int
    data: dict[str, Any]  # the cell as in the notebook's JSON
    source: str
    lines: list[str]
    offset: int = 0
    facts: CellFacts | None = None

    def at(self, lineno: int, col_offset: int, code: str, message: str) -> Finding:
        """A finding at an ``ast`` position of the parsed source, in the cell's own
        lines and characters."""
        line = lineno + self.offset
        return Finding(
            self.number, line, column(self.lines, line, col_offset), code, message
        )


@dataclass
class Notebook:
    """A notebook parsed once for every rule."""

    data: dict[str, Any]  # a validated v4 notebook
    cells: list[Cell]  # every cell, markdown too
    code: list[Cell] = field(default_factory=list)  # the code cells, in order


def parse(nb: dict[str, Any]) -> Notebook:
    """Every cell of ``nb``, each code cell walked once; CellError for a cell no
    parser can take (nested thousands of levels deep)."""
    parsed = Notebook(nb, [])
    imports: dict[str, str] = {}  # alias -> qualified name, shared across cells
    for number, data in enumerate(nb.get("cells", []), start=1):
        source = cell_source(data)
        cell = Cell(number, data, source, source.split("\n"))
        parsed.cells.append(cell)
        if data.get("cell_type") != "code":
            continue
        parsed.code.append(cell)
        python = python_source(source)
        if python is None:
            continue
        text, cell.offset = python
        try:
            tree = compile(text, "<cell>", "exec", ast.PyCF_ONLY_AST)
        except (SyntaxError, ValueError):
            continue  # ruff reports syntax errors; the rules skip the cell
        except (RecursionError, MemoryError) as exc:
            raise CellError(
                f"cell {number} is too deeply nested to analyse "
                f"({exc.__class__.__name__})"
            ) from None
        cell.facts = CellFacts(imports)
        cell.facts.visit(tree)
    return parsed


def python_source(source: str) -> tuple[str, int] | None:
    """Cell source as parseable Python and the number of lines dropped from the
    top, or None for cells in another language (``%%bash``, ``%%sql``)."""
    offset = 0
    if source.lstrip().startswith("%%"):
        first, _, body = source.lstrip().partition("\n")
        name = first[2:].split(None, 1)[0] if first[2:].strip() else ""
        if name not in _PYTHON_CELL_MAGICS:
            return None
        offset = source[: len(source) - len(source.lstrip())].count("\n") + 1
        source = body
    if not _MAGIC_CHARS.search(source):
        return source, offset
    masked = _LINE_MAGIC.sub(r"\1pass #", source)
    try:
        compile(masked, "<cell>", "exec", ast.PyCF_ONLY_AST)
        return masked, offset
    except SyntaxError:
        pass
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source), offset


def column(lines: list[str], line: int, byte_offset: int) -> int:
    """ast's column is a UTF-8 byte offset; findings count characters from 1."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if text.isascii():
        return byte_offset + 1
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "replace")) + 1


def output_text(value: object) -> str:
    """An output's text or data value as one string: nbformat keeps multi-line text
    as a list of lines, and JSON data as JSON."""
    if isinstance(value, list):
        return "".join(value)
    return value if isinstance(value, str) else json.dumps(value)


Visit = Callable[[Any, Any], None]


class _FastVisitor(ast.NodeVisitor):
    """NodeVisitor's own dispatch (a string concatenation and a getattr per node) is
    a third of lint's time: look methods up by type once instead."""

    _dispatch: ClassVar[dict[type[ast.AST], Visit]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._dispatch = {}  # one table per visitor class

    def visit(self, node: ast.AST) -> None:
        method = self._dispatch.get(type(node))
        if method is None:
            found = getattr(type(self), f"visit_{type(node).__name__}", None)
            method = self._dispatch[type(node)] = found or type(self).generic_visit
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                self.visit(value)


class CellFacts(_FastVisitor):
    """Names one cell binds and uses at module level, its calls and strings."""

    def __init__(self, imports: dict[str, str]) -> None:
        self.imports = imports  # alias -> qualified name, shared across cells
        self.bound: set[str] = set()
        self.used: dict[str, tuple[int, int]] = {}
        self.calls: list[tuple[str | None, str, ast.Call]] = []
        self.strings: list[ast.Constant] = []  # str constants only
        self.star_imports: list[ast.ImportFrom] = []
        # Top-level defs, each with how many calls came before it: a helper that
        # seeds a generator seeds it where it is called (NBP005).
        self.defs: list[tuple[int, ast.FunctionDef | ast.AsyncFunctionDef]] = []
        self._locals: list[set[str]] = []  # comprehension and class scopes
        self._top: frozenset[int] = frozenset()

    def visit_Module(self, node: ast.Module) -> None:
        self._top = frozenset(map(id, node.body))
        self.generic_visit(node)

    # names
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if not any(node.id in scope for scope in self._locals):
                self.used.setdefault(node.id, (node.lineno, node.col_offset))
        elif self._locals:
            self._locals[-1].add(node.id)
        else:
            self.bound.add(node.id)

    def _bind(self, name: str) -> None:
        (self._locals[-1] if self._locals else self.bound).add(name)

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            alias = a.asname or a.name.split(".", 1)[0]
            self._bind(alias)
            self.imports[alias] = a.name if a.asname else alias

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        for a in node.names:
            if a.name == "*":
                self.star_imports.append(node)
                continue
            self._bind(a.asname or a.name)
            self.imports[a.asname or a.name] = f"{module}.{a.name}"

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # The body runs when called, not here: only what the def line evaluates.
        for child in (
            *node.decorator_list,
            *node.args.defaults,
            *node.args.kw_defaults,
        ):
            if child is not None:
                self.visit(child)
        self._bind(node.name)
        if id(node) in self._top:
            self.defs.append((len(self.calls), node))
        for stmt in ast.walk(node):
            if isinstance(stmt, ast.Global):
                self.bound.update(stmt.names)

    visit_FunctionDef = visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for child in (*node.args.defaults, *node.args.kw_defaults):
            if child is not None:
                self.visit(child)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in (*node.decorator_list, *node.bases, *node.keywords):
            self.visit(child)
        self._locals.append(set())
        for stmt in node.body:
            self.visit(stmt)
        self._locals.pop()
        self._bind(node.name)

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        generators = node.generators
        # The first iterable is evaluated in the enclosing scope.
        self.visit(generators[0].iter)
        self._locals.append(set())
        for i, gen in enumerate(generators):
            self.visit(gen.target)
            if i:
                self.visit(gen.iter)
            for cond in gen.ifs:
                self.visit(cond)
        for name in ("elt", "key", "value"):
            if hasattr(node, name):
                self.visit(getattr(node, name))
        self._locals.pop()

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = (
        _visit_comprehension
    )

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name)

    # calls and strings
    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        self.calls.append((self.qualify(func), last, node))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.strings.append(node)

    def qualify(self, node: ast.expr) -> str | None:
        """The qualified name a call's function refers to through the imports
        seen so far (``np.random.seed`` -> ``numpy.random.seed``), or None."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.imports:
            return None
        return ".".join([self.imports[node.id], *reversed(parts)])
