"""Run the helpers_and_class pipeline: every stage in one process, or one stage alone.

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

from . import evaluation, inference, preprocessing, training
from .config import Config

ALL_STAGES = ("preprocess", "train", "predict", "evaluate")
# The stages this notebook has, in the order they run.
STAGES: tuple[str, ...] = (
    "preprocess",
    "train",
    "predict",
    "evaluate",
)
INPUTS: dict[str, tuple[str, ...]] = {
    "preprocess": (),
    "train": (
        "train_df",
        "test_df",
        "y_train",
        "y_test",
    ),
    "predict": (
        "builder",
        "logreg",
    ),
    "evaluate": (
        "THRESHOLD",
        "y_test",
        "X_test",
        "logreg",
    ),
}
# The fitted model that scores new rows (cell 20 predicts with logreg, saved by training).
PREDICTOR: str | None = "logreg"
# How new rows are scored: logreg.predict is never given a named frame or array.
ROWS: str = ""
# What the notebook's rows were: a "frame", a "series" (one column) or an "array";
# a file of new rows is read into a frame and turned into the same.
ROWS_FORM: str = "frame"
# Why predict refuses to score new rows, when it cannot score them as the notebook did.
PREDICT_REFUSED: str | None = "logreg.predict is never given a named frame or array"
OUTPUTS: dict[str, tuple[str, ...]] = {
    "preprocess": (
        "train_df",
        "test_df",
        "y_train",
        "y_test",
    ),
    "train": (
        "base_columns",
        "builder",
        "X_train",
        "X_test",
        "logreg",
        "gb",
        "comparison",
    ),
    "predict": (
        "THRESHOLD",
        "new_cases",
        "new_probs",
    ),
    "evaluate": (
        "probs",
        "labels",
    ),
}


def run_preprocess(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Preprocessing (notebook cells 8, 10)."""
    result = preprocessing.preprocess(
        test_size=config.preprocessing.test_size,
        random_state=config.preprocessing.random_state,
    )
    return dict(zip(OUTPUTS["preprocess"], result))


def run_train(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Training (notebook cells 12, 14, 15, 17)."""
    result = training.train(
        values["train_df"],
        values["test_df"],
        values["y_train"],
        values["y_test"],
        C=config.training.C,
        max_iter=config.training.max_iter,
        random_state=config.training.random_state,
        n_estimators=config.training.n_estimators,
        learning_rate=config.training.learning_rate,
        max_depth=config.training.max_depth,
        gradient_boosting_classifier_random_state=config.training.gradient_boosting_classifier_random_state,
    )
    return dict(zip(OUTPUTS["train"], result))


def run_predict(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Inference (notebook cells 6, 20)."""
    result = inference.predict(
        values["builder"],
        values["logreg"],
        threshold=config.inference.threshold,
    )
    return dict(zip(OUTPUTS["predict"], result))


def run_evaluate(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Evaluation (notebook cell 18)."""
    result = evaluation.evaluate_stage(
        values["THRESHOLD"],
        values["y_test"],
        values["X_test"],
        values["logreg"],
    )
    return dict(zip(OUTPUTS["evaluate"], result))


RUNNERS: dict[str, Callable[[Config, dict[str, Any]], dict[str, Any]]] = {
    "preprocess": run_preprocess,
    "train": run_train,
    "predict": run_predict,
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


def predict_rows(config: Config, rows: Any) -> Any:
    """The model's predictions for ``rows``, given in the form
    the notebook never showed.
    """
    raise PredictError(f"this pipeline does not score new rows: {PREDICT_REFUSED}")


def predict_new(config: Config, source: Path, target: Path) -> int:
    """Score the rows of ``source`` (CSV or parquet) with the saved model; write them
    with a ``prediction`` column to ``target``. Returns the number of rows."""
    if PREDICT_REFUSED is not None:
        raise PredictError(f"this pipeline does not score new rows: {PREDICT_REFUSED}")
    import pandas as pd

    reader = pd.read_parquet if source.suffix == ".parquet" else pd.read_csv
    original = reader(source)
    if ROWS_FORM == "array":
        rows = original.to_numpy()
    elif ROWS_FORM == "series":
        rows = original.iloc[:, 0].copy()
    else:
        rows = original.copy()
    try:
        predictions = predict_rows(config, rows)
    except (PredictError, FileNotFoundError):
        raise
    except Exception as exc:  # noqa: BLE001 - the notebook's own code raises anything
        raise PredictError(
            f"{source} cannot be scored as the notebook scored {ROWS}: "
            f"{exc.__class__.__name__}: {exc}"
        ) from None
    # The rows as given, with their predictions (unless the steps dropped rows).
    scored = original.copy() if len(predictions) == len(original) else pd.DataFrame()
    scored["prediction"] = list(predictions)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix == ".parquet":
        scored.to_parquet(target, index=False)
    else:
        scored.to_csv(target, index=False)
    return len(scored)
