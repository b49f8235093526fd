"""What every generated pipeline does the same way: save and load artifacts, carry
the global random state from stage to stage, run the stages in order, write the
evaluation's metrics and save the figures the notebook draws.

nbprod copies this file unchanged into each project (``src/PACKAGE/runtime.py``);
the project's ``pipeline.py`` holds its own stages and tables and calls it. It needs
none of the project's modules and none of nbprod's, so nbprod's own tests, ruff,
black and mypy check it as it is shipped.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import math
import numbers
import os
import random
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import joblib

# Saved after every stage: the global random generators' state, so a stage run on
# its own draws the numbers it would have drawn in a run of the whole pipeline.
RANDOM_STATE = "_random_state"

# A value that flattens to more numbers than this is data (a curve, a history),
# not a metric; containers nest at most this deep.
MAX_METRICS_PER_VALUE = 100
MAX_METRICS_DEPTH = 3

# Set, it switches MLflow tracking on (and says where to), as MLflow reads it.
TRACKING_URI = "MLFLOW_TRACKING_URI"
# MLflow's flavour for a model of each library (the top-level module of its class);
# a model of another library is logged as its joblib file.
MLFLOW_FLAVOURS = {
    "sklearn": "sklearn",
    "imblearn": "sklearn",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "statsmodels": "statsmodels",
}
# MLflow refuses longer parameter values.
MAX_PARAM_LENGTH = 6000

C = TypeVar("C")  # the project's Config


class MissingInput(FileNotFoundError):
    """An input a stage reads is missing: a file config.yaml names, or a value an
    earlier stage saves (that stage has not run)."""


def config_path(config: Any, key: str) -> Path:
    """The path config.yaml gives at ``key``, written ``group.name``."""
    group, name = key.split(".", 1)
    return Path(getattr(getattr(config, group), name))


def check_inputs(config: Any, stage: str, keys: Iterable[str]) -> None:
    """Stop before ``stage`` runs when an input file it reads (config ``keys``,
    written ``group.key``) is missing, naming the key and where it was looked for."""
    for key in keys:
        path = config_path(config, key)
        if not path.exists():
            raise MissingInput(
                f"the {stage} stage reads {key} = {path}, which does not exist: "
                f"put the file there (see README.md) or change {key} in config.yaml"
            )


class TrackingError(RuntimeError):
    """Tracking is switched on but cannot be done."""


def tracking_on(switch: bool) -> bool:
    """Whether runs are tracked: the config's switch, or MLflow's own variable."""
    return switch or bool(os.environ.get(TRACKING_URI))


def require_mlflow() -> None:
    """Stop, before any stage runs, when tracking is on and MLflow is missing."""
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise TrackingError(
            "tracking is on (tracking.mlflow in config.yaml, or "
            f"{TRACKING_URI}) but MLflow is not installed: "
            'pip install -e ".[mlflow]"'
        ) from None


def config_params(config: Any) -> dict[str, str]:
    """The config's values as MLflow params: ``group.key`` -> text."""
    found = {}
    for group, values in dataclasses.asdict(config).items():
        if isinstance(values, dict) and group != "tracking":
            for key, value in values.items():
                found[f"{group}.{key}"] = str(value)[:MAX_PARAM_LENGTH]
    return found


def track_run(
    *,
    experiment: str,
    params: Mapping[str, str],
    metrics: Mapping[str, int | float],
    model: Any = None,
    model_name: str = "model",
    model_file: Path | None = None,
    serving: Callable[[], str] | None = None,
) -> tuple[str, str | None, str | None]:
    """Log one MLflow run (MLflow's default store, or ``MLFLOW_TRACKING_URI``):
    ``params``, ``metrics`` and the fitted ``model`` with its library's flavour
    (else its joblib ``model_file`` as an artifact); then ``serving`` logs, in
    the same run, what else it logs (the serving path) and says what, in words.
    Returns the run's id, the logged model's URI (None when it was logged as a
    file, or not at all) and ``serving``'s words (None without it)."""
    require_mlflow()
    import mlflow

    mlflow.set_experiment(experiment)
    with mlflow.start_run() as active:
        mlflow.log_params(dict(params))
        if metrics:
            mlflow.log_metrics(dict(metrics))
        uri = None
        if model is not None:
            library = type(model).__module__.split(".")[0]
            flavour = MLFLOW_FLAVOURS.get(library)
            if flavour is not None:
                module = importlib.import_module(f"mlflow.{flavour}")
                options = _own_types(module, model)
                uri = module.log_model(model, name=model_name, **options).model_uri
            elif model_file is not None:
                mlflow.log_artifact(str(model_file))
        served = serving() if serving is not None else None
        return active.info.run_id, uri, served


