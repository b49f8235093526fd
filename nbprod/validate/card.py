"""Facts for MODEL_CARD.md (sections of Mitchell et al., "Model Cards for Model
Reporting", 2019): what the model is, what it was trained on, and the metrics the
validation run actually measured. Nothing here is a placeholder: what nbprod cannot
know is left as a clearly marked prompt for the author.
"""

from __future__ import annotations

import inspect
import numbers
from typing import Any

from nbprod.convert.render import shipped_runtime
from nbprod.plan import Plan
from nbprod.stages import Stage
from nbprod.validate.compare import Comparison, is_model

# A metric computed by these stages is the model's: preprocessing's describe the
# data, inference's the rows it scored.
_MODEL_STAGES = frozenset({Stage.TRAINING, Stage.EVALUATION})

SPLIT_CALLS = (
    "train_test_split",
    "KFold",
    "StratifiedKFold",
    "ShuffleSplit",
    "GridSearchCV",
    "RandomizedSearchCV",
)


def _non_defaults(model: Any) -> dict[str, str]:
    """Hyperparameters set to something other than the class's default."""
    try:
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(model).__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }
    except (TypeError, ValueError):
        defaults = {}
    out = {}
    for name, value in model.get_params(deep=False).items():
        if name in defaults and repr(defaults[name]) == repr(value):
            continue
        out[name] = value.__class__.__name__ if is_model(value) else repr(value)
    return out


def _public_name(cls: type) -> str:
    """``sklearn.linear_model.Ridge`` rather than ``sklearn.linear_model._ridge.Ridge``."""
    parts = [p for p in cls.__module__.split(".") if not p.startswith("_")]
    return ".".join([*parts, cls.__qualname__])


def _features(model: Any) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    count = getattr(model, "n_features_in_", None)
    return [f"{count} unnamed columns"] if count else []


def card_facts(
    plan: Plan,
    comparisons: tuple[Comparison, ...] = (),
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the card says: from the plan, and from the validated values when there are some."""
    values = values or {}
    matched = {c.name for c in comparisons if c.matches}
    final_stage = {n: s.stage for s in plan.stages for n in s.outputs}
    models = [
        {
            "name": name,
            "class": _public_name(type(value)),
            "short": type(value).__qualname__,
            "hyperparameters": _non_defaults(value),
            "features": _features(value),
        }
        for name, value in values.items()
        # A model predicts; a fitted scaler or encoder is not the card's subject.
        if name in matched
        and is_model(value)
        and hasattr(value, "predict")
        and final_stage.get(name) == Stage.TRAINING
    ]
    # The numbers validation found equal, as the project's metrics.json holds
    # them (runtime.scalar_metrics): a metric by its name, a number in a dict or a
    # table of records by its path (titanic's ``results.1.f1``). Training's dicts
    # and lists are its settings (a search's best_params_), not its metrics.
    chosen = {
        name: value
        for stage in sorted(_MODEL_STAGES, key=lambda s: s.order)
        for name, value in values.items()
        if name in matched
        and final_stage.get(name) == stage
        and (stage == Stage.EVALUATION or isinstance(value, numbers.Real))
    }
    # (the runtime imports joblib: loaded only when there are values to read)
    scalars = shipped_runtime().scalar_metrics(chosen) if chosen else {}
    metrics = [
        {"name": key, "value": value, "stage": final_stage[key.split(".")[0]]}
        for key, value in scalars.items()
    ]
    keys = plan.data_keys()
    scored = plan.scored_keys()
    data = [
        {
            "key": keys.get(d.path, ""),
            "path": d.path,
            "size": d.size,
            "sha256": d.sha256,
            "scored": keys.get(d.path, "") in scored,
        }
        for d in plan.data
    ]
    split = [
        {"key": f"{p.group}.{p.key}", "value": p.value, "source": p.source}
        for p in plan.params
        if any(f"{call}(" in p.source for call in SPLIT_CALLS)
    ]
    return {
        "validated": bool(comparisons),
        "models": models,
        "estimators_in_code": [e.rsplit(".", 1)[-1] for e in plan.estimators],
        "metrics": metrics,
        "data_sources": data,
        "split_settings": split,
    }
