"""Which of the notebook's own metric calls ``monitor`` can recompute on new
labelled rows, beside the value the notebook measured: calls of scikit-learn's
metric functions (``accuracy_score(y_val, val_pred)``) whose truth and predictions
are values the pipeline saves, just as the call saw them.

The analysis finds the calls (``CellFacts.metric_calls``); each rule that picks
among them is decided here, once.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from nbprod import known_apis as apis
from nbprod.convert.analysis import CellFacts, MetricCall, Statement
from nbprod.plan import Plan

# Where a statement is in the notebook: (cell, index of the statement in the cell).
_At = tuple[int, int]


@dataclass(frozen=True)
class MonitoredMetric:
    """One metric the notebook measured, that ``monitor`` computes again on new
    labelled rows: ``function(truth, predicted, **keywords)``, where ``truth`` and
    ``predicted`` are the names of the values the pipeline saves."""

    function: str  # the sklearn.metrics function: "accuracy_score"
    truth: str
    predicted: str
    keywords: tuple[tuple[str, str], ...]  # (keyword, its literal as written)
    cell: int
    line: int
    source: str  # the call as written: "accuracy_score(y_val, val_pred)"
    higher_is_better: bool


def monitored_metrics(
    plan: Plan, facts: Sequence[CellFacts]
) -> tuple[MonitoredMetric, ...]:
    """The notebook's metric calls ``monitor`` recomputes, in notebook order:
    those of the model that serves new rows when there are any, and of each
    function (with its keywords) the last the notebook made."""
    statements = [((f.number, st.index), st) for f in facts for st in f.statements]
    saved = {n for sp in plan.stages for n in sp.outputs}
    found = [
        ((f.number, call.statement), metric)
        for f in facts
        for call in f.metric_calls
        if (metric := _metric(f.number, call, saved, statements)) is not None
    ]
    # Monitoring compares what predict serves with the truth: the notebook's
    # measure of the model that serves is the one to put beside it. Without such
    # a measure, every measure is kept (another model on the same rows is still
    # the notebook's yardstick).
    served = _serving_models(plan)
    by_served = [
        (at, m) for at, m in found if _predicted_by(m.predicted, at, served, statements)
    ]
    kept = by_served or found
    # One value per metric: a metric measured again (a later model, the same
    # model tuned) is the notebook's last word on it.
    last = {
        (m.function, _keyword_values(m.keywords)): k for k, (_, m) in enumerate(kept)
    }
    chosen = set(last.values())
    return tuple(m for k, (_, m) in enumerate(kept) if k in chosen)


def _metric(
    cell: int,
    call: MetricCall,
    saved: set[str],
    statements: list[tuple[_At, Statement]],
) -> MonitoredMetric | None:
    """The call as a metric ``monitor`` can recompute, or None when it cannot."""
    higher = apis.MONITORED_METRICS.get(call.function)
    # Only functions of (y_true, y_pred or y_score), given just those two, by
    # position: a third argument or a keyword computed by the code would be a
    # value monitoring does not have.
    if higher is None or call.opaque or len(call.names) != 2:
        return None
    truth, predicted = call.names
    if truth is None or predicted is None:
        return None
    # Both must be values the pipeline saves, and what it saves must be what the
    # call saw: nothing binds or changes them from the call's statement on. A
    # name bound again before the call (titanic splits twice into y_val) is
    # saved as the call saw it: "bound once" would refuse it for nothing.
    at = (cell, call.statement)
    if {truth, predicted} - saved or _changed_from(at, {truth, predicted}, statements):
        return None
    return MonitoredMetric(
        function=call.function.rpartition(".")[2],
        truth=truth,
        predicted=predicted,
        keywords=call.keywords,
        cell=cell,
        line=call.line,
        source=call.source,
        higher_is_better=higher,
    )


def _changed_from(
    at: _At, names: set[str], statements: list[tuple[_At, Statement]]
) -> bool:
    """Whether a statement at ``at`` or after it binds or changes one of ``names``."""
    return any(
        where >= at and names & {*st.writes, *st.mutates} for where, st in statements
    )


def _serving_models(plan: Plan) -> set[str]:
    """The models whose predictions ``predict`` serves; without a serving path,
    the project's model."""
    if plan.serving is not None:
        return set(plan.serving.models)
    return {plan.predictor} if plan.predictor else set()


def _predicted_by(
    name: str, at: _At, models: set[str], statements: list[tuple[_At, Statement]]
) -> bool:
    """Whether the statement that last bound ``name`` before ``at`` made it of
    the predictions of one of ``models`` (``rf_pred = rf.predict(X_test)``)."""
    binding = [st for where, st in statements if where < at and name in st.writes]
    if not binding:
        return False
    return any(
        f.name == name and models & set(f.models) for f in binding[-1].rows.flows
    )


def _keyword_values(keywords: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The keywords as what they mean: sorted, each value as Python reads it
    (``"macro"`` and ``'macro'`` are one setting)."""
    return tuple(sorted(f"{k}={ast.literal_eval(v)!r}" for k, v in keywords))
