"""Run the helpers_and_class pipeline: every stage in one process, or one stage alone.

Each stage saves its outputs to its own folder in the artifacts folder (joblib)
and loads the inputs it did not get in memory from the folders of the stages that
made them, so stages can also run one by one, in separate processes or under any
orchestrator. This module holds the notebook's own stages and
how it predicts; ``runtime`` is what every pipeline nbprod makes does the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from . import evaluation, inference, preprocessing, training
from .config import Config
from .runtime import (
    Tables,
    artifact_path,
    config_params,
    run_stages,
    track_run,
)
from .scoring import Predictor, check_file, refusal

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
        "y_train",
        "y_test",
        "X_train",
        "X_test",
        "logreg",
        "gb",
    ),
}
# The fitted model that scores new rows (cell 20 predicts with logreg, saved by training).
PREDICTOR: str | None = "logreg"
# How new rows are served: cell 20, line 3: new_probs is not made from rows read from a file, split off or written in the code.
ROWS: str = ""
# What the notebook's rows were: a "frame", a "series" (one column) or an "array";
# a file of new rows is read into a frame and turned into the same.
ROWS_FORM: str = "frame"
# Why predict refuses to score new rows, when it cannot score them as the notebook did.
PREDICT_REFUSED: str | None = (
    "cell 20, line 3: new_probs is not made from rows read from a file, split off or written in the code"
)
OUTPUTS: dict[str, tuple[str, ...]] = {
    "preprocess": (
        "train_df",
        "test_df",
        "y_train",
        "y_test",
    ),
    "train": (
        "builder",
        "X_train",
        "X_test",
        "logreg",
        "gb",
    ),
    "predict": (
        "THRESHOLD",
        "new_cases",
        "new_probs",
    ),
    "evaluate": (
        "comparison",
        "probs",
        "labels",
    ),
}
# The input files each stage reads, by their config keys: checked before it runs.
DATA: dict[str, tuple[str, ...]] = {}
# The stage whose numbers are the notebook's metrics: written to the config's
# metrics_file. Values computed from the clock change from run to run, and are
# never metrics.
METRICS_STAGE: str | None = "evaluate"
NOT_METRICS: tuple[str, ...] = ()


def run_preprocess(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Preprocessing (notebook cells 8, 10)."""
    return preprocessing.preprocess(
        config=config.preprocessing,
    )


def run_train(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Training (notebook cells 12, 14, 15)."""
    return training.train(
        values["train_df"],
        values["test_df"],
        values["y_train"],
        values["y_test"],
        config=config.training,
    )


def run_predict(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Inference (notebook cells 6, 20)."""
    return inference.predict(
        values["builder"],
        values["logreg"],
        config=config.inference,
    )


def run_evaluate(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Evaluation (notebook cells 17, 18)."""
    return evaluation.evaluate_stage(
        values["THRESHOLD"],
        values["y_train"],
        values["y_test"],
        values["X_train"],
        values["X_test"],
        values["logreg"],
        values["gb"],
    )


RUNNERS: dict[str, Callable[[Config, dict[str, Any]], dict[str, Any]]] = {
    "preprocess": run_preprocess,
    "train": run_train,
    "predict": run_predict,
    "evaluate": run_evaluate,
}
TABLES = Tables(
    inputs=INPUTS,
    outputs=OUTPUTS,
    runners=RUNNERS,
    metrics=METRICS_STAGE,
    not_metrics=NOT_METRICS,
    data=DATA,
)


def run(config: Config, stages: Iterable[str] = STAGES) -> dict[str, Any]:
    """Run ``stages`` in order and return every value they produced. The input
    files the data contract covers are checked first (:class:`ContractError`)."""
    stages = list(stages)
    read = [key for stage in stages for key in DATA.get(stage, ())]
    if read:
        # Only a stage that reads input files loads the contract (and pandera).
        from . import contract

        checked = [key for key in read if key in contract.CHECKED_FILES]
        schema = contract.schema(config.serving.range_tolerance) if checked else None
        for key in checked:
            check_file(schema, config, key)
    values = run_stages(
        config,
        stages,
        TABLES,
        artifacts=Path(config.artifacts_dir),
        metrics_file=Path(config.metrics_file),
    )
    return values


def track(config: Config, stages: Iterable[str], values: dict[str, Any]) -> str:
    """Log what a run of ``stages`` made to MLflow: the config values, the metrics
    (when evaluation ran) and the fitted model. Returns what was
    logged, in words."""
    metrics: dict[str, Any] = {}
    if METRICS_STAGE in stages:
        metrics = json.loads(Path(config.metrics_file).read_text(encoding="utf-8"))
    model = values.get(PREDICTOR) if PREDICTOR is not None else None
    model_file = None
    if PREDICTOR is not None and model is not None:
        _, model_file = artifact_path(
            Path(config.artifacts_dir), PREDICTOR, outputs=OUTPUTS
        )
    run_id, uri, served = track_run(
        experiment=config.tracking.experiment,
        params=config_params(config),
        metrics=metrics,
        model=model,
        model_name=PREDICTOR or "model",
        model_file=model_file,
    )
    model_logged = (
        f"model {uri}" if uri else f"{PREDICTOR}.joblib" if model_file else "no model"
    )
    where = f"MLflow run {run_id} in experiment {config.tracking.experiment!r}"
    said = f"{where}: config, {len(metrics)} metrics, {model_logged}"
    return f"{said}; {served}" if served else said


def serving_state(config: Config) -> dict[str, Any]:
    """What predict needs from the artifacts, loaded once: the state the stages
    saved."""
    raise refusal(PREDICT_REFUSED)


def predict_rows(
    config: Config, rows: Any, saved: Mapping[str, Any] | None = None
) -> Any:
    """What the notebook serves for ``rows``, given in the form
    the notebook never showed; ``saved`` is :func:`serving_state`'s (loaded
    here when not given).
    """
    raise refusal(PREDICT_REFUSED)


def predictor(config: Config) -> Predictor:
    """How ``predict`` and ``serve`` score new rows: checked against the data
    contract (contract.py, its ranges widened by serving.range_tolerance), then
    :func:`predict_rows`, with the saved state loaded once, here."""
    from . import contract

    saved = serving_state(config)
    return Predictor(
        predict=lambda rows: predict_rows(config, rows, saved),
        schema=contract.schema(config.serving.range_tolerance),
        form=ROWS_FORM,
        rows=ROWS,
    )


def predict_new(
    config: Config, source: Path, target: Path, *, lax: bool = False
) -> tuple[int, Path | None]:
    """Score the rows of ``source`` (CSV or parquet) with the saved model; write them
    with a ``prediction`` column to ``target``. Returns the number of rows, and
    the file of the contract's problems (``lax``: scored anyway)."""
    return predictor(config).score_file(source, target, lax=lax)


def monitor_file(
    config: Config, source: Path, labels: Path | None = None
) -> tuple[Any, list[Path]]:
    """What monitor compares new rows with is the rows predict scores: this
    pipeline scores none."""
    raise refusal(PREDICT_REFUSED)
