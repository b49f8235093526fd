"""Names defined more than once: every definition kept, each under its own name.

A module holds one function per name; a notebook runs its definitions in turn. A
model fitted with the first ``featurize`` must not be refitted, in the pipeline,
with a later one. As marimo's converter does, the first definition keeps its name
and later ones get names of their own: after what each adds to the one before
(the first new string, a column it assigns first: ``featurize_age``), else
``featurize_2``, ``featurize_3``; each reference is bound to the definition live
at that point of the notebook:

    cell 2  def featurize(x): ...           def featurize(x): ...
    cell 3  m = fit(featurize(X))      ->   m = fit(featurize(X))
    cell 4  def featurize(x):               def featurize_age(x):
                x["age"] = ...                  x["age"] = ...
    cell 5  p = featurize(X)                p = featurize_age(X)

A reference inside another helper's body is looked up when that helper runs, so it
is bound to the definition live wherever the notebook runs the helper; when those
places need different definitions, the notebook is refused by cell and line.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple, NoReturn

import libcst as cst
from libcst.metadata import Assignment, GlobalScope

from nbprod.convert.analysis.edits import Edit
from nbprod.convert.analysis.facts import ParsedCell, Reference
from nbprod.convert.analysis.nodes import names_in
from nbprod.convert.analysis.scope import global_references
from nbprod.errors import CellError

# (index of the cell in notebook order, index of the top-level statement in it)
Position = tuple[int, int]
END: Position = (sys.maxsize, 0)


@dataclass(frozen=True)
class _Definition:
    name: str  # as the notebook wrote it
    version: str  # the name it has in the project
    position: Position
    kind: str  # function | class


def versioned_definitions(
    parsed: list[ParsedCell],
) -> tuple[dict[int, list[Edit]], dict[str, str]]:
    """Edits, by cell index, that name each later definition apart and bind each
    reference to its definition; and the notebook's name for each new name."""
    found = _definitions(parsed)
    _refuse_other_bindings(parsed, found)
    repeated = {name for name, defs in found.items() if len(defs) > 1}
    if not repeated:
        return {}, {}
    versions = _versions(parsed, found, repeated)
    timeline = _Timeline(versions.found)
    runs = _runs(parsed, timeline)
    _spread(runs, timeline)
    inner = _inner_edits(parsed, timeline, runs, repeated)
    edits: dict[int, list[Edit]] = defaultdict(list)
    for k, edit in (*versions.edits, *runs.edits, *inner):
        edits[k].append(edit)
    return dict(edits), versions.originals


def _definitions(parsed: list[ParsedCell]) -> dict[str, list[_Definition]]:
    """Every top-level ``def`` and ``class`` of the notebook, by name, in
    notebook order, each under the name it is written with."""
    found: dict[str, list[_Definition]] = defaultdict(list)
    for k, pc in enumerate(parsed):
        for i, stmt in enumerate(pc.module.body):
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                name = stmt.name.value
                kind = "class" if isinstance(stmt, cst.ClassDef) else "function"
                found[name].append(_Definition(name, name, (k, i), kind))
    return found


class _Versions(NamedTuple):
    """The definitions under their versions, the edits that rename the later
    ones (by cell index), and the notebook's name for each new name."""

    found: dict[str, list[_Definition]]
    edits: list[tuple[int, Edit]]
    originals: dict[str, str]


def _versions(
    parsed: list[ParsedCell],
    found: dict[str, list[_Definition]],
    repeated: set[str],
) -> _Versions:
    """Which name does each later definition of a ``repeated`` name get? Its
    entry in ``found`` is replaced by one under that name."""
    taken = {n.value for pc in parsed for n in names_in(pc.module)}
    originals: dict[str, str] = {}
    edits: list[tuple[int, Edit]] = []

    def node(d: _Definition) -> cst.CSTNode:
        k, i = d.position
        return parsed[k].module.body[i]

    for name in sorted(repeated):
        defs = list(found[name])
        for n, d in enumerate(defs[1:], start=2):
            version = f"{name}_{_what_differs(node(defs[n - 2]), node(d))}"
            if version == f"{name}_" or version in taken:
                while f"{name}_{n}" in taken:
                    n += 1
                version = f"{name}_{n}"
            taken.add(version)
            originals[version] = name
            found[name][found[name].index(d)] = _Definition(
                name, version, d.position, d.kind
            )
            k, i = d.position
            stmt = parsed[k].module.body[i]
            assert isinstance(stmt, (cst.FunctionDef, cst.ClassDef))
            pos = parsed[k].positions[stmt.name].start
            edits.append((k, Edit(pos.line, pos.column, len(name), version)))
    return _Versions(found, edits, originals)


