"""One cell's facts: each question asked of its kept statements in one traversal,
the answers put together as ``CellFacts``.

The notebook-wide state that legitimately evolves from cell to cell (the types
assigned so far, what is seeded so far) comes in as ``State`` and goes out as the
``State`` after the cell; nothing else is carried, and nothing is written into the
parsed cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import libcst as cst

from nbprod.convert.analysis.dataflow import DataFlowPart
from nbprod.convert.analysis.effects import Effects, EffectsPart
from nbprod.convert.analysis.facts import (
    CellFacts,
    Helper,
    Import,
    ParsedCell,
    Predicting,
)
from nbprod.convert.analysis.helpers import helper_facts
from nbprod.convert.analysis.imports import implied_imports, imports_of
from nbprod.convert.analysis.kinds import Kinds, sort_statements
from nbprod.convert.analysis.known_strings import forget
from nbprod.convert.analysis.literals import LiteralsPart
from nbprod.convert.analysis.metric_calls import MetricCallsPart
from nbprod.convert.analysis.nodes import bound_names, line_of, names_in, walk
from nbprod.convert.analysis.predictors import PredictorsPart
from nbprod.convert.analysis.randomness import RandomnessPart, Seeding
from nbprod.convert.analysis.refuse import dynamic_definitions
from nbprod.convert.analysis.resolve import Resolution, Resolver
from nbprod.convert.analysis.rows import RowsPart
from nbprod.convert.analysis.scope import ScopeFacts, scope_facts
from nbprod.convert.analysis.signals import SignalsPart
from nbprod.convert.analysis.statements import statement_facts
from nbprod.convert.analysis.walk import Batch
from nbprod.stages import Stage

_DEFINITIONS = frozenset({"import", "def", "class"})


@dataclass(frozen=True)
class State:
    """What the cells above left: the types assigned to names, what is seeded."""

    types: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    seeding: Seeding = Seeding()
    # names bound to strings and paths computed from literals alone
    constants: Mapping[str, tuple[str, bool]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # the notebook's functions that return predictions row by row
    predicting: Mapping[str, Predicting] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # the notebook's functions that fit (their bodies signal training), and the
    # names bound to what they returned
    fitting: frozenset[str] = frozenset()
    fitted: frozenset[str] = frozenset()


def analyse_cell(
    pc: ParsedCell,
    resolver: Resolver,
    before: State,
    keep: frozenset[str],
    originals: Mapping[str, str],
) -> tuple[CellFacts, State]:
    """The facts of one cell and the state after it. ``keep``: names that later
    cells need from statements otherwise dropped; ``originals``: the notebook's
    name of each renamed later definition."""
    dynamic = dynamic_definitions(pc)  # refuses ``global`` inside a function
    sorting = sort_statements(pc, resolver, keep)
    scope = scope_facts(pc, sorting.kept, sorting.kinds)
    parts = _parts(pc, resolver, before, sorting.kept)
    helpers = _walk_kept(pc, resolver, sorting, scope, parts, originals)
    facts = _cell_facts(pc, sorting, scope, parts, helpers, dynamic)
    return facts, _state_after(pc.module, before, sorting, parts, helpers)


@dataclass(frozen=True)
class _Parts:
    """The parts that each answer one question of a cell's kept statements, and
    the notebook's fitting functions as the cell starts."""

    resolution: Resolution
    flow: DataFlowPart
    signals: SignalsPart
    effects: EffectsPart
    literals: LiteralsPart
    randomness: RandomnessPart
    predictors: PredictorsPart
    rows: RowsPart
    metric_calls: MetricCallsPart
    fitting: frozenset[str]

    def batch(self) -> Batch:
        """All the parts, walked in one traversal, the resolution first."""
        return Batch(
            [
                self.resolution,
                self.flow,
                self.signals,
                self.effects,
                self.literals,
                self.randomness,
                self.predictors,
                self.rows,
                self.metric_calls,
            ]
        )


def _parts(
    pc: ParsedCell, resolver: Resolver, before: State, kept: tuple[int, ...]
) -> _Parts:
    """The parts that analyse the cell, set up with what the cells above left."""
    imports = resolver.imports
    resolution = Resolution(resolver, before.types)
    calls = resolution.calls  # filled for each call before the other parts see it
    fitting = _still_fitting(pc.module, before, kept)
    return _Parts(
        resolution,
        DataFlowPart(pc, imports, calls),
        SignalsPart(pc, imports, calls),
        EffectsPart(imports, calls),
        LiteralsPart(pc, imports, calls, before.constants),
        RandomnessPart(pc, resolver, before.seeding, resolution.set_loops),
        PredictorsPart(imports, calls, before.predicting),
        RowsPart(imports, calls, before.predicting, fitting, before.fitted),
        MetricCallsPart(pc, calls),
        fitting,
    )


def _still_fitting(
    module: cst.Module, before: State, kept: tuple[int, ...]
) -> frozenset[str]:
    """The fitting functions of the cells above that still fit in this cell."""
    # A function this cell defines again no longer fits as before; what this
    # cell's own functions fit is known from the next cell on.
    fitting = set(before.fitting)
    for i in kept:
        stmt = module.body[i]
        if isinstance(stmt, cst.FunctionDef):
            fitting.discard(stmt.name.value)
    return frozenset(fitting)


