"""The shape of the code ``nbprod convert`` generates: how many functions, how big.

What it measures
----------------
Every notebook of ``examples/notebooks/*.ipynb`` (and, with ``--corpus DIR``, every
``*.ipynb`` found under DIR) is converted with
``python -m nbprod convert NB -o TMP/NAME --no-validate --force``, a subprocess of
this interpreter, into a temporary folder (``--keep DIR`` converts into DIR and
keeps the projects). A conversion that fails is listed with its one-line error and
skipped. The stage modules of each project (``src/PKG/preprocessing.py``,
``training.py``, ``inference.py``, ``evaluation.py``, those that exist) are read
with ``ast`` and ``tokenize``, never imported, and give one row per project:

* functions: every ``def`` at module level, helpers included (methods of a class
  copied from the notebook are not module level and are not counted anywhere but
  in the clones);
* max returns: the most values one function returns: ``return a, b, c`` is 3,
  ``return x`` is 1 whatever x is (a dict, a dataclass), a bare ``return`` 0;
  returns of nested functions and lambdas are theirs, not the function's;
* max params: the most parameters one function takes, positional-only, positional
  and keyword-only; ``*args`` and ``**kwargs`` are not counted;
* longest fn: the most lines of one function, from its ``def`` line to its last
  line, docstring and blank lines included;
* longest cell: the most lines of one block of a single notebook cell's code. A
  block starts at a ``# Notebook cell N`` label inside a function and runs from its
  first statement to the last one before the next label (the generated top-level
  ``return`` of a stage function is not part of it: a notebook cell has no
  top-level ``return``). A helper def labelled ``# From notebook cell N.`` is a
  block by itself: it is the notebook's own code from one cell;
* clones and renamed: pairs of places sharing a run of 6 or more consecutive
  statement lines, identical or the same up to a renaming of names (below);
* sections: covered/total, from the plan in ``nbprod-report.json``. The total is
  the markdown sections (the heading above a cell) holding at least one pipeline
  cell (stage not null); cells above the first heading belong to no section. A
  section is covered when some function's ``# Notebook cell N`` blocks all come
  from that section: a function dedicated to it. Helpers hold no labelled block
  and cover nothing: they are the notebook's own defs, not steps of the pipeline.

Clones. The source of each module is cut into logical lines by ``tokenize`` (one
simple statement, or the header of a compound one such as ``if x:``, ``else:``,
``with open(p) as f:``, however many physical lines black wraps it over), which
drops comments and blank lines; docstrings (found with ``ast``) are dropped too,
and so are the lines outside a module-level def or class (imports) and the def's
own signature (stage functions sharing their config parameters are not
duplicated code). A line is normalised to its tokens joined by one space.
Logical rather than physical lines, because a wrapped line's ``)`` or a wrapped
return tuple's one-name-per-line would otherwise make any two long returns look
alike once names are renamed. Every window of 6 consecutive normalised lines of a
place (a module-level def or class) is put in a dict keyed by the window's text
(a hash table: equal keys are equal windows). Two equal windows make a pair,
unless they are in one place and overlap. Pairs that continue each other (both
windows one line further down) merge into one clone, so a run of 8 shared lines
is one clone of 8 lines, not three of 6. The same is done a second time with
every identifier (a name that ``ast`` sees as a variable, a called function or a
parameter; not attributes, keyword-argument names or literals) replaced by
``v0``, ``v1``, ... in the order of first appearance within the window, so a
window matches another only if one renaming maps all of its names onto the other
consistently: ``train["Age"].fillna(age_mean)`` then matches
``test["Age"].fillna(age_mean)``, while ``x.fillna(0)`` never matches
``x.dropna(0)``. A merged run is checked window by window. ``clones`` counts the
identical clones, ``renamed`` the clones found only after renaming (a run
containing no identical 6-line window), so the two never count one place twice.
Every clone is listed below the tables.

Then it prints the medians over the projects of every column and, per project,
PASS/FAIL against the targets:

* no function returns more than 4 values;
* no function takes more than 7 parameters;
* no clone, identical or renamed, of 6 or more statement lines;
* no function over 40 lines, unless it holds the code of one notebook cell alone
  (one block, or a helper) and that block is itself over 40 lines: a function
  holding a 300-line cell and five more cells fails, as the five could be a
  function of their own;
* every section with pipeline code covered.

A benchmark only reports: it never fails or exits non-zero on a missed target, nor
on a failed conversion; it exits 2 on bad arguments. The output is in a fixed order.

How to run it
-------------
From the repository root, with the project's environment::

    python benchmarks/code_shape.py                                  # the examples
    python benchmarks/code_shape.py --corpus .dev-corpus/notebooks   # and a corpus
    python benchmarks/code_shape.py --corpus DIR --no-examples       # the corpus alone
    python benchmarks/code_shape.py --keep /tmp/shape                # keep the projects

It needs only the standard library, plus nbprod installed in the running
interpreter's environment (``--no-validate``: the notebooks' own libraries are not
imported).
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
import statistics
import subprocess
import sys
import tempfile
import tokenize
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import fmt_table, last_line, progress, verdict  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "notebooks"
STAGE_MODULES = ("preprocessing", "training", "inference", "evaluation")

CLONE_LINES = 6
MAX_RETURNS = 4
MAX_PARAMS = 7
MAX_FUNCTION_LINES = 40

_CELL_LABEL = re.compile(r"^# Notebook cell (\d+)\b")
_HELPER_LABEL = re.compile(r"^# From notebook cell (\d+)\.")
# Tokens that carry no code: layout and comments.
_SKIPPED_TOKENS = frozenset(
    {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
)

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


# --------------------------------------------------------------------------- #
# Functions: returns, parameters, lines, notebook-cell blocks
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Block:
    """Consecutive lines of one notebook cell's code in a stage module."""

    cell: int
    first: int
    last: int

    @property
    def lines(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class FunctionShape:
    """One module-level def of a stage module."""

    module: str
    name: str
    lineno: int
    lines: int
    returns: int
    params: int
    # The ``# Notebook cell N`` blocks inside it, in order; empty for a helper.
    blocks: tuple[Block, ...]
    # N of the ``# From notebook cell N.`` label above it, for a helper.
    helper_of: int | None

    @property
    def cells(self) -> tuple[int, ...]:
        return tuple(block.cell for block in self.blocks)

    @property
    def cell_count(self) -> int:
        """How many notebook cells its code comes from (a helper: the one above)."""
        return len(set(self.cells)) + (self.helper_of is not None)

    @property
    def longest_block(self) -> int:
        """Its longest block of one cell's code; a helper is one block by itself."""
        own = self.lines if self.helper_of is not None else 0
        return max([own, *(block.lines for block in self.blocks)])


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _own_nodes(function: FunctionNode) -> Iterable[ast.AST]:
    """The nodes of ``function``'s body, without nested defs, classes and lambdas
    (their returns are theirs)."""
    stack: list[ast.AST] = [n for n in function.body if not isinstance(n, _SCOPES)]
    while stack:
        node = stack.pop()
        yield node
        stack += [
            child
            for child in ast.iter_child_nodes(node)
            if not isinstance(child, _SCOPES)
        ]


def return_count(function: FunctionNode) -> int:
    """The most values one ``return`` of ``function`` gives back: the elements of a
    returned tuple, 1 for any other value, 0 for a bare ``return`` (or none)."""
    counts = [0]
    for node in _own_nodes(function):
        if isinstance(node, ast.Return):
            if node.value is None:
                counts.append(0)
            elif isinstance(node.value, ast.Tuple):
                counts.append(len(node.value.elts))
            else:
                counts.append(1)
    return max(counts)


def param_count(function: FunctionNode) -> int:
    """Positional-only, positional and keyword-only parameters; not ``*args`` nor
    ``**kwargs``, which take any number."""
    args = function.args
    return len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)


