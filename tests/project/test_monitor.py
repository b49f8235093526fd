"""How every generated project watches the rows it scores
(``templates/project/src/monitor.py``, copied unchanged): the reference profile,
the statistics that decide drift per kind of column, the metrics beside the
notebook's, and the report's three files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from nbprod.convert.render import shipped_module

monitor = shipped_module("monitor")
scoring = shipped_module("scoring")

LIMITS = monitor.Thresholds(
    p_value=0.01, psi=0.2, js_distance=0.1, missing_rate=0.1, metric_drop=0.05
)


def _rows(count: int, seed: int = 0) -> pd.DataFrame:
    """Rows like a small tabular notebook's: a number, a whole number, a
    category, free text, a column missing at times."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, count).round(1),
            "rooms": rng.integers(1, 6, count),
            "city": rng.choice(["north", "south", "east"], count, p=[0.6, 0.3, 0.1]),
            "note": [f"note {i}" for i in rng.integers(0, 10_000, count)],
            "income": np.where(rng.random(count) < 0.1, np.nan, rng.gamma(2, 2, count)),
        }
    )


def _reference(rows: pd.DataFrame, predictions: Any = None) -> dict[str, Any]:
    served = predictions if predictions is not None else rows["rooms"] % 2
    kept = monitor.reference(
        rows,
        list(rows.columns),
        list(served),
        source="rows.csv",
        scored="the notebook's rows",
    )
    # What is saved is read back: the comparison sees what a later process reads.
    return dict(json.loads(json.dumps(kept)))


def _drifted(kept: dict[str, Any], new: pd.DataFrame) -> list[str]:
    return [
        c["name"]
        for c in kept["columns"]
        if monitor.compare(c["name"], c, new[c["name"]], LIMITS).drifted
    ]


def _column(kept: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in kept["columns"] if c["name"] == name)


def test_each_column_is_kept_as_fits_its_kind() -> None:
    kept = _reference(_rows(500))
    columns = {c["name"]: c for c in kept["columns"]}
    kinds = {name: c["kind"] for name, c in columns.items()}
    assert kinds == {
        "age": "number",
        "rooms": "number",
        "city": "category",
        "note": "text",
        "income": "number",
    }
    assert columns["city"]["counts"].keys() == {"east", "north", "south"}
    assert sum(columns["city"]["counts"].values()) == 500
    assert columns["income"]["missing"] == _rows(500)["income"].isna().sum()
    sample = columns["age"]["sample"]
    assert sample == sorted(sample) and len(sample) == 500
    assert "sample" not in columns["note"]
    # Labels (few whole numbers) are categories; scores are numbers.
    assert kept["predictions"]["kind"] == "category"
    scores = _reference(_rows(50), predictions=np.linspace(0, 1, 50))
    assert scores["predictions"]["kind"] == "number"


def test_a_large_column_keeps_a_sample_and_the_same_rows_give_the_same_file(
    tmp_path: Path,
) -> None:
    rows = _rows(monitor.SAMPLE_SIZE * 3)
    kept = _reference(rows)
    assert len(kept["columns"][0]["sample"]) == monitor.SAMPLE_SIZE
    first = monitor.save(kept, tmp_path / "a" / monitor.REFERENCE_FILE)
    second = monitor.save(_reference(rows), tmp_path / "b" / monitor.REFERENCE_FILE)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("size", [60, 400, 20_000])
def test_new_rows_like_the_reference_do_not_drift(size: int) -> None:
    kept = _reference(_rows(2000))
    assert _drifted(kept, _rows(size, seed=1)) == []


def test_a_number_shifted_drifts_alone() -> None:
    kept = _reference(_rows(2000))
    new = _rows(300, seed=1)
    new["age"] += 10
    assert _drifted(kept, new) == ["age"]
    found = monitor.compare("age", kept["columns"][0], new["age"], LIMITS)
    assert found.test == "Kolmogorov-Smirnov" and found.distance == "PSI"
    assert found.distance_value > 0.2 and found.p_value < 1e-6
    assert found.reasons[0].startswith("PSI ")


