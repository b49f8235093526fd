"""Validation runs the notebook in a real kernel and the pipeline in a subprocess;
these tests break things on purpose and check it notices, and that no kernel is
ever left behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.cli import kernels_left, run_with_kernels
from tests.helpers.notebooks import make_notebook
from tests.helpers.shared import ConvertedCopy, converted_copy

pytestmark = pytest.mark.kernel

POC = (
    "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\nfrom sklearn.metrics import accuracy_score",
    "rng = np.random.default_rng(0)\nX = rng.normal(size=(80, 3))\ny = (X[:, 0] + X[:, 1] > 0).astype(int)",
    "model = LogisticRegression(C=0.5, max_iter=200)\nmodel.fit(X, y)",
    "acc = accuracy_score(y, model.predict(X))",
)


def row(stdout: str, name: str) -> list[str]:
    """One line of the validation table: name, status, how, detail."""
    line = next(line for line in stdout.splitlines() if line.split(" ", 1)[0] == name)
    return re.split(r"\s{2,}", line.strip())


def convert(
    tmp_path: Path, *cells: str
) -> tuple[Path, Path, subprocess.CompletedProcess]:
    nb = make_notebook(tmp_path / "nb" / "poc.ipynb", *cells)
    out = tmp_path / "project"
    return nb, out, run_with_kernels(tmp_path, "convert", nb, "-o", out)


@pytest.fixture()
def poc(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> ConvertedCopy:
    """What ``convert(tmp_path, *POC)`` leaves, from one conversion for the session."""
    return converted_copy(tmp_path_factory, tmp_path, "poc", *POC)


def test_convert_validates_and_writes_the_result_and_characterization_tests(
    poc: ConvertedCopy,
) -> None:
    _, out, result, shared = poc
    assert result.returncode == 0, result.stderr
    assert row(result.stdout, "model") == [
        "model",
        "equal",
        "fitted state",
        "same parameters and fitted state (5 attributes); predict on a captured input",
    ]
    report = json.loads((out / "nbprod-report.json").read_text(encoding="utf-8"))
    assert report["validation"]["status"] == "equal"
    assert {c["name"]: c["status"] for c in report["validation"]["comparisons"]} == {
        "X": "equal",
        "y": "equal",
        "model": "equal",
        "acc": "equal",
    }
    assert (out / "tests" / "characterization" / "expected.json").is_file()
    assert kernels_left(shared) == []

    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout[-2000:]

    # The generated characterization tests notice when training changes.
    training = out / "src" / "poc" / "training.py"
    training.write_text(
        training.read_text(encoding="utf-8").replace(
            "model.fit(X, y)", "model.fit(X[:40], y[:40])"
        ),
        encoding="utf-8",
    )
    broken = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_characterization.py",
        ],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert broken.returncode == 1
    assert "test_pipeline_reproduces_the_notebook[model]" in broken.stdout


def test_a_changed_constant_in_the_pipeline_is_named(
    tmp_path: Path, poc: ConvertedCopy
) -> None:
    nb, out, result, shared = poc
    assert result.returncode == 0, result.stderr
    config = out / "config.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("C: 0.5", "C: 0.01"),
        encoding="utf-8",
    )
    again = run_with_kernels(
        tmp_path, "validate", nb, out, "--report", tmp_path / "v.json"
    )
    assert again.returncode == 1
    assert row(again.stdout, "model") == [
        "model",
        "different",
        "parameters",
        "parameter C: 0.01 != 0.5",
    ]
    assert (
        again.stderr.strip()
        == "nbprod: validation failed: the pipeline does not reproduce the notebook"
    )
    saved = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert saved["status"] == "different"

    # The same, with the constant changed in the generated training module itself.
    config.write_text(
        config.read_text(encoding="utf-8").replace("C: 0.01", "C: 0.5"),
        encoding="utf-8",
    )
    training = out / "src" / "poc" / "training.py"
    code = training.read_text(encoding="utf-8")
    assert "LogisticRegression(C=config.C, max_iter=config.max_iter)" in code
    training.write_text(code.replace("C=config.C,", "C=2.0,"), encoding="utf-8")
    edited = run_with_kernels(tmp_path, "validate", nb, out)
    assert edited.returncode == 1
    assert row(edited.stdout, "model") == [
        "model",
        "different",
        "parameters",
        "parameter C: 2.0 != 0.5",
    ]
    assert kernels_left(tmp_path) == []
    assert kernels_left(shared) == []


def test_a_cell_that_raises_is_named(tmp_path: Path) -> None:
    _, out, result = convert(
        tmp_path, "x = 1", "y = x + 1", "raise ValueError('bad data')"
    )
    assert result.returncode == 1
    assert "notebook cell 3 raised ValueError: bad data" in result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((out / "nbprod-report.json").read_text(encoding="utf-8"))
    assert report["validation"]["status"] == "error"
    assert kernels_left(tmp_path) == []


def test_an_endless_loop_times_out_and_leaves_no_kernel(tmp_path: Path) -> None:
    nb = make_notebook(
        tmp_path / "nb" / "loop.ipynb",
        "import time",
        "n = 0\nwhile True:\n    n += 1\n    time.sleep(0.01)",
    )
    started = time.monotonic()
    result = run_with_kernels(
        tmp_path, "convert", nb, "-o", tmp_path / "out", "--timeout", "5"
    )
    assert time.monotonic() - started < 60
    assert result.returncode == 1
    assert "did not finish within 5 s" in result.stderr
    assert kernels_left(tmp_path) == []


def test_unseeded_draws_are_proven_from_the_same_seeds_and_still_named(
    tmp_path: Path,
) -> None:
    # Global generators (numpy's, the estimator's), a set of strings iterated:
    # both runs start from the same seeds and hash seed, and draw in the same order.
    _, out, result = convert(
        tmp_path,
        "import random\nimport numpy as np\nfrom sklearn.ensemble import RandomForestClassifier",
        "X = np.random.rand(60, 3)\ny = (X[:, 0] > 0.5).astype(int)\n"
        "order = [w for w in {'alpha', 'beta', 'gamma', 'delta'}]\n"
        "pick = random.random()",
        "model = RandomForestClassifier(n_estimators=5).fit(X, y)",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "nbprod-report.json").read_text(encoding="utf-8"))
    statuses = {c["name"]: c["status"] for c in report["validation"]["comparisons"]}
    assert statuses == {
        "X": "equal",
        "y": "equal",
        "order": "equal",
        "pick": "equal",
        "model": "equal",
    }
    assert (
        "values match in this run (both started from the same seeds)" in result.stdout
    )
    assert (
        "cell 2, line 1: numpy.random.rand() draws from the unseeded global generator"
        in result.stdout
    )
    assert (
        "cell 3, line 1: RandomForestClassifier() without random_state" in result.stdout
    )
    assert kernels_left(tmp_path) == []


def test_a_kernel_that_dies_is_reported_as_such(tmp_path: Path) -> None:
    _, out, result = convert(tmp_path, "x = 1", "import os\nos._exit(1)")
    assert result.returncode == 1
    assert result.stderr.strip().endswith("the notebook's kernel died while running it")
    assert (out / "nbprod-report.json").is_file(), "the project is still written"
    assert kernels_left(tmp_path) == []


def test_a_predict_convert_made_refuse_stays_refused_and_is_no_difference(
    tmp_path: Path,
) -> None:
    nb, out, result = convert(
        tmp_path,
        "import pandas as pd\nfrom sklearn.linear_model import LinearRegression",
        "train = pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0], 'y': [2.0, 4.1, 5.9, 8.0]})",
        "model = LinearRegression().fit(train[['x']], train['y'])",
        "new = pd.DataFrame({'x': [5.0, 6.0]})\npred = model.predict(new)",
    )
    assert result.returncode == 0, result.stderr
    assert "predict: proven on 2 rows" in result.stdout
    # What convert writes when predict did not reproduce the notebook's
    # predictions: it refuses new rows, and the conversion is still proven.
    pipeline = out / "src" / "poc" / "pipeline.py"
    code = pipeline.read_text(encoding="utf-8")
    assert "PREDICT_REFUSED: str | None = None" in code
    pipeline.write_text(
        code.replace(
            "PREDICT_REFUSED: str | None = None",
            'PREDICT_REFUSED: str | None = "validation ran it on the rows: differed"',
        ),
        encoding="utf-8",
    )
    again = run_with_kernels(tmp_path, "validate", nb, out)
    assert again.returncode == 0, again.stdout + again.stderr
    (line,) = [x for x in again.stdout.splitlines() if x.startswith("predict:")]
    assert "refuses to score new rows (validation ran it on the rows: differed)" in line
    assert kernels_left(tmp_path) == []


def test_validate_writes_only_the_report_and_ignores_what_runs_left(
    tmp_path: Path,
) -> None:
    nb, out, result = convert(
        tmp_path,
        *POC[:3],
        "acc = accuracy_score(y, model.predict(X))\n"
        "import json, os\nos.makedirs('results', exist_ok=True)\n"
        "json.dump({'acc': acc}, open('results/acc.json', 'w'))",
    )
    assert result.returncode == 0, result.stderr
    # What runs of the project leave, stale: validation must not read it
    (out / "results").mkdir()
    (out / "results" / "acc.json").write_text('{"acc": -1}', encoding="utf-8")
    (out / "artifacts" / "evaluate").mkdir(parents=True)
    (out / "artifacts" / "evaluate" / "acc.joblib").write_bytes(b"stale")

    def tree() -> dict[str, bytes]:
        return {
            p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "nbprod-report.json"
        }

    before = tree()
    again = run_with_kernels(tmp_path, "validate", nb, out)
    assert again.returncode == 0, again.stdout + again.stderr
    assert tree() == before
    assert [p.name for p in out.parent.iterdir() if "nbprod-check" in p.name] == []
    assert kernels_left(tmp_path) == []
