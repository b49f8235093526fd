"""Top-level ``def`` and ``class`` statements: the helpers that move to module level,
with their parameters, free names and what their bodies change in place."""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from nbprod.convert.analysis.dataflow import DataFlowPart
from nbprod.convert.analysis.facts import Helper, ParsedCell, Predicting, Signal
from nbprod.convert.analysis.nodes import line_of
from nbprod.convert.analysis.resolve import Resolution, Resolver
from nbprod.convert.analysis.rows import predicting
from nbprod.convert.analysis.signals import SignalsPart
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
    predicts = None
    if isinstance(stmt, cst.FunctionDef):
        params = _params(stmt)
        mutated, signals, predicts = _body_facts(stmt, pc, resolver, params)
        mut_params = tuple(sorted({params.index(m) for m in mutated if m in params}))
        mut_globals = tuple(
            sorted({m for m in mutated if m not in params and m in free})
        )
    else:
        params, mut_params, mut_globals, signals = (), (), (), ()
    return Helper(
        name,
        "function" if isinstance(stmt, cst.FunctionDef) else "class",
        line_of(pc, stmt),
        params,
        tuple(dict.fromkeys(n for n in free if n != name)),
        mut_params,
        mut_globals,
        originals.get(name, ""),
        signals,
        predicts,
    )


def _body_facts(
    stmt: cst.FunctionDef, pc: ParsedCell, resolver: Resolver, params: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[Signal, ...], Predicting | None]:
    """Names a helper's body changes in place (its parameters, or globals), the
    stage signals of its calls, and whether it returns predictions. The body is
    analysed on its own: nothing it assigns reaches the notebook's state."""
    resolution = Resolution(resolver, {})
    flow = DataFlowPart(pc, resolver.imports, resolution.calls)
    signals = SignalsPart(pc, resolver.imports, resolution.calls)
    batch = Batch([resolution, flow, signals])
    for i, inner in enumerate(
        stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else []
    ):
        batch.run(i, inner)
    predicts = predicting(stmt, params, resolver.imports, resolution.calls)
    return flow.result().mutates, signals.result().signals, predicts


def _params(stmt: cst.FunctionDef) -> tuple[str, ...]:
    p = stmt.params
    return tuple(x.name.value for x in (*p.posonly_params, *p.params))
