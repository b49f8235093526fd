"""The data contract nbprod infers from the rows the notebook predicted on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbprod.convert.contract import (
    ColumnRule,
    filled_columns,
    infer_contract,
    unseen_handled,
)

ROWS = pd.DataFrame(
    {
        "id": [1, 2, 3, 4],
        "age": [22.0, np.nan, 40.5, 61.0],
        "sex": ["male", "female", "male", "male"],
        "name": ["Ann", "Bob", "Cid", "Dee"],
        "pclass": [1, 3, 2, 3],
        "note": ["a", "b", "c", "d"],
    }
)
USAGE = {
    "id": "presence",
    "age": "values",
    "sex": "values",
    "name": "values",
    "pclass": "values",
    "note": "unused",
}


def _rules(**kwargs: object) -> dict[str, ColumnRule]:
    options: dict = {"sources": ("rows",), "fills": {}} | kwargs
    contract = infer_contract(ROWS, USAGE, options.pop("files", {}), **options)
    return {c.name: c for c in contract.columns}


def test_the_columns_read_with_their_kinds_ranges_categories_and_missing() -> None:
    rules = _rules()
    assert list(rules) == ["id", "age", "sex", "name", "pclass"]  # never "note"
    assert rules["id"].code() == "pa.Column(nullable=True)"
    assert rules["age"].code() == (
        "pa.Column(float, widened(22, 61, tolerance), nullable=True, coerce=True)"
    )
    assert rules["age"].comment() == "numbers from 22 to 61; missing in 1 of 4 rows"
    assert rules["sex"].code() == "pa.Column(str, pa.Check.isin(['female', 'male']))"
    # As many distinct values as rows: free text, not categories.
    assert rules["name"].code() == "pa.Column(str)"
    assert rules["pclass"].code() == (
        "pa.Column(int, widened(1, 3, tolerance, whole=True))"
    )


def test_input_files_holding_the_columns_widen_what_was_seen() -> None:
    train = ROWS.assign(age=[1.0, 2.0, 3.0, 80.0], pclass=[1, 1, 1, 1], y=[0, 1, 0, 1])
    other = pd.DataFrame({"age": [500.0]})  # not every column read: not the data
    contract = infer_contract(
        ROWS,
        USAGE,
        {"data.train": train, "data.other": other},
        sources=("rows",),
        fills={},
    )
    assert contract.checked_files == ("data.train",)
    age = next(c for c in contract.columns if c.name == "age")
    assert (age.low, age.high, age.missing, age.seen) == (1.0, 80.0, 1, 8)


def test_a_column_the_notebook_fills_may_be_missing() -> None:
    rules = _rules(fills={"sex": "cell 3, line 1 (fillna)"})
    assert rules["sex"].nullable and not rules["pclass"].nullable
    assert rules["sex"].comment().endswith("filled by cell 3, line 1 (fillna)")


def test_rows_whose_columns_are_not_named_by_text_have_no_contract() -> None:
    rows = pd.DataFrame(np.zeros((2, 2)))
    contract = infer_contract(rows, {}, {}, sources=(), fills={})
    assert not contract.columns and "not all named" in contract.reason


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('df["Age"] = df["Age"].fillna(df["Age"].median())', {"Age"}),
        ("df.totalcharges = df.totalcharges.fillna(0)", {"totalcharges"}),
        ('x = df[["a", "b"]].fillna(0)', {"a", "b"}),
        ('df = df.fillna({"c": 1})', {"c"}),
        ("df = df.fillna(0)", {"*"}),
        ('imputer = SimpleImputer(strategy="median")', {"*"}),
        ('df["Age"].mean()', set()),
    ],
)
def test_fills_are_read_from_the_code(code: str, expected: set[str]) -> None:
    assert set(filled_columns([(1, code)])) == expected


def test_categories_stay_open_where_the_notebook_handles_unseen_ones() -> None:
    where = unseen_handled([(5, 'enc = OneHotEncoder(handle_unknown="ignore")')])
    assert where == "cell 5, line 1 (OneHotEncoder)"
    rules = _rules(unseen_by=where)
    assert rules["sex"].code() == "pa.Column(str)"
    assert rules["sex"].comment() == (
        f"one of 2 categories seen, others handled by {where}; never missing"
    )
    assert unseen_handled([(5, 'OneHotEncoder(handle_unknown="error")')]) == ""
