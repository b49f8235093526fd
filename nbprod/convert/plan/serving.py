"""What the notebook serves, and its own path there from the rows it predicts on
(nbprod.plan.Serving).

The served value (``plan.served``) is the end of the serving path: what the
notebook finally makes of its models' predictions for the rows it predicts on.
The rows are followed backwards from it, through the steps that carry them, to
the frame they were read into: those steps become the function ``predict`` runs
on new rows, and what else they read (the models, a fitted scaler, a lookup
table, a threshold) is state the stages save.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from nbprod.convert.analysis import Flow, RowChange, Statement
from nbprod.convert.plan.cells import WorkCell
from nbprod.convert.plan.served import (
    Flat,
    ServedValue,
    changed_after,
    flows,
    served_value,
)
from nbprod.plan import HeldOut, Param, Serving, StagePlan
from nbprod.stages import Stage

# The function of the stage that predicts which runs the notebook's own steps
# from new rows to the value it serves (Serving.steps).
SERVE_FUNCTION = "predict_new_rows"

# Row changes ``predict`` cannot undo: a prediction could not be matched to the
# input row it was made for.
_UNMATCHED = frozenset({"reorder", "filter", "select", "duplicate", "aggregate"})


def choose_predictor(
    work: list[WorkCell], stages: list[StagePlan]
) -> tuple[str | None, str]:
    """The saved model a stage predicts with (the inference stage's, else
    evaluation's, else training's): the project's model, as tracked and carded."""
    saved = {n: s.stage for s in stages for n in s.outputs}
    for stage in (Stage.INFERENCE, Stage.EVALUATION, Stage.TRAINING):
        for c in work:
            if c.stage != stage:
                continue
            for name in c.facts.predictors:
                if name in saved:
                    return (
                        name,
                        f"cell {c.facts.number} predicts with {name}, saved by {saved[name]}",
                    )
    return None, "no cell predicts with a model a stage saves"


def serving_path(
    flat: Flat,
    params: list[Param],
    producer: dict[str, str],
    parameter_names: set[str],
    imported: set[str],
) -> tuple[Serving | None, str]:
    """The notebook's own path from rows to what it serves (see Serving), or why
    new rows cannot be served as the notebook served its own."""
    served = served_value(flat)
    if isinstance(served, str):
        return None, served
    cell, st = flat[served.at]
    where = f"cell {cell.facts.number}, line {st.line}"
    source = _source(flat, served)
    if isinstance(source, str):
        return None, f"{where}: {source}"
    at_source, rows, held = source
    source_cell, source_stmt = flat[at_source]
    if not source_stmt.simple:
        return (
            None,
            f"cell {source_cell.facts.number}, line {source_stmt.line}: "
            f"{rows} is made in a statement that does more on the same line",
        )
    steps, state = _steps_and_state(flat, at_source, served, rows, held)
    state -= imported
    config = sorted(state & parameter_names)
    state -= parameter_names
    ordered = sorted(steps)
    problem = _missing_state(flat, served.at, state, producer, where)
    if problem is None:
        problem = _row_problem(flat, ordered, rows, where)
    if problem is not None:
        return None, problem
    used = _serving_params(flat, params, ordered, held, config)
    if len({k for _, k in used}) != len(used):
        return None, "two config values of the serving steps share a name"
    models = tuple(m for m in served.models if m in state)
    what = _what(flat, served)
    return (
        Serving(
            models=models,
            rows=rows,
            served=served.code,
            source=(source_cell.facts.number, source_stmt.end_line),
            made_by="split" if held is not None else source_stmt.source,
            call=(cell.facts.number, st.end_line),
            steps=tuple((flat[k][0].facts.number, flat[k][1].index) for k in ordered),
            inputs=tuple(sorted(state)),
            params=tuple(used),
            stage=cell.stage,
            applied=tuple(
                (flat[k][0].facts.number, flat[k][1].index, obj)
                for k in ordered
                for obj in flat[k][1].rows.applies
            ),
            what=what,
            called_by_stage=_called_once(flat, served, rows, held, ordered),
            held_out=_held_out(flat, held),
            learned=_learned(source_stmt, rows) if held is None else "",
        ),
        f"{what} of the rows of {rows} (cell {source_cell.facts.number}), "
        f"predicted by {', '.join(models)}",
    )