def _own_types(flavour: Any, model: Any) -> dict[str, Any]:
    """Newer MLflow saves scikit-learn models with skops, which loads only the
    types it is told to trust: those of the project's own model, fitted here."""
    if "skops_trusted_types" not in inspect.signature(flavour.log_model).parameters:
        return {}
    import skops.io

    return {
        "skops_trusted_types": skops.io.get_untrusted_types(data=skops.io.dumps(model))
    }


def save_artifacts(directory: Path, values: Mapping[str, Any]) -> None:
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


def stage_folder(artifacts: Path, stage: str) -> Path:
    """Where ``stage`` saves its outputs: a folder of its own, so that no two
    stages write the same file (a stage that rebinds a name an earlier stage made
    leaves the earlier one's file alone, and DVC can own each folder)."""
    return artifacts / stage


def artifact_path(
    artifacts: Path,
    name: str,
    *,
    outputs: Mapping[str, Sequence[str]],
    before: str | None = None,
) -> tuple[str, Path]:
    """The stage that saved ``name`` last (among those that run before ``before``,
    when given), and the file it saved it to; ``outputs`` is each stage's outputs,
    the stages in the order they run."""
    order = list(outputs)
    earlier = order[: order.index(before)] if before is not None else order
    producers = [stage for stage in earlier if name in outputs[stage]]
    if not producers:
        raise KeyError(f"no stage before {before!r} makes {name!r}")
    return producers[-1], stage_folder(artifacts, producers[-1]) / f"{name}.joblib"


def load_artifacts(
    artifacts: Path,
    names: Iterable[str],
    *,
    outputs: Mapping[str, Sequence[str]],
    before: str | None = None,
) -> dict[str, Any]:
    """Load the named values, each from :func:`artifact_path`."""
    values = {}
    for name in names:
        stage, source = artifact_path(artifacts, name, outputs=outputs, before=before)
        if not source.is_file():
            raise MissingInput(
                f"{source} not found: run the {stage!r} stage first "
                "(or the whole pipeline with the 'run' command)"
            )
        values[name] = joblib.load(source)
    return values


def random_state() -> dict[str, Any]:
    """The state of Python's global random generator, and numpy's if installed."""
    state: dict[str, Any] = {"random": random.getstate()}
    try:
        import numpy
    except ImportError:
        return state
    state["numpy"] = numpy.random.get_state()
    return state


def restore_random_state(state: Mapping[str, Any]) -> None:
    """Put back the global generators' state :func:`random_state` returned."""
    random.setstate(state["random"])
    if "numpy" in state:
        import numpy

        numpy.random.set_state(state["numpy"])


def scalar_metrics(
    values: Mapping[str, Any], *, skip: Collection[str] = ()
) -> dict[str, int | float]:
    """The numbers among ``values`` (not bools, not NaN or infinite: JSON has no
    such numbers), keyed by their names; numbers inside a dict (``scores.f1``)
    or a list of records (``results.1.accuracy``) keyed by their path. Names in
    ``skip`` (computed from the clock, different in every run) are left out."""
    found: dict[str, int | float] = {}
    for name, value in values.items():
        if name in skip:
            continue
        flat = _flatten(name, value, MAX_METRICS_DEPTH)
        if len(flat) <= MAX_METRICS_PER_VALUE:
            for key, number in flat:
                found.setdefault(key, number)
    return found


