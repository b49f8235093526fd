"""Top-level ``def`` and ``class`` statements: the helpers that move to module level,
with their parameters, free names and what their bodies change in place."""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from nbprod.convert.analysis.dataflow import DataFlowPart
from nbprod.convert.analysis.facts import Helper, ParsedCell
from nbprod.convert.analysis.nodes import line_of, walk
from nbprod.convert.analysis.resolve import Resolution, Resolver
from nbprod.convert.analysis.walk import Batch


def helper_facts(
    stmt: cst.FunctionDef | cst.ClassDef,
    pc: ParsedCell,
    resolver: Resolver,
    free: tuple[str, ...],
    originals: Mapping[str, str],
) -> Helper:
    """A helper's facts; ``free``: the names its body reads from the notebook,
    ``originals``: the notebook's name of each renamed later definition."""
    name = stmt.name.value
    if isinstance(stmt, cst.FunctionDef):
        params = _params(stmt)
        mutated = body_mutations(stmt, pc, resolver)
        mut_params = tuple(sorted({params.index(m) for m in mutated if m in params}))
        mut_globals = tuple(
            sorted({m for m in mutated if m not in params and m in free})
        )
    else:
        params, mut_params, mut_globals = (), (), ()
    return Helper(
        name,
        "function" if isinstance(stmt, cst.FunctionDef) else "class",
        line_of(pc, stmt),
        params,
        tuple(dict.fromkeys(n for n in free if n != name)),
        mut_params,
        mut_globals,
        originals.get(name, ""),
    )


def body_mutations(
    stmt: cst.FunctionDef, pc: ParsedCell, resolver: Resolver
) -> tuple[str, ...]:
    """Names a helper's body changes in place (its parameters, or globals). The
    body is analysed on its own: nothing it assigns reaches the notebook's state."""
    resolution = Resolution(resolver, {})
    flow = DataFlowPart(pc, resolver.imports, resolution.calls)
    batch = Batch([resolution, flow])
    for inner in stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else []:
        walk(inner, batch)
    return flow.result().mutates


def _params(stmt: cst.FunctionDef) -> tuple[str, ...]:
    p = stmt.params
    return tuple(x.name.value for x in (*p.posonly_params, *p.params))