def _missing_state(
    flat: Flat, at: int, state: set[str], producer: dict[str, str], where: str
) -> str | None:
    """Why the state the serving steps read cannot be saved as they read it: no
    stage makes it, or it changes after the served value is made at ``at``."""
    unknown = sorted(n for n in state if n not in producer)
    if unknown:
        return f"the steps before {where} need {unknown[0]}, which no stage makes"
    changed = changed_after(flat, at, state)
    if changed is not None:
        name, number = changed
        return f"{name} changes in cell {number}, after {where} uses it"
    return None


def _row_problem(flat: Flat, steps: list[int], rows: str, where: str) -> str | None:
    """Why predictions made by the serving ``steps`` could not be matched to the
    input rows: a fitted object kept in no name, or a change of the rows."""
    unkept = next((k for k in steps if flat[k][1].rows.unkept), None)
    if unkept is not None:
        return f"{where}: {_unkept(flat, unkept, rows)}"
    unmatched = _unmatched_change(flat, steps)
    if unmatched is not None:
        k, change = unmatched
        return (
            f"cell {flat[k][0].facts.number}, line {flat[k][1].line}: "
            f"{change.what} {_CHANGE_WORDS[change.kind]} of {rows}: a prediction "
            "could not be matched to the input row it was made for"
        )
    return None


def _serving_params(
    flat: Flat,
    params: list[Param],
    steps: list[int],
    held: _Held | None,
    config: list[str],
) -> list[tuple[str, str]]:
    """(group, key) of the config values the serving ``steps`` use: the stages'
    that are on their lines, then the parameters in ``config``."""
    # The split's own settings are not run on new rows.
    step_lines = {
        (flat[k][0].facts.number, line)
        for k in steps
        if held is None or k != held.at
        for line in range(flat[k][1].line, flat[k][1].end_line + 1)
    }
    return [
        (p.group, p.key)
        for p in params
        if p.group != "parameters"
        and any(w[:2] in step_lines for w in ((p.cell, p.line), *p.also_at))
    ] + [("parameters", name) for name in config]


def _called_once(
    flat: Flat, served: ServedValue, rows: str, held: _Held | None, steps: list[int]
) -> bool:
    """Whether the stage may call the serving function instead of running its
    ``steps`` itself: they are one run of its statements that makes nothing
    else used afterwards."""
    made = {n for k in steps for n in (*flat[k][1].writes, *flat[k][1].mutates)}
    return (
        # The value itself, or a column put into the rows frame, which the
        # serving function changes in place as the stage did.
        served.name in (served.code, rows)
        and held is None
        and steps == list(range(steps[0], served.at + 1))
        and len({flat[k][0].stage for k in steps}) == 1
        and not any(
            (made - {served.name}) & (set(s.reads) | set(s.mutates))
            for _, s in flat[served.at + 1 :]
        )
    )


def _held_out(flat: Flat, held: _Held | None) -> HeldOut | None:
    """The held-out part of a split the served rows pass, as the plan says it."""
    if held is None:
        return None
    return HeldOut(
        step=(flat[held.at][0].facts.number, flat[held.at][1].index),
        line=flat[held.at][1].line,
        name=held.name,
        array=held.array,
        positions=held.positions,
    )


_CHANGE_WORDS = {
    "reorder": "reorders the rows",
    "filter": "drops some of the rows",
    "select": "selects some of the rows",
    "duplicate": "repeats some of the rows",
    "aggregate": "makes one row of several",
}


