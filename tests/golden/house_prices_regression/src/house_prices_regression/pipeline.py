"""Run the house_prices_regression pipeline: every stage in one process, or one stage alone.

Each stage saves its outputs to the artifacts folder (joblib) and loads the inputs
it did not get in memory from there, so stages can also run one by one, in separate
processes or under any orchestrator.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import joblib

from . import evaluation, preprocessing, training
from .config import Config

ALL_STAGES = ("preprocess", "train", "predict", "evaluate")
# The stages this notebook has, in the order they run.
STAGES: tuple[str, ...] = (
    "preprocess",
    "train",
    "evaluate",
)
INPUTS: dict[str, tuple[str, ...]] = {
    "preprocess": (),
    "train": (
        "X",
        "X_train",
        "X_test",
        "y_train",
        "y_test",
    ),
    "evaluate": (
        "X_test",
        "y_test",
        "rf",
    ),
}
# The fitted model that scores new rows (cell 14 predicts with rf, saved by training).
PREDICTOR: str | None = "rf"
OUTPUTS: dict[str, tuple[str, ...]] = {
    "preprocess": (
        "X",
        "X_train",
        "X_test",
        "y_train",
        "y_test",
    ),
    "train": (
        "ridge",
        "ridge_pred",
        "rf",
        "importances",
    ),
    "evaluate": (
        "rf_pred",
        "rmse",
        "r2",
    ),
}


def run_preprocess(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Preprocessing (notebook cells 4, 8, 9, 18)."""
    result = preprocessing.preprocess(
        houses_path=config.preprocessing.houses_path,
        test_size=config.preprocessing.test_size,
        random_state=config.preprocessing.random_state,
    )
    return dict(zip(OUTPUTS["preprocess"], result))


