"""The notebook's statements as the body of a generated function: rewritten,
labelled with the cell they came from, with calls in place of clones and serving
steps, displayed values printed and figures saved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import libcst as cst

from nbprod.convert.analysis import CellFacts, ParsedCell
from nbprod.convert.analysis.normalise import EXPLICIT_COMMENT
from nbprod.convert.generate.clones import CloneCall, clone_call, with_clone_calls
from nbprod.convert.generate.functions import assigned_call, bundled_args
from nbprod.convert.generate.labels import SHOWN, cell_label
from nbprod.convert.generate.rewrite import Applied, Context, Unlabelled, rewrite
from nbprod.convert.generate.serving_calls import (
    NEW_ROWS_HELD_OUT,
    PartCall,
    ServeCall,
    serve_call,
    with_part_calls,
    with_serving_call,
)
from nbprod.plan import FigurePlan, HeldOut, Plan, ServingPart

# What a function's body is made of, in order: a statement of the notebook's, or a
# call that replaces a run of them.
_Item = tuple[int, int] | CloneCall | PartCall | ServeCall


def cell_statements(
    ctx: Context,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
    order: list[tuple[int, int]],
    figures: dict[int, list[FigurePlan]] | None = None,
    *,
    serving: bool = False,
    applied: dict[tuple[int, int], set[str]] | None = None,
    parts: Sequence[ServingPart] = (),
    held_out: HeldOut | None = None,
) -> tuple[list[cst.BaseStatement], bool]:
    """The statements at ``order`` ((cell, index) in the cell's module), rewritten,
    each copy of a factored clone a call of its function; a label names the cell
    each run of statements came from (it also maps printed output back to the
    cell). Those whose value the notebook displayed are printed; ``figures`` by
    cell, saved where the notebook showed them."""
    statements: list[cst.BaseStatement] = []
    used_partial = False
    current = None
    saved_at = {(f.cell, f.show): f for fs in (figures or {}).values() for f in fs}
    items = with_serving_call(
        None if serving else ctx.plan.serving,
        with_part_calls(parts, with_clone_calls(ctx.plan.clones, order, serving)),
    )
    for item in items:
        number, rewritten, used = _item_statement(
            ctx,
            by_cell,
            facts_by_cell,
            item,
            saved_at,
            serving=serving,
            applied=applied,
            held_out=held_out,
        )
        used_partial |= used
        if _first_of(item) == (number, 0):
            rewritten = rewritten.with_changes(
                leading_lines=[
                    *_cell_comments(by_cell[number]),
                    *rewritten.leading_lines,
                ]
            )
        if number != current:
            statements += _saved_at_end(ctx.plan, saved_at, current)
            current = number
            label = cell_label(number, ctx.sections.get(number, ""))
            rewritten = rewritten.with_changes(
                leading_lines=[
                    cst.EmptyLine(),
                    cst.EmptyLine(comment=cst.Comment(label)),
                    *rewritten.leading_lines,
                ]
            )
        statements.append(rewritten)
    statements += _saved_at_end(ctx.plan, saved_at, current)
    return statements, used_partial


def _item_statement(
    ctx: Context,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
    item: _Item,
    saved_at: Mapping[tuple[int, int | None], FigurePlan],
    *,
    serving: bool,
    applied: dict[tuple[int, int], set[str]] | None,
    held_out: HeldOut | None,
) -> tuple[int, cst.SimpleStatementLine | cst.BaseCompoundStatement, bool]:
    """The cell ``item`` stands for, the statement it becomes, and whether that
    uses ``functools.partial``: a call of a serving part, of the serving function
    or of a clone's function, the new rows held out, a figure saved where the
    notebook showed it, or the notebook's own statement, rewritten."""
    if isinstance(item, PartCall):
        call = assigned_call(
            item.part.name,
            bundled_args(item.part.bundle, item.part.inputs),
            (),
            item.part.outputs,
        )
        return item.part.statements[0][0], call, False
    if held_out is not None and item == held_out.step:
        return held_out.step[0], _held_out_rows(held_out, applied), False
    if isinstance(item, ServeCall):
        return item.serving.steps[0][0], serve_call(ctx, item.serving), False
    if isinstance(item, tuple) and item in saved_at:
        save = _save(ctx.plan, saved_at[item], "the notebook's plt.show()")
        return item[0], save, False
    if isinstance(item, CloneCall):
        return item.use.statements[0][0], clone_call(item.clone, item.use), False
    number, i = item
    node, used = _notebook_statement(
        ctx, by_cell, facts_by_cell, number, i, serving=serving, applied=applied
    )
    return number, node, used


def _first_of(item: _Item) -> tuple[int, int]:
    """The first of the notebook's statements that ``item`` stands for."""
    if isinstance(item, CloneCall):
        return item.use.statements[0]
    if isinstance(item, ServeCall):
        return item.serving.steps[0]
    if isinstance(item, PartCall):
        return item.part.statements[0]
    return item


def _held_out_rows(
    held_out: HeldOut, applied: dict[tuple[int, int], set[str]] | None
) -> cst.SimpleStatementLine | cst.BaseCompoundStatement:
    """``X_test = X``: on new rows, the statement that split the notebook's rows
    (objects it fitted and applied there applied as fitted)."""
    # New rows are not split: all of them are the part held out.
    rewritten = cst.parse_statement(
        f"{held_out.name} = {held_out.array}  # {NEW_ROWS_HELD_OUT}\n"
    )
    if applied and held_out.step in applied:
        glue = rewritten.visit(Applied(applied[held_out.step]))
        assert isinstance(glue, cst.SimpleStatementLine)
        return glue
    return rewritten


def _notebook_statement(
    ctx: Context,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
    number: int,
    i: int,
    *,
    serving: bool,
    applied: dict[tuple[int, int], set[str]] | None,
) -> tuple[cst.SimpleStatementLine | cst.BaseCompoundStatement, bool]:
    """Statement ``i`` of cell ``number`` rewritten, for new rows when
    ``serving``, and printed if the notebook displayed its value; and whether it
    uses ``functools.partial``."""
    pc = by_cell[number]
    node, used = rewrite(ctx, pc, pc.module.body[i])
    if applied and (number, i) in applied:
        applied_node = node.visit(Applied(applied[(number, i)]))
        assert isinstance(applied_node, cst.CSTNode)
        node = applied_node
    if serving:
        imports = {
            imp.bound: imp.qualified
            for f in facts_by_cell.values()
            for imp in f.imports
        }
        unlabelled = node.visit(Unlabelled(imports))
        assert isinstance(unlabelled, cst.CSTNode)
        node = unlabelled
    assert isinstance(node, cst.SimpleStatementLine | cst.BaseCompoundStatement)
    if i in facts_by_cell[number].shown and isinstance(node, cst.SimpleStatementLine):
        # The notebook displayed this value; the pipeline prints it.
        return _printed(node), used
    return node, used


def _printed(line: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """``print(value)  # displayed by the notebook``: an expression statement whose
    value the notebook displayed."""
    expr = line.body[0]
    assert isinstance(expr, cst.Expr)
    printed = cst.Call(cst.Name("print"), [cst.Arg(expr.value)])
    return line.with_changes(
        body=[expr.with_changes(value=printed)],
        trailing_whitespace=cst.TrailingWhitespace(
            whitespace=cst.SimpleWhitespace("  "),
            comment=cst.Comment(SHOWN),
        ),
    )


def _saved_at_end(
    plan: Plan, saved_at: Mapping[tuple[int, int | None], FigurePlan], cell: int | None
) -> list[cst.BaseStatement]:
    """The save of what ``cell`` drew and did not show, at the cell's end."""
    # Jupyter shows, and closes, what a cell drew when the cell ends.
    if cell is not None and (cell, None) in saved_at:
        return [
            _save(plan, saved_at[(cell, None)], "shown at the end of the notebook cell")
        ]
    return []


def _cell_comments(cell: ParsedCell) -> list[cst.EmptyLine]:
    """The comments a cell opens with, which libcst keeps in the module's header,
    not on the first statement: the notebook's own words, kept above that
    statement wherever it goes, but the ``# nbprod: STAGE`` mark (for nbprod)."""
    return [
        line
        for line in cell.module.header
        if line.comment is not None and not EXPLICIT_COMMENT.match(line.comment.value)
    ]


def _save(plan: Plan, figure: FigurePlan, where: str) -> cst.SimpleStatementLine:
    """``save_figures(figures_dir, "NAME")``: the figures drawn so far, saved as
    PNG files and closed, where the notebook showed them (said by ``where``)."""
    call = cst.parse_expression(
        f'{plan.figure_saver}({plan.figures_argument}, "{figure.name}")'
    )
    return cst.SimpleStatementLine(
        [cst.Expr(call)],
        trailing_whitespace=cst.TrailingWhitespace(
            whitespace=cst.SimpleWhitespace("  "),
            comment=cst.Comment(f"# {where}"),
        ),
    )
