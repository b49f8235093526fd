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
from nbprod.convert.analysis.effects import EffectsPart
from nbprod.convert.analysis.facts import CellFacts, ParsedCell, Predicting
from nbprod.convert.analysis.helpers import helper_facts
from nbprod.convert.analysis.imports import implied_imports, imports_of
from nbprod.convert.analysis.kinds import sort_statements
from nbprod.convert.analysis.known_strings import forget
from nbprod.convert.analysis.literals import LiteralsPart
from nbprod.convert.analysis.nodes import bound_names, line_of, names_in, walk
from nbprod.convert.analysis.predictors import PredictorsPart
from nbprod.convert.analysis.randomness import RandomnessPart, Seeding
from nbprod.convert.analysis.refuse import dynamic_definitions
from nbprod.convert.analysis.resolve import Resolution, Resolver
from nbprod.convert.analysis.rows import RowsPart
from nbprod.convert.analysis.scope import scope_facts
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
    module = pc.module
    dynamic = dynamic_definitions(pc)  # refuses ``global`` inside a function
    sorting = sort_statements(pc, resolver, keep)
    kinds, kept = sorting.kinds, sorting.kept
    scope = scope_facts(pc, kept, kinds)

    imports = resolver.imports
    resolution = Resolution(resolver, before.types)
    calls = resolution.calls  # filled for each call before the other parts see it
    flow = DataFlowPart(pc, imports, calls)
    signals = SignalsPart(pc, imports, calls)
    effects = EffectsPart(imports, calls)
    literals = LiteralsPart(pc, imports, calls, before.constants)
    randomness = RandomnessPart(pc, resolver, before.seeding, resolution.set_loops)
    predictors = PredictorsPart(imports, calls, before.predicting)
    # A function this cell defines again no longer fits as before; what this
    # cell's own functions fit is known from the next cell on.
    fitting = set(before.fitting)
    for i in kept:
        stmt = module.body[i]
        if isinstance(stmt, cst.FunctionDef):
            fitting.discard(stmt.name.value)
    rows = RowsPart(
        imports, calls, before.predicting, frozenset(fitting), before.fitted
    )
    batch = Batch(
        [resolution, flow, signals, effects, literals, randomness, predictors, rows]
    )
    helpers = []
    for i in kept:
        stmt = module.body[i]
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            free = scope.helper_free.get(stmt.name.value, ())
            helpers.append(helper_facts(stmt, pc, resolver, free, originals))
            # Decorators (and, for randomness, default values and class bodies)
            # run where the definition is written.
            for deco in stmt.decorators:
                walk(deco, batch)
            randomness.definition(stmt)
        elif kinds[i] != "import":
            batch.run(i, stmt)

    resolved, flowed, found = resolution.result(), flow.result(), effects.result()
    signalled, chance, predicted = (
        signals.result(),
        randomness.result(),
        predictors.result(),
    )
    moved = rows.result()
    dropped = sorting.dropped
    cell_effects = set(found.effects)
    if any(d.kind == "plot" for d in dropped):
        cell_effects.add("plot")
    if any(d.kind == "display" for d in dropped):
        cell_effects.add("display")
    if kinds and all(kinds[i] == "print" for i in kept) and kept:
        cell_effects.add("print")
    cell_imports = tuple(implied_imports(pc)) + tuple(
        imp
        for i in kept
        if kinds[i] == "import"
        for small in module.body[i].body  # type: ignore[union-attr]
        for imp in imports_of(small, line_of(pc, module.body[i]))
    )
    facts = CellFacts(
        number=pc.cell.number,
        reads=_unique(scope.reads),
        defines=_unique(scope.defines),
        mutates=_unique(flowed.mutates),
        deletes=_unique(flowed.deletes),
        string_reads=_unique(flowed.string_reads),
        calls=_unique(found.calls),
        signals=signalled.signals,
        effects=tuple(sorted(cell_effects)),
        imports=cell_imports,
        helpers=tuple(helpers),
        name_calls=flowed.name_calls,
        literals=literals.result().literals,
        dropped=dropped,
        has_code=any(kinds[i] not in _DEFINITIONS for i in kept),
        estimators=_unique(signalled.estimators),
        results=_unique(signalled.results),
        unsaveable=_unique(signalled.unsaveable),
        names_used=_unique(scope.used),
        names_seen=_names_seen(module, kinds),
        unseeded=chance.unseeded,
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
    )
    constants = dict(literals.known.constants)
    for i, stmt in enumerate(module.body):
        if i not in kept or kinds[i] in _DEFINITIONS:
            forget(constants, stmt)  # a def, an import or a display rebinds it
    known = dict(before.predicting)
    for h in helpers:
        known.pop(h.name, None)
        if h.predicting is not None:
            known[h.name] = h.predicting
        if any(s.stage == Stage.TRAINING for s in h.signals):
            fitting.add(h.name)
    return facts, State(
        resolved.types,
        chance.seeding,
        MappingProxyType(constants),
        MappingProxyType(known),
        frozenset(fitting),
        frozenset(rows.fitted),
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
