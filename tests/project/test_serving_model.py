"""The MLflow model of the serving path every generated project gets unchanged
(``templates/project/src/serving_model.py``), tested as it is shipped: its
signature from a data contract, read back by MLflow's own request parsing
(test_runtime lints and type-checks it with every shipped file; issue 26, item 5)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest

from nbprod.commands.convert import analyse, build_files
from nbprod.convert.render import shipped_module
from nbprod.notebook import read_notebook
from tests.helpers.environment import FIXED_ENVIRONMENT
from tests.helpers.paths import EXAMPLES, ROOT

mlflow = pytest.importorskip("mlflow")

SERVING_MODEL = ROOT / "templates" / "project" / "src" / "serving_model.py"

# Rows as a notebook reads them: whole numbers, decimals with a missing value,
# text with a missing value, flags with a missing value.
ROWS = "n,x,name,flag\n1,0.5,a,True\n2,,b,\n3,2.25,,False\n"


serving_model = shipped_module("serving_model")


def _contract() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "n": pa.Column(int),
            "x": pa.Column(float, nullable=True),
            "name": pa.Column(str, nullable=True),
            "flag": pa.Column(object, nullable=True),
        }
    )


def _name(kind: Any) -> str:
    return str(getattr(kind, "name", kind))


def test_the_contract_becomes_the_input_schema_in_the_rows_order() -> None:
    schema = serving_model.contract_inputs(_contract(), ["x", "n"])
    assert schema.input_names() == ["x", "n", "name", "flag"]
    assert [_name(t) for t in schema.input_types()] == [
        "double",
        "long",
        "string",
        "string",
    ]
    # Missing values allowed by the contract: optional, as MLflow infers them.
    assert schema.required_input_names() == ["n"]


@pytest.mark.parametrize(
    ("dtype", "nullable", "expected"),
    [
        ("int64", False, "long"),
        ("int64", True, "double"),  # a missing value makes whole numbers decimals
        ("float64", True, "double"),
        ("bool", False, "boolean"),
        ("bool", True, "Any"),  # astype(bool) would make a missing value False
        ("str", True, "string"),
        (None, False, "Any"),
    ],
)
def test_column_types(dtype: str | None, nullable: bool, expected: str) -> None:
    assert _name(serving_model.column_type(dtype, nullable)) == expected


def _described(frame: pd.DataFrame) -> list[str]:
    """Each column's name, dtype and values (a missing value of any kind as NA)."""
    return [
        f"{name}:{frame[name].dtype}:{['NA' if pd.isna(v) else v for v in frame[name]]}"
        for name in frame.columns
    ]


class _Dtypes(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
    """What the model is handed, described."""

    def predict(self, context: Any, model_input: pd.DataFrame) -> list[str]:
        return _described(model_input)


def test_mlflow_hands_the_model_the_rows_as_predict_reads_them(tmp_path: Path) -> None:
    # A file's rows, with missing values, sent as a request is: MLflow's own
    # parsing and schema enforcement must accept them and hand the model the
    # dtypes and values pandas reads from the file.
    contract = _contract()
    read = pd.read_csv(io.StringIO(ROWS), dtype={"name": str})
    schema = serving_model.contract_inputs(contract, list(read.columns))
    path = tmp_path / "model"
    mlflow.pyfunc.save_model(
        path,
        python_model=_Dtypes(),
        signature=mlflow.models.ModelSignature(inputs=schema),
    )
    request = {"dataframe_split": json.loads(read.to_json(orient="split", index=False))}
    served = mlflow.models.validate_serving_input(str(path), json.dumps(request))
    assert list(served) == _described(read)


def test_an_example_is_a_frame_named_as_the_contract() -> None:
    frame = pd.DataFrame({"a": range(10), "b": range(10)}, index=range(5, 15))
    example = serving_model.example_rows(frame, None)
    assert list(example.index) == [0, 1, 2, 3, 4] and list(example.columns) == [
        "a",
        "b",
    ]
    named = serving_model.example_rows(
        frame.to_numpy(), _contract().remove_columns(["name", "flag"])
    )
    assert list(named.columns) == ["n", "x"] and len(named) == 5
    assert list(serving_model.example_rows(frame.to_numpy(), None).columns) == [
        "0",
        "1",
    ]
    assert serving_model.example_rows(None, None) is None


# As it is shipped ------------------------------------------------------------


def test_every_project_gets_the_serving_model_byte_for_byte() -> None:
    a = analyse(read_notebook(EXAMPLES / "titanic_mlops_poc.ipynb"))
    files, _ = build_files(a, None, FIXED_ENVIRONMENT)
    shipped = SERVING_MODEL.read_text(encoding="utf-8")
    assert files[f"src/{a.plan.package}/serving_model.py"] == shipped
    # Imported only when tracking is on: MLflow is an optional dependency.
    pipeline = files[f"src/{a.plan.package}/pipeline.py"]
    assert "    from .serving_model import log_serving_model\n" in pipeline
    assert "\nfrom .serving_model" not in pipeline