def test_categories_swapped_or_unseen_drift() -> None:
    kept = _reference(_rows(2000))
    new = _rows(300, seed=1)
    new["city"] = new["city"].replace({"north": "south", "south": "north"})
    assert _drifted(kept, new) == ["city"]
    unseen = _rows(300, seed=2)
    unseen.loc[: len(unseen) // 2, "city"] = "west"
    found = monitor.compare("city", _column(kept, "city"), unseen["city"], LIMITS)
    assert found.drifted and found.test == "chi-square"
    assert "Jensen-Shannon distance" in found.reasons[0]


def test_missing_values_drift_in_any_kind_of_column() -> None:
    kept = _reference(_rows(2000))
    for column in ("age", "city", "note"):
        new = _rows(300, seed=1)
        new.loc[new.sample(frac=0.3, random_state=0).index, column] = None
        assert _drifted(kept, new) == [column], column
        found = monitor.compare(column, _column(kept, column), new[column], LIMITS)
        assert found.reasons == ("missing in 30.0% of the rows, 0.0% before",)


def test_a_large_but_tiny_change_and_a_large_change_in_few_rows() -> None:
    """Both conditions decide: a million rows make any trifle significant, and
    a few rows make any distance noisy."""
    kept = _reference(_rows(monitor.SAMPLE_SIZE))
    many = _rows(50_000, seed=1)
    many["age"] += 1  # a tenth of its spread: significant here, too small to matter
    found = monitor.compare("age", kept["columns"][0], many["age"], LIMITS)
    assert found.p_value < LIMITS.p_value and not found.drifted
    few = _rows(8, seed=3)
    found = monitor.compare("city", _column(kept, "city"), few["city"], LIMITS)
    assert not found.drifted


def test_psi_sees_values_past_the_reference_ends() -> None:
    reference = np.arange(100, dtype=float)
    assert monitor.psi(reference, reference) == pytest.approx(0, abs=1e-9)
    assert monitor.psi(reference, reference + 1000) > 5
    few_values = np.array([1.0, 2.0, 3.0] * 50)
    assert monitor.psi(few_values, few_values + 1) > 1


def _metric(function: str, higher: bool = True) -> Any:
    return monitor.Metric(
        function=function,
        truth="y_test",
        predicted="y_pred",
        keywords={},
        where=f"cell 9, line 2: {function}(y_test, y_pred)",
        higher_is_better=higher,
    )


def test_metrics_are_measured_from_saved_values_and_compared_as_worse_or_not() -> None:
    accuracy, error = _metric("accuracy_score"), _metric("mean_absolute_error", False)
    values = {"y_test": [1, 0, 1, 1], "y_pred": [1, 0, 0, 1]}
    measured = monitor.measured([accuracy, error], values)
    assert [(m.function, value, why) for m, value, why in measured] == [
        ("accuracy_score", 0.75, ""),
        ("mean_absolute_error", 0.25, ""),
    ]
    kept = [
        {"function": m.function, "where": m.where, "value": v, "error": why}
        for m, v, why in measured
    ]
    results = monitor.metric_results(
        kept, [accuracy, error], [1, 1, 1, 1], [1, 0, 0, 1], LIMITS
    )
    assert [(r.new, r.dropped) for r in results] == [(0.5, True), (0.5, True)]
    assert results[0].change == pytest.approx(1 / 3)
    assert results[1].change == pytest.approx(1.0)
    better = monitor.metric_results(
        kept, [accuracy], [1, 0, 1, 1], [1, 0, 1, 1], LIMITS
    )
    assert not better[0].dropped and better[0].change == pytest.approx(-1 / 3)


def test_a_metric_that_cannot_be_computed_says_why() -> None:
    (result,) = monitor.metric_results(
        [], [_metric("accuracy_score")], [0, 1], [0.2, 0.9], LIMITS
    )
    assert result.new is None and result.notebook is None and not result.dropped
    assert result.error.startswith("ValueError: ")
    (measured,) = monitor.measured([_metric("accuracy_score")], {"y_test": [1]})
    assert measured[1] is None and measured[2].startswith("KeyError")


def _predictor(schema: pa.DataFrameSchema) -> Any:
    return scoring.Predictor(
        predict=lambda rows: list(rows["rooms"] % 2),
        schema=schema,
        form="frame",
        rows="rows",
    )


def test_check_scores_the_rows_that_keep_the_contract_and_writes_three_files(
    tmp_path: Path,
) -> None:
    rows = _rows(500)
    kept = _reference(rows)
    schema = pa.DataFrameSchema(
        {"rooms": pa.Column(int, pa.Check.in_range(1, 5)), "age": pa.Column(float)}
    )
    new = _rows(200, seed=1)
    new.loc[:9, "rooms"] = 9  # ten rows break the contract
    new["city"] = new["city"].replace({"north": "south", "south": "north"})
    labels = pd.Series(list(new["rooms"] % 2))
    report, predictions = monitor.check(
        kept,
        new,
        _predictor(schema),
        LIMITS,
        source="new.csv",
        labels=labels,
        metrics=[_metric("accuracy_score")],
    )
    assert report.drifted == ["city"] and report.alarm
    assert report.not_scored == "10 rows broke the data contract and were not scored"
    assert len(predictions) == 190
    (accuracy,) = report.metrics
    assert accuracy.new == 1.0 and accuracy.notebook is None
    written = monitor.write_report(report, tmp_path, new, predictions, title="demo")
    assert [p.name for p in written] == ["report.html", "summary.json", "summary.md"]
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["drift"] is True and summary["drifted"] == ["city"]
    assert summary["rows"] == 200 and summary["thresholds"]["psi"] == 0.2
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("<figure") == 1 and 'id="drift-city"' in page
    assert "default-src 'none'" in page and "<script" not in page
    table = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert table.startswith("## Monitoring demo: drift in city (200 rows)")
    assert "| city | category: chi-square |" in table
    assert monitor.verdict(report) == "drift in city (200 rows)"


def test_a_column_gone_from_the_new_rows_is_all_missing() -> None:
    kept = _reference(_rows(500))
    new = _rows(100, seed=1).drop(columns=["age"])
    schema = pa.DataFrameSchema({"rooms": pa.Column(int)})
    report, _ = monitor.check(kept, new, _predictor(schema), LIMITS, source="x.csv")
    assert report.drifted == ["age"]
    (age,) = [f for f in report.findings if f.name == "age"]
    assert age.missing_new == 1.0


def test_rows_that_break_the_contract_as_a_whole_are_compared_but_not_scored() -> None:
    kept = _reference(_rows(500))
    new = _rows(100, seed=1)
    schema = pa.DataFrameSchema({"rooms": pa.Column(int), "size": pa.Column(float)})
    report, predictions = monitor.check(
        kept, new, _predictor(schema), LIMITS, source="x.csv"
    )
    assert predictions == [] and report.predictions is None
    assert report.not_scored.startswith("the rows break the data contract as a whole")
    assert "column 'size'" in report.not_scored
    assert not report.alarm


def test_labels_must_be_one_column_a_row_each(tmp_path: Path) -> None:
    (tmp_path / "two.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(
        monitor.MonitorError,
        match="must hold one column of 3 labels, one per new row; it holds 2 columns of 1 row",
    ):
        monitor.read_labels(tmp_path / "two.csv", 3)
    (tmp_path / "one.csv").write_text("label\n1\n0\n", encoding="utf-8")
    assert list(monitor.read_labels(tmp_path / "one.csv", 2)) == [1, 0]


def test_watched_columns_are_those_whose_values_the_contract_types() -> None:
    schema = pa.DataFrameSchema(
        {"a": pa.Column(int), "b": pa.Column(nullable=True), "c": pa.Column(str)}
    )
    assert monitor.watched(schema) == ["a", "c"]
