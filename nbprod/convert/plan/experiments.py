"""Experiments: steps that run the same code with another version of a helper
are one step function, called once per version.

The course habit: define ``prepare_X(df)``, fit and score with it; redefine
``prepare_X`` with one more feature (``prepare_X_age`` in the project), and run
the same fit-and-score cell again; five times. Written out, that is five copies
of one step. Here the copies become one function, ``fit_w(..., *, prepare_X)``,
that takes the feature function as a parameter, called with each version in
turn: ``fit_w(..., prepare_X=prepare_X_age)``. Each call keeps its own step name
(``fit_w_age``: what differs) for the plan and the proof.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace

from nbprod.convert.plan.cells import WorkCell
from nbprod.convert.plan.names import unique_name
from nbprod.convert.plan.signatures import WIDEST, step_keyword_count
from nbprod.convert.plan.steps import MAX_OUTPUTS
from nbprod.plan import HelperPlan, SharedStep, StagePlan, StepPlan


def _shape(
    step: StepPlan, cells: dict[int, WorkCell], originals: dict[str, str]
) -> tuple[str, dict[str, str]] | None:
    """The step's code as the notebook wrote it (``ast.dump``: comments and
    layout aside; a later definition's name is the notebook's there), and the
    version of each redefined helper it calls; None when it calls none."""
    uses = {
        originals[name]: name
        for n in step.cells
        for name in cells[n].facts.reads
        if name in originals
    }
    if not uses:
        return None
    try:
        trees = [ast.parse(cells[n].normal.code) for n in step.cells]
    except SyntaxError:
        return None
    return "\n".join(ast.dump(t) for t in trees), uses


def share_experiments(
    stage: StagePlan,
    members: Sequence[WorkCell],
    helpers: Sequence[HelperPlan],
    drawn: AbstractSet[int],
    taken: AbstractSet[str],
) -> StagePlan:
    """``stage``, its steps that run the same code with other versions of the
    notebook's helpers sharing the first one's function (``StepPlan.shared``)."""
    versions = {h.name: h.original or h.name for h in helpers}
    redefined = {h.original for h in helpers if h.original}
    originals = {
        name: original for name, original in versions.items() if original in redefined
    }
    if not originals or len(stage.steps) < 2:
        return stage
    cells = {c.facts.number: c for c in members}
    groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[int]] = {}
    uses: dict[int, dict[str, str]] = {}
    for k, step in enumerate(stage.steps):
        shape = _shape(step, cells, originals)
        # A step of one cell: what it prints is filed under the cell of its call.
        if shape is not None and len(step.cells) == 1:
            key = (shape[0], step.inputs, step.params)
            groups.setdefault(key, []).append(k)
            uses[k] = shape[1]
    steps = list(stage.steps)
    names = set(taken) | {s.name for s in steps}
    for group in groups.values():
        if len(group) < 2:
            continue
        owner = steps[group[0]]
        returns = tuple(dict.fromkeys(n for k in group for n in steps[k].outputs))
        params = tuple(sorted(uses[group[0]]))
        width = (
            len(owner.inputs) + len(params) + step_keyword_count(stage, owner, drawn)
        )
        if len(returns) > MAX_OUTPUTS or width > WIDEST:
            continue
        for k in group:
            passes = tuple((p, uses[k][p]) for p in params)
            name = steps[k].name
            if k != group[0]:
                differs = "_".join(v.removeprefix(f"{p}_") for p, v in passes if v != p)
                names.discard(name)
                name = unique_name(f"{owner.name}_{differs or 'again'}", names)
                names.add(name)
            steps[k] = replace(
                steps[k],
                name=name,
                shared=SharedStep(owner.name, returns, passes),
            )
    return replace(stage, steps=tuple(steps))
