"""The calls of scikit-learn's metric functions, as written: what the notebook
measured, and of which of its values (which of them ``monitor`` recomputes on new
rows is the plan's to decide: ``convert.plan.metrics``)."""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from nbprod import known_apis as apis
from nbprod.convert.analysis.facts import MetricCall, ParsedCell
from nbprod.convert.analysis.nodes import code_of, line_of, literal_value
from nbprod.convert.analysis.resolve import CallSite
from nbprod.convert.analysis.walk import Part

# Bodies that run elsewhere than where they are written, or many times over
# values of their own: a call in one does not measure the notebook's value of a
# name. (Def and class bodies are never walked.)
_ELSEWHERE = (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


class MetricCallsPart(Part):
    """Collects a cell's ``MetricCall``s, in the order they are written."""

    def __init__(self, parsed: ParsedCell, calls: Mapping[int, CallSite]) -> None:
        self.parsed = parsed
        self.calls = calls
        self.found: list[MetricCall] = []
        self._elsewhere = 0

    def result(self) -> tuple[MetricCall, ...]:
        return tuple(self.found)

    def _enter(self, step: int) -> None:
        self._elsewhere += step

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._enter(1)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._enter(-1)

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._enter(1)

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self._enter(-1)

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._enter(1)

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self._enter(-1)

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._enter(1)

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self._enter(-1)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._enter(1)

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self._enter(-1)

    def visit_Call(self, node: cst.Call) -> None:
        if self._elsewhere:
            return
        qual = self.calls[id(node)].plain
        if qual is None or not apis.matches_any(qual, apis.METRIC_CALLS):
            return
        keywords = []
        opaque = False
        for arg in node.args:
            if arg.star or (arg.keyword is not None and not _literal(arg.value)):
                opaque = True
            elif arg.keyword is not None:
                keywords.append((arg.keyword.value, code_of(arg.value)))
        self.found.append(
            MetricCall(
                function=qual,
                names=tuple(
                    a.value.value if isinstance(a.value, cst.Name) else None
                    for a in node.args
                    if a.keyword is None and not a.star
                ),
                keywords=tuple(keywords),
                opaque=opaque,
                statement=self.current,
                line=line_of(self.parsed, node),
                source=code_of(node),
            )
        )


def _literal(node: cst.BaseExpression) -> bool:
    return literal_value(node)[0]
