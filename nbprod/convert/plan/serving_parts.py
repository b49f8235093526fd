"""One serving path: the serving steps a stage also runs, as functions both call.

``predict_new_rows`` repeats the notebook's own steps from the rows it predicts
on to the value it serves; the stages run those same statements where the
notebook ran them. When the stage cannot call the serving function whole
(``Serving.called_by_stage``: the steps span stages, or the stage makes
something else between them), each run of serving statements in one cell becomes
a function that the stage and ``predict_new_rows`` both call, so that no
statement of the serving path exists twice and an edit to one cannot make
training and serving disagree.

A run stays where it is when factoring it would not help or could change what
runs: a one-line statement (the notebook's own call of its helper or model), a
compound statement, a statement that fits and applies at once (the stage fits,
``predict`` only applies), a copy already factored as a clone, or a run holding a
lifted config value or secret (the stage reads it from its config section,
``predict`` by key).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from nbprod.convert.analysis import Statement
from nbprod.convert.plan.cells import WorkCell
from nbprod.convert.plan.clones import holds_a_lifted_value
from nbprod.convert.plan.names import safe_identifier, unique_name
from nbprod.plan import ClonePlan, Param, SecretLiteral, Serving, ServingPart, StagePlan

Flat = Sequence[tuple[WorkCell, Statement]]


def plan_serving_parts(
    serving: Serving,
    flat: Flat,
    stages: Sequence[StagePlan],
    params: Sequence[Param],
    secrets: Sequence[SecretLiteral],
    clones: Sequence[ClonePlan],
    *,
    not_inputs: AbstractSet[str],
    taken: AbstractSet[str],
) -> tuple[ServingPart, ...]:
    """The runs of serving statements to factor, each with its function's
    name, inputs and outputs; ``not_inputs`` are the imported names and helpers
    a module has at its top level."""
    if serving.called_by_stage:
        return ()
    order = {s.stage: s.stage.order for s in stages}
    serving_order = order.get(serving.stage)
    cloned = {
        w
        for clone in clones
        for use in (clone.first, clone.second)
        for w in (*use.statements, *use.hoisted)
    }
    # Applied where the stage fits, or not run on new rows (the split).
    applied = {(cell, index) for cell, index, _ in serving.applied}
    if serving.held_out is not None:
        applied.add(serving.held_out.step)
    steps = set(serving.steps)
    returned = {n for s in stages for n in s.outputs}
    served_names = set(re.findall(r"[A-Za-z_]\w*", serving.served))
    names = set(taken)
    parts: list[ServingPart] = []
    for run in _runs(flat, steps):
        cell = flat[run[0]][0]
        statements = [flat[k][1] for k in run]
        where = tuple((cell.facts.number, st.index) for st in statements)
        if (
            serving_order is None
            or cell.stage.order > serving_order  # a module imports earlier stages'
            or (len(run) == 1 and statements[0].line == statements[0].end_line)
            or not all(st.simple for st in statements)
            or any(w in cloned or w in applied for w in where)
            or holds_a_lifted_value(
                [(cell.facts.number, st.line, st.end_line) for st in statements],
                params,
                secrets,
            )
        ):
            continue
        inputs, made = _io(statements, not_inputs)
        later = {n for _, st in flat[run[-1] + 1 :] for n in st.reads}
        outputs = tuple(n for n in made if n in later | returned | served_names)
        predicts = any(st.predicts or st.rows.uses_fitted for st in statements)
        name = unique_name(
            safe_identifier(
                f"{'predict' if predicts else 'prepare'}_{(outputs or made or ('rows',))[-1]}",
                fallback="rows",
            ),
            names,
        )
        names.add(name)
        parts.append(
            ServingPart(
                name=name,
                stage=cell.stage,
                statements=where,
                inputs=inputs,
                outputs=outputs,
            )
        )
    return tuple(parts)


def _runs(flat: Flat, steps: AbstractSet[tuple[int, int]]) -> list[list[int]]:
    """The serving statements in runs: one after the other in one cell."""
    runs: list[list[int]] = []
    for k, (c, st) in enumerate(flat):
        if (c.facts.number, st.index) not in steps:
            continue
        if runs and runs[-1][-1] == k - 1 and flat[k - 1][0] is c:
            runs[-1].append(k)
        else:
            runs.append([k])
    return runs


def _io(
    statements: Sequence[Statement], not_inputs: AbstractSet[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the run reads before it binds it (its inputs), and what it binds or
    changes, in order of first appearance."""
    inputs: dict[str, None] = {}
    made: dict[str, None] = {}
    skip = set(not_inputs) | set(dir(builtins))
    for st in statements:
        inputs.update(
            dict.fromkeys(n for n in st.reads if n not in made and n not in skip)
        )
        made.update(dict.fromkeys((*st.writes, *st.mutates)))
    return tuple(inputs), tuple(made)
