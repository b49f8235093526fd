"""What flows between the stages (each stage's inputs and outputs), and what
the proof must know of the notebook's values: read from files, timed, or never
returned."""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from nbprod.convert.analysis import CellFacts, Statement
from nbprod.convert.plan.cells import (
    HelperFacts,
    HelperParams,
    WorkCell,
    helper_changes,
)
from nbprod.plan import StagePlan
from nbprod.stages import STAGES, Stage

# Each stage's inputs and outputs, in the order the notebook first makes them.
StageIO = dict[str, tuple[tuple[str, ...], tuple[str, ...]]]


def stage_inputs_outputs(
    work: list[WorkCell],
    parameter_names: set[str],
    helper_params: dict[str, tuple[str, ...]],
    warnings: list[str],
) -> tuple[StageIO, dict[str, str]]:
    """Inputs and outputs of each stage, walking cells in pipeline order; and the
    stage that makes each name last."""
    ordered = sorted(work, key=lambda c: (c.stage.order, c.facts.number))
    inputs, outputs, producer = _handed_on(ordered, parameter_names, warnings)
    # What a stage computes with a known API (a fitted model, predictions, metrics)
    # is returned even when no later stage needs it: it is the stage's result.
    # Preprocessing's results are what later stages use, unless it is all there is.
    # A figure object (``fig, ax = plt.subplots()``) is none: it is drawn and
    # saved as an image where it is made, never returned or pickled.
    figures = {n for c in work for n in c.facts.figures}
    # Nor is a value no pickle can save (a DMatrix): only a later stage that
    # reads it makes it an output (and that is warned about).
    unsaveable = {n for c in work for n in c.facts.unsaveable}
    local = figures | unsaveable
    only_preprocessing = all(c.stage == Stage.PREPROCESSING for c in work)
    for c in ordered:
        if c.stage == Stage.PREPROCESSING and not only_preprocessing:
            continue
        for name in _cell_results(c):
            if producer.get(name) == c.stage and name not in local:
                outputs[c.stage][name] = None
    # A value a stage computes and nothing reads afterwards (a metric shown by a
    # dropped display, the weights of a loop) is its result too: as a local it
    # would be lost to the proof, and ruff's unused-variable fix would delete it.
    for stage, names in _unread(ordered, helper_params).items():
        for name in names:
            if producer.get(name) == stage and name not in local:
                outputs[stage][name] = None
    _warn_handed_on(outputs, figures, unsaveable, warnings)
    return _in_notebook_order(work, inputs, outputs), producer


class _Handed(NamedTuple):
    """Per stage, the names it reads from config or an earlier stage, and those
    it hands on to a later one; and the stage that makes each name last."""

    inputs: dict[str, dict[str, None]]
    outputs: dict[str, dict[str, None]]
    producer: dict[str, str]


def _handed_on(
    ordered: list[WorkCell], parameter_names: set[str], warnings: list[str]
) -> _Handed:
    """What each stage reads that config or another stage makes, walking cells
    ``ordered`` as the pipeline runs them; warned about, a name read that no
    cell of the pipeline defines."""
    producer: dict[str, str] = {n: "config" for n in parameter_names}
    inputs: dict[str, dict[str, None]] = {s: {} for s in STAGES}
    outputs: dict[str, dict[str, None]] = {s: {} for s in STAGES}
    defined_in_stage: dict[str, set[str]] = {}
    for c in ordered:
        s = c.stage
        for name in sorted(c.reads, key=lambda n: (n not in c.facts.reads, n)):
            src = producer.get(name)
            if src is None:
                if (
                    name in c.facts.reads
                    and name not in c.facts.defines
                    and name not in defined_in_stage.get(s, set())
                ):
                    warnings.append(
                        f"cell {c.facts.number}: uses {name}, which no cell of the pipeline defines"
                    )
                continue
            if src == "config" or src != s:
                inputs[s][name] = None
                if src != "config":
                    outputs[src][name] = None
        for name in sorted(c.writes):
            producer[name] = s
            defined_in_stage.setdefault(s, set()).add(name)
        for name in c.facts.deletes:
            producer.pop(name, None)
    return _Handed(inputs, outputs, producer)


