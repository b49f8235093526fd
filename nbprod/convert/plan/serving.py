"""Which saved model scores new rows, and the notebook's own path from the
rows it read to that model's predictions (plan.model.Serving)."""

from __future__ import annotations

from nbprod.convert.analysis import Statement
from nbprod.convert.plan.cells import WorkCell
from nbprod.convert.plan.model import Param, Serving, StagePlan
from nbprod.stages import Stage

# The function of the stage that predicts which turns new rows into what the
# model takes, running the notebook's own steps (Serving.steps).
PREPARE_FUNCTION = "prepare_new_rows"


def choose_predictor(
    work: list[WorkCell], stages: list[StagePlan]
) -> tuple[str | None, str]:
    """The saved model new rows are scored with: the one the inference stage
    predicts with, else evaluation's, else training's."""
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
    flat: list[tuple[WorkCell, Statement]],
    params: list[Param],
    predictor: str | None,
    predictor_reason: str,
    producer: dict[str, str],
    parameter_names: set[str],
    imported: set[str],
) -> tuple[Serving | None, str]:
    """The notebook's own path from rows to the model's predictions (see Serving),
    or why new rows cannot be scored as the notebook scored its own."""
    if predictor is None:
        return None, predictor_reason
    calls = [
        i
        for i, (_, st) in enumerate(flat)
        if any(p.model == predictor for p in st.predicts)
    ]
    if not calls:
        return None, (
            f"the notebook never calls {predictor}.predict on a named frame or "
            "array (predict_proba and other methods are not traced)"
        )

    def changed_after(i: int, names: set[str]) -> tuple[str, int] | None:
        for c, st in flat[i + 1 :]:
            hit = names & (set(st.writes) | set(st.mutates))
            if hit:
                return sorted(hit)[0], c.facts.number
        return None

    # The last prediction after which the model no longer changes, preferring the
    # stage that scores new data.
    stable = [i for i in calls if changed_after(i, {predictor}) is None]
    if not stable:
        _, cell = changed_after(calls[-1], {predictor}) or ("", 0)
        return (
            None,
            f"{predictor} is fitted again in cell {cell}, after its last prediction",
        )
    rank = {
        Stage.INFERENCE: 0,
        Stage.EVALUATION: 1,
        Stage.TRAINING: 2,
        Stage.PREPROCESSING: 3,
    }
    at = min(stable, key=lambda i: (rank[flat[i][0].stage], -i))
    call_cell, call = flat[at]
    where = f"cell {call_cell.facts.number}, line {call.line}"
    if not call.simple:
        return None, f"{where}: the prediction is inside a block (if, for, with)"
    prediction = next(p for p in call.predicts if p.model == predictor)
    argument = set(prediction.names) - imported

    found = _rows_source(flat, at, argument, imported)
    if found is None:
        return (
            None,
            f"{where}: {prediction.argument} is not made from rows read from a file, "
            "split off or written in the code",
        )
    source, rows, tainted = found
    source_cell, source_stmt = flat[source]
    if not source_stmt.simple:
        return (
            None,
            f"cell {source_cell.facts.number}, line {source_stmt.line}: "
            f"{rows} is made in a statement that does more on the same line",
        )
    # Walk back from the prediction: statements derived from the rows are steps;
    # what else they read is state the stages made before (or config).
    frontier, steps, state = set(argument), [], set()
    for k in range(at - 1, source, -1):
        _, st = flat[k]
        touched = frontier & (set(st.writes) | set(st.mutates))
        if not touched:
            continue
        if tainted[k]:
            steps.append(k)
            frontier -= set(st.writes) - set(st.mutates)
            frontier |= set(st.reads) | set(st.mutates)
        else:
            state |= touched
            frontier -= touched
    state |= frontier - {rows}
    state -= imported
    config = sorted(state & parameter_names)
    state -= parameter_names
    unknown = sorted(n for n in state if n not in producer)
    if unknown:
        return None, f"the steps before {where} need {unknown[0]}, which no stage makes"
    changed = changed_after(at, state)
    if changed is not None:
        name, cell = changed
        return None, f"{name} changes in cell {cell}, after {where} predicts with it"
    ordered = sorted(steps)
    step_lines = {
        (flat[k][0].facts.number, line)
        for k in ordered
        for line in range(flat[k][1].line, flat[k][1].end_line + 1)
    }
    used = [
        (p.group, p.key)
        for p in params
        if p.group != "parameters"
        and any(w[:2] in step_lines for w in ((p.cell, p.line), *p.also_at))
    ] + [("parameters", name) for name in config]
    if len({k for _, k in used}) != len(used):
        return None, "two config values of the steps before the prediction share a name"
    steps_at = tuple((flat[k][0].facts.number, flat[k][1].index) for k in ordered)
    cells_text = ", ".join(str(c) for c in dict.fromkeys(c for c, _ in steps_at))
    return (
        Serving(
            model=predictor,
            rows=rows,
            argument=prediction.argument,
            source=(source_cell.facts.number, source_stmt.end_line),
            made_by=source_stmt.source,
            call=(call_cell.facts.number, call.line),
            steps=steps_at,
            inputs=tuple(sorted(state)),
            params=tuple(used),
            stage=call_cell.stage,
        ),
        f"{where} predicts with {predictor} on {prediction.argument}, made from {rows} "
        f"(cell {source_cell.facts.number})"
        + (f" by cells {cells_text}" if steps_at else ""),
    )


def _rows_source(
    flat: list[tuple[WorkCell, Statement]],
    at: int,
    argument: set[str],
    imported: set[str],
) -> tuple[int, str, list[bool]] | None:
    """The nearest statement before ``at`` that makes rows (a reader, a split, a
    frame written in the code) from which ``argument`` derives, the name it makes,
    and which statements between derive from those rows."""
    for j in range(at - 1, -1, -1):
        st = flat[j][1]
        if not st.source or (st.source == "literal" and set(st.reads) - imported):
            continue
        for rows in st.writes:
            tainted = [False] * len(flat)
            live = {rows}
            for k in range(j + 1, at):
                other = flat[k][1]
                if live & (set(other.reads) | set(other.mutates)):
                    tainted[k] = True
                    # What rows are assigned to derives from them; an object fitted
                    # on them (``scaler.fit(X_train)``) is state, not rows.
                    live |= set(other.writes) | (set(other.mutates) & live)
                else:
                    live -= set(other.writes)
            if argument & live:
                return j, rows, tainted
    return None
