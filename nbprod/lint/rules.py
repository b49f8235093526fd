"""The notebook rules of ``nbprod lint``: pure functions from a notebook to findings.

Cells are parsed with the standard library's ``ast`` rather than libcst: lint runs
as a pre-commit hook over every notebook, and ``ast`` parses about thirty times
faster; its positions are all the rules need.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from nbprod import known_apis as apis
from nbprod.errors import CellError
from nbprod.notebook import cell_source
from nbprod.secrets import find_secrets


@dataclass(frozen=True)
class Rule:
    """A lint rule: its code, its name (the docs page's title) and what it catches."""

    code: str
    name: str
    summary: str


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule("NBP001", "execution-order", "cells were run out of order or re-run"),
        Rule("NBP002", "unexecuted-cell", "a cell was skipped while later ones ran"),
        Rule(
            "NBP003", "used-before-defined", "a name is used above the cell defining it"
        ),
        Rule("NBP004", "absolute-path", "an absolute or user-specific path"),
        Rule(
            "NBP005",
            "unseeded-random",
            "a random draw, estimator or split without a seed",
        ),
        Rule("NBP006", "secret", "a token, key or password in the notebook"),
        Rule("NBP007", "error-output", "an error saved in a cell's output"),
        Rule("NBP008", "large-output", "a cell's outputs are over the size limit"),
        Rule("NBP009", "pip-install", "packages installed from inside the notebook"),
        Rule("NBP010", "star-import", "from module import *"),
        Rule("NBP011", "long-cell", "a cell too long to read"),
    )
}


@dataclass(frozen=True)
class Settings:
    """The thresholds rules use; ``[tool.nbprod.lint]`` sets them."""

    max_cell_lines: int = 50
    max_output_kb: int = 500


@dataclass(frozen=True, order=True)
class Finding:
    """One finding. ``cell`` is 0 for the notebook's metadata; ``whole_cell`` findings
    are about a cell rather than a line, and a noqa comment anywhere in it applies."""

    cell: int
    line: int
    col: int
    code: str
    message: str
    whole_cell: bool = field(default=False, compare=False)


# IPython syntax is masked before parsing: line magics and shell escapes at the
# start of a line are what notebooks mostly hold, and a `pass` keeps the lines and
# the blocks intact. Anything else goes through IPython's own transformer.
_LINE_MAGIC = re.compile(r"^(\s*)[!%](?!%)", re.M)
_MAGIC_CHARS = re.compile(r"^\s*[!%?]|\?\s*$|=\s*[!%]", re.M)
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
_PIP_INSTALL = re.compile(
    r"^\s*(?:[!%]\s*|.*get_ipython\(\)\.system\(['\"])"
    r"(?:python3?\s+-m\s+)?(?:pip3?|conda|mamba|uv\s+pip)\s+install\b",
    re.M,
)
_RUN_MAGIC = re.compile(r"^\s*%(?:run|store)\b", re.M)
_ABSOLUTE_PATH = re.compile(r"""(?x)^(?:file://)?(?:
        [A-Za-z]:[\\/]                     # C:\\ or D:/
      | \\\\[^\\]+\\                       # \\\\server\\share
      | ~[\\/]                             # ~/data
      | /(?:home|Users|root|mnt|media|content|kaggle|Volumes|tmp|var|opt|srv|data|
            workspace|dbfs|gpfs|scratch|net)(?:/|$)
    )""")
_BUILTINS = frozenset(dir(builtins)) | {
    "__file__",
    "__name__",
    "get_ipython",
    "display",
}
_NOQA = re.compile(r"#\s*nbprod:\s*noqa\b:?(.*)$", re.I)
_RULE_CODE = re.compile(r"\b[A-Z]+[0-9]+\b")


def _python_source(source: str) -> tuple[str, int] | None:
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