def _walk_back(
    flat: Flat, starts: list[tuple[int, str]], follow: Callable[[int, Flow], bool]
) -> Iterator[tuple[int, Flow]]:
    """Each binding the rows of ``starts`` ((statement index, name) of a name
    as it is just before that statement) come from, back through the names that
    carry them: the statement that makes it and its flow; the carriers of those
    for which ``follow`` says so."""
    todo, seen = list(starts), set()
    while todo:
        before, name = todo.pop()
        if (before, name) in seen:
            continue
        seen.add((before, name))
        k = _made_at(flat, before, name)
        flow = _flow_of(flat[k][1], name) if k is not None else None
        if k is None or flow is None:
            continue
        yield k, flow
        if follow(k, flow):
            todo += [(k, carrier) for carrier in flow.carriers]


@dataclass(frozen=True)
class _Held:
    """The held-out part of a split of rows transformed before it: new rows
    come raw, and are all of the held-out part once transformed."""

    at: int  # the split, in the flat statements
    name: str  # the held-out part
    array: str  # code: what was split
    reads: tuple[str, ...]  # what that reads: its rows, the fitted objects applied
    positions: str  # code: the positions of the rows held out


def _steps_and_state(
    flat: Flat, at_source: int, served: ServedValue, rows: str, held: _Held | None
) -> tuple[list[int], set[str]]:
    """Walking back from what is served: the statements derived from the rows
    are steps; what else they read is state the stages made before (or config).
    Through a split of transformed rows, only its held-out part is followed,
    and objects fitted on the rows before it are state (the transform fitted
    on the notebook's rows is applied to new rows)."""
    tainted, rows_names = _tainted(flat, at_source, served.at, rows, held)
    frontier: set[str] = {served.name}
    steps: list[int] = []
    state: set[str] = set()
    for k in range(served.at, at_source, -1):
        _, s = flat[k]
        touched = frontier & (set(s.writes) | set(s.mutates))
        if not touched:
            continue
        if held is not None and k == held.at:
            steps.append(k)
            frontier = (frontier - touched) | set(held.reads)
        elif tainted[k] and not (
            held is not None
            and k < held.at
            and not touched & (set(s.writes) | rows_names)
        ):
            steps.append(k)
            frontier -= set(s.writes) - set(s.mutates)
            frontier |= set(s.reads) | set(s.mutates)
        else:
            state |= touched
            frontier -= touched
    return sorted(steps), state | (frontier - {rows})


def _learned(statement: Statement, rows: str) -> str:
    """The training half of the split that made ``rows``: a split returns each
    array's two halves in turn (``X_train, X_test, y_train, y_test``), so the
    held-out rows' training half is the name bound just before them."""
    if statement.source != "split" or rows not in statement.writes:
        return ""
    at = statement.writes.index(rows)
    return statement.writes[at - 1] if at % 2 else ""


