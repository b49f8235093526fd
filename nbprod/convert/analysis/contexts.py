"""Whether each name, attribute, subscript, tuple, list and starred element of a
cell is stored, loaded or deleted: what libcst's ExpressionContextProvider says.

Written here because libcst's provider visits the cell, and a libcst visit
rebuilds every node it passes; this reads the nodes' fields instead (see
:func:`~nbprod.convert.analysis.nodes.children`), which made it several times
faster. It gives the same answer, node for node: each rule below is one of the
provider's ``visit_*`` methods, and ``tests/test_libcst_equivalence.py`` compares
the two on the examples' cells, the golden modules and a file of constructs.
"""

from __future__ import annotations

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


def expression_contexts(module: cst.Module) -> dict[cst.CSTNode, ExpressionContext]:
    """The context of every node libcst's ExpressionContextProvider gives one."""
    found: dict[cst.CSTNode, ExpressionContext] = {}
    stack: list[tuple[cst.CSTNode, ExpressionContext]] = [(module, LOAD)]
    push = stack.append

    def push_all(nodes: object, context: ExpressionContext) -> None:
        for node in nodes:  # type: ignore[attr-defined]
            push((node, context))

    while stack:
        node, context = stack.pop()
        kind = type(node)
        if kind is cst.Name:
            found[node] = context
        elif kind is cst.Assign:
            assign: cst.Assign = node  # type: ignore[assignment]
            push_all(assign.targets, STORE)
            push((assign.value, context))
        elif kind is cst.AnnAssign:
            ann: cst.AnnAssign = node  # type: ignore[assignment]
            push((ann.target, STORE))
            push((ann.annotation, context))
            if ann.value:
                push((ann.value, context))
        elif kind is cst.AugAssign or kind is cst.NamedExpr:
            push((node.target, STORE))  # type: ignore[attr-defined]
            push((node.value, context))  # type: ignore[attr-defined]
        elif kind is cst.AsName:
            push((node.name, STORE))  # type: ignore[attr-defined]
        elif kind is cst.CompFor:
            comp: cst.CompFor = node  # type: ignore[assignment]
            push((comp.target, STORE))
            push((comp.iter, context))
            push_all(comp.ifs, context)
            if comp.inner_for_in:
                push((comp.inner_for_in, context))
        elif kind is cst.For:
            loop: cst.For = node  # type: ignore[assignment]
            push((loop.target, STORE))
            push((loop.iter, context))
            push((loop.body, context))
            if loop.orelse:
                push((loop.orelse, context))
        elif kind is cst.Del:
            push((node.target, DEL))  # type: ignore[attr-defined]
        elif kind is cst.Attribute:
            found[node] = context
            push((node.value, LOAD))  # type: ignore[attr-defined]
        elif kind is cst.Subscript:
            found[node] = context
            push((node.value, LOAD))  # type: ignore[attr-defined]
            index = node.slice  # type: ignore[attr-defined]
            push_all(index if isinstance(index, (list, tuple)) else (index,), LOAD)
        elif kind in _MARKED:
            found[node] = context
            push_all(children(node), context)
        elif kind is cst.ClassDef:
            cls: cst.ClassDef = node  # type: ignore[assignment]
            push((cls.name, STORE))
            push((cls.body, context))
            push_all(cls.bases, context)
            push_all(cls.keywords, context)
            push_all(cls.decorators, context)
        elif kind is cst.FunctionDef:
            fn: cst.FunctionDef = node  # type: ignore[assignment]
            push((fn.name, STORE))
            push((fn.params, context))
            push((fn.body, context))
            push_all(fn.decorators, context)
            if fn.returns:
                push((fn.returns, context))
        elif kind is cst.Param:
            param: cst.Param = node  # type: ignore[assignment]
            push((param.name, STORE))
            if param.annotation:
                push((param.annotation, context))
            if param.default:
                push((param.default, context))
        else:
            push_all(children(node), context)
    return found