def _column(lines: list[str], line: int, byte_offset: int) -> int:
    """ast's column is a UTF-8 byte offset; findings count characters from 1."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if text.isascii():
        return byte_offset + 1
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "replace")) + 1


class _CellFacts(ast.NodeVisitor):
    """Names one cell binds and uses at module level, its calls and strings."""

    # NodeVisitor's own dispatch (a string concatenation and a getattr per node) is
    # a third of lint's time: look methods up by type once instead.
    _dispatch: dict[type, Callable] = {}

    def visit(self, node: ast.AST) -> None:
        method = self._dispatch.get(type(node))
        if method is None:
            method = getattr(type(self), f"visit_{type(node).__name__}", None)
            method = self._dispatch[type(node)] = method or type(self).generic_visit
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

    def __init__(self, imports: dict[str, str]) -> None:
        self.imports = imports  # alias -> qualified name, shared across cells
        self.bound: set[str] = set()
        self.used: dict[str, tuple[int, int]] = {}
        self.calls: list[tuple[str | None, str, ast.Call]] = []
        self.strings: list[ast.Constant] = []
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

    def _visit_comprehension(self, node: ast.AST) -> None:
        generators = node.generators  # type: ignore[attr-defined]
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
        self.calls.append((self._qualify(func), last, node))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.strings.append(node)

    def _qualify(self, node: ast.expr) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.imports:
            return None
        return ".".join([self.imports[node.id], *reversed(parts)])


@dataclass
class _Cell:
    number: int
    lines: list[str]
    offset: int = 0
    facts: _CellFacts | None = None
    opaque: bool = False  # %run / %store: binds names nobody can see


def _about_cell(number: int, code: str, message: str) -> Finding:
    return Finding(number, 1, 1, code, message, whole_cell=True)


def check_notebook(nb: dict, settings: Settings = Settings()) -> list[Finding]:
    """Every finding of every rule on one notebook (a validated v4 notebook dict);
    CellError for a cell no parser can take (nested thousands of levels deep)."""
    findings: list[Finding] = []
    cells = nb.get("cells", [])
    findings += _execution_order(cells)
    findings += _secrets_in_metadata(nb)
    imports: dict[str, str] = {}
    code: list[_Cell] = []
    for number, cell in enumerate(cells, start=1):
        source = cell_source(cell)
        lines = source.split("\n")
        findings += _cell_secrets(number, source)
        if cell.get("cell_type") != "code":
            continue
        findings += _outputs(number, cell.get("outputs", []), settings)
        findings += _text_rules(number, source, lines, settings)
        c = _Cell(number, lines, opaque=bool(_RUN_MAGIC.search(source)))
        python = _python_source(source)
        if python is not None:
            text, c.offset = python
            try:
                tree = compile(text, "<cell>", "exec", ast.PyCF_ONLY_AST)
            except (SyntaxError, ValueError):
                tree = None  # ruff reports syntax errors; the other rules skip it
            except (RecursionError, MemoryError) as exc:
                raise CellError(
                    f"cell {number} is too deeply nested to analyse "
                    f"({exc.__class__.__name__})"
                ) from None
            if tree is not None:
                c.facts = _CellFacts(imports)
                c.facts.visit(tree)
        code.append(c)
    findings += _used_before_defined(code)
    findings += _unseeded(code)
    findings += _paths_and_star_imports(code)
    return sorted(set(findings))


def _in_order(counts: list[int]) -> set[int]:
    """Indexes of a longest strictly increasing run of ``counts``: the cells that
    ran in order. The others were run out of turn, so only they are flagged."""
    tails: list[int] = []  # index of the last count of the best run of each length
    values: list[int] = []  # the counts at those indexes, increasing
    before: list[int] = [-1] * len(counts)
    for i, count in enumerate(counts):
        length = bisect_left(values, count)
        before[i] = tails[length - 1] if length else -1
        tails[length : length + 1] = [i]
        values[length : length + 1] = [count]
    kept: set[int] = set()
    i = tails[-1] if tails else -1
    while i != -1:
        kept.add(i)
        i = before[i]
    return kept


def _execution_order(cells: list) -> Iterator[Finding]:
    """NBP001 and NBP002: the saved execution counts are the record of hidden state."""
    code = [
        (n, c.get("execution_count"))
        for n, c in enumerate(cells, start=1)
        if c.get("cell_type") == "code" and cell_source(c).strip()
    ]
    ran = [(n, count) for n, count in code if count is not None]
    if not ran:
        return
    counts = [count for _, count in ran]
    in_order = _in_order(counts)
    previous = 0
    for i, (number, count) in enumerate(ran):
        if i not in in_order:
            if count < previous:
                where = f"lower than the cell above it ({previous})"
            else:
                after = next(ran[j][1] for j in range(i + 1, len(ran)) if j in in_order)
                where = f"higher than the cell below it ({after})"
            yield _about_cell(
                number,
                "NBP001",
                f"cell ran out of order: its execution count {count} is {where} "
                "(restart the kernel and run all)",
            )
            continue
        # Runs between the two that a cell out of order accounts for are not lost.
        missing = count - previous - 1 - sum(previous < c < count for c in counts)
        if missing > 0:
            what = (
                f"execution count jumps from {previous} to {count}"
                if previous
                else f"the first execution count is {count}"
            )
            yield _about_cell(
                number,
                "NBP001",
                f"{what}: {missing} earlier run(s) are not in the "
                "notebook (restart the kernel and run all)",
            )
        previous = count
    first, last = ran[0][0], ran[-1][0]
    for number, count in code:
        if count is None and first < number < last:
            yield _about_cell(
                number,
                "NBP002",
                "cell was never run, but cells below it were (run all, or delete it)",
            )


def _outputs(number: int, outputs: list, settings: Settings) -> Iterator[Finding]:
    """NBP006 in outputs, NBP007 and NBP008."""
    size = 0
    for out in outputs:
        kind = out.get("output_type")
        texts: list[str] = []  # what is scanned for secrets
        if kind == "stream":
            texts.append(_join(out.get("text", "")))
        elif kind == "error":
            texts += [str(out.get("evalue", "")), *map(str, out.get("traceback", []))]
            yield _about_cell(
                number,
                "NBP007",
                f"saved error output ({out.get('ename', 'error')}): the notebook did "
                "not run cleanly (fix and re-run it, or clear the output)",
            )
        size += sum(map(len, texts))
        for mime, value in (out.get("data") or {}).items():
            value = (
                _join(value) if isinstance(value, (str, list)) else json.dumps(value)
            )
            size += len(value)
            # text/html repeats text/plain, much larger: not scanned
            if mime == "text/plain" or mime.endswith("json"):
                texts.append(value)
        kinds = {s.kind for text in texts for s in find_secrets(text)}
        for kind in sorted(kinds):
            yield _about_cell(
                number,
                "NBP006",
                f"possible secret ({kind}) in an output: clear the output, and "
                "rotate the secret if it was ever shared",
            )
    if size > settings.max_output_kb * 1024:
        yield _about_cell(
            number,
            "NBP008",
            f"outputs are {size / 1024:.0f} KB (limit {settings.max_output_kb} KB): "
            "clear them, or save large results to files",
        )


def _join(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _cell_secrets(number: int, source: str) -> Iterator[Finding]:
    for secret in find_secrets(source):
        yield Finding(
            number,
            secret.line,
            secret.col,
            "NBP006",
            f"possible secret ({secret.kind}) in the source: read it from an "
            "environment variable, and rotate it if it was ever shared",
        )


def _secrets_in_metadata(nb: dict) -> Iterator[Finding]:
    """NBP006 in the notebook's and the cells' metadata."""
    places = [(0, nb.get("metadata"))]
    places += [(n, c.get("metadata")) for n, c in enumerate(nb.get("cells", []), 1)]
    for number, metadata in places:
        if metadata:
            for kind in sorted({s.kind for s in find_secrets(json.dumps(metadata))}):
                yield _about_cell(
                    number,
                    "NBP006",
                    f"possible secret ({kind}) in the "
                    + ("notebook's" if number == 0 else "cell's")
                    + " metadata: remove it, and rotate it if it was ever shared",
                )


def _text_rules(
    number: int, source: str, lines: list[str], settings: Settings
) -> Iterator[Finding]:
    """NBP009 and NBP011: rules on the text, magics included."""
    for m in _PIP_INSTALL.finditer(source):
        line = source.count("\n", 0, m.start()) + 1
        yield Finding(
            number,
            line,
            len(m.group(0)) - len(m.group(0).lstrip()) + 1,
            "NBP009",
            "packages installed from inside the notebook: declare them in "
            "requirements.txt or pyproject.toml instead",
        )
    length = sum(1 for line in lines if line.strip())
    if length > settings.max_cell_lines:
        yield _about_cell(
            number,
            "NBP011",
            f"cell has {length} lines (limit {settings.max_cell_lines}): split it "
            "into smaller cells or functions",
        )


def _used_before_defined(cells: list[_Cell]) -> Iterator[Finding]:
    """NBP003: a name read above the first cell that binds it works only in a
    kernel where the later cell already ran."""
    first_bound: dict[str, int] = {}
    for c in cells:
        if c.facts is not None:
            for name in c.facts.bound:
                first_bound.setdefault(name, c.number)
    defined: set[str] = set()
    for c in cells:
        if c.opaque:
            return
        if c.facts is None:
            continue
        if c.facts.star_imports:
            return  # a star import may bind anything below it
        for name, (line, col) in sorted(c.facts.used.items(), key=lambda kv: kv[1]):
            later = first_bound.get(name, 0)
            if (
                name not in defined
                and name not in c.facts.bound
                and name not in _BUILTINS
                and later > c.number
            ):
                line += c.offset
                yield Finding(
                    c.number,
                    line,
                    _column(c.lines, line, col),
                    "NBP003",
                    f"`{name}` is used here but first defined in cell {later}: this "
                    "cell only works after running a cell below it",
                )
        defined |= c.facts.bound


def _unseeded(cells: list[_Cell]) -> Iterator[Finding]:
    """NBP005: estimators, splits and draws that give other numbers on every run.

    The verdict on each call is ``known_apis.random_call``, the one ``nbprod
    convert`` reports unseeded draws with; a helper that seeds a global generator
    seeds it where it is called, as there."""
    seeded: set[str] = set()
    helpers: dict[str, frozenset[str]] = {}
    for c in cells:
        if c.facts is None:
            continue
        facts = c.facts
        defs = list(facts.defs)
        for position, (qual, last, node) in enumerate(facts.calls):
            while defs and defs[0][0] <= position:
                _define(defs.pop(0)[1], facts, helpers)
            if qual is None and isinstance(node.func, ast.Name) and last in helpers:
                seeded |= helpers[last]
                continue
            call = _random_call(qual, last, node)
            if call is None:
                continue
            if call.draw is apis.Draw.SEEDS:
                seeded.add(call.generator)
            elif call.unseeded(seeded):
                line = node.lineno + c.offset
                yield Finding(
                    c.number,
                    line,
                    _column(c.lines, line, node.col_offset),
                    "NBP005",
                    f"{call.what}: results change from run to run (pass a fixed seed)",
                )
        for _, node in defs:
            _define(node, facts, helpers)


def _random_call(qual: str | None, last: str, node: ast.Call) -> apis.RandomCall | None:
    """``known_apis.random_call`` for an ``ast`` call, given what convert gives it."""
    return apis.random_call(
        qual,
        last if isinstance(node.func, ast.Attribute) else "",
        {k.arg: _seeded_value(k.value) for k in node.keywords},
        [isinstance(a, ast.Starred) or _seeded_value(a) for a in node.args],
    )


def _define(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    facts: _CellFacts,
    helpers: dict[str, frozenset[str]],
) -> None:
    """Record which global generators a helper's body seeds (directly or through a
    helper that does), to seed them where it is called."""
    seeds: set[str] = set()
    calls = (c for stmt in node.body for c in ast.walk(stmt))
    for inner in calls:
        if not isinstance(inner, ast.Call):
            continue
        if isinstance(inner.func, ast.Name) and inner.func.id in helpers:
            seeds |= helpers[inner.func.id]
        func = inner.func
        last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        call = _random_call(facts._qualify(func), last, inner)
        if call is not None and call.draw is apis.Draw.SEEDS:
            seeds.add(call.generator)
    if seeds:
        helpers[node.name] = frozenset(seeds)
    else:  # a later definition that seeds nothing
        helpers.pop(node.name, None)


def _seeded_value(node: ast.expr | None) -> bool:
    """Whether a seed argument holds something other than ``None``."""
    return node is not None and not (
        isinstance(node, ast.Constant) and node.value is None
    )


def _paths_and_star_imports(cells: list[_Cell]) -> Iterator[Finding]:
    """NBP004 and NBP010."""
    for c in cells:
        if c.facts is None:
            continue
        for node in c.facts.strings:
            value = node.value
            if _ABSOLUTE_PATH.match(value) and "\n" not in value:
                shown = value if len(value) <= 60 else value[:57] + "..."
                line = node.lineno + c.offset
                yield Finding(
                    c.number,
                    line,
                    _column(c.lines, line, node.col_offset),
                    "NBP004",
                    f"absolute path {shown!r} exists on one machine only: use a path "
                    "relative to the project, or a setting",
                )
        for node in c.facts.star_imports:
            line = node.lineno + c.offset
            yield Finding(
                c.number,
                line,
                _column(c.lines, line, node.col_offset),
                "NBP010",
                f"`from {node.module or '.'} import *` hides where names come from: "
                "import the names you use",
            )


def noqa_codes(lines: list[str]) -> dict[int, frozenset[str] | None]:
    """Line number -> codes its ``# nbprod: noqa`` comment names (None: every code)."""
    found: dict[int, frozenset[str] | None] = {}
    for i, line in enumerate(lines, start=1):
        if "nbprod" not in line:
            continue
        m = _NOQA.search(line)
        if m:
            codes = frozenset(_RULE_CODE.findall(m.group(1).upper()))
            found[i] = codes or None
    return found


def suppressed(finding: Finding, noqa: dict[int, frozenset[str] | None]) -> bool:
    """Whether a noqa comment covers ``finding`` (anywhere in the cell for a
    whole-cell finding, on its line otherwise)."""
    lines = noqa.values() if finding.whole_cell else [noqa.get(finding.line, ())]
    return any(codes is None or finding.code in codes for codes in lines)
