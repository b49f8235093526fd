"""Run the house_prices_regression pipeline: every stage in one process, or one stage alone.

Each stage saves its outputs to its own folder in the artifacts folder (joblib)
and loads the inputs it did not get in memory from the folders of the stages that
made them, so stages can also run one by one, in separate processes or under any
orchestrator. This module holds the notebook's own stages and
how it predicts; ``runtime`` is what every pipeline nbprod makes does the same way.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from . import evaluation, preprocessing, training
from .config import Config
from .monitor import Metric
from .runtime import (
    Tables,
    artifact_path,
    config_params,
    config_path,
    load_artifacts,
    run_stages,
    track_run,
)
from .scoring import Predictor, check_file, refusal

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
        "X_test",
        "y_train",
        "y_test",
    ),
    "evaluate": (
        "X",
        "X_test",
        "y_test",
        "rf",
    ),
}
# The fitted model that scores new rows (cell 14 predicts with rf, saved by training).
PREDICTOR: str | None = "rf"
# How new rows are served: `rf_pred` (cell 14, line 1) of the rows of X_test (cell 9), predicted by rf.
ROWS: str = "X_test"
# What the notebook's rows were: a "frame", a "series" (one column) or an "array";
# a file of new rows is read into a frame and turned into the same.
ROWS_FORM: str = "frame"
# Why predict refuses to score new rows, when it cannot score them as the notebook did.
PREDICT_REFUSED: str | None = None
# The state predict loads from the artifacts (the models, encoders, thresholds...).
SERVING_STATE: tuple[str, ...] = ("rf",)
# What the logged serving model needs installed: the project's own dependencies
# (pyproject.toml), named here so MLflow need not find them by loading the model.
REQUIREMENTS: tuple[str, ...] = (
    "joblib==1.6.0",
    "numpy==2.4.6",
    "pandas==3.1.1",
    "pandera==0.35.0",
    "PyYAML==6.0.4",
    "scikit-learn==1.9.1",
)
# What monitor compares new rows with (monitor.py): the rows the model learned
# from, X_train (the training half of the split that held X_test out).
REFERENCE_ROWS: str | None = "X_train"
# The stage that saves the rows the notebook predicted on, as it predicted on them.
ROWS_STAGE: str | None = "preprocess"
SCORED_FILES: tuple[str, ...] = ()
# The notebook's metrics that monitor --labels recomputes on new labelled rows,
# called as the notebook called them.
METRICS: tuple[Metric, ...] = (
    Metric(
        function="mean_squared_error",
        truth="y_test",
        predicted="rf_pred",
        keywords={},
        where="cell 14, line 2: mean_squared_error(y_test, rf_pred)",
        higher_is_better=False,
    ),
    Metric(
        function="r2_score",
        truth="y_test",
        predicted="rf_pred",
        keywords={},
        where="cell 14, line 3: r2_score(y_test, rf_pred)",
        higher_is_better=True,
    ),
)
OUTPUTS: dict[str, tuple[str, ...]] = {
    "preprocess": (
        "X",
        "X_train",
        "X_test",
        "y_train",
        "y_test",
        "sample",
    ),
    "train": (
        "ridge",
        "ridge_pred",
        "rf",
    ),
    "evaluate": (
        "rf_pred",
        "rmse",
        "r2",
        "importances",
    ),
}
# The input files each stage reads, by their config keys: checked before it runs.
DATA: dict[str, tuple[str, ...]] = {
    "preprocess": ("preprocessing.houses_path",),
}
# The stage whose numbers are the notebook's metrics: written to the config's
# metrics_file. Values computed from the clock change from run to run, and are
# never metrics.
METRICS_STAGE: str | None = "evaluate"
NOT_METRICS: tuple[str, ...] = ()


def run_preprocess(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Preprocessing (notebook cells 4, 8, 9, 18)."""
    return preprocessing.preprocess(
        config=config.preprocessing,
    )


