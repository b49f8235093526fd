"""A stage's functions: its step functions and the entry function that calls them
in order, or the entry function alone, holding the code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet

import libcst as cst

from nbprod.convert.analysis import CellFacts, ParsedCell
from nbprod.convert.generate.functions import (
    bundle_param,
    config_call,
    config_params,
    from_bundle,
    function_def,
    keyword_params,
    named_results,
    named_tuple,
    param_node,
    returned_value,
    unpacked,
)
from nbprod.convert.generate.labels import relabelled
from nbprod.convert.generate.rewrite import Context, Renamed
from nbprod.convert.generate.serving_calls import serving_parts
from nbprod.convert.generate.statements import cell_statements
from nbprod.convert.plan.names import cells_text
from nbprod.convert.plan.signatures import stage_keywords, step_keys, whole_groups
from nbprod.plan import FigurePlan, Param, Plan, StagePlan, StepPlan


def stage_functions(
    ctx: Context,
    stage: StagePlan,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
    params_by_key: dict[tuple[str, str], Param],
    parameter_lines: set[tuple[int, int]],
) -> tuple[list[cst.FunctionDef | cst.ClassDef], bool]:
    """The stage's step functions (with the named tuples of those that return many
    values) and its entry function, which calls them in order; or the entry
    function alone, holding the code, for a one-step stage."""

    figures = _figures_by_cell(ctx.plan)

    def code(cells: tuple[int, ...]) -> tuple[list[cst.BaseStatement], bool]:
        order = _code_order(by_cell, facts_by_cell, parameter_lines, cells)
        return cell_statements(
            ctx, by_cell, facts_by_cell, order, figures, parts=serving_parts(ctx.plan)
        )

    bundle = bundle_param(ctx, stage.bundle)
    functions: list[cst.FunctionDef | cst.ClassDef] = []
    if stage.bundle:
        functions.append(
            named_tuple(
                stage.bundle,
                f"What the {stage.stage} stage reads from the stages before it.",
                stage.inputs,
            )
        )
    if stage.steps:
        made, body, bound, used_partial = _step_calls(
            ctx, stage, code, params_by_key, figures, bundle
        )
        functions += made
    else:
        body, used_partial = code(stage.cells)
        body[:0] = from_bundle(
            ctx.plan.inputs_argument, stage.inputs if stage.bundle else ()
        )
        bound = set(stage.inputs)
    entry_params = keyword_params(stage_keywords(ctx.plan, stage))
    functions.append(_entry_function(ctx, stage, entry_params, body, bound, bundle))
    return functions, used_partial


def _figures_by_cell(plan: Plan) -> dict[int, list[FigurePlan]]:
    """The figures the plan saves, by the cell that draws them."""
    figures: dict[int, list[FigurePlan]] = {}
    for figure in plan.figures:
        figures.setdefault(figure.cell, []).append(figure)
    return figures


def _code_order(
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
    parameter_lines: set[tuple[int, int]],
    cells: tuple[int, ...],
) -> list[tuple[int, int]]:
    """The statements of ``cells`` a stage's function runs, as (cell, index): those
    kept, but definitions and imports (the module holds them) and the lines of
    the parameters cell (config values now)."""
    return [
        (number, i)
        for number in cells
        for i in facts_by_cell[number].kept
        if not _definition_or_import(by_cell[number].module.body[i])
        and (number, _start_line(by_cell[number], by_cell[number].module.body[i]))
        not in parameter_lines
    ]


def _draws(
    ctx: Context, figures: dict[int, list[FigurePlan]], cells: tuple[int, ...]
) -> tuple[str, ...]:
    """The figures' folder, if code of ``cells`` draws: a parameter of each
    function that draws."""
    drawn = any(n in figures for n in cells)
    return (ctx.plan.figures_argument,) if drawn else ()


def _reference(
    ctx: Context, stage: StagePlan, bound: AbstractSet[str], name: str
) -> cst.BaseExpression:
    """How the stage's entry function reads ``name``: from the named tuple of its
    inputs (``inputs.df``) until a step of the stage has bound it (``bound``)."""
    if stage.bundle and name in stage.inputs and name not in bound:
        return cst.Attribute(cst.Name(ctx.plan.inputs_argument), cst.Name(name))
    return cst.Name(name)


def _step_calls(
    ctx: Context,
    stage: StagePlan,
    code: Callable[[tuple[int, ...]], tuple[list[cst.BaseStatement], bool]],
    params_by_key: dict[tuple[str, str], Param],
    figures: dict[int, list[FigurePlan]],
    bundle: cst.Param | None,
) -> tuple[
    list[cst.FunctionDef | cst.ClassDef], list[cst.BaseStatement], set[str], bool
]:
    """The step functions of a stage that calls steps; the body of its entry
    function, which calls them in order; the names those steps bind; and whether
    any step uses ``functools.partial``."""
    functions: list[cst.FunctionDef | cst.ClassDef] = []
    body: list[cst.BaseStatement] = []
    used_partial = False
    by_keyword: set[tuple[str, str]] = set()
    # The names a step of the stage has bound: the others are read from the bundle.
    bound: set[str] = set()
    for step in stage.steps:
        keys = step_keys(stage, step)
        whole = whole_groups(str(ctx.section), keys)
        folder = _draws(ctx, figures, step.cells)
        if step.shared is None or step.shared.function == step.name:
            made, used = _step_function(
                ctx, stage, step, code, params_by_key, folder, bundle
            )
            functions += made
            used_partial |= used
        own = [
            _reference(ctx, stage, bound, n)
            for n in step.inputs
            if n not in step.bundled
        ]
        whole_inputs = [cst.Name(ctx.plan.inputs_argument)] if step.bundled else []
        body.append(_step_call(ctx, step, [*own, *whole_inputs], keys, folder, whole))
        by_keyword.update(k for k in keys if k[0] not in whole)
        bound.update(step.outputs)
    body[:0] = unpacked(ctx, tuple(k for k in stage.params if k in by_keyword))
    return functions, body, bound, used_partial


def _entry_function(
    ctx: Context,
    stage: StagePlan,
    params: list[cst.Param],
    body: list[cst.BaseStatement],
    bound: AbstractSet[str],
    bundle: cst.Param | None,
) -> cst.FunctionDef:
    """The function the pipeline runs the stage by: ``body``, then its results
    by name (read from its inputs' named tuple unless a step has ``bound`` them)."""
    return function_def(
        stage.function,
        () if stage.bundle else stage.inputs,
        params,
        body,
        named_results(stage.outputs, lambda name: _reference(ctx, stage, bound, name)),
        f"Run the {stage.stage} stage (notebook {cells_text(stage.cells)}).",
        "Returns "
        + (", ".join(stage.outputs) + ", by name." if stage.outputs else "nothing."),
        bundle=bundle,
    )


def _step_function(
    ctx: Context,
    stage: StagePlan,
    step: StepPlan,
    code: Callable[[tuple[int, ...]], tuple[list[cst.BaseStatement], bool]],
    params_by_key: dict[tuple[str, str], Param],
    folder: tuple[str, ...],
    bundle: cst.Param | None,
) -> tuple[list[cst.FunctionDef | cst.ClassDef], bool]:
    """The step's function (after the named tuple it returns, if any). A step
    whose function other steps share (experiments) takes the helpers that differ
    between them as keyword parameters, named as the notebook named them."""
    statements, used = code(step.cells)
    purpose = (
        step.origin.split(" ", 1)[1].strip("'\"")
        if step.origin.startswith("heading ")
        else step.name.replace("_", " ").capitalize()
    )
    keys = step_keys(stage, step)
    whole = whole_groups(str(ctx.section), keys)
    statements[:0] = unpacked(ctx, tuple(k for k in keys if k[0] in whole))
    statements[:0] = from_bundle(ctx.plan.inputs_argument, step.bundled)
    made: list[cst.FunctionDef | cst.ClassDef] = []
    outputs = step.outputs
    returned = returned_value(outputs)
    if step.result:
        made.append(named_tuple(step.result, f"What {step.name} hands on.", outputs))
        returned = cst.Call(
            cst.Name(step.result), [cst.Arg(cst.Name(n)) for n in outputs]
        )
    keywords = config_params(ctx, keys, params_by_key, folder, whole)
    where = f"notebook {cells_text(step.cells)}"
    if step.shared is not None:
        outputs = step.shared.returns
        returned = returned_value(outputs)
        for parameter, helper in step.shared.passes:
            keywords.append(param_node(parameter, None))
            if helper != parameter:
                statements = [
                    s.visit(Renamed(helper, parameter)) for s in statements  # type: ignore[misc]
                ]
        again = [
            cell
            for other in stage.steps
            if other is not step
            and other.shared is not None
            and other.shared.function == step.name
            for cell in other.cells
        ]
        helpers = ", ".join(p for p, _ in step.shared.passes)
        where += f"; run again for {cells_text(tuple(again))} with another {helpers}"
        # Its lines are no one cell's: validation files what it prints under
        # the cell of the call that runs it.
        statements = relabelled(
            statements,
            f"# Notebook {cells_text((*step.cells, *again))}: the same code, "
            f"each with its own {helpers}.",
        )
    made.append(
        function_def(
            step.name,
            tuple(n for n in step.inputs if n not in step.bundled),
            keywords,
            statements,
            returned,
            f"{purpose} ({where}).",
            f"Returns {', '.join(outputs) or 'nothing'}.",
            bundle=bundle if step.bundled else None,
        )
    )
    return made, used


def _step_call(
    ctx: Context,
    step: StepPlan,
    positional: Sequence[str | cst.BaseExpression],
    keys: tuple[tuple[str, str], ...],
    folder: tuple[str, ...],
    whole: AbstractSet[str],
) -> cst.SimpleStatementLine:
    """``a, b = step(x, y, config=config)``: a step, called by its stage; a step
    that shares its function passes its helpers (``prepare_X=prepare_X_age``)
    and leaves out (``_``) what the function returns for the other calls."""
    if step.shared is None:
        return config_call(
            ctx, step.name, positional, keys, step.outputs, folder, whole
        )
    outputs = tuple(n if n in step.outputs else "_" for n in step.shared.returns)
    passes = ", ".join(f"{v}" for _, v in step.shared.passes)
    label = cst.EmptyLine(
        comment=cst.Comment(f"# Notebook {cells_text(step.cells)}, with {passes}.")
    )
    call = config_call(
        ctx,
        step.shared.function,
        positional,
        keys,
        outputs if step.outputs else (),
        folder,
        whole,
        step.shared.passes,
    )
    return call.with_changes(leading_lines=[label])


def _definition_or_import(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) or (
        isinstance(stmt, cst.SimpleStatementLine)
        and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)
    )


def _start_line(pc: ParsedCell, node: cst.CSTNode) -> int:
    pos = pc.positions.get(node)
    return pos.start.line if pos is not None else 0