def run_train(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Training (notebook cells 11, 12, 15)."""
    result = training.train(
        values["X"],
        values["X_train"],
        values["X_test"],
        values["y_train"],
        values["y_test"],
        alpha=config.training.alpha,
        random_state=config.training.random_state,
        n_estimators=config.training.n_estimators,
        max_depth=config.training.max_depth,
        min_samples_leaf=config.training.min_samples_leaf,
        max_features=config.training.max_features,
        random_forest_regressor_random_state=config.training.random_forest_regressor_random_state,
    )
    return dict(zip(OUTPUTS["train"], result))


def run_evaluate(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Evaluation (notebook cell 14)."""
    result = evaluation.evaluate(
        values["X_test"],
        values["y_test"],
        values["rf"],
    )
    return dict(zip(OUTPUTS["evaluate"], result))


RUNNERS: dict[str, Callable[[Config, dict[str, Any]], dict[str, Any]]] = {
    "preprocess": run_preprocess,
    "train": run_train,
    "evaluate": run_evaluate,
}


def save_artifacts(directory: Path, values: dict[str, Any]) -> None:
    """Save each value as ``NAME.joblib``; warn about values that cannot be pickled."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, value in values.items():
        target = directory / f"{name}.joblib"
        try:
            joblib.dump(value, target)
        except Exception as exc:  # noqa: BLE001 - pickling fails in many ways
            target.unlink(missing_ok=True)
            print(
                f"warning: {name} cannot be saved ({exc.__class__.__name__}: {exc}); "
                "a later stage run on its own will not find it",
                file=sys.stderr,
            )


def load_artifacts(directory: Path, names: Iterable[str]) -> dict[str, Any]:
    """Load the named values saved by earlier stages."""
    values = {}
    for name in names:
        source = directory / f"{name}.joblib"
        if not source.is_file():
            raise FileNotFoundError(
                f"{source} not found: run the stage that produces {name!r} first "
                "(or the whole pipeline with the 'run' command)"
            )
        values[name] = joblib.load(source)
    return values


# Saved after every stage: the global random generators' state, so a stage run on
# its own draws the numbers it would have drawn in a run of the whole pipeline.
RANDOM_STATE = "_random_state"


def _random_state() -> dict[str, Any]:
    state: dict[str, Any] = {"random": random.getstate()}
    try:
        import numpy
    except ImportError:
        return state
    state["numpy"] = numpy.random.get_state()
    return state


def _restore_random_state(state: dict[str, Any]) -> None:
    random.setstate(state["random"])
    if "numpy" in state:
        import numpy

        numpy.random.set_state(state["numpy"])


def run(config: Config, stages: Iterable[str] = STAGES) -> dict[str, Any]:
    """Run ``stages`` in order and return every value they produced."""
    artifacts = Path(config.artifacts_dir)
    values: dict[str, Any] = {}
    for position, stage in enumerate(stages):
        missing = [name for name in INPUTS[stage] if name not in values]
        values.update(load_artifacts(artifacts, missing))
        if (
            position == 0
            and stage != STAGES[0]
            and (artifacts / f"{RANDOM_STATE}.joblib").is_file()
        ):
            _restore_random_state(
                load_artifacts(artifacts, [RANDOM_STATE])[RANDOM_STATE]
            )
        outputs = RUNNERS[stage](config, values)
        save_artifacts(artifacts, {**outputs, RANDOM_STATE: _random_state()})
        values.update(outputs)
    return values


class PredictError(RuntimeError):
    """New rows cannot be scored as asked."""


def predict_new(config: Config, source: Path, target: Path) -> int:
    """Score the rows of ``source`` (CSV or parquet) with the saved model; write them
    with a ``prediction`` column to ``target``. Returns the number of rows.

    The rows must carry the columns the model was fitted on, in the form the notebook
    passes to it (X_test is not read from a file: new rows must be given in the form the model takes).
    """
    if PREDICTOR is None:
        raise PredictError(
            "this pipeline cannot score new rows: cell 14 predicts with rf, saved by training"
        )
    import pandas as pd

    artifacts = Path(config.artifacts_dir)
    model = load_artifacts(artifacts, [PREDICTOR])[PREDICTOR]
    reader = pd.read_parquet if source.suffix == ".parquet" else pd.read_csv
    rows = reader(source)
    original = rows.copy()
    columns = getattr(model, "feature_names_in_", None)
    if columns is None:
        # Fitted on an array: the columns are taken in order, if there are as many.
        count = getattr(model, "n_features_in_", None)
        # A model that takes one column of raw values (text pipelines) has no count.
        text_like = count is None and rows.shape[1] == 1
        if not text_like and (count is None or rows.shape[1] != count):
            raise PredictError(
                f"{PREDICTOR} was fitted on {count or 'an unknown number of'} unnamed "
                f"columns; {source} has {rows.shape[1]}"
            )
        columns = list(rows.columns)
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise PredictError(
            f"{source} lacks {len(missing)} of the {len(columns)} columns {PREDICTOR} "
            f"was fitted on ({', '.join(map(str, missing[:5]))}"
            f"{', ...' if len(missing) > 5 else ''}): the notebook derives them in code "
            "outside the model; put that preprocessing in a scikit-learn Pipeline with "
            "the model to score raw rows"
        )
    # The rows as given, with their predictions (unless the cleaning dropped rows).
    scored = original if len(original) == len(rows) else rows.copy()
    try:
        features = rows[list(columns)]
        if getattr(model, "feature_names_in_", None) is not None:
            scored["prediction"] = model.predict(features)
        elif getattr(model, "n_features_in_", None) is None:
            scored["prediction"] = model.predict(features.iloc[:, 0])
        else:
            scored["prediction"] = model.predict(features.to_numpy())
    except (ValueError, TypeError) as exc:
        raise PredictError(
            f"{PREDICTOR} cannot score the rows of {source} ({exc}): give them in the form "
            "the notebook passes to the model, after its cleaning code"
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix == ".parquet":
        scored.to_parquet(target, index=False)
    else:
        scored.to_csv(target, index=False)
    return len(scored)
