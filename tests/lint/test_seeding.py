"""One seeded/unseeded verdict (``known_apis.random_call``), two callers: the draws
``nbprod plan`` (and validate) report as unseeded are the ones ``nbprod lint``
flags as NBP005, each case run through the real CLI on the same notebook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers.cli import run_nbprod
from tests.helpers.notebooks import make_notebook

GLOBAL = "draws from the unseeded global generator"

# (code cells, the unseeded draws both report: (cell, line, what))
CASES: dict[str, tuple[tuple[str, ...], list[tuple[int, int, str]]]] = {
    "seed= is a seed": (
        (
            "from sklearn.ensemble import RandomForestClassifier",
            "m = RandomForestClassifier(seed=1)\nn = RandomForestClassifier()",
        ),
        [(2, 2, "RandomForestClassifier() without random_state")],
    ),
    "random_seed= is a seed, None is not": (
        (
            "from catboost import CatBoostClassifier",
            "a = CatBoostClassifier(random_seed=0)\n"
            "b = CatBoostClassifier(random_seed=None)",
        ),
        [(2, 2, "CatBoostClassifier() without random_state")],
    ),
    "a generator made with None is unseeded": (
        (
            "import numpy as np",
            "a = np.random.default_rng(None)\nb = np.random.RandomState(None)\n"
            "c = np.random.default_rng(7)\nd = np.random.RandomState(seed=7)",
        ),
        [
            (2, 1, "numpy.random.default_rng() without a seed"),
            (2, 2, "numpy.random.RandomState() without a seed"),
        ],
    ),
    "a helper never called seeds nothing": (
        (
            "import numpy as np",
            "def never_called():\n    np.random.seed(0)",
            "x = np.random.normal()",
        ),
        [(3, 1, f"numpy.random.normal() {GLOBAL}")],
    ),
    "a helper seeds where it is called": (
        (
            "import random\nimport numpy as np",
            "def set_seed(s):\n    random.seed(s)\n    np.random.seed(s)",
            "a = np.random.normal()\nset_seed(0)\nb = np.random.normal()\n"
            "c = random.random()",
        ),
        [(3, 1, f"numpy.random.normal() {GLOBAL}")],
    ),
    "a method of a seeded estimator or generator draws nothing unseeded": (
        (
            "import numpy as np\nfrom sklearn.ensemble import RandomForestClassifier",
            "X = np.zeros((4, 2))\ny = [0, 1, 0, 1]\n"
            "m = RandomForestClassifier(random_state=0).fit(X, y)\n"
            "z = np.random.default_rng(0).normal()",
        ),
        [],
    ),
    "**kwargs may hold a seed, not for a global generator": (
        (
            "import numpy as np\nfrom sklearn.ensemble import RandomForestClassifier",
            "params = {'random_state': 0}\nm = RandomForestClassifier(**params)\n"
            "x = np.random.normal(**{'size': 2})\nd = df.sample(**params)",
        ),
        [(2, 3, f"numpy.random.normal() {GLOBAL}")],
    ),
    "a class body and default values run where written, a lambda when called": (
        (
            "import numpy as np",
            "class Config:\n    rng = np.random.default_rng()\n\n"
            "    def draw(self, n=np.random.randint(3)):\n"
            "        return np.random.normal(size=n)",
            "noise = lambda: np.random.normal()\ncount = sum([1, 2])",
        ),
        [
            (2, 2, "numpy.random.default_rng() without a seed"),
            (2, 4, f"numpy.random.randint() {GLOBAL}"),
        ],
    ),
}
_PLANNED = re.compile(r"^cell (\d+), line (\d+): (.+)$")
_LINT_SUFFIX = ": results change from run to run (pass a fixed seed)"


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_and_lint_name_the_same_unseeded_draws(tmp_path: Path, case: str) -> None:
    cells, expected = CASES[case]
    nb = make_notebook(tmp_path / "poc.ipynb", *cells)

    plan = run_nbprod("plan", nb, "--format", "json")
    assert plan.returncode == 0, plan.stderr
    planned = []
    for line in json.loads(plan.stdout)["unseeded"]:
        m = _PLANNED.match(line)
        assert m, line
        planned.append((int(m[1]), int(m[2]), m[3]))

    lint = run_nbprod("lint", nb, "--select", "NBP005", "--format", "json")
    assert lint.returncode == (1 if expected else 0), lint.stderr
    linted = []
    for item in json.loads(lint.stdout or "[]"):
        assert item["code"] == "NBP005" and item["message"].endswith(_LINT_SUFFIX)
        linted.append(
            (item["cell"], item["line"], item["message"].removesuffix(_LINT_SUFFIX))
        )

    assert planned == linted == expected


def test_plan_text_names_the_unseeded_draws(tmp_path: Path) -> None:
    cells, _ = CASES["a helper never called seeds nothing"]
    result = run_nbprod("plan", make_notebook(tmp_path / "poc.ipynb", *cells))
    assert result.returncode == 0, result.stderr
    assert f"unseeded: cell 3, line 1: numpy.random.normal() {GLOBAL}" in (
        result.stdout.splitlines()
    )
