"""Every version of a name is compared as the stage that returns it left it.

The course habit: split into ``df_train``/``df_val`` and fit a model early, then
a k-fold loop binds ``df_train``, ``y_train`` and ``model`` again for each fold.
The notebook ends holding the last fold's values; the pipeline's preprocessing
returns the first ones. Validation keeps the notebook's value right after the
cell where it holds the version the returning stage (or step) returns, so both
sides are the same version; the model the first step fitted is proven as fitted
(``model (fit_model)``): a fit on half its rows is caught although the loop,
in the same stage, overwrites it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.cli import run_nbprod
from tests.helpers.notebooks import make_notebook
from tests.helpers.tamper import tamper_and_validate

pytestmark = [pytest.mark.e2e, pytest.mark.kernel]

CELLS = (
    "import numpy as np\nimport pandas as pd\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.metrics import roc_auc_score\n"
    "from sklearn.model_selection import KFold, train_test_split",
    "df = pd.read_csv('churn.csv')",
    "df_full_train, df_test = train_test_split(df, test_size=0.2, random_state=1)\n"
    "df_train, df_val = train_test_split(df_full_train, test_size=0.25, random_state=1)\n"
    "features = ['tenure', 'monthly']\n"
    "y_train = df_train.churn.values\n"
    "y_val = df_val.churn.values",
    "model = LogisticRegression(max_iter=1000)\n"
    "model.fit(df_train[features], y_train)\n"
    "y_pred = model.predict_proba(df_val[features])[:, 1]\n"
    "auc = roc_auc_score(y_val, y_pred)",
    "scores = []\n"
    "kfold = KFold(n_splits=4, shuffle=True, random_state=1)\n"
    "for train_idx, val_idx in kfold.split(df_full_train):\n"
    "    df_train = df_full_train.iloc[train_idx]\n"
    "    df_val = df_full_train.iloc[val_idx]\n"
    "    y_train = df_train.churn.values\n"
    "    model = LogisticRegression(max_iter=1000)\n"
    "    model.fit(df_train[features], y_train)\n"
    "    y_pred = model.predict_proba(df_val[features])[:, 1]\n"
    "    scores.append(roc_auc_score(df_val.churn.values, y_pred))\n"
    "print('%.3f +- %.3f' % (np.mean(scores), np.std(scores)))",
)


@pytest.fixture(scope="module")
def kfold_notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kfold")
    rng = np.random.default_rng(0)
    n = 400
    tenure = rng.integers(0, 72, n)
    monthly = rng.normal(60, 20, n).round(2)
    churn = (rng.random(n) < 1 / (1 + np.exp(tenure / 20 - monthly / 40))).astype(int)
    pd.DataFrame({"tenure": tenure, "monthly": monthly, "churn": churn}).to_csv(
        folder / "churn.csv", index=False
    )
    return make_notebook(folder / "kfold.ipynb", *CELLS)


@pytest.fixture(scope="module")
def converted(
    kfold_notebook: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("kfold-out") / "project"
    result = run_nbprod("convert", kfold_notebook, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout


def _statuses(project: Path) -> dict[str, str]:
    report = json.loads((project / "nbprod-report.json").read_text(encoding="utf-8"))
    return {c["name"]: c["status"] for c in report["validation"]["comparisons"]}


def test_names_a_later_loop_binds_again_are_compared_as_their_stage_returns_them(
    converted: tuple[Path, str],
) -> None:
    project, _ = converted
    statuses = _statuses(project)
    # Returned by preprocessing and training before the loop binds them again.
    for name in ("df_train", "df_val", "y_train", "model (fit_model)", "auc"):
        assert statuses[name] == "equal", statuses
    assert statuses["scores"] == "equal", statuses


def test_a_model_overwritten_by_a_later_loop_is_still_proven_as_fitted(
    converted: tuple[Path, str], kfold_notebook: Path, tmp_path: Path
) -> None:
    project, _ = converted
    tampered = tmp_path / "project"
    shutil.copytree(project, tampered)
    tamper_and_validate(kfold_notebook, tampered, timeout=600)
    statuses = _statuses(tampered)
    # The fit before the loop is caught as its step returned it; the loop's last
    # fold, which the notebook ends with, is untouched.
    assert statuses["model (fit_model)"] == "different", statuses
    assert statuses["model"] == "equal", statuses