def _first_line(node: ast.stmt) -> int:
    """Where a statement starts, its decorators included."""
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _comments(source: str) -> dict[int, str]:
    """Line -> the comment on it."""
    return {
        token.start[0]: token.string
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }


def cell_blocks(function: FunctionNode, comments: Mapping[int, str]) -> list[Block]:
    """The ``# Notebook cell N`` blocks of a stage function: each label's statements
    up to the next label. A top-level ``return`` is the generator's, never a cell's
    (a notebook cell cannot return), so it ends the block without joining it."""
    blocks: list[Block] = []
    cell: int | None = None
    first = last = 0
    after = function.lineno
    for stmt in function.body:
        start = _first_line(stmt)
        for line in range(after, start):
            match = _CELL_LABEL.match(comments.get(line, ""))
            if match:
                if cell is not None:
                    blocks.append(Block(cell, first, last))
                cell, first = int(match.group(1)), 0
        after = (stmt.end_lineno or stmt.lineno) + 1
        if cell is None:
            continue
        if isinstance(stmt, ast.Return):
            blocks.append(Block(cell, first, last))
            cell = None
            continue
        first = first or start
        last = after - 1
    if cell is not None and first:
        blocks.append(Block(cell, first, last))
    return [block for block in blocks if block.first]


def module_functions(module: str, source: str) -> list[FunctionShape]:
    """Every module-level def of a stage module's ``source``, measured."""
    tree = ast.parse(source)
    comments = _comments(source)
    shapes = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        helper = _HELPER_LABEL.match(comments.get(_first_line(node) - 1, ""))
        shapes.append(
            FunctionShape(
                module=module,
                name=node.name,
                lineno=node.lineno,
                lines=(node.end_lineno or node.lineno) - node.lineno + 1,
                returns=return_count(node),
                params=param_count(node),
                blocks=tuple(cell_blocks(node, comments)),
                helper_of=int(helper.group(1)) if helper else None,
            )
        )
    return shapes


