"""The project's serving path as an MLflow model: what ``predict`` does to new rows
(check them against the data contract, prepare them as the notebook did, predict,
post-process the served value), logged with the state it loads, the config and
the package's code, so that ``mlflow models serve`` answers what ``predict`` does.

nbprod copies this file unchanged into each project (``src/PACKAGE/serving_model.py``).
It imports the project's modules by the package's name, when the model is loaded,
and none of nbprod's, so nbprod's own tests, ruff, black and mypy check it as it
is shipped. Only tracking imports it: MLflow is an optional dependency.
"""

from __future__ import annotations

import dataclasses
import importlib
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import joblib
import mlflow
import numpy as np
import pandas as pd
import yaml
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc.model import PythonModel, PythonModelContext
from mlflow.types import ColSpec, DataType, Schema, TensorSpec
from mlflow.types.schema import AnyType

# The logged model's name in its run.
SERVING_MODEL = "serving"
# The model's artifacts: the state the serving path loads, in the artifacts
# folder's own layout (STAGE/NAME.joblib), and the config the run loaded.
STATE = "artifacts"
CONFIG = "config"
# The rows of the input example: a few of those the notebook predicted on.
EXAMPLE_ROWS = 5


class ServingModel(PythonModel):
    """``predict`` of the project ``package``: the rows of a request scored by the
    project's own :class:`Predictor`, one ``prediction`` per row."""

    def __init__(self, package: str) -> None:
        self.package = package
        self._predictor: Any = None

    def load_context(self, context: PythonModelContext) -> None:
        """Build the project's predictor from the logged config and state."""
        config_module = importlib.import_module(f"{self.package}.config")
        pipeline = importlib.import_module(f"{self.package}.pipeline")
        config = config_module.load_config(context.artifacts[CONFIG])
        # The state travels with the model: read it from there, not from the
        # artifacts folder of the run that logged it.
        config = dataclasses.replace(config, artifacts_dir=context.artifacts[STATE])
        self._predictor = pipeline.predictor(config)

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.Series:
        """One prediction per row, as ``predict`` writes them; rows that break
        the data contract are a bad request, saying where and how."""
        scoring = importlib.import_module(f"{self.package}.scoring")
        frame = pd.DataFrame(model_input)
        try:
            predictions, _ = self._predictor.score(frame, what="the request's rows")
        except scoring.PredictError as exc:
            raise MlflowException(
                str(exc), error_code=INVALID_PARAMETER_VALUE
            ) from None
        return pd.Series(predictions, name="prediction")


def column_type(dtype: Any, nullable: bool) -> DataType | AnyType:
    """MLflow's type for a contract column of pandera ``dtype``, as MLflow's
    serving must parse it to hand the predictor what ``predict`` reads from a file."""
    text = str(dtype).lower() if dtype is not None else ""
    if "bool" in text:
        # The server casts a boolean column with astype(bool), making a missing
        # value False: a column that may miss values passes as it comes.
        return _any() if nullable else DataType.boolean
    if text.startswith(("int", "uint")):
        # A missing value makes a column of whole numbers decimals (pandas reads
        # such a file so too): MLflow's own advice, double.
        return DataType.double if nullable else DataType.long
    if text.startswith("float"):
        return DataType.double
    if text.startswith("datetime"):
        return DataType.datetime
    return DataType.string if text else _any()


def _any() -> AnyType:
    """MLflow's type of a column whose values pass as they come."""
    return AnyType()  # type: ignore[no-untyped-call]  # MLflow leaves it untyped


def contract_inputs(schema: Any, order: list[str]) -> Schema:
    """The data contract (a pandera schema) as MLflow's input schema: its columns,
    those in ``order`` first, in that order (MLflow hands the model the columns
    of its schema, in its order). A column the contract lets miss values is
    optional, as MLflow marks such a column when it infers a schema; whether
    it may be left out is still the contract's to say, when the model checks
    the rows."""
    names = [n for n in order if n in schema.columns]
    names += [str(n) for n in schema.columns if str(n) not in names]
    specs: list[ColSpec | TensorSpec] = []
    for name in names:
        column = schema.columns[name]
        optional = bool(column.nullable) or not column.required
        specs.append(
            ColSpec(column_type(column.dtype, column.nullable), name, not optional)
        )
    return Schema(specs)


