"""Where a stage calls what it shares with serving instead of holding a copy of
it: a run of serving steps (a part), or the serving function itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from nbprod.convert.generate.clones import CloneCall
from nbprod.convert.generate.functions import bundled_args, config_call
from nbprod.convert.generate.rewrite import Context
from nbprod.convert.plan.serving import SERVE_FUNCTION
from nbprod.plan import Plan, Serving, ServingPart

# Where the serving function takes the new rows for the held-out part of the
# notebook's split.
NEW_ROWS_HELD_OUT = "the new rows are all held out: the notebook's split"


def serving_parts(plan: Plan) -> tuple[ServingPart, ...]:
    """The runs of serving steps that a stage and the serving function share."""
    return plan.serving.parts if plan.serving is not None else ()


@dataclass(frozen=True)
class PartCall:
    """Where a stage (or the serving function) ran a run of serving steps: now a
    call of the function both share."""

    part: ServingPart


def with_part_calls(
    parts: Sequence[ServingPart], items: list[tuple[int, int] | CloneCall]
) -> list[tuple[int, int] | CloneCall | PartCall]:
    """``items`` with each serving part they hold whole, one statement after the
    other, replaced by its call."""
    out: list[tuple[int, int] | CloneCall | PartCall] = list(items)
    for part in parts:
        first = part.statements[0]
        if first not in out:
            continue
        k = out.index(first)
        if out[k : k + len(part.statements)] == list(part.statements):
            out[k : k + len(part.statements)] = [PartCall(part)]
    return out


@dataclass(frozen=True)
class ServeCall:
    """Where the notebook made the value it serves: now a call of the serving
    function, so that the serving path exists once."""

    serving: Serving


def with_serving_call(
    serving: Serving | None, items: list[tuple[int, int] | CloneCall | PartCall]
) -> list[tuple[int, int] | CloneCall | PartCall | ServeCall]:
    """``items`` with the serving steps replaced by one call of the serving
    function, when they are all here, one after the other, and the stage calls it
    (``Serving.called_by_stage``)."""
    if serving is None or not serving.called_by_stage:
        return list(items)
    steps = set(serving.steps)
    at = [
        k
        for k, item in enumerate(items)
        if (isinstance(item, tuple) and item in steps)
        or (isinstance(item, CloneCall) and set(item.use.statements) <= steps)
    ]
    covered: set[tuple[int, int]] = set()
    for k in at:
        item = items[k]
        if isinstance(item, CloneCall):
            covered |= set(item.use.statements)
        elif isinstance(item, tuple):
            covered.add(item)
    if not at or covered != steps or at != list(range(at[0], at[-1] + 1)):
        return list(items)
    return [*items[: at[0]], ServeCall(serving), *items[at[-1] + 1 :]]


def serve_call(ctx: Context, serving: Serving) -> cst.SimpleStatementLine:
    """``served = predict_new_rows(rows, model, ..., config=config)``; a column
    served from the rows frame (``rows["p"] = ...``) is put there again."""
    line = config_call(
        ctx,
        SERVE_FUNCTION,
        [serving.rows, *bundled_args(serving.bundle, serving.inputs)],
        serving.params,
        (),
    )
    call = line.body[0]
    target = cst.parse_expression(serving.served)
    assert isinstance(call, cst.Expr)
    assert isinstance(target, cst.Name | cst.Subscript)
    return line.with_changes(body=[cst.Assign([cst.AssignTarget(target)], call.value)])