def _source(flat: Flat, served: ServedValue) -> tuple[int, str, _Held | None] | str:
    """The statement that made the rows the served value is one-to-one with,
    and their name: followed back from it through the names that carry rows,
    to a file read, a frame written in the code, or the held-out part of a
    split; past the split to the rows before the first fitted transform, when
    the split was of transformed rows (and a repeatable one). Or why none can
    be found."""

    def made_here(k: int, flow: Flow) -> bool:
        # Rows are made here: read, written in the code, or split off.
        return (
            bool(flat[k][1].source)
            and flow.name in flat[k][1].writes
            and (not flow.carriers or any(c.kind == "split" for c in flow.changes))
        )

    sources = set()
    held = None
    for k, flow in _walk_back(
        flat, [(served.at + 1, served.name)], lambda k, f: not made_here(k, f)
    ):
        if not made_here(k, flow):
            continue
        split = next((c for c in flow.changes if c.kind == "split"), None)
        if split is not None and split.part != "held-out":
            return f"{flow.name} is the training part of a split"
        fitted = (
            [
                (j, f)
                for j, f in _walk_back(flat, [(k, flow.carriers[0])], lambda j, f: True)
                if f.carriers and _transforms(flat[j][1])
            ]
            + ([(k, flow)] if _transforms(flat[k][1]) else [])
            if split is not None
            else []
        )
        if split is not None and fitted:
            # Transformed with fitted state before (or in) the split: new rows
            # come as they were before the first transform.
            first, first_flow = min(fitted, key=lambda found: found[0])
            raw = first_flow.carriers[0]
            at_raw = _made_at(flat, first, raw)
            unkept = next((j for j, _ in fitted if flat[j][1].rows.unkept), None)
            if unkept is not None:
                return _unkept(flat, unkept, flow.name)
            if not split.positions or at_raw is None:
                return (
                    f"{flow.name} is held out by a split of rows that cell "
                    f"{flat[first][0].facts.number} already transformed with fitted "
                    f"state ({', '.join(flat[first][1].rows.uses_fitted)}), and the "
                    "split is not seeded: which raw rows it held out is not known"
                )
            held = _Held(
                k,
                flow.name,
                split.array,
                (*flow.carriers, *flat[k][1].rows.uses_fitted),
                split.positions,
            )
            sources.add((at_raw, raw))
            continue
        sources.add((k, flow.name))
    if not sources:
        return (
            f"{served.code} is not made from rows read from a file, split off or "
            "written in the code"
        )
    if len(sources) > 1:
        names = sorted({n for _, n in sources})
        return f"{served.code} combines the rows of {' and '.join(names)}"
    ((at, name),) = sources
    return at, name, held


def _transforms(st: Statement) -> bool:
    """It applies fitted state to rows, kept in a name or not."""
    return bool(st.rows.uses_fitted or st.rows.unkept)


def _unkept(flat: Flat, k: int, rows: str) -> str:
    c, st = flat[k]
    return (
        f"{st.rows.unkept[0]} in cell {c.facts.number}, line {st.line} fits an "
        f"object on the rows of {rows} and keeps it in no name: new rows could not "
        "be transformed as the notebook's were (name it: scaler = ...)"
    )


def _made_at(flat: Flat, before: int, name: str) -> int | None:
    """The last statement before ``before`` that binds or changes ``name``."""
    for k in range(before - 1, -1, -1):
        st = flat[k][1]
        if name in st.writes or name in st.mutates:
            return k
    return None


def _flow_of(st: Statement, name: str) -> Flow | None:
    return next((f for f in reversed(list(flows(st))) if f.name == name), None)


def _tainted(
    flat: Flat, source: int, end: int, rows: str, held: _Held | None
) -> tuple[list[bool], set[str]]:
    """Which statements between the source and ``end`` compute from the rows,
    and every name that held them; after a split of them, only its held-out
    part holds the rows served."""
    tainted = [False] * len(flat)
    live = {rows}
    ever = set(live)
    for k in range(source + 1, end + 1):
        other = flat[k][1]
        if held is not None and k == held.at:
            tainted[k] = True
            live = {held.name}
        elif live & (set(other.reads) | set(other.mutates)):
            tainted[k] = True
            # What rows are assigned to derives from them; an object fitted
            # on them (``scaler.fit(X_train)``) is state, not rows.
            live |= set(other.writes) | (set(other.mutates) & live)
        else:
            live -= set(other.writes)
        ever |= live
    return tainted, ever


def _unmatched_change(flat: Flat, steps: list[int]) -> tuple[int, RowChange] | None:
    """The first step that changes the rows so that predictions no longer line
    up with the input rows."""
    for k in steps:
        for f in flows(flat[k][1]):
            for change in f.changes:
                if change.kind in _UNMATCHED:
                    return k, change
    return None


def _what(flat: Flat, served: ServedValue) -> str:
    """What is served, for people: "`tiers` (cell 9, line 3)"."""
    cell, st = flat[served.at]
    return f"`{served.code}` (cell {cell.facts.number}, line {st.line})"