def example_rows(rows: Any, schema: Any) -> pd.DataFrame | None:
    """A few of ``rows`` (the rows the notebook predicted on, as the pipeline
    saved them) as a request carries them: a frame, its columns named as text
    (an array's by the contract, when it names as many)."""
    if rows is None:
        return None
    if isinstance(rows, pd.DataFrame):
        frame = rows.head(EXAMPLE_ROWS)
    elif isinstance(rows, pd.Series):
        frame = rows.head(EXAMPLE_ROWS).to_frame()
    else:
        values = np.asarray(rows)[:EXAMPLE_ROWS]
        if values.ndim not in (1, 2):
            return None
        frame = pd.DataFrame(values.reshape(len(values), -1))
    names = [str(c) for c in frame.columns]
    if not isinstance(rows, pd.DataFrame) and schema is not None:
        if len(schema.columns) == len(names):
            names = [str(c) for c in schema.columns]
    frame = frame.reset_index(drop=True)
    frame.columns = pd.Index(names)
    return frame


def _plain(value: Any) -> Any:
    """The config's values as YAML writes them (tuples as lists)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _signature(
    predictor: Any, example: pd.DataFrame | None
) -> tuple[ModelSignature | None, pd.DataFrame | None]:
    """The signature (inputs from the contract, else from the example; outputs
    from the predictions on the example) and the example kept: None when the
    predictor cannot score it (it is not in the form new rows come in)."""
    predictions = None
    if example is not None:
        try:
            scored, _ = predictor.score(example, what="the input example")
            predictions = pd.Series(scored, name="prediction")
        except Exception:  # noqa: BLE001 - the example only documents the model
            example = None
    if predictor.schema is None:
        if example is None:
            return None, None
        return infer_signature(example, predictions), example
    order = list(example.columns) if example is not None else []
    inputs = contract_inputs(predictor.schema, order)
    outputs = None
    if example is not None:
        outputs = infer_signature(example, predictions).outputs
    return ModelSignature(inputs=inputs, outputs=outputs), example


def log_serving_model(
    *,
    package: str,
    predictor: Any,
    state: Mapping[str, Path],
    config: Any,
    rows_file: Path | None,
    register_as: str | None,
    requirements: Sequence[str],
) -> str:
    """Log the serving path of ``package`` to the active MLflow run as a pyfunc
    model: ``predictor`` (the project's), the ``state`` files it loads (keyed
    by their place in the artifacts folder), the ``config`` it was built from,
    the package's code, a signature and a few rows of ``rows_file`` (the rows
    the notebook predicted on) as the example, and the ``requirements`` to
    install it (MLflow adds its own). Registered as ``register_as`` when given.
    Returns what was logged, in words."""
    module = importlib.import_module(package)
    code = Path(str(module.__file__)).parent
    rows = (
        joblib.load(rows_file)
        if rows_file is not None and rows_file.is_file()
        else None
    )
    signature, example = _signature(predictor, example_rows(rows, predictor.schema))
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / STATE
        for place, source in state.items():
            target = saved / place
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        # The config as this run loaded it (the command line's --artifacts too).
        config_file = Path(folder) / "config.yaml"
        text = yaml.safe_dump(_plain(dataclasses.asdict(config)), sort_keys=False)
        config_file.write_text(text, encoding="utf-8")
        info = mlflow.pyfunc.log_model(
            name=SERVING_MODEL,
            python_model=ServingModel(package),
            artifacts={STATE: str(saved), CONFIG: str(config_file)},
            code_paths=[str(code)],
            signature=signature,
            input_example=example,
            registered_model_name=register_as,
            pip_requirements=list(requirements),
        )
    words = f"serving path {info.model_uri}"
    if register_as is not None:
        words += (
            f", registered as {register_as!r} version {info.registered_model_version}"
        )
    return words