def run_train(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Training (notebook cells 11, 12)."""
    return training.train(
        values["X_train"],
        values["X_test"],
        values["y_train"],
        values["y_test"],
        config=config.training,
    )


def run_evaluate(config: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Evaluation (notebook cells 14, 15)."""
    return evaluation.evaluate(
        values["X"],
        values["X_test"],
        values["y_test"],
        values["rf"],
    )


RUNNERS: dict[str, Callable[[Config, dict[str, Any]], dict[str, Any]]] = {
    "preprocess": run_preprocess,
    "train": run_train,
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
    if PREDICT_REFUSED is None and reference_stage() in stages:
        try:
            save_reference(config)
        except (
            Exception
        ) as exc:  # noqa: BLE001 - the notebook's own steps raise anything
            # The stages' outputs stand; monitor then says the reference is missing.
            print(
                f"warning: monitor's reference not saved: {exc.__class__.__name__}: {exc}",
                file=sys.stderr,
            )
    return values


def track(config: Config, stages: Iterable[str], values: dict[str, Any]) -> str:
    """Log what a run of ``stages`` made to MLflow: the config values, the metrics
    (when evaluation ran) and the fitted model, and the serving path
    when predict scores new rows (:func:`log_serving`). Returns what was
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
    # The whole serving path too, when predict scores new rows: what serve answers.
    serving = (lambda: log_serving(config)) if PREDICT_REFUSED is None else None
    run_id, uri, served = track_run(
        experiment=config.tracking.experiment,
        params=config_params(config),
        metrics=metrics,
        model=model,
        model_name=PREDICTOR or "model",
        model_file=model_file,
        serving=serving,
    )
    model_logged = (
        f"model {uri}" if uri else f"{PREDICTOR}.joblib" if model_file else "no model"
    )
    where = f"MLflow run {run_id} in experiment {config.tracking.experiment!r}"
    said = f"{where}: config, {len(metrics)} metrics, {model_logged}"
    return f"{said}; {served}" if served else said


def log_serving(config: Config) -> str:
    """Log :func:`predictor` to the active MLflow run as a pyfunc model (see
    serving_model.py), registered as tracking.register_as when set; returns
    what was logged, in words."""
    # MLflow is imported only when tracking is on: it is an optional dependency.
    from .serving_model import log_serving_model

    artifacts = Path(config.artifacts_dir)
    state = {}
    for name in SERVING_STATE:
        stage, saved = artifact_path(artifacts, name, outputs=OUTPUTS)
        if not saved.is_file():  # a later stage makes it: `train` alone, a first time
            return (
                f"serving path not logged: {name} is made by {stage}, which has not run"
            )
        state[saved.relative_to(artifacts).as_posix()] = saved
    # The input example: the rows in the form the notebook predicted on.
    return log_serving_model(
        package=__package__,
        predictor=predictor(config),
        state=state,
        config=config,
        rows_file=(
            artifact_path(artifacts, ROWS, outputs=rows_maker())[1]
            if rows_maker()
            else None
        ),
        register_as=config.tracking.register_as,
        requirements=REQUIREMENTS,
    )


def serving_state(config: Config) -> dict[str, Any]:
    """What predict needs from the artifacts, loaded once: the state the stages
    saved (rf)."""
    if PREDICT_REFUSED is not None:
        raise refusal(PREDICT_REFUSED)
    return load_artifacts(Path(config.artifacts_dir), SERVING_STATE, outputs=OUTPUTS)


def predict_rows(
    config: Config, rows: Any, saved: Mapping[str, Any] | None = None
) -> Any:
    """What the notebook serves for ``rows``, given in the form
    of ``X_test`` right after notebook cell 9 made it; ``saved`` is :func:`serving_state`'s (loaded
    here when not given).

    The notebook served `rf_pred` (cell 14, line 1); new rows go through its own
    steps (evaluation.predict_new_rows), with the state the stages saved.
    """
    if PREDICT_REFUSED is not None:
        raise refusal(PREDICT_REFUSED)
    if saved is None:
        saved = serving_state(config)
    return evaluation.predict_new_rows(
        rows,
        saved["rf"],
    )


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


def rows_maker() -> dict[str, tuple[str, ...]]:
    """The stage that saves the rows the notebook predicted on in the form it
    predicted on (the stage of the cell that made them; later stages may save them
    changed), with its outputs. Empty when no stage saves them."""
    return {ROWS_STAGE: OUTPUTS[ROWS_STAGE]} if ROWS_STAGE is not None else {}


def reference_stage() -> str:
    """The stage that saves monitor's reference: the last to save what it is
    made of (the serving state, the rows, the metrics' values)."""
    needed = {
        *SERVING_STATE,
        ROWS,
        *(n for m in METRICS for n in (m.truth, m.predicted)),
    }
    if REFERENCE_ROWS is not None:
        needed.add(REFERENCE_ROWS)
    makers = [stage for stage in OUTPUTS if needed & set(OUTPUTS[stage])]
    return makers[-1] if makers else STAGES[-1]


def learned_rows(config: Config, schema: Any, rows: Any) -> tuple[Any, str]:
    """The rows the model learned from, in the form new rows come in, and
    where they come from in words (see REFERENCE_ROWS); None when there are
    none to read."""
    import pandas as pd

    from . import contract
    from .scoring import read_rows

    if REFERENCE_ROWS is not None:
        learned = load_artifacts(
            Path(config.artifacts_dir), [REFERENCE_ROWS], outputs=OUTPUTS
        )
        return (
            learned[REFERENCE_ROWS],
            f"{REFERENCE_ROWS}, the rows the model learned from",
        )
    keys = [key for key in contract.CHECKED_FILES if key not in SCORED_FILES]
    if not keys:
        return rows, f"{ROWS}, the rows the notebook predicted on"
    paths = {key: config_path(config, key) for key in keys}
    learned = pd.concat(
        [read_rows(path, schema) for path in paths.values()], ignore_index=True
    )
    return learned, ", ".join(f"{path.name} ({key})" for key, path in paths.items())


def reference_file(config: Config) -> Path:
    """monitor's reference profile, beside the artifacts of :func:`reference_stage`."""
    from .monitor import REFERENCE_FILE

    return Path(config.artifacts_dir) / reference_stage() / REFERENCE_FILE


def save_reference(config: Config) -> Path | None:
    """Save monitor's reference (monitor.py): the contract's columns in the rows
    the model learned from, its predictions on the notebook's rows, and the
    notebook's metrics as the saved values measure them. None when there is no
    contract to name the columns."""
    from . import contract, monitor

    schema = contract.schema(config.serving.range_tolerance)
    if schema is None:
        return None
    artifacts = Path(config.artifacts_dir)
    rows = (
        load_artifacts(artifacts, [ROWS], outputs=rows_maker())[ROWS]
        if rows_maker()
        else None
    )
    learned, said = learned_rows(config, schema, rows)
    if learned is None:
        return None
    # Predictions on the notebook's own rows; on the rows it learned from when
    # no stage saves those.
    scored = rows if rows is not None else learned
    values = load_artifacts(
        artifacts, {n for m in METRICS for n in (m.truth, m.predicted)}, outputs=OUTPUTS
    )
    kept = monitor.reference(
        learned,
        monitor.watched(schema),
        list(predict_rows(config, scored)),
        source=said,
        scored=(
            f"the {len(scored)} rows of {ROWS} the notebook predicted on"
            if rows is not None
            else f"the {len(scored)} rows of {said}"
        ),
        metrics=monitor.measured(METRICS, values),
    )
    return monitor.save(kept, reference_file(config))


def monitor_file(
    config: Config, source: Path, labels: Path | None = None
) -> tuple[Any, list[Path]]:
    """Compare the rows of ``source`` with the reference (and, given their
    ``labels``, the notebook's metrics); write the report to
    monitoring.reports_dir. Returns the report and the files written."""
    from . import monitor
    from .scoring import PredictError, read_rows

    if PREDICT_REFUSED is not None:
        raise refusal(PREDICT_REFUSED)
    scorer = predictor(config)
    if scorer.schema is None:
        raise PredictError(
            "monitor compares the columns of the data contract, and contract.py has none"
        )
    saved = reference_file(config)
    if not saved.is_file():
        raise PredictError(
            f"no reference to compare with: {saved} is saved by the {reference_stage()} stage, run it first"
        )
    kept = json.loads(saved.read_text(encoding="utf-8"))
    for given in (source, labels):
        if given is not None and not given.is_file():
            raise PredictError(f"{given}: no such file")
    frame = read_rows(source, scorer.schema)
    truth = monitor.read_labels(labels, len(frame)) if labels is not None else None
    m = config.monitoring
    limits = monitor.Thresholds(
        m.p_value, m.psi, m.js_distance, m.missing_rate, m.metric_drop
    )
    report, predictions = monitor.check(
        kept, frame, scorer, limits, source=str(source), labels=truth, metrics=METRICS
    )
    written = monitor.write_report(
        report, Path(m.reports_dir), frame, predictions, title="house_prices_regression"
    )
    return report, written
