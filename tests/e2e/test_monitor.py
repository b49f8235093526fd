"""``python -m PKG monitor`` in generated projects, really run: the session's
validated conversions of three examples, their pipelines run (which saves the
reference), then monitor on the notebook's own held-out rows (no drift, exit 0),
on copies where one column changed (named alone, exit 1), and with the true
labels of held-out rows, a third of them flipped (the notebook's metric reported
worse than the notebook measured it). The titanic report opens in headless
Chromium with one picture per drifted column."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.helpers.chromium import offline_chromium, page_requests
from tests.helpers.cli import run
from tests.helpers.paths import EXAMPLES
from tests.helpers.project import saved_artifact
from tests.helpers.shared import copy_example_converted, example_converted, made_once

pytestmark = pytest.mark.e2e

Rows = tuple[pd.DataFrame, pd.Series]


def _titanic_rows(project: Path) -> Rows:
    """The rows the notebook held out to measure its model (X_val's rows of the
    training file, as they were read) and their labels, y_val."""
    labels = joblib.load(saved_artifact(project / "artifacts", "y_val"))
    rows = pd.read_csv(project / "data" / "passengers_train.csv")
    return rows.loc[labels.index].drop(columns=["Survived"]), labels


def _split_rows(project: Path) -> Rows:
    """The held-out half of the notebook's split, and its labels."""
    artifacts = project / "artifacts"
    rows = joblib.load(saved_artifact(artifacts, "X_test"))
    return rows, joblib.load(saved_artifact(artifacts, "y_test"))


@dataclass(frozen=True)
class Case:
    """An example, its held-out labelled rows, and the column each change hits:
    ``shifted`` gets a constant added, ``emptied`` missing values, ``swapped``
    two of its categories exchanged (None: the serving path reads no category)."""

    package: str
    held_out: Callable[[Path], Rows]
    shifted: str
    emptied: str
    swapped: str | None
    # The metric that drops when labels are flipped, and where the notebook's
    # own run shows its value (a metric the project's metrics.json keeps, or the
    # line the notebook printed).
    metric: str


CASES = [
    Case("titanic_mlops_poc", _titanic_rows, "Age", "Fare", "Sex", "accuracy_score"),
    Case("house_prices_regression", _split_rows, "sqft", "bathrooms", None, "r2_score"),
    Case("wine_model_selection", _split_rows, "alcohol", "hue", None, "accuracy_score"),
]


def _env(project: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(project / "src"), "MPLBACKEND": "Agg"}


def _ran(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, package: str
) -> Path:
    """The session's validated conversion of the example ``package``, its
    pipeline run once for the session (which saves the reference), copied into
    ``tmp_path`` for the test to monitor in."""
    base, result = example_converted(tmp_path_factory, EXAMPLES / f"{package}.ipynb")
    assert result.returncode == 0, result.stdout + result.stderr

    def make(folder: Path) -> subprocess.CompletedProcess:
        _, project = copy_example_converted(base, folder)
        return run([sys.executable, "-m", package, "run"], project, _env(project))

    folder, ran = made_once(tmp_path_factory, f"monitored-{package}", make)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    shutil.copytree(folder / "notebooks", tmp_path / "notebooks", symlinks=True)
    shutil.copytree(folder / "project", tmp_path / "project", symlinks=True)
    return tmp_path / "project"


def _monitor(
    project: Path, package: str, rows: pd.DataFrame, name: str, labels: Any = None
) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
    """monitor run on ``rows`` (written to NAME.csv, and their labels beside
    them), with the summary.json it wrote."""
    source = project / f"{name}.csv"
    rows.to_csv(source, index=False)
    command = [sys.executable, "-m", package, "monitor", "--input", str(source)]
    if labels is not None:
        pd.Series(np.asarray(labels), name="label").to_frame().to_csv(
            project / f"{name}.labels.csv", index=False
        )
        command += ["--labels", str(project / f"{name}.labels.csv")]
    done = run(command, project, _env(project))
    summary = project / "reports" / "monitoring" / "summary.json"
    return done, json.loads(summary.read_text(encoding="utf-8"))