def _walk_kept(
    pc: ParsedCell,
    resolver: Resolver,
    sorting: Kinds,
    scope: ScopeFacts,
    parts: _Parts,
    originals: Mapping[str, str],
) -> tuple[Helper, ...]:
    """Runs the kept statements through the parts; what are the facts of the
    helpers the cell defines?"""
    batch = parts.batch()
    helpers = []
    for i in sorting.kept:
        stmt = pc.module.body[i]
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            free = scope.helper_free.get(stmt.name.value, ())
            helpers.append(helper_facts(stmt, pc, resolver, free, originals))
            # Decorators (and, for randomness, default values and class bodies)
            # run where the definition is written.
            for deco in stmt.decorators:
                walk(deco, batch)
            parts.randomness.definition(stmt)
        elif sorting.kinds[i] != "import":
            batch.run(i, stmt)
    return tuple(helpers)


def _cell_facts(
    pc: ParsedCell,
    sorting: Kinds,
    scope: ScopeFacts,
    parts: _Parts,
    helpers: tuple[Helper, ...],
    dynamic: tuple[str, ...],
) -> CellFacts:
    """The cell's facts, from the parts that walked its kept statements."""
    module, kinds, kept = pc.module, sorting.kinds, sorting.kept
    flowed, found = parts.flow.result(), parts.effects.result()
    signalled, predicted = parts.signals.result(), parts.predictors.result()
    moved = parts.rows.result()
    return CellFacts(
        number=pc.cell.number,
        reads=_unique(scope.reads),
        defines=_unique(scope.defines),
        mutates=_unique(flowed.mutates),
        deletes=_unique(flowed.deletes),
        string_reads=_unique(flowed.string_reads),
        calls=_unique(found.calls),
        signals=signalled.signals,
        effects=_cell_effects(found, sorting),
        imports=_cell_imports(pc, sorting),
        helpers=helpers,
        name_calls=flowed.name_calls,
        literals=parts.literals.result().literals,
        dropped=sorting.dropped,
        has_code=any(kinds[i] not in _DEFINITIONS for i in kept),
        estimators=_unique(signalled.estimators),
        results=_unique(signalled.results),
        unsaveable=_unique(signalled.unsaveable),
        names_used=_unique(scope.used),
        names_seen=_names_seen(module, kinds),
        unseeded=parts.randomness.result().unseeded,
        written=_unique(found.written),
        predictors=_unique(predicted.predictors),
        loaded=_unique(found.loaded),
        assigned=_unique(
            n
            for i in kept
            if kinds[i] != "import"
            for n in sorted(bound_names(module.body[i]))
        ),
        mutated_top=_unique(flowed.mutated_top),
        statements=tuple(
            statement_facts(pc, i, scope, flowed, found, predicted, moved)
            for i in kept
            if kinds[i] not in _DEFINITIONS
        ),
        dynamic=dynamic,
        kinds=sorting.classified,
        kept=kept,
        shown=sorting.shown,
        shows=sorting.shows,
        draws=sorting.draws,
        figures=sorting.figures,
        nested_displays=sorting.nested_displays,
        metric_calls=parts.metric_calls.result(),
    )


def _cell_effects(found: Effects, sorting: Kinds) -> tuple[str, ...]:
    """What the cell does besides computing, its dropped statements included."""
    kinds, kept = sorting.kinds, sorting.kept
    cell_effects = set(found.effects)
    if any(d.kind == "plot" for d in sorting.dropped):
        cell_effects.add("plot")
    if any(d.kind == "display" for d in sorting.dropped):
        cell_effects.add("display")
    if kinds and all(kinds[i] == "print" for i in kept) and kept:
        cell_effects.add("print")
    return tuple(sorted(cell_effects))


def _cell_imports(pc: ParsedCell, sorting: Kinds) -> tuple[Import, ...]:
    """The cell's imports: those its normalised code implies, then its own."""
    module = pc.module
    return tuple(implied_imports(pc)) + tuple(
        imp
        for i in sorting.kept
        if sorting.kinds[i] == "import"
        for small in module.body[i].body  # type: ignore[union-attr]
        for imp in imports_of(small, line_of(pc, module.body[i]))
    )


def _state_after(
    module: cst.Module,
    before: State,
    sorting: Kinds,
    parts: _Parts,
    helpers: tuple[Helper, ...],
) -> State:
    """What the cells above and this one leave to the cells below."""
    kinds, kept = sorting.kinds, sorting.kept
    constants = dict(parts.literals.known.constants)
    for i, stmt in enumerate(module.body):
        if i not in kept or kinds[i] in _DEFINITIONS:
            forget(constants, stmt)  # a def, an import or a display rebinds it
    known = dict(before.predicting)
    fitting = set(parts.fitting)
    for h in helpers:
        known.pop(h.name, None)
        if h.predicting is not None:
            known[h.name] = h.predicting
        if any(s.stage == Stage.TRAINING for s in h.signals):
            fitting.add(h.name)
    return State(
        parts.resolution.result().types,
        parts.randomness.result().seeding,
        MappingProxyType(constants),
        MappingProxyType(known),
        frozenset(fitting),
        frozenset(parts.rows.fitted),
    )


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    """The names once each, in the order first seen."""
    return tuple(dict.fromkeys(names))


def _names_seen(module: cst.Module, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """Every variable-like name in the cell's statements but its imports."""
    seen: dict[str, None] = {}
    for stmt, kind in zip(module.body, kinds, strict=True):
        if kind != "import":
            seen.update(dict.fromkeys(n.value for n in names_in(stmt)))
    return tuple(seen)
