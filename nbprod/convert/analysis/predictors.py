"""Which fitted objects a cell asks for predictions, and on what rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst

from nbprod.convert.analysis.facts import Predicting, Prediction
from nbprod.convert.analysis.nodes import code_of, name_nodes
from nbprod.convert.analysis.resolve import CallSite
from nbprod.convert.analysis.row_values import given_names
from nbprod.convert.analysis.walk import Part

_PREDICTS = frozenset({"predict", "predict_proba"})


@dataclass(frozen=True)
class Predictors:
    """Names whose ``.predict``/``.predict_proba`` a cell calls, and per statement
    its ``model.predict(rows)`` calls."""

    predictors: tuple[str, ...]
    predicts_at: Mapping[int, tuple[Prediction, ...]]


class PredictorsPart(Part):
    """Collects a cell's ``Predictors``."""

    def __init__(
        self,
        imports: Mapping[str, str],
        calls: Mapping[int, CallSite],
        predicting: Mapping[str, Predicting] | None = None,
    ) -> None:
        self.imports = imports
        self.calls = calls
        self.predicting = predicting or {}
        self.predictors: list[str] = []
        self.predicts_at: dict[int, list[Prediction]] = {}

    def result(self) -> Predictors:
        at = {i: tuple(found) for i, found in self.predicts_at.items()}
        return Predictors(tuple(self.predictors), at)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name) and func.value in self.predicting:
            # ``predict(df, dv, model)``: the models it is given predict.
            helper = self.predicting[func.value]
            site = self.calls[id(node)]
            self.predictors += given_names(helper, site, helper.models)
            return
        if (
            not isinstance(func, cst.Attribute)
            or func.attr.value not in _PREDICTS
            or not isinstance(func.value, cst.Name)
            or func.value.value in self.imports
        ):
            return
        site = self.calls[id(node)]
        if site.qual:
            return
        model = func.value.value
        self.predictors.append(model)
        if (
            func.attr.value == "predict"
            and len(site.positional) == 1
            and not site.keywords
        ):
            argument = site.positional[0]
            self.predicts_at.setdefault(self.current, []).append(
                Prediction(
                    model,
                    code_of(argument),
                    tuple(dict.fromkeys(n.value for n in name_nodes(argument))),
                )
            )
