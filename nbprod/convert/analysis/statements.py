"""Per-statement facts: the unit the serving path and the taint of clock readings
are traced through, assembled from the answers of the other questions."""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from nbprod.convert.analysis.dataflow import DataFlow
from nbprod.convert.analysis.effects import Effects
from nbprod.convert.analysis.facts import ParsedCell, RowFlow, Statement
from nbprod.convert.analysis.nodes import literal_value
from nbprod.convert.analysis.predictors import Predictors
from nbprod.convert.analysis.scope import ScopeFacts


def statement_facts(
    pc: ParsedCell,
    index: int,
    scope: ScopeFacts,
    flow: DataFlow,
    effects: Effects,
    predictors: Predictors,
    rows: Mapping[int, RowFlow],
) -> Statement:
    """The facts of the top-level statement at ``index`` of the cell."""
    node = pc.module.body[index]
    pos = pc.positions.get(node)
    return Statement(
        index=index,
        line=pos.start.line if pos else 0,
        end_line=pos.end.line if pos else 0,
        reads=tuple(dict.fromkeys(scope.statement_reads.get(index, ()))),
        writes=tuple(dict.fromkeys(scope.statement_writes.get(index, ()))),
        mutates=tuple(dict.fromkeys(flow.mutated_at.get(index, ()))),
        simple=isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1,
        source=effects.sources_at.get(index, ""),
        clock=index in effects.clock_at,
        predicts=tuple(dict.fromkeys(predictors.predicts_at.get(index, ()))),
        name_calls=flow.name_calls_at.get(index, ()),
        constant=_binds_a_literal(node),
        rows=rows.get(index, RowFlow()),
    )


def _binds_a_literal(node: cst.BaseStatement) -> bool:
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return False
    small = node.body[0]
    value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
    return value is not None and literal_value(value)[0]
