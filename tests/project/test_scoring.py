"""How every generated project scores new rows (``templates/project/src/scoring.py``,
copied unchanged): read as the data contract expects, checked against it one
problem per line, turned into the notebook's form, predicted, written."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from nbprod.convert.render import shipped_module

scoring = shipped_module("scoring")


def _schema(tolerance: float = 0.1) -> pa.DataFrameSchema:
    """A contract as nbprod writes them (see nbprod.convert.contract)."""
    return pa.DataFrameSchema(
        {
            "age": pa.Column(
                float, scoring.widened(1, 61, tolerance), nullable=True, coerce=True
            ),
            "sex": pa.Column(str, pa.Check.isin(["female", "male"])),
            "pclass": pa.Column(int, scoring.widened(1, 3, tolerance, whole=True)),
            "cabin": pa.Column(str, nullable=True),
            "ticket": pa.Column(nullable=True),
        },
        name="rows",
    )


GOOD = "age,sex,pclass,cabin,ticket\n22,male,3,,A1\n38.5,female,1,C85,\n"


def _lines(text: str, schema: pa.DataFrameSchema | None = None) -> list[str]:
    schema = _schema() if schema is None else schema
    rows = scoring.read_rows(io.StringIO(text), schema)
    return [p.line() for p in scoring.check_rows(schema, rows)[1]]


def test_rows_like_the_notebooks_pass_and_whole_numbers_become_decimals() -> None:
    rows = scoring.read_rows(io.StringIO(GOOD), _schema())
    checked, problems = scoring.check_rows(_schema(), rows)
    assert problems == []
    assert checked["age"].dtype == np.float64
    # A text column missing in every row is still text, not a column of floats.
    assert pd.api.types.is_string_dtype(rows["cabin"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "age,sex,pclass,cabin,ticket\n22,alien,3,,\n",
            [
                "row 0, column 'sex', value 'alien': not a category seen: 'female', 'male'"
            ],
        ),
        (
            "age,sex,pclass,cabin,ticket\n-40,male,3,,\n",
            ["row 0, column 'age', value -40.0: outside the range -5 to 67"],
        ),
        (
            "age,sex,pclass,cabin,ticket\n22,male,9,,\n",
            ["row 0, column 'pclass', value 9: outside the range 1 to 3"],
        ),
        (
            "age,sex,pclass,cabin,ticket\n22,,3,,\n",
            [
                "row 0, column 'sex', value missing: missing, and never missing "
                "in the notebook's rows"
            ],
        ),
        (
            # whole numbers with one missing are read as decimals: only the
            # missing value is a problem, and 9 is still shown as 9
            "age,sex,pclass,cabin,ticket\n22,male,,,\n22,male,9,,\n",
            [
                "row 0, column 'pclass', value missing: missing, and never missing "
                "in the notebook's rows",
                "row 1, column 'pclass', value 9: outside the range 1 to 3",
            ],
        ),
        (
            "age,sex,pclass,cabin,ticket\nold,male,3,,\n",
            ["row 0, column 'age', value 'old': not number"],
        ),
        (
            "age,sex,pclass,cabin,ticket\n22,male,third,,\n",
            ["row 0, column 'pclass', value 'third': not integer"],
        ),
        (
            "age,sex,cabin,ticket\n22,male,,\n",
            ["column 'pclass': missing: the serving path reads it"],
        ),
    ],
    ids=[
        "category",
        "range",
        "integer-range",
        "missing",
        "missing-integer",
        "not-number",
        "type",
        "column",
    ],
)
def test_each_problem_is_one_line_naming_row_column_value_and_rule(
    text: str, expected: list[str]
) -> None:
    assert _lines(text) == expected


def test_bounds_read_as_written() -> None:
    # 0 - 0.1 * 3 is -0.30000000000000004 in floating point
    assert scoring.widened(0, 3, 0.1).statistics["min_value"] == -0.3
    assert scoring.widened(0, 3, 0.5, whole=True).statistics == {
        "min_value": -1,
        "max_value": 4,
        "include_min": True,
        "include_max": True,
    }


def test_the_tolerance_widens_ranges_and_a_column_never_read_is_ignored() -> None:
    text = "age,sex,pclass,cabin,ticket,extra\n64,male,3,,,anything\n"
    assert _lines(text, _schema(0.1)) == []
    assert _lines(text, _schema(0.0)) == [
        "row 0, column 'age', value 64.0: outside the range 1 to 61"
    ]


def test_columns_given_twice_are_a_problem() -> None:
    rows = pd.DataFrame([[1, 2]], columns=["age", "age"])
    problems = scoring.check_rows(_schema(), rows)[1]
    assert [p.line() for p in problems] == [
        "column 'age': the column is given more than once"
    ]


def test_no_contract_checks_nothing() -> None:
    rows = pd.DataFrame({"x": [1]})
    assert scoring.check_rows(None, rows) == (rows, [])


def test_the_contract_as_json_schema() -> None:
    found = scoring.json_schema(_schema(0.0))
    items = found["items"]
    assert found["type"] == "array"
    assert items["required"] == ["age", "sex", "pclass", "cabin", "ticket"]
    assert items["properties"]["age"] == {
        "type": ["number", "null"],
        "minimum": 1,
        "maximum": 61,
    }
    assert items["properties"]["sex"] == {"type": "string", "enum": ["female", "male"]}
    assert items["properties"]["ticket"] == {}
    assert items["additionalProperties"] is True


# Predicting from files -------------------------------------------------------


@pytest.fixture()
def rows_file(tmp_path: Path) -> Path:
    path = tmp_path / "new.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.5, 0.5, 0.5]}).to_csv(path, index=False)
    return path


def _predictor(predict: Any, form: str = "frame", schema: Any = None) -> Any:
    return scoring.Predictor(predict=predict, schema=schema, form=form, rows="X_new")


@pytest.mark.parametrize(
    ("form", "kind"),
    [("frame", pd.DataFrame), ("series", pd.Series), ("array", np.ndarray)],
)
def test_new_rows_reach_predict_in_the_notebooks_form(
    rows_file: Path, tmp_path: Path, form: str, kind: type
) -> None:
    seen: list[Any] = []

    def predict(rows: Any) -> list[float]:
        seen.append(rows)
        return [10.0, 20.0, 30.0]

    target = tmp_path / "out" / "scored.csv"
    count, problems = _predictor(predict, form).score_file(rows_file, target)
    assert (count, problems) == (3, None)
    assert isinstance(seen[0], kind)
    if form == "series":
        assert seen[0].tolist() == [1.0, 2.0, 3.0]
    scored = pd.read_csv(target)
    assert scored.columns.tolist() == ["x", "y", "prediction"]
    assert scored["prediction"].tolist() == [10.0, 20.0, 30.0]


def test_rows_breaking_the_contract_are_not_scored_unless_lax(tmp_path: Path) -> None:
    source = tmp_path / "new.csv"
    source.write_text(GOOD + "200,alien,3,,\n", encoding="utf-8")
    target = tmp_path / "scored.csv"
    called: list[int] = []

    def predict(rows: Any) -> list[int]:
        called.append(len(rows))
        return [0] * len(rows)

    strict = _predictor(predict, schema=_schema())
    with pytest.raises(scoring.ContractError) as error:
        strict.score_file(source, target)
    assert str(error.value).splitlines() == [
        f"the rows of {source} break the data contract (contract.py):",
        "row 2, column 'age', value 200.0: outside the range -5 to 67",
        "row 2, column 'sex', value 'alien': not a category seen: 'female', 'male'",
    ]
    assert called == [] and not target.exists()
    count, problems = strict.score_file(source, target, lax=True)
    assert (count, called) == (3, [3])
    assert problems == tmp_path / "scored.problems.csv"
    table = pd.read_csv(problems)
    assert table[["row", "column"]].values.tolist() == [[2, "age"], [2, "sex"]]


def test_values_that_do_not_match_the_rows_one_to_one_are_refused(
    rows_file: Path, tmp_path: Path
) -> None:
    # Which value belongs to which row is not known: nothing is written.
    target = tmp_path / "scored.csv"
    with pytest.raises(scoring.PredictError, match="made 2 values of 3 rows"):
        _predictor(lambda rows: [1, 0]).score_file(rows_file, target)
    assert not target.exists()


def test_parquet_is_read_and_written_by_suffix(
    rows_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (pyarrow is not a test dependency: parquet goes through CSV here, and the
    # test checks which reader and writer the suffix picks.)
    used: list[str] = []

    def read_parquet(path: Path) -> pd.DataFrame:
        used.append(f"read {Path(path).suffix}")
        return pd.read_csv(rows_file)

    def to_parquet(frame: pd.DataFrame, path: Path, index: bool) -> None:
        used.append(f"write {Path(path).suffix}")
        frame.to_csv(path, index=index)

    monkeypatch.setattr(pd, "read_parquet", read_parquet)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    source = tmp_path / "new.parquet"
    source.touch()
    _predictor(lambda r: [0, 1, 0]).score_file(source, tmp_path / "scored.parquet")
    assert used == ["read .parquet", "write .parquet"]


def test_a_failing_prediction_is_one_error_naming_the_file_and_the_rows(
    rows_file: Path, tmp_path: Path
) -> None:
    def predict(rows: Any) -> Any:
        raise KeyError("age")

    with pytest.raises(scoring.PredictError) as error:
        _predictor(predict).score_file(rows_file, tmp_path / "s.csv")
    assert str(error.value) == (
        f"the rows of {rows_file} cannot be scored as the notebook scored X_new: "
        "KeyError: 'age'"
    )
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize(
    "raised", [scoring.PredictError("refused"), FileNotFoundError("model.joblib")]
)
def test_predict_and_missing_artifact_errors_pass_through(
    rows_file: Path, tmp_path: Path, raised: Exception
) -> None:
    def predict(rows: Any) -> Any:
        raise raised

    with pytest.raises(type(raised)) as error:
        _predictor(predict).score_file(rows_file, tmp_path / "s.csv")
    assert error.value is raised


def test_an_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError, match="not 'table'"):
        _predictor(list, form="table")


def test_refusal_says_why() -> None:
    error = scoring.refusal("no model")
    assert isinstance(error, scoring.PredictError)
    assert str(error) == "this pipeline does not score new rows: no model"
