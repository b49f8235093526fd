"""The notebook's code rewritten for a stage module: lifted literals become config
values and secrets ``os.environ`` reads, helpers get the notebook globals they read;
and the smaller rewrites (a variable renamed, an object applied as it was fitted, a
row container built without its target).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import libcst as cst

from nbprod.convert.analysis import CellFacts, ParsedCell, names_in
from nbprod.convert.analysis.nodes import dotted
from nbprod.known_apis import (
    CONTAINER_TARGETS,
    FIT_THEN_APPLY,
    ROW_CONTAINERS,
    matches_any,
)
from nbprod.plan import Param, Plan
from nbprod.redact import REDACTED
from nbprod.secrets import find_secrets


@dataclass(frozen=True)
class Context:
    """What rewriting the notebook's code for one stage module goes by: the plan,
    and what it says replaces which literal, name and display."""

    plan: Plan
    helper_params: dict[str, tuple[str, ...]]
    # (cell, line, column) -> what replaces the literal there: a config value, or
    # os.environ["NAME"] for a secret
    replacements: dict[tuple[int, int, int], Param | str]
    sections: dict[int, str]  # cell -> the markdown heading above it
    # cell -> first lines of the displays inside its statements, left out
    displays: dict[int, frozenset[int]]
    # (cell, line, column) of a lifted literal -> (line, column) where it ends:
    # a node that starts where it does (the call of ``"d/{}.csv".format(x)``)
    # is not the literal
    ends: dict[tuple[int, int, int], tuple[int, int]]
    # The config group read as ``config.KEY`` (the stage's own section); values of
    # other groups are parameters of their own, named by their key.
    section: str | None = None


class _Rewrite(cst.CSTTransformer):
    """Lifted literals become parameters; helpers get the notebook globals they read."""

    def __init__(self, ctx: Context, parsed: ParsedCell) -> None:
        self.ctx = ctx
        self.parsed = parsed
        self.call_funcs: set[int] = set()
        self.loads: set[int] = set()
        self.used_partial = False

    # libcst types on_leave as returning the node's own type, but any expression may
    # stand where a literal was: a lifted literal becomes its parameter's Name.
    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        pos = self.parsed.positions.get(original_node)
        if pos is not None and isinstance(original_node, cst.BaseExpression):
            at = (self.parsed.cell.number, pos.start.line, pos.start.column)
            found = self.ctx.replacements.get(at)
            end = self.ctx.ends.get(at)
            if end is not None and end != (pos.end.line, pos.end.column):
                found = None  # a node inside the literal's expression
            if isinstance(found, str):
                return cst.parse_expression(found)
            if found is not None:
                if found.group == self.ctx.section:
                    return cst.Attribute(
                        cst.Name(self.ctx.plan.config_argument), cst.Name(found.key)
                    )
                return cst.Name(found.key)
        return super().on_leave(original_node, updated_node)

    def leave_Comment(
        self, original_node: cst.Comment, updated_node: cst.Comment
    ) -> cst.Comment:
        if find_secrets(original_node.value):
            return cst.Comment(f"# ({REDACTED})")
        return updated_node

    def visit_Call(self, node: cst.Call) -> None:
        self.call_funcs.add(id(node.func))

    def leave_SimpleStatementLine(
        self,
        original_node: cst.SimpleStatementLine,
        updated_node: cst.SimpleStatementLine,
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        # A display inside a loop or a function: the notebook rendered it, a
        # script has nothing to show it on (analysis.kinds).
        pos = self.parsed.positions.get(original_node)
        shown = self.ctx.displays.get(self.parsed.cell.number, frozenset())
        if pos is not None and pos.start.line in shown:
            return cst.RemoveFromParent()
        return updated_node

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not updated_node.body:  # it held only displays
            return updated_node.with_changes(
                body=[cst.SimpleStatementLine([cst.Pass()])]
            )
        return updated_node

    def leave_Global(
        self, original_node: cst.Global, updated_node: cst.Global
    ) -> cst.RemovalSentinel:
        # Only top-level code gets here (analyse refuses ``global`` in functions):
        # a no-op in the notebook, it would make a stage's variables module globals.
        return cst.RemoveFromParent()

    def leave_Call(
        self, original_node: cst.Call, updated_node: cst.Call
    ) -> cst.BaseExpression:
        func = original_node.func
        if isinstance(func, cst.Name) and self.ctx.helper_params.get(func.value):
            given = {a.keyword.value for a in updated_node.args if a.keyword}
            extra = [
                cst.Arg(value=cst.Name(g), keyword=cst.Name(g))
                for g in self.ctx.helper_params[func.value]
                if g not in given
            ]
            return updated_node.with_changes(
                args=[*_with_comma(updated_node.args), *extra]
            )
        return updated_node

    def leave_Name(
        self, original_node: cst.Name, updated_node: cst.Name
    ) -> cst.BaseExpression:
        params = self.ctx.helper_params.get(original_node.value)
        if (
            params
            and id(original_node) not in self.call_funcs
            and self._is_load(original_node)
        ):
            self.used_partial = True
            return cst.parse_expression(
                f"functools.partial({original_node.value}, {', '.join(f'{g}={g}' for g in params)})"
            )
        return updated_node

    def _is_load(self, node: cst.Name) -> bool:
        # Only references as values; definitions keep their name.
        return id(node) in self.loads


def _with_comma(args: Sequence[cst.Arg]) -> list[cst.Arg]:
    """``args`` with a comma after the last, for more to follow."""
    args = list(args)
    if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
        return args
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return args


def rewrite(
    ctx: Context, pc: ParsedCell, node: cst.CSTNode
) -> tuple[cst.CSTNode, bool]:
    """``node`` of cell ``pc`` as its stage module holds it, and whether it now
    calls ``functools.partial``."""
    rewriter = _Rewrite(ctx, pc)
    rewriter.loads = {id(n) for n in names_in(node, targets=False)}
    result = node.visit(rewriter)
    # Only a ``global`` is ever removed and nothing is flattened; the node rewritten
    # here is a statement, a def or an expression, never a ``global``.
    assert isinstance(result, cst.CSTNode)
    return result, rewriter.used_partial


def base_context(plan: Plan, facts: list[CellFacts]) -> Context:
    """The rewrites all stage modules share, before each sets its own config
    section: the config value or secret that replaces each lifted literal, the
    notebook globals each helper takes, and each cell's heading and nested
    displays."""
    replacements: dict[tuple[int, int, int], Param | str] = {
        where: p
        for p in plan.params
        if p.group != "parameters"
        for where in ((p.cell, p.line, p.column), *p.also_at)
    }
    for secret in plan.secrets:
        replacements[(secret.cell, secret.line, secret.column)] = (
            f'os.environ["{secret.env}"]'
        )
    helper_params = {h.name: h.data_params for h in plan.helpers if h.data_params}
    return Context(
        plan,
        helper_params,
        replacements,
        {c.number: c.section for c in plan.cells},
        {f.number: frozenset(f.nested_displays) for f in facts if f.nested_displays},
        {
            (f.number, lit.line, lit.column): lit.end
            for f in facts
            for lit in f.literals
            if lit.end != (0, 0)
        },
    )


class Renamed(cst.CSTTransformer):
    """A variable renamed; attribute and keyword names that spell it stay."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == self.old:
            return updated_node.with_changes(value=self.new)
        return updated_node

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)