# --------------------------------------------------------------------------- #
# Clones: windows of 6 normalised statement lines
# --------------------------------------------------------------------------- #

# A token of a normalised line: its text, and whether it is an identifier that the
# "renamed" comparison replaces by a placeholder.
Token = tuple[str, bool]


@dataclass(frozen=True)
class Line:
    """One logical line of code, normalised."""

    first: int
    last: int
    tokens: tuple[Token, ...]

    @property
    def text(self) -> str:
        return " ".join(text for text, _ in self.tokens)


@dataclass(frozen=True)
class Place:
    """A module-level def or class: the unit clones are found between and within."""

    module: str
    name: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Clone:
    """A run of ``length`` statement lines found at two places."""

    kind: str  # "identical" or "renamed"
    length: int
    a: tuple[str, str, int, int]  # module, function, first line, last line
    b: tuple[str, str, int, int]

    def describe(self) -> str:
        def where(place: tuple[str, str, int, int]) -> str:
            module, name, first, last = place
            return f"{module}.py {name} lines {first}-{last}"

        return (
            f"{self.kind}, {self.length} statement lines: "
            f"{where(self.a)} ~ {where(self.b)}"
        )


def _docstring_lines(tree: ast.Module) -> set[int]:
    """First lines of every docstring (module, class, function, nested ones too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        ):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                found.add(body[0].lineno)
    return found


def _identifier_positions(tree: ast.Module, source: str) -> set[tuple[int, int]]:
    """(line, column in characters) of every name ``ast`` sees as a variable, a
    called function or a parameter. ``ast`` counts columns in UTF-8 bytes and
    ``tokenize`` in characters: converted here so that non-ASCII lines agree."""
    lines = source.splitlines()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.arg):
            text = lines[node.lineno - 1]
            column = len(
                text.encode("utf-8")[: node.col_offset].decode("utf-8", "replace")
            )
            found.add((node.lineno, column))
    return found


def logical_lines(source: str) -> list[Line]:
    """The module's logical lines, without comments, blank lines and docstrings."""
    tree = ast.parse(source)
    docstrings = _docstring_lines(tree)
    identifiers = _identifier_positions(tree, source)
    lines: list[Line] = []
    current: list[tokenize.TokenInfo] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NEWLINE:
            if current and current[0].start[0] not in docstrings:
                lines.append(
                    Line(
                        first=current[0].start[0],
                        last=current[-1].end[0],
                        tokens=tuple(
                            (
                                t.string,
                                t.type == tokenize.NAME and t.start in identifiers,
                            )
                            for t in current
                        ),
                    )
                )
            current = []
        elif token.type not in _SKIPPED_TOKENS:
            current.append(token)
    return lines


