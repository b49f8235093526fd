"""Run the wine_model_selection pipeline: every stage in one process, or one stage alone.

Each stage saves its outputs to the artifacts folder (joblib) and loads the inputs
it did not get in memory from there, so stages can also run one by one, in separate
processes or under any orchestrator.
"""

from __future__ import annotations

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
        "X_train",
        "y_train",
    ),
    "evaluate": (
        "X_test",
        "y_test",
        "search",
    ),
}
OUTPUTS: dict[str, tuple[str, ...]] = {
    "preprocess": (
        "X_train",
        "X_test",
        "y_train",
        "y_test",
    ),
    "train": (
        "pipe",
        "param_grid",
        "search",
        "cv_results",
        "cols",
    ),
    "evaluate": (
        "best_model",
        "test_pred",
        "cm",
    ),
}


def run_preprocess(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Preprocessing (notebook cells 4, 6)."""
    result = preprocessing.preprocess(
        test_size=config.preprocessing.test_size,
        random_state=config.preprocessing.random_state,
    )
    return dict(zip(OUTPUTS["preprocess"], result))


def run_train(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Training (notebook cells 8, 9)."""
    result = training.train(
        values["X_train"],
        values["y_train"],
        random_state=config.training.random_state,
        cv=config.training.cv,
        scoring=config.training.scoring,
    )
    return dict(zip(OUTPUTS["train"], result))


def run_evaluate(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Evaluation (notebook cells 11, 12)."""
    result = evaluation.evaluate(
        values["X_test"],
        values["y_test"],
        values["search"],
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


def run(config: Config, stages: Iterable[str] = STAGES) -> dict[str, Any]:
    """Run ``stages`` in order and return every value they produced."""
    artifacts = Path(config.artifacts_dir)
    values: dict[str, Any] = {}
    for stage in stages:
        missing = [name for name in INPUTS[stage] if name not in values]
        values.update(load_artifacts(artifacts, missing))
        outputs = RUNNERS[stage](config, values)
        save_artifacts(artifacts, outputs)
        values.update(outputs)
    return values