class Applied(cst.CSTTransformer):
    """``obj.fit_transform(x)`` -> ``obj.transform(x)``: on new rows, an object
    the notebook fitted and applied at once is applied as it was fitted."""

    def __init__(self, objects: AbstractSet[str]) -> None:
        self.objects = objects

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        method = original_node.attr.value
        if (
            method in FIT_THEN_APPLY
            and isinstance(original_node.value, cst.Name)
            and original_node.value.value in self.objects
        ):
            return updated_node.with_changes(attr=cst.Name(FIT_THEN_APPLY[method]))
        return updated_node


class Unlabelled(cst.CSTTransformer):
    """``xgb.DMatrix(X, label=y)`` -> ``xgb.DMatrix(X)``: new rows come without
    the target, and a booster's predictions do not depend on it."""

    def __init__(self, imports: Mapping[str, str]) -> None:
        self.imports = imports

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        name = dotted(original_node.func) or ""
        head, _, rest = name.partition(".")
        qual = self.imports.get(head, "")
        qual = f"{qual}.{rest}" if qual and rest else qual
        if not (qual and matches_any(qual, ROW_CONTAINERS)):
            return updated_node
        args = [
            a
            for a in updated_node.args
            if a.keyword is None or a.keyword.value not in CONTAINER_TARGETS
        ]
        if args:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(args=args)
