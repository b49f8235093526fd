"""Mutation, deletion and helpers that read globals survive the move into stages:
the pipeline's outputs equal what the notebook's own code computes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from tests.helpers.cli import run_nbprod
from tests.helpers.notebooks import make_notebook
from tests.helpers.project import saved_artifact

pytestmark = pytest.mark.e2e

CELLS = (
    "import pandas as pd\nfrom sklearn.experimental import enable_halving_search_cv\n"
    "from sklearn.model_selection import HalvingGridSearchCV, train_test_split\n"
    "from sklearn.tree import DecisionTreeClassifier\nfrom sklearn.metrics import accuracy_score",
    "#md ## Load",
    "FACTOR = 3\nlog = []\ndf = pd.DataFrame({'a': range(60), 'b': [i % 7 for i in range(60)], 'junk': 0})",
    "def add_features(frame):\n    frame['c'] = frame['a'] * FACTOR + frame['b']\n    return frame",
    "df = add_features(df)\ndf.drop(columns=['junk'], inplace=True)\ntmp = df['c'].max()\ndf['c'] = df['c'] / tmp\ndel tmp\nlog.append('clean')",
    "df.head()",
    "X_train, X_test, y_train, y_test = train_test_split(df[['a', 'c']], df['b'] > 3, test_size=0.25, random_state=0)",
    "#md ## Train",
    "search = HalvingGridSearchCV(DecisionTreeClassifier(random_state=0), {'max_depth': [1, 2, 3]}, cv=3, random_state=0)\n"
    "search.fit(X_train, y_train)\nmodel = search.best_estimator_\nlog.append('trained')",
    "#md ## Evaluate",
    "y_pred = model.predict(X_test)\nacc = accuracy_score(y_test, y_pred)\nlog.append(f'acc={acc:.3f}')",
)

NOTEBOOK_RUNNER = """
import json, sys
import joblib, nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
ns = {}
for cell in nb.cells:
    if cell.cell_type == "code":
        exec(compile(cell.source, "cell", "exec"), ns)
for name in json.loads(sys.argv[2]):
    joblib.dump(ns[name], f"{sys.argv[3]}/{name}.joblib")
"""


def assert_same(ours: object, theirs: object, x_test: pd.DataFrame, name: str) -> None:
    assert type(ours) is type(theirs), name
    if isinstance(ours, pd.DataFrame):
        pd.testing.assert_frame_equal(ours, theirs)
    elif isinstance(ours, pd.Series):
        pd.testing.assert_series_equal(ours, theirs)
    elif isinstance(ours, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
    elif isinstance(ours, BaseEstimator):
        assert repr(ours.get_params()) == repr(theirs.get_params()), name
        np.testing.assert_array_equal(ours.predict(x_test), theirs.predict(x_test))
    else:
        assert ours == theirs, name


def test_pipeline_outputs_equal_the_notebooks_values(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "nb" / "mess.ipynb", *CELLS)
    out = tmp_path / "project"
    result = run_nbprod("convert", nb, "-o", out, "--no-validate")
    assert result.returncode == 0, result.stderr
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    run = subprocess.run(
        [sys.executable, "-m", "mess", "run"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr

    report = json.loads((out / "nbprod-report.json").read_text(encoding="utf-8"))
    stages = {s["stage"]: s for s in report["plan"]["stages"]}
    assert (
        "log" in stages["training"]["inputs"]
        and "log" in stages["evaluation"]["outputs"]
    )
    names = sorted({n for s in stages.values() for n in s["outputs"]})
    assert {"X_train", "model", "y_pred", "acc", "log"} <= set(names)
    assert "tmp" not in names

    reference = tmp_path / "reference"
    reference.mkdir()
    subprocess.run(
        [
            sys.executable,
            "-c",
            NOTEBOOK_RUNNER,
            str(nb),
            json.dumps(names),
            str(reference),
        ],
        cwd=nb.parent,
        check=True,
        timeout=600,
    )
    x_test = joblib.load(reference / "X_test.joblib")
    for name in names:
        ours = joblib.load(saved_artifact(out / "artifacts", name))
        theirs = joblib.load(reference / f"{name}.joblib")
        assert_same(ours, theirs, x_test, name)
    assert joblib.load(saved_artifact(out / "artifacts", "log"))[:2] == [
        "clean",
        "trained",
    ]


def test_a_stage_run_alone_draws_what_the_whole_pipeline_draws(tmp_path: Path) -> None:
    nb = make_notebook(
        tmp_path / "nb" / "seeded.ipynb",
        "import numpy as np\nfrom sklearn.ensemble import RandomForestClassifier",
        "np.random.seed(0)\nX = np.random.rand(40, 2)\ny = (X[:, 0] > 0.5).astype(int)",
        "model = RandomForestClassifier(n_estimators=3).fit(X, y)\nnoise = np.random.rand(3)",
    )
    out = tmp_path / "project"
    assert run_nbprod("convert", nb, "-o", out, "--no-validate").returncode == 0
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    whole = subprocess.run(
        [sys.executable, "-m", "seeded", "run", "--artifacts", "whole"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
    )
    assert whole.returncode == 0, whole.stderr
    for stage in ("preprocess", "train"):
        alone = subprocess.run(
            [sys.executable, "-m", "seeded", stage, "--artifacts", "alone"],
            cwd=out,
            env=env,
            capture_output=True,
            text=True,
        )
        assert alone.returncode == 0, alone.stderr
    np.testing.assert_array_equal(
        joblib.load(saved_artifact(out / "whole", "noise")),
        joblib.load(saved_artifact(out / "alone", "noise")),
    )