class _Timeline:
    """The definitions of each name in notebook order: which one is live where."""

    def __init__(self, found: dict[str, list[_Definition]]) -> None:
        self.found = found
        self.at = {d.position: d for defs in found.values() for d in defs}
        self.by_version = {d.version: d for d in self.at.values()}

    def live(self, name: str, where: Position) -> _Definition | None:
        """The definition of ``name`` a statement at ``where`` sees, if any."""
        before = [d for d in self.found[name] if d.position < where]
        return before[-1] if before else None

    def live_during(
        self, name: str, start: Position, end: Position
    ) -> set[_Definition]:
        """The definitions of ``name`` live at some point from ``start`` to ``end``."""
        during = {d for d in self.found[name] if start < d.position < end}
        first = self.live(name, start)
        return during | ({first} if first else set())


def _span(
    d: _Definition, start: Position, end: Position, call: bool
) -> tuple[Position, Position]:
    """When ``d`` runs, used from ``start`` to ``end``."""
    # A function called at a statement runs there; a class, or a function passed
    # as a value (``FunctionTransformer(featurize)``), may run at any later point.
    return (start, end) if call and d.kind == "function" else (start, END)


@dataclass(frozen=True)
class _Runs:
    """When each definition runs, by version: (first, last) positions of the
    notebook; the references inside each helper's body, by the helper's version,
    with their cell index; and the edits that bind top-level references."""

    spans: dict[str, set[tuple[Position, Position]]]
    inside: dict[str, list[tuple[int, Reference]]]
    edits: list[tuple[int, Edit]]


def _runs(parsed: list[ParsedCell], timeline: _Timeline) -> _Runs:
    """Where does top-level code run each definition, and which definition does
    each of its references mean?"""
    runs: dict[str, set[tuple[Position, Position]]] = defaultdict(set)
    inside: dict[str, list[tuple[int, Reference]]] = defaultdict(list)
    edits: list[tuple[int, Edit]] = []
    for k, pc in enumerate(parsed):
        for ref in global_references(pc):
            if ref.name not in timeline.found:
                continue
            if ref.helper is not None and ref.runtime:
                inside[timeline.at[(k, ref.statement)].version].append((k, ref))
                continue
            # Top-level code, decorators, defaults and class bodies run where they are.
            here = (k, ref.statement)
            defined = timeline.live(ref.name, here)
            if defined is None:
                continue
            runs[defined.version].add(_span(defined, here, here, ref.call))
            if defined.version != ref.name:
                edit = Edit(ref.line, ref.column, len(ref.name), defined.version)
                edits.append((k, edit))
    return _Runs(runs, inside, edits)


def _spread(runs: _Runs, timeline: _Timeline) -> None:
    """Adds to ``runs`` when the definitions that helpers use run: while the
    helpers using them run."""
    spans = runs.spans
    queue = list(spans)
    while queue:
        container = queue.pop()
        for _, ref in runs.inside.get(container, ()):
            for start, end in list(spans[container]):
                for d in timeline.live_during(ref.name, start, end):
                    new = _span(d, start, end, ref.call)
                    if new not in spans[d.version]:
                        spans[d.version].add(new)
                        queue.append(d.version)