def _shifted(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` plus one standard deviation (whole, for whole numbers)."""
    changed = rows.copy()
    step = changed[column].std()
    if pd.api.types.is_integer_dtype(changed[column]):
        step = max(1, round(step))
    changed[column] = changed[column] + step
    return changed


def _emptied(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """A third of ``column``'s values missing."""
    changed = rows.copy()
    changed[column] = changed[column].astype(float)
    changed.loc[changed.sample(frac=1 / 3, random_state=0).index, column] = np.nan
    return changed


def _swapped(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """The two most frequent categories of ``column`` exchanged."""
    changed = rows.copy()
    first, second = changed[column].value_counts().index[:2]
    changed[column] = changed[column].replace({first: second, second: first})
    return changed


def _flipped(labels: pd.Series) -> np.ndarray:
    """A third of the labels replaced by another label (another class; for
    numbers, another row's value)."""
    values = labels.to_numpy().copy()
    chosen = np.random.default_rng(0).permutation(len(values))[: len(values) // 3]
    classes = np.unique(values)
    if len(classes) <= 20:
        for at in chosen:
            values[at] = classes[
                (np.searchsorted(classes, values[at]) + 1) % len(classes)
            ]
    else:
        values[chosen] = values[np.roll(chosen, 1)]
    return values


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.package)
def test_monitor_names_the_one_column_that_changed_and_the_metric_that_fell(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, case: Case
) -> None:
    project = _ran(tmp_path_factory, tmp_path, case.package)
    assert list((project / "artifacts").glob("*/monitoring-reference.json"))
    rows, labels = case.held_out(project)

    same, summary = _monitor(project, case.package, rows, "held-out", labels)
    assert same.returncode == 0, same.stdout + same.stderr
    assert summary["drift"] is False and summary["drifted"] == []
    assert summary["predictions"]["drifted"] is False
    assert f"monitor: no drift in {len(rows)} rows" in same.stdout
    metrics = {m["function"]: m for m in summary["metrics"]}
    assert metrics, "no metric of the notebook's recomputed"
    assert not any(m["dropped"] for m in metrics.values()), metrics

    changes = {
        case.shifted: _shifted(rows, case.shifted),
        case.emptied: _emptied(rows, case.emptied),
    }
    if case.swapped is not None:
        changes[case.swapped] = _swapped(rows, case.swapped)
    for column, changed in changes.items():
        done, summary = _monitor(project, case.package, changed, f"changed-{column}")
        assert done.returncode == 1, (column, done.stdout + done.stderr)
        assert summary["drift"] is True
        assert summary["drifted"] == [column], (column, summary["columns"])
        assert re.search(rf"^monitor: drift in {column}[ ;]", done.stdout), done.stdout

    flipped, summary = _monitor(
        project, case.package, rows, "flipped", _flipped(labels)
    )
    assert flipped.returncode == 1, flipped.stdout + flipped.stderr
    assert summary["drifted"] == []
    fell = {m["function"]: m for m in summary["metrics"]}[case.metric]
    assert fell["dropped"] is True, fell
    notebook = metrics[case.metric]["notebook"]
    assert fell["notebook"] == notebook
    assert fell["new"] < notebook < metrics[case.metric]["new"] + 1e-9
    assert re.search(
        rf"worse than the notebook: [^(]*\b{case.metric}\b", flipped.stdout
    )


def _figures(page: str) -> dict[str, bytes]:
    """Each figure's id and its picture's PNG bytes, as the page holds them."""
    found = re.findall(
        r'<figure id="drift-([^"]+)"><img [^>]*src="data:image/png;base64,([^"]+)"',
        page,
    )
    return {name: base64.b64decode(data) for name, data in found}


def test_the_titanic_report_opens_in_chromium_with_a_picture_per_drifted_column(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    package = "titanic_mlops_poc"
    project = _ran(tmp_path_factory, tmp_path, package)
    rows = pd.read_csv(project / "data" / "passengers_test.csv")
    changed = _swapped(_shifted(rows, "Age"), "Sex")
    done, summary = _monitor(project, package, changed, "two-changed")
    assert done.returncode == 1, done.stdout + done.stderr
    assert summary["drifted"] == ["Sex", "Age"]  # in the contract's order
    page = project / "reports" / "monitoring" / "report.html"

    dumped = offline_chromium(tmp_path, page, "--dump-dom", "--enable-logging=stderr")
    assert dumped.returncode == 0, dumped.stderr
    assert "CONSOLE" not in dumped.stderr, dumped.stderr
    assert page_requests(tmp_path / "net.json") == []
    pictures = _figures(dumped.stdout)  # as the browser parsed the page
    assert sorted(pictures) == ["Age", "Sex"]
    for name, png in pictures.items():
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.width > 300, name
        assert len(image.convert("RGB").getcolors(1 << 16) or ()) > 20, name
    rows_drawn = re.findall(r'<tr class="(drift|same)"><td>([^<]+)</td>', dumped.stdout)
    assert {name for kind, name in rows_drawn if kind == "drift"} == {"Age", "Sex"}
    assert len(rows_drawn) == len(summary["columns"]) + 1  # and the predictions

    screenshot = tmp_path / "monitoring-report.png"
    shot = offline_chromium(
        tmp_path, page, "--window-size=1100,1600", f"--screenshot={screenshot}"
    )
    assert shot.returncode == 0, shot.stderr
    if os.environ.get("NBPROD_SCREENSHOTS"):
        shutil.copy(screenshot, Path(os.environ["NBPROD_SCREENSHOTS"]))
    # The browser drew the pictures: the page holds both pictures' colours.
    drawn = Image.open(screenshot).convert("RGB")
    colours = {c for _, c in drawn.getcolors(1 << 20) or ()}
    assert (0x4C, 0x72, 0xB0) in colours and (0xDD, 0x84, 0x52) in colours