def _cell_results(c: WorkCell) -> tuple[str, ...]:
    """The names a cell computes that are its stage's results: what it computes
    with a known API; past preprocessing, also what it assigns at top level or
    changes in place (metrics, predictions, a grown log)."""
    extra = (
        (*c.facts.assigned, *c.facts.mutated_top)
        if c.stage != Stage.PREPROCESSING
        else ()
    )
    # A name the cell binds only to a literal (``numeric_cols = ["tenure"]``)
    # is part of the code, not something it computed: no result.
    computed = {
        n
        for st in c.facts.statements
        if not st.constant
        for n in (*st.writes, *st.mutates)
    }
    literal = {n for st in c.facts.statements if st.constant for n in st.writes}
    extra = tuple(n for n in extra if n not in literal - computed)
    return (*c.facts.results, *(n for n in extra if not n.startswith("_")))


def _warn_handed_on(
    outputs: dict[str, dict[str, None]],
    figures: set[str],
    unsaveable: set[str],
    warnings: list[str],
) -> None:
    """Warn about each figure and each value no pickle saves that a stage hands
    on to a later one."""
    for stage in STAGES:
        for name in figures & outputs[stage].keys():
            # Only a later stage that draws on it makes it one (rare: Jupyter
            # closed the figure at the end of its cell, as the pipeline does).
            warnings.append(
                f"{stage} hands on the figure {name} to a later stage that draws "
                "on it; draw it in one cell instead"
            )
        for name in sorted(unsaveable & outputs[stage].keys()):
            warnings.append(
                f"{stage} hands on {name}, which cannot be saved, to a later stage: "
                "a stage run on its own will not find it; make it in the stage "
                "that uses it"
            )


def _in_notebook_order(
    work: list[WorkCell],
    inputs: dict[str, dict[str, None]],
    outputs: dict[str, dict[str, None]],
) -> StageIO:
    """Each stage's inputs and outputs, in the order the notebook first binds or
    changes them."""
    first_seen: dict[str, tuple[int, int]] = {}
    for c in sorted(work, key=lambda c: c.facts.number):
        for i, name in enumerate((*c.facts.defines, *c.facts.mutates)):
            first_seen.setdefault(name, (c.facts.number, i))
    key = lambda n: (first_seen.get(n, (0, 0)), n)  # noqa: E731
    return {
        s: (tuple(sorted(inputs[s], key=key)), tuple(sorted(outputs[s], key=key)))
        for s in STAGES
    }


def returned_after(stage: StagePlan, work: list[WorkCell]) -> StagePlan:
    """``stage``, and each of its steps, saying for each value it returns the cell
    right after which the notebook holds that value: its last cell before another
    binds or changes the name again (a k-fold loop's ``df_train``), so that a
    change the analysis cannot see (a model fitted through a dict of models) is
    still kept on both sides."""
    writes = {c.facts.number: c.writes for c in work}

    def after(
        outputs: tuple[str, ...], cells: tuple[int, ...]
    ) -> tuple[tuple[str, int], ...]:
        found = []
        for name in outputs:
            last = max((n for n in cells if name in writes.get(n, ())), default=0)
            again = min(
                (
                    n
                    for n, w in writes.items()
                    if n > last and n not in cells and name in w
                ),
                default=None,
            )
            cell = max((n for n in cells if again is None or n < again), default=0)
            if cell:
                found.append((name, cell))
        return tuple(found)

    return replace(
        stage,
        returned_after=after(stage.outputs, stage.cells),
        steps=tuple(
            replace(step, returned_after=after(step.outputs, step.cells))
            for step in stage.steps
        ),
    )


def _unread(
    ordered: list[WorkCell], helper_params: dict[str, tuple[str, ...]]
) -> dict[str, list[str]]:
    """Per stage, the names its cells surely bind that none of them reads, but to
    draw them: what a figure shows is a result, compared as if it were not drawn."""
    read: dict[str, set[str]] = {}
    bound: dict[str, dict[str, None]] = {}
    for c in ordered:
        f = c.facts
        names = read.setdefault(c.stage, set())
        names.update(set(f.names_used) - _drawn_only(f), f.string_reads, f.deletes)
        for call in f.name_calls:
            names.update(helper_params.get(call.name, ()))
        bound.setdefault(c.stage, {}).update(dict.fromkeys(f.assigned))
    return {
        stage: [n for n in names if n not in read[stage] and not n.startswith("_")]
        for stage, names in bound.items()
    }


