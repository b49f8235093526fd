"""What a stage module defines before its stage functions: the notebook's own
helpers, and the functions of the factored clones and serving parts the stage
holds.
"""

from __future__ import annotations

import libcst as cst

from nbprod.convert.analysis import CellFacts, ParsedCell
from nbprod.convert.generate.clones import clone_function
from nbprod.convert.generate.functions import named_tuple, param_node
from nbprod.convert.generate.rewrite import Context, rewrite
from nbprod.convert.generate.serving import part_function
from nbprod.convert.generate.serving_calls import serving_parts
from nbprod.plan import HelperPlan, StagePlan


def stage_definitions(
    ctx: Context,
    stage: StagePlan,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
) -> tuple[list[cst.SimpleStatementLine | cst.BaseCompoundStatement], bool]:
    """The stage's helpers, then its clones' functions, then its serving parts
    (each after the named tuple it reads, if any); and whether they use
    ``functools.partial``."""
    body: list[cst.SimpleStatementLine | cst.BaseCompoundStatement] = []
    needs_partial = False
    for helper in (h for h in ctx.plan.helpers if h.stage == stage.stage):
        definition, used = _helper_definition(ctx, helper, by_cell[helper.cell])
        needs_partial |= used
        body.append(definition)
    for clone in (c for c in ctx.plan.clones if c.stage == stage.stage):
        function, used = clone_function(ctx, clone, by_cell)
        needs_partial |= used
        body.append(function)
    for part in (p for p in serving_parts(ctx.plan) if p.stage == stage.stage):
        function, used = part_function(ctx, part, by_cell, facts_by_cell)
        needs_partial |= used
        if part.bundle:
            body.append(
                named_tuple(part.bundle, f"What {part.name} reads.", part.inputs)
            )
        body.append(function)
    return body, needs_partial


def _helper_definition(
    ctx: Context, helper: HelperPlan, pc: ParsedCell
) -> tuple[cst.FunctionDef | cst.ClassDef, bool]:
    """The notebook's function or class ``helper`` (defined in cell ``pc``),
    rewritten, taking the notebook globals it reads as keyword parameters, under
    a comment naming its cell; and whether it uses ``functools.partial``."""
    node = next(
        s
        for s in pc.module.body
        if isinstance(s, (cst.FunctionDef, cst.ClassDef))
        and s.name.value == helper.name
    )
    rewritten, used = rewrite(ctx, pc, node)
    assert isinstance(rewritten, (cst.FunctionDef, cst.ClassDef))
    if helper.data_params:
        assert isinstance(rewritten, cst.FunctionDef)
        rewritten = rewritten.with_changes(
            params=rewritten.params.with_changes(
                kwonly_params=[
                    *rewritten.params.kwonly_params,
                    *(param_node(g, None) for g in helper.data_params),
                ],
                star_arg=(
                    rewritten.params.star_arg
                    if not isinstance(rewritten.params.star_arg, cst.MaybeSentinel)
                    else cst.ParamStar()
                ),
            )
        )
    comment = cst.EmptyLine(comment=cst.Comment(f"# From notebook cell {helper.cell}."))
    return (
        rewritten.with_changes(leading_lines=[*rewritten.leading_lines, comment]),
        used,
    )