def _flatten(key: str, value: Any, depth: int) -> list[tuple[str, int | float]]:
    if isinstance(value, bool):  # (numpy's bool is no number to ``numbers``)
        return []
    if isinstance(value, numbers.Integral):
        return [(key, int(value))]
    if isinstance(value, numbers.Real):
        number = float(value)
        return [(key, number)] if math.isfinite(number) else []
    if depth == 0:
        return []
    if isinstance(value, Mapping):
        return [
            pair
            for k, v in value.items()
            if isinstance(k, str)
            for pair in _flatten(f"{key}.{k}", v, depth - 1)
        ]
    # A list of records (a table of results, one dict per model); a list of bare
    # numbers is a curve or a sample, not metrics.
    if isinstance(value, (list, tuple)) and value:
        if all(isinstance(item, Mapping) for item in value):
            return [
                pair
                for i, item in enumerate(value)
                for pair in _flatten(f"{key}.{i}", item, depth - 1)
            ]
    return []


def write_metrics(path: Path, metrics: Mapping[str, int | float]) -> None:
    """Write ``metrics`` to ``path`` as one flat JSON object, keys sorted, the same
    bytes for the same numbers: nothing about the run (no date, no duration)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dict(metrics), indent=2, sort_keys=True, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def save_figures(folder: str | Path, name: str) -> list[Path]:
    """Save every open matplotlib figure in ``folder`` as ``NAME.png`` (more as
    ``NAME-2.png``, ``NAME-3.png``: a figure's name has no hyphen, so these never
    clash with another's), and close them: what Jupyter's inline backend shows
    and closes, cropped as it crops them. Returns the files written."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:  # nothing drew: no need to import matplotlib
        return []
    written = []
    for count, number in enumerate(pyplot.get_fignums(), start=1):
        figure = pyplot.figure(number)
        target = Path(folder) / (f"{name}.png" if count == 1 else f"{name}-{count}.png")
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target, bbox_inches="tight")
        pyplot.close(figure)
        written.append(target)
    return written


@dataclasses.dataclass(frozen=True)
class Tables:
    """A pipeline's own tables, by stage: the values it loads (``inputs``) and
    saves (``outputs``, in the order the stages run), the function that runs it
    (``runners``), the config keys of its input files (``data``); and the stage
    whose numbers are the metrics (``metrics``), but those in ``not_metrics``."""

    inputs: Mapping[str, Sequence[str]]
    outputs: Mapping[str, Sequence[str]]
    runners: Mapping[str, Callable[[Any, dict[str, Any]], dict[str, Any]]]
    metrics: str | None = None
    not_metrics: Collection[str] = ()
    data: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)


def run_stages(
    config: C,
    stages: Iterable[str],
    tables: Tables,
    *,
    artifacts: Path,
    metrics_file: Path | None = None,
) -> dict[str, Any]:
    """Run ``stages`` in order and return every value they produced.

    Each stage gets what the stages before it in this run returned, and loads the
    rest of its inputs from the folders (:func:`stage_folder`) of the stages that
    made them; its own outputs go to its folder. A run that starts after the
    pipeline's first stage draws random numbers from the state the stage before
    it left. The metrics stage's numbers are written to ``metrics_file``. A stage
    whose input files are missing is not run: :class:`MissingInput`.
    """
    inputs, outputs, runners = tables.inputs, tables.outputs, tables.runners
    metrics, not_metrics, data = tables.metrics, tables.not_metrics, tables.data
    order = list(outputs)
    values: dict[str, Any] = {}
    for position, stage in enumerate(stages):
        check_inputs(config, stage, data.get(stage, ()))
        missing = [name for name in inputs[stage] if name not in values]
        values.update(load_artifacts(artifacts, missing, outputs=outputs, before=stage))
        previous = order[: order.index(stage)]
        if position == 0 and previous:
            saved_state = (
                stage_folder(artifacts, previous[-1]) / f"{RANDOM_STATE}.joblib"
            )
            if saved_state.is_file():
                restore_random_state(joblib.load(saved_state))
        made = runners[stage](config, values)
        save_artifacts(
            stage_folder(artifacts, stage), {**made, RANDOM_STATE: random_state()}
        )
        if stage == metrics and metrics_file is not None:
            write_metrics(metrics_file, scalar_metrics(made, skip=not_metrics))
        values.update(made)
    return values