def _drawn_only(f: CellFacts) -> set[str]:
    """Names the cell's plot statements read and its other statements do not."""
    drawn: set[str] = set()
    other: set[str] = set()
    for st in f.statements:
        (drawn if f.kinds[st.index] == "plot" else other).update(st.reads)
    return drawn - other


def ordered_statements(
    work: list[WorkCell],
    helper_facts: HelperFacts | None = None,
    helper_params: HelperParams | None = None,
) -> list[tuple[WorkCell, Statement]]:
    """Every kept statement in notebook order; with the helpers, what each one
    reads and changes through the helpers it calls (as ``effective_io`` for cells)."""
    flat = []
    for c in sorted(work, key=lambda c: c.facts.number):
        for st in c.facts.statements:
            if helper_facts:
                st = _through_helpers(st, helper_facts, helper_params or {})
            flat.append((c, st))
    return flat


def _through_helpers(
    st: Statement, helper_facts: HelperFacts, helper_params: HelperParams
) -> Statement:
    reads = dict.fromkeys(st.reads)
    mutates = dict.fromkeys(st.mutates)
    for name in st.reads:
        reads.update(dict.fromkeys(helper_params.get(name, ())))
    arguments, notebook_globals = helper_changes(st.name_calls, helper_facts)
    mutates.update(dict.fromkeys(sorted(arguments | notebook_globals)))
    reads.update(dict.fromkeys(sorted(notebook_globals)))
    return replace(st, reads=tuple(reads), mutates=tuple(mutates))


def raw_inputs(work: list[WorkCell]) -> tuple[str, ...]:
    """Names read from files and never changed afterwards: comparing them shows the
    same data was read, not that anything was computed alike."""
    flat = ordered_statements(work)
    raw: dict[str, None] = {}
    for i, (_, st) in enumerate(flat):
        if st.source != "reader":
            continue
        for name in st.writes:
            if not any(
                name in other.writes or name in other.mutates
                for _, other in flat[i + 1 :]
            ):
                raw[name] = None
    return tuple(raw)


def clock_names(work: list[WorkCell]) -> tuple[str, ...]:
    """Names computed from the clock (``elapsed = time.time() - t0``), and what is
    computed or changed from them afterwards."""
    tainted: dict[str, None] = {}
    for _, st in ordered_statements(work):
        if st.clock or tainted.keys() & set(st.reads):
            tainted.update(dict.fromkeys((*st.writes, *st.mutates)))
        else:
            for name in st.writes:
                tainted.pop(name, None)
    return tuple(tainted)


def unreturned(
    facts: list[CellFacts], work: list[WorkCell], returned: set[str], helpers: set[str]
) -> tuple[tuple[str, str], ...]:
    """What the notebook computed that no stage returns, and why: a value the proof
    cannot see is reported, never silently left out."""
    found: dict[str, str] = {}
    kept = {c.facts.number for c in work}
    for f in facts:
        if f.number in kept:
            for name in f.defines:
                if name in f.figures and name not in returned:
                    found.setdefault(
                        name, f"a figure, saved as an image (cell {f.number})"
                    )
                elif name not in returned and name not in helpers:
                    found.setdefault(
                        name, f"used only inside its stage (cell {f.number})"
                    )
        for d in f.dropped:
            for name in d.binds:
                found.setdefault(name, f"bound by a dropped {d.kind} (cell {f.number})")
    return tuple(sorted(found.items()))


def literal_paths(facts: list[CellFacts], *, write: bool) -> tuple[str, ...]:
    """The notebook's literal paths it reads (or writes), as written in it."""
    written_names = {n for f in facts for n in f.written}
    found: dict[str, None] = {}
    for f in facts:
        for lit in f.literals:
            if lit.kind not in {"path", "parameter"} or not isinstance(lit.value, str):
                continue
            if lit.kind == "parameter" and lit.direction != "path":
                continue
            writes = lit.direction == "write" or lit.name in written_names
            if writes == write:
                found[lit.value] = None
    return tuple(found)