def _inner_edits(
    parsed: list[ParsedCell], timeline: _Timeline, runs: _Runs, repeated: set[str]
) -> list[tuple[int, Edit]]:
    """Which definition does each reference inside a helper's body mean? The
    edits that bind them, by cell index; refused when it is more than one."""
    edits: list[tuple[int, Edit]] = []
    for container, refs in runs.inside.items():
        for k, ref in refs:
            if ref.name not in repeated:
                continue
            spans = runs.spans.get(container)
            defined = timeline.by_version[container]
            options = (
                set().union(*(timeline.live_during(ref.name, s, e) for s, e in spans))
                if spans
                else {d for d in [timeline.live(ref.name, defined.position)] if d}
            )
            if len(options) > 1:
                _refuse_ambiguous(parsed, defined.name, options, k, ref)
            for d in options:
                if d.version != ref.name:
                    edit = Edit(ref.line, ref.column, len(ref.name), d.version)
                    edits.append((k, edit))
    return edits


def _refuse_ambiguous(
    parsed: list[ParsedCell],
    helper: str,
    options: set[_Definition],
    k: int,
    ref: Reference,
) -> NoReturn:
    """``helper`` runs while different definitions of what ``ref`` names are
    live: refused where the reference is."""
    cells = sorted(parsed[d.position[0]].cell.number for d in options)
    raise CellError(
        f"{helper}() uses {ref.name}, and the notebook runs {helper}() "
        f"both before and after a redefinition of {ref.name} "
        f"(cells {', '.join(map(str, cells))})",
        where=f"cell {parsed[k].cell.number}, line {ref.line}",
        hint=f"give the definitions of {ref.name} different names",
    )


def _refuse_other_bindings(
    parsed: list[ParsedCell], found: dict[str, list[_Definition]]
) -> None:
    """A name both defined by a top-level ``def``/``class`` (moved to module level)
    and bound by other code (kept in a stage function) would be two different
    names in the project: refused where the other binding is."""
    for pc in parsed:
        scope = next(
            (s for s in pc.scopes.values() if isinstance(s, GlobalScope)), None
        )
        if scope is None:
            continue
        stmt_of = pc.statement_of
        for assignment in scope.assignments:
            if assignment.name not in found or not isinstance(assignment, Assignment):
                continue
            stmt = stmt_of.get(id(assignment.node))
            if stmt is None or pc.module.body[stmt] is assignment.node:
                continue
            first = found[assignment.name][0]
            pos = pc.positions.get(assignment.node)
            line = f", line {pos.start.line}" if pos else ""
            raise CellError(
                f"{assignment.name} is bound here and also defined by the {first.kind} "
                f"statement of cell {_cell_number(parsed, first)}; a project keeps "
                "definitions at module level, apart from the code that binds names",
                where=f"cell {pc.cell.number}{line}",
                hint=f"give one of them another name than {assignment.name}",
            )


def _cell_number(parsed: list[ParsedCell], d: _Definition) -> int:
    return parsed[d.position[0]].cell.number


def _what_differs(before: cst.CSTNode, after: cst.CSTNode) -> str:
    """What a later definition adds, as a name: the first string it holds that
    the definition before it does not, a column it assigns first
    (``df["age"] = ...`` gives ``age``; ``df["make_%s" % v] = ...`` gives
    ``make``), or "" when there is none.

    Experiments redefine a feature function with one more feature each time:
    ``prepare_X_age`` says which, where ``prepare_X_2`` does not."""
    seen = {n.evaluated_value for n in _strings(before)[1]}
    targets, strings = _strings(after)
    for string in (*targets, *strings):
        value = string.evaluated_value
        if not isinstance(value, str) or value in seen:
            continue
        word = re.sub(r"%\w|\{[^}]*\}|\W+", "_", value).strip("_").lower()
        word = re.sub(r"_+", "_", word)
        if word.isidentifier() and not word[0].isdigit() and len(word) <= 20:
            return word
    return ""


def _strings(
    node: cst.CSTNode,
) -> tuple[list[cst.SimpleString], list[cst.SimpleString]]:
    """The plain string literals in ``node`` that are in what an assignment
    binds (``df["age"] = ...``), and all of them, in the order they are written."""
    found: list[cst.SimpleString] = []
    targets: list[cst.SimpleString] = []
    depth = [0]

    class Strings(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            depth[0] += 1

        def leave_AssignTarget(self, node: cst.AssignTarget) -> None:
            depth[0] -= 1

        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            if not string.prefix.lower().startswith("b"):
                found.append(string)
                if depth[0]:
                    targets.append(string)

    node.visit(Strings())
    return targets, found