def module_places(module: str, source: str) -> list[Place]:
    """The module-level defs and classes of ``source``, each with the logical lines
    of its body: not its signature, nor the imports around it."""
    tree = ast.parse(source)
    lines = logical_lines(source)
    places = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(node, ast.ClassDef) and all(
            isinstance(b, ast.AnnAssign | ast.Expr | ast.Pass) for b in node.body
        ):
            # A declaration (a step's named tuple: ``X: Any`` per field) holds no
            # code to copy; its field lines only look alike.
            continue
        start = _first_line(node.body[0])
        end = node.end_lineno or node.lineno
        places.append(
            Place(module, node.name, tuple(x for x in lines if start <= x.first <= end))
        )
    return places


def _renamed(window: Sequence[Line]) -> str:
    """The window's text with its identifiers numbered by first appearance."""
    names: dict[str, str] = {}
    parts = []
    for line in window:
        for text, is_identifier in line.tokens:
            if is_identifier:
                text = names.setdefault(text, f"v{len(names)}")
            parts.append(text)
        parts.append("\n")
    return " ".join(parts)


Position = tuple[int, int]  # index of the place, index of the window's first line


def _window_pairs(
    places: Sequence[Place], renamed: bool, size: int
) -> set[tuple[Position, Position]]:
    """Pairs of equal windows of ``size`` lines, the earlier one first; two windows
    of one place that overlap are no pair (a run repeated right after itself is
    still found, at its two non-overlapping copies)."""
    seen: dict[str, list[Position]] = defaultdict(list)
    for p, place in enumerate(places):
        for i in range(len(place.lines) - size + 1):
            window = place.lines[i : i + size]
            key = _renamed(window) if renamed else "\n".join(x.text for x in window)
            seen[key].append((p, i))
    pairs = set()
    for positions in seen.values():
        for n, a in enumerate(positions):
            for b in positions[n + 1 :]:
                if a[0] == b[0] and b[1] - a[1] < size:
                    continue
                pairs.add((a, b))
    return pairs


def _runs(
    pairs: set[tuple[Position, Position]],
) -> list[list[tuple[Position, Position]]]:
    """The pairs merged into maximal runs (each window one line below the last)."""
    runs = []
    for a, b in sorted(pairs):
        if ((a[0], a[1] - 1), (b[0], b[1] - 1)) in pairs:
            continue  # not the start of a run
        run = [(a, b)]
        while True:
            (pa, ia), (pb, ib) = run[-1]
            following = ((pa, ia + 1), (pb, ib + 1))
            if following not in pairs:
                break
            run.append(following)
        runs.append(run)
    return runs


def find_clones(places: Sequence[Place], size: int = CLONE_LINES) -> list[Clone]:
    """Identical clones, then those found only once names are renamed."""
    identical = _window_pairs(places, renamed=False, size=size)
    same_shape = _window_pairs(places, renamed=True, size=size)

    def clone(kind: str, run: list[tuple[Position, Position]]) -> Clone:
        (pa, ia), (pb, ib) = run[0]
        length = len(run) + size - 1

        def span(p: int, i: int) -> tuple[str, str, int, int]:
            place = places[p]
            return (
                place.module,
                place.name,
                place.lines[i].first,
                place.lines[i + length - 1].last,
            )

        return Clone(kind, length, span(pa, ia), span(pb, ib))

    clones = [clone("identical", run) for run in _runs(identical)]
    clones += [
        clone("renamed", run)
        for run in _runs(same_shape)
        if not any(pair in identical for pair in run)
    ]
    return clones


