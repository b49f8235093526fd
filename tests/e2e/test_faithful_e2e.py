"""What the notebook did and a naive conversion would lose, through the real CLI and
a real kernel: validation runs the notebook (papermill) and the generated pipeline
and compares their values, so each test fails if the pipeline computes something
else. Issue 10, items 5-7: redefinitions, side effects on a cell's last line,
IPython's ``_``, ``%env``, ``display()``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import run_with_kernels
from tests.helpers.notebooks import make_notebook

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

pytestmark = [pytest.mark.e2e, pytest.mark.kernel]


def convert(tmp_path: Path, *cells: str) -> tuple[Path, dict]:
    """Convert (validation on); the project folder and its report."""
    nb = make_notebook(tmp_path / "nb" / "poc.ipynb", *cells)
    out = tmp_path / "project"
    result = run_with_kernels(tmp_path, "convert", nb, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "nbprod-report.json").read_text(encoding="utf-8"))
    return out, report


def statuses(report: dict) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["validation"]["comparisons"]}


def source(out: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8")
        for p in sorted((out / "src" / "poc").glob("*.py"))
    )


def test_a_model_fitted_before_a_redefinition_keeps_its_features(
    tmp_path: Path,
) -> None:
    out, report = convert(
        tmp_path,
        "import numpy as np\nfrom sklearn.linear_model import LinearRegression",
        "def featurize(x):\n    return np.c_[x, x ** 2]",
        "X = np.arange(20.0).reshape(-1, 1)\ny = 1 + 2 * X[:, 0] + 0.5 * X[:, 0] ** 2",
        "model = LinearRegression().fit(featurize(X), y)",
        "#md ## Try cubes instead",
        "def featurize(x):\n    return np.c_[x, x ** 3]",
        "model_cubic = LinearRegression().fit(featurize(X), y)\n"
        "pred = model.predict(featurize(X[:3]))",
    )
    assert report["validation"]["status"] == "equal"
    assert {"model", "model_cubic", "pred"} <= {
        n for n, s in statuses(report).items() if s in {"equal", "close"}
    }
    helpers = [(h["name"], h["original"]) for h in report["plan"]["helpers"]]
    assert helpers == [("featurize", ""), ("featurize_2", "featurize")]
    code = source(out)
    assert "model = LinearRegression().fit(featurize(X), y)" in code
    assert "model_cubic = LinearRegression().fit(featurize_2(X), y)" in code


def test_side_effects_on_a_last_line_stay_in_the_pipeline(tmp_path: Path) -> None:
    out, report = convert(
        tmp_path,
        "import numpy as np\nfrom sklearn.linear_model import LinearRegression",
        "runlog = []\n\n\nclass Tracker:\n    logs = []\n\n    def __init__(self, name):\n"
        "        self.name = name\n\n    def log(self, value):\n"
        "        Tracker.logs.append((self.name, value))\n        return value",
        "X = np.arange(12.0).reshape(-1, 1)\nrunlog.append('loaded')",
        "tracker = Tracker('prep')\ntracker.log(len(X))",
        'Tracker("train").log(3.0)',
        # 3 in the notebook: one entry in runlog, two in Tracker.logs
        "weight = len(runlog) + len(Tracker.logs)\n"
        "model = LinearRegression().fit(X, X[:, 0] * weight)",
    )
    assert report["validation"]["status"] == "equal"
    assert statuses(report)["model"] == "equal"
    code = source(out)
    for line in (
        "tracker.log(len(X))",
        'Tracker("train").log(3.0)',
        'runlog.append("loaded")',
    ):
        assert line in code
    assert not any(c["dropped"] for c in report["plan"]["cells"])


def test_ipythons_underscore_becomes_the_value_it_held(tmp_path: Path) -> None:
    out, report = convert(
        tmp_path,
        "import pandas as pd\nfrom sklearn.linear_model import LinearRegression",
        "df = pd.DataFrame({'k': [0, 0, 1, 1, 2, 2], 'v': [1.0, 2.0, 3.0, 5.0, 8.0, 9.0]})",
        "df.groupby('k')['v'].mean()",
        "centres = _.to_frame('centre').reset_index()",
        "model = LinearRegression().fit(centres[['k']], centres['centre'])",
    )
    assert report["validation"]["status"] == "equal"
    assert statuses(report)["model"] == "equal"
    code = source(out)
    assert 'output_3 = df.groupby("k")["v"].mean()' in code
    assert 'centres = output_3.to_frame("centre").reset_index()' in code


def test_env_magic_sets_the_variable_later_code_reads(tmp_path: Path) -> None:
    out, report = convert(
        tmp_path,
        "%env NBPROD_TEST_SCALE=3",
        "import os\nimport numpy as np\nfrom sklearn.linear_model import LinearRegression",
        "X = np.arange(10.0).reshape(-1, 1)\nscale = float(os.environ['NBPROD_TEST_SCALE'])",
        "model = LinearRegression().fit(X, X[:, 0] * scale)",
    )
    assert report["validation"]["status"] == "equal"
    assert statuses(report)["model"] == "equal"
    assert 'os.environ["NBPROD_TEST_SCALE"] = "3"' in source(out)


def test_display_is_dropped_and_ipython_is_no_dependency(tmp_path: Path) -> None:
    out, report = convert(
        tmp_path,
        "import pandas as pd\nfrom IPython.display import display\n"
        "from sklearn.linear_model import LinearRegression",
        "df = pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0], 'y': [2.0, 4.1, 5.9, 8.2]})",
        "display(df.head())",
        "model = LinearRegression().fit(df[['x']], df['y'])",
    )
    assert report["validation"]["status"] == "equal"
    assert statuses(report)["model"] == "equal"
    cells = {c["number"]: c for c in report["plan"]["cells"]}
    assert cells[3]["stage"] is None and cells[3]["dropped"] == [
        "line 1: display(df.head()) (display)"
    ]
    pyproject = tomllib.loads((out / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = pyproject["project"]["dependencies"]
    assert dependencies and not any("ipython" in d.lower() for d in dependencies)
    assert "display" not in source(out) and "IPython" not in source(out)
