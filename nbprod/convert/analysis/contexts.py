"""Whether each name, attribute, subscript, tuple, list and starred element of a
cell is stored, loaded or deleted: what libcst's ExpressionContextProvider says.

Written here because libcst's provider visits the cell, and a libcst visit
rebuilds every node it passes; this reads the nodes' fields instead (see
:func:`~nbprod.convert.analysis.nodes.children`), which made it several times
faster. It gives the same answer, node for node: each rule below is one of the
provider's ``visit_*`` methods, and ``tests/convert/test_libcst_equivalence.py`` compares
the two on the examples' cells, the golden modules and a file of constructs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import libcst as cst
from libcst.metadata import ExpressionContext

from nbprod.convert.analysis.nodes import children

LOAD, STORE, DEL = (
    ExpressionContext.LOAD,
    ExpressionContext.STORE,
    ExpressionContext.DEL,
)

# Nodes given the context they are in, their children visited in it too.
_MARKED = (cst.Tuple, cst.List, cst.StarredElement)

# A node and the context it is visited in.
_Item = tuple[cst.CSTNode, ExpressionContext]
_Push = Callable[[_Item], None]


def expression_contexts(module: cst.Module) -> dict[cst.CSTNode, ExpressionContext]:
    """The context of every node libcst's ExpressionContextProvider gives one."""
    found: dict[cst.CSTNode, ExpressionContext] = {}
    stack: list[_Item] = [(module, LOAD)]
    push = stack.append
    rules = _BINDING_RULES
    while stack:
        node, context = stack.pop()
        kind = type(node)
        if kind is cst.Name:
            found[node] = context
        elif kind is cst.Attribute:
            found[node] = context
            push((node.value, LOAD))  # type: ignore[attr-defined]
        elif kind is cst.Subscript:
            found[node] = context
            push((node.value, LOAD))  # type: ignore[attr-defined]
            index = node.slice  # type: ignore[attr-defined]
            _push_all(
                push, index if isinstance(index, (list, tuple)) else (index,), LOAD
            )
        elif kind in _MARKED:
            found[node] = context
            _push_all(push, children(node), context)
        elif kind in rules:
            rules[kind](node, context, push)
        else:
            _push_all(push, children(node), context)
    return found


def _push_all(
    push: _Push, nodes: Iterable[cst.CSTNode], context: ExpressionContext
) -> None:
    """Visit each of ``nodes`` in ``context``."""
    for node in nodes:
        push((node, context))


# The rules of the nodes that bind or delete a name: which of their children are
# visited in which context. The order they push in is the order of the answer's
# keys: keep it.


def _assign(node: cst.Assign, context: ExpressionContext, push: _Push) -> None:
    """``targets = value``: the targets are stored."""
    _push_all(push, node.targets, STORE)
    push((node.value, context))


def _ann_assign(node: cst.AnnAssign, context: ExpressionContext, push: _Push) -> None:
    """``target: annotation = value``: the target is stored."""
    push((node.target, STORE))
    push((node.annotation, context))
    if node.value:
        push((node.value, context))


def _target_value(
    node: cst.AugAssign | cst.NamedExpr, context: ExpressionContext, push: _Push
) -> None:
    """``target += value``, ``(target := value)``: the target is stored."""
    push((node.target, STORE))
    push((node.value, context))


def _as_name(node: cst.AsName, context: ExpressionContext, push: _Push) -> None:
    """``... as name``: the name is stored (and nothing else visited)."""
    push((node.name, STORE))


def _comp_for(node: cst.CompFor, context: ExpressionContext, push: _Push) -> None:
    """``for target in iter if ...`` of a comprehension: the target is stored."""
    push((node.target, STORE))
    push((node.iter, context))
    _push_all(push, node.ifs, context)
    if node.inner_for_in:
        push((node.inner_for_in, context))


def _for(node: cst.For, context: ExpressionContext, push: _Push) -> None:
    """``for target in iter:``: the target is stored."""
    push((node.target, STORE))
    push((node.iter, context))
    push((node.body, context))
    if node.orelse:
        push((node.orelse, context))


def _del(node: cst.Del, context: ExpressionContext, push: _Push) -> None:
    """``del target``: the target is deleted."""
    push((node.target, DEL))


def _class_def(node: cst.ClassDef, context: ExpressionContext, push: _Push) -> None:
    """``class name(...)``: the name is stored."""
    push((node.name, STORE))
    push((node.body, context))
    _push_all(push, node.bases, context)
    _push_all(push, node.keywords, context)
    _push_all(push, node.decorators, context)


def _function_def(
    node: cst.FunctionDef, context: ExpressionContext, push: _Push
) -> None:
    """``def name(params) -> returns``: the name is stored."""
    push((node.name, STORE))
    push((node.params, context))
    push((node.body, context))
    _push_all(push, node.decorators, context)
    if node.returns:
        push((node.returns, context))


def _param(node: cst.Param, context: ExpressionContext, push: _Push) -> None:
    """A parameter: its name is stored."""
    push((node.name, STORE))
    if node.annotation:
        push((node.annotation, context))
    if node.default:
        push((node.default, context))


# Each rule takes the node of its own type (hence Any): the table is looked up by
# the node's exact type.
_BINDING_RULES: dict[
    type[cst.CSTNode], Callable[[Any, ExpressionContext, _Push], None]
] = {
    cst.Assign: _assign,
    cst.AnnAssign: _ann_assign,
    cst.AugAssign: _target_value,
    cst.NamedExpr: _target_value,
    cst.AsName: _as_name,
    cst.CompFor: _comp_for,
    cst.For: _for,
    cst.Del: _del,
    cst.ClassDef: _class_def,
    cst.FunctionDef: _function_def,
    cst.Param: _param,
}