# --------------------------------------------------------------------------- #
# Sections and the project as a whole
# --------------------------------------------------------------------------- #


def sections_covered(
    functions: Sequence[FunctionShape], plan_cells: Sequence[Mapping[str, Any]]
) -> tuple[list[str], list[str]]:
    """(covered, total): the sections holding pipeline cells, in notebook order, and
    those of them that some function's labelled cells all come from."""
    section_of = {int(c["number"]): c.get("section") or "" for c in plan_cells}
    total: list[str] = []
    for cell in sorted(plan_cells, key=lambda c: int(c["number"])):
        section = cell.get("section") or ""
        if cell.get("stage") is not None and section and section not in total:
            total.append(section)
    dedicated = set()
    for function in functions:
        sections = {section_of.get(cell, "") for cell in function.cells}
        if len(sections) == 1:
            dedicated |= sections
    return [s for s in total if s in dedicated], total


@dataclass
class ProjectShape:
    """The measures of one generated project."""

    functions: list[FunctionShape]
    clones: list[Clone]
    covered: list[str]
    sections: list[str]

    @property
    def max_returns(self) -> int:
        return max((f.returns for f in self.functions), default=0)

    @property
    def max_params(self) -> int:
        return max((f.params for f in self.functions), default=0)

    @property
    def longest_function(self) -> FunctionShape | None:
        return max(self.functions, key=lambda f: f.lines, default=None)

    @property
    def longest_cell(self) -> int:
        return max((f.longest_block for f in self.functions), default=0)

    @property
    def identical(self) -> int:
        return sum(1 for c in self.clones if c.kind == "identical")

    @property
    def renamed(self) -> int:
        return sum(1 for c in self.clones if c.kind == "renamed")

    def too_long(self) -> list[FunctionShape]:
        """Functions over the line limit that one long cell does not explain: a
        function may be longer only when it holds a single cell's code (one block,
        or a helper) and that code is itself over the limit; a long cell shared
        with other cells' code is no excuse for the others."""
        return [
            f
            for f in self.functions
            if f.lines > MAX_FUNCTION_LINES
            and not (f.cell_count == 1 and f.longest_block > MAX_FUNCTION_LINES)
        ]


def measure_sources(
    sources: Mapping[str, str], plan_cells: Sequence[Mapping[str, Any]]
) -> ProjectShape:
    """Measure stage modules given as module name -> source, with the plan's cells
    (``nbprod-report.json``'s ``plan.cells``)."""
    functions: list[FunctionShape] = []
    places: list[Place] = []
    for module in sorted(sources):
        functions += module_functions(module, sources[module])
        places += module_places(module, sources[module])
    covered, total = sections_covered(functions, plan_cells)
    return ProjectShape(functions, find_clones(places), covered, total)


def measure_project(project: Path) -> ProjectShape:
    """Measure a project written by ``nbprod convert``."""
    report = json.loads((project / "nbprod-report.json").read_text(encoding="utf-8"))
    plan = report["plan"]
    package = project / "src" / plan["package"]
    sources = {
        name: (package / f"{name}.py").read_text(encoding="utf-8")
        for name in STAGE_MODULES
        if (package / f"{name}.py").exists()
    }
    return measure_sources(sources, plan["cells"])


# --------------------------------------------------------------------------- #
# Converting, and the report
# --------------------------------------------------------------------------- #


@dataclass
class Result:
    """One notebook: its project's shape, or why it has none."""

    label: str
    notebook: Path
    shape: ProjectShape | None = None
    error: str | None = None


