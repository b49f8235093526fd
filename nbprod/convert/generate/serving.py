"""The serving function (``predict_new_rows``), and the parts of it that a stage
runs too.
"""

from __future__ import annotations

import libcst as cst

from nbprod.convert.analysis import CellFacts, ParsedCell
from nbprod.convert.generate.functions import (
    bundle_param,
    config_params,
    from_bundle,
    function_def,
    named_tuple,
    returned_value,
)
from nbprod.convert.generate.rewrite import Context
from nbprod.convert.generate.statements import cell_statements
from nbprod.convert.plan.names import cells_text
from nbprod.convert.plan.serving import SERVE_FUNCTION
from nbprod.plan import Param, Serving, ServingPart, StagePlan


def serving_definitions(
    base: Context,
    stage: StagePlan,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
    params_by_key: dict[tuple[str, str], Param],
) -> tuple[list[cst.FunctionDef | cst.ClassDef], bool]:
    """The serving function, if ``stage``'s module holds it (after the named tuple
    of the state it applies, if any), and whether it uses ``functools.partial``.
    ``base`` rewrites with no config section of its own."""
    serving = base.plan.serving
    if serving is None or serving.stage != stage.stage:
        return [], False
    # The notebook's own steps from the rows it predicts on to what it
    # serves, for new rows: what ``predict`` runs.
    function, used = serving_function(
        base, serving, by_cell, facts_by_cell, params_by_key
    )
    made: list[cst.FunctionDef | cst.ClassDef] = []
    if serving.bundle:
        made.append(
            named_tuple(
                serving.bundle,
                f"The state the stages saved that {SERVE_FUNCTION} applies.",
                serving.inputs,
            )
        )
    made.append(function)
    return made, used


def serving_function(
    ctx: Context,
    serving: Serving,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
    params_by_key: dict[tuple[str, str], Param],
) -> tuple[cst.FunctionDef, bool]:
    """``predict_new_rows``: the notebook's own steps from the rows it predicted
    on to the value it served, statement by statement; an object it fitted and
    applied at once (``fit_transform``) is applied, as fitted."""
    applied: dict[tuple[int, int], set[str]] = {}
    for cell, index, obj in serving.applied:
        applied.setdefault((cell, index), set()).add(obj)
    statements, used_partial = cell_statements(
        ctx,
        by_cell,
        facts_by_cell,
        list(serving.steps),
        serving=True,
        applied=applied,
        parts=serving.parts,
        held_out=serving.held_out,
    )
    call_cell, _ = serving.call
    bundle = bundle_param(ctx, serving.bundle)
    if bundle is not None:
        statements[:0] = from_bundle(ctx.plan.inputs_argument, serving.inputs)
    function = function_def(
        SERVE_FUNCTION,
        (serving.rows,) if bundle else (serving.rows, *serving.inputs),
        config_params(ctx, serving.params, params_by_key),
        statements,
        cst.parse_expression(serving.served),
        f"What the notebook serves for new rows, given in the form of {serving.rows} "
        f"after notebook cell {serving.source[0]}: {serving.what}, by the steps of "
        f"notebook {cells_text(serving.cells or (call_cell,))}.",
        f"Returns {serving.served}.",
        bundle=bundle,
    )
    return function, used_partial


def part_function(
    ctx: Context,
    part: ServingPart,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
) -> tuple[cst.FunctionDef, bool]:
    """The run of serving steps as the function the stage and the serving
    function both call."""
    statements, used_partial = cell_statements(
        ctx, by_cell, facts_by_cell, list(part.statements)
    )
    cells = tuple(dict.fromkeys(cell for cell, _ in part.statements))
    bundle = bundle_param(ctx, part.bundle)
    if bundle is not None:
        statements[:0] = from_bundle(ctx.plan.inputs_argument, part.inputs)
    function = function_def(
        part.name,
        () if bundle else part.inputs,
        [],
        statements,
        returned_value(part.outputs),
        f"The notebook's own steps of {cells_text(cells)}, run by the "
        f"{part.stage} stage and by {SERVE_FUNCTION} for new rows: one copy, so "
        "that training and serving stay the same.",
        f"Returns {', '.join(part.outputs) or 'nothing'}.",
        bundle=bundle,
    )
    return function, used_partial
