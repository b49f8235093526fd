"""Factored clones: the one function both copies of a clone become, and the call
that replaces each copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from nbprod.convert.analysis import ParsedCell
from nbprod.convert.generate.functions import assigned_call, function_def, param_node
from nbprod.convert.generate.rewrite import Context, Renamed, rewrite
from nbprod.convert.plan.names import cells_text
from nbprod.plan import ClonePlan, CloneUse


@dataclass(frozen=True)
class CloneCall:
    """Where one copy of a factored clone ran: now a call of its function."""

    clone: ClonePlan
    use: CloneUse


def with_clone_calls(
    clones: tuple[ClonePlan, ...], order: list[tuple[int, int]], serving: bool
) -> list[tuple[int, int] | CloneCall]:
    """``order`` with each copy of a clone it holds whole replaced by a call: at
    its first shared statement, after the statements moved before it."""
    positions = {where: k for k, where in enumerate(order)}
    at: dict[tuple[int, int], list[tuple[int, int] | CloneCall]] = {}
    skip: set[tuple[int, int]] = set()
    for clone in clones:
        uses = [clone.second] if serving else [clone.first, clone.second]
        if serving and not clone.serving:
            continue
        for use in uses:
            members = [*use.statements, *use.hoisted]
            if not all(w in positions for w in members):
                continue
            moved = sorted(use.hoisted, key=positions.__getitem__)
            at[use.statements[0]] = [*moved, CloneCall(clone, use)]
            skip.update(members)
    items: list[tuple[int, int] | CloneCall] = []
    for where in order:
        if where in at:
            items += at[where]
        elif where not in skip:
            items.append(where)
    return items


def clone_call(clone: ClonePlan, use: CloneUse) -> cst.SimpleStatementLine:
    """``frame = clean_rows(frame, name=name, ...)``."""
    return assigned_call(clone.name, (use.frame,), clone.params, (use.frame,))


def clone_function(
    ctx: Context, clone: ClonePlan, by_cell: dict[int, ParsedCell]
) -> tuple[cst.FunctionDef, bool]:
    """The shared statements as one function of the frame, from the first copy,
    the frame's name made the function's parameter."""
    body: list[cst.BaseStatement] = []
    used_partial = False
    for number, i in clone.first.statements:
        pc = by_cell[number]
        node, used = rewrite(ctx, pc, pc.module.body[i])
        used_partial |= used
        renamed = node.visit(Renamed(clone.first.frame, clone.frame))
        assert isinstance(renamed, cst.SimpleStatementLine)
        body.append(renamed.with_changes(leading_lines=[]))
    cells = sorted({c for c, _ in (*clone.first.statements, *clone.second.statements)})
    function = function_def(
        clone.name,
        (clone.frame,),
        [param_node(n, None) for n in clone.params],
        body,
        cst.Name(clone.frame),
        f"{clone.origin[0].upper()}{clone.origin[1:]}: one function for both"
        + (", and for new rows" if clone.serving else "")
        + f" (notebook {cells_text(tuple(cells))}).",
        f"Returns {clone.frame}.",
    )
    return function, used_partial