def convert(notebook: Path, out: Path, timeout: float) -> str | None:
    """Run ``nbprod convert`` on ``notebook``; the one-line error, or None."""
    command = [
        sys.executable,
        "-m",
        "nbprod",
        "convert",
        str(notebook),
        "-o",
        str(out),
        "--no-validate",
        "--force",
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if result.returncode != 0:
        return f"exit {result.returncode}: {last_line(result.stderr or result.stdout)}"
    return None


def notebooks(corpus: Path | None, examples: bool) -> list[tuple[str, Path]]:
    """(label, path) of every notebook, examples first, each group sorted; a
    corpus notebook in a subfolder is labelled with its relative path."""
    found = []
    if examples:
        found += [(p.stem, p) for p in sorted(EXAMPLES.glob("*.ipynb"))]
    if corpus is not None:
        for path in sorted(corpus.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue  # Jupyter's autosaves, not notebooks of their own
            found.append((path.relative_to(corpus).with_suffix("").as_posix(), path))
    return found


def run(items: Sequence[tuple[str, Path]], root: Path, timeout: float) -> list[Result]:
    """Convert and measure every notebook, in order; a failure is recorded."""
    results = []
    used: set[str] = set()
    for label, notebook in items:
        name = label.replace("/", "__")
        while name in used:  # an example and a corpus notebook of one name
            name += "_"
        used.add(name)
        out = root / name
        result = Result(label, notebook)
        progress(f"  converting {label} ...")
        result.error = convert(notebook, out, timeout)
        if result.error is None:
            try:
                result.shape = measure_project(out)
            except (OSError, ValueError, KeyError, SyntaxError) as exc:
                result.error = f"could not measure: {exc.__class__.__name__}: {exc}"
        results.append(result)
    return results


def _median(values: Sequence[float]) -> str:
    return f"{statistics.median(values):g}" if values else "-"


def shape_rows(results: Sequence[Result]) -> list[list[str]]:
    """The table of measures, then the medians."""
    rows = [
        [
            "project",
            "functions",
            "max returns",
            "max params",
            "longest fn",
            "longest cell",
            "clones",
            "renamed",
            "sections",
        ]
    ]
    shapes = [r.shape for r in results if r.shape is not None]
    for result in results:
        shape = result.shape
        if shape is None:
            continue
        longest = shape.longest_function
        rows.append(
            [
                result.label,
                str(len(shape.functions)),
                str(shape.max_returns),
                str(shape.max_params),
                str(longest.lines if longest else 0),
                str(shape.longest_cell),
                str(shape.identical),
                str(shape.renamed),
                f"{len(shape.covered)}/{len(shape.sections)}",
            ]
        )
    ratios = [len(s.covered) / len(s.sections) for s in shapes if s.sections]
    rows.append(
        [
            f"median of {len(shapes)}",
            _median([len(s.functions) for s in shapes]),
            _median([s.max_returns for s in shapes]),
            _median([s.max_params for s in shapes]),
            _median(
                [s.longest_function.lines if s.longest_function else 0 for s in shapes]
            ),
            _median([s.longest_cell for s in shapes]),
            _median([s.identical for s in shapes]),
            _median([s.renamed for s in shapes]),
            f"{statistics.median(ratios):.0%}" if ratios else "-",
        ]
    )
    return rows


def target_verdicts(shape: ProjectShape) -> list[tuple[bool, str]]:
    """(met, detail) for each target, in the order of the targets table."""
    returns = max(shape.functions, key=lambda f: f.returns, default=None)
    params = max(shape.functions, key=lambda f: f.params, default=None)
    long = shape.too_long()
    # The worst offender, or else the longest function: the figure behind PASS.
    worst = max(long or shape.functions, key=lambda f: f.lines, default=None)
    clones = shape.identical + shape.renamed
    return [
        (
            shape.max_returns <= MAX_RETURNS,
            f"{shape.max_returns}" + (f" {returns.name}" if returns else ""),
        ),
        (
            shape.max_params <= MAX_PARAMS,
            f"{shape.max_params}" + (f" {params.name}" if params else ""),
        ),
        (clones == 0, f"{shape.identical}+{shape.renamed}"),
        (
            not long,
            (
                f"{worst.lines} {worst.name}, cells: {worst.cell_count}"
                if worst
                else "0"
            ),
        ),
        (
            len(shape.covered) == len(shape.sections),
            f"{len(shape.covered)}/{len(shape.sections)}",
        ),
    ]


def target_rows(results: Sequence[Result]) -> list[list[str]]:
    """PASS/FAIL per project and target, with the figure behind each."""
    rows = [
        [
            "project",
            f"returns <= {MAX_RETURNS}",
            f"params <= {MAX_PARAMS}",
            "no clones",
            f"fn <= {MAX_FUNCTION_LINES} lines",
            "sections covered",
            "all",
        ]
    ]
    for result in results:
        if result.shape is None:
            continue
        verdicts = target_verdicts(result.shape)
        rows.append(
            [
                result.label,
                *(f"{verdict(ok)} ({detail})" for ok, detail in verdicts),
                verdict(all(ok for ok, _ in verdicts)),
            ]
        )
    return rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; bad arguments exit 2 (argparse's ``error``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="also convert every *.ipynb under this folder",
    )
    parser.add_argument(
        "--no-examples", action="store_true", help="skip examples/notebooks"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        default=None,
        help="convert into DIR and keep the projects (default: a temporary folder)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds before one conversion counts as failed",
    )
    args = parser.parse_args(argv)
    if args.corpus is not None and not args.corpus.is_dir():
        parser.error(f"--corpus {args.corpus}: not a folder")
    if args.keep is not None and args.keep.exists() and not args.keep.is_dir():
        parser.error(f"--keep {args.keep}: exists and is not a folder")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    if not notebooks(args.corpus, not args.no_examples):
        parser.error("no notebooks to convert")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Convert, measure and print. Returns 0 whatever the targets say."""
    args = parse_args(argv)
    items = notebooks(args.corpus, not args.no_examples)
    progress(f"Converting {len(items)} notebooks ...")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        results = run(items, args.keep, args.timeout)
    else:
        with tempfile.TemporaryDirectory(prefix="nbprod-shape-") as tmp:
            results = run(items, Path(tmp), args.timeout)

    import nbprod

    sources = [] if args.no_examples else ["examples/notebooks"]
    if args.corpus is not None:
        sources.append(str(args.corpus))
    measured = [(r.label, r.shape) for r in results if r.shape is not None]
    print(
        f"nbprod {nbprod.__version__}, Python {sys.version.split()[0]}; "
        f"{len(measured)} of {len(results)} notebooks converted "
        f"({', '.join(sources)})"
    )
    print()
    print("Stage modules (" + ", ".join(STAGE_MODULES) + "):")
    print(fmt_table(shape_rows(results)))
    print()
    print(
        f"Targets: returns <= {MAX_RETURNS} values; <= {MAX_PARAMS} parameters; "
        f"no clone of {CLONE_LINES}+ statement lines (identical+renamed); "
        f"functions <= {MAX_FUNCTION_LINES} lines unless one cell is longer "
        "(the worst function and the cells it holds); every section with pipeline code "
        "covered:"
    )
    print(fmt_table(target_rows(results)))
    passed = sum(
        1 for _, shape in measured if all(ok for ok, _ in target_verdicts(shape))
    )
    print(f"{passed} of {len(measured)} projects meet every target.")
    clones = [(label, c) for label, shape in measured for c in shape.clones]
    if clones:
        print()
        print(f"Clones ({CLONE_LINES}+ consecutive statement lines):")
        for label, clone in clones:
            print(f"  {label}: {clone.describe()}")
    failed = [r for r in results if r.error is not None]
    if failed:
        print()
        print("Not measured:")
        for result in failed:
            print(f"  {result.label}: {result.error}")
    if args.keep is not None:
        print()
        print(f"Projects kept in {args.keep}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
