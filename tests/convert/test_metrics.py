"""The notebook's own metric calls ``monitor`` recomputes on new labelled rows
(``convert.plan.metrics``): small notebooks and the examples, each with the
metrics it gives, one line each (see :func:`shown`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbprod.commands.convert import analyse, build_files
from nbprod.convert.plan.metrics import MonitoredMetric, monitored_metrics
from nbprod.notebook import read_notebook
from tests.helpers.build import analysis_of
from tests.helpers.environment import FIXED_ENVIRONMENT
from tests.helpers.paths import EXAMPLE_NOTEBOOKS, EXAMPLES


def shown(m: MonitoredMetric) -> str:
    """``cell C line L: function(truth, predicted, k=v) higher|lower``, then
    ``, as SOURCE`` when the call is written otherwise (an alias, a module)."""
    args = ", ".join([m.truth, m.predicted, *(f"{k}={v}" for k, v in m.keywords)])
    call = f"{m.function}({args})"
    text = f"cell {m.cell} line {m.line}: {call} {'higher' if m.higher_is_better else 'lower'}"
    return text if m.source == call else f"{text}, as {m.source}"


def metrics_of(*sources: str) -> list[str]:
    a = analysis_of(*sources)
    return [shown(m) for m in monitored_metrics(a.plan, a.facts)]


IMPORTS = """import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier"""
# Cells 1 to 3 of every case: the truth is y_test, model's predictions y_pred.
POC = (
    IMPORTS,
    'df = pd.read_csv("data.csv")\n'
    'X_train, X_test, y_train, y_test = train_test_split(df[["a"]], df["y"], random_state=0)',
    "model = LogisticRegression().fit(X_train, y_train)\ny_pred = model.predict(X_test)",
)

CASES = {
    "plain": (
        ("acc = accuracy_score(y_test, y_pred)",),
        ["cell 4 line 1: accuracy_score(y_test, y_pred) higher"],
    ),
    "alias": (
        (
            "from sklearn.metrics import mean_absolute_error as mae\n"
            "err = mae(y_test, y_pred)",
        ),
        [
            "cell 4 line 2: mean_absolute_error(y_test, y_pred) lower, as mae(y_test, y_pred)"
        ],
    ),
    "module-qualified": (
        (
            "import sklearn\nimport sklearn.metrics as m\nfrom sklearn import metrics\n"
            "a = m.balanced_accuracy_score(y_test, y_pred)\n"
            "b = metrics.hamming_loss(y_test, y_pred)\n"
            "c = sklearn.metrics.max_error(y_test, y_pred)",
        ),
        [
            "cell 4 line 4: balanced_accuracy_score(y_test, y_pred) higher, "
            "as m.balanced_accuracy_score(y_test, y_pred)",
            "cell 4 line 5: hamming_loss(y_test, y_pred) lower, "
            "as metrics.hamming_loss(y_test, y_pred)",
            "cell 4 line 6: max_error(y_test, y_pred) lower, "
            "as sklearn.metrics.max_error(y_test, y_pred)",
        ],
    ),
    "wrapped": (
        ('scores = {"f1": round(float(f1_score(y_test, y_pred)), 4)}\nprint(scores)',),
        ["cell 4 line 1: f1_score(y_test, y_pred) higher"],
    ),
    "literal keywords": (
        (
            "a = f1_score(y_test, y_pred, average='macro')\n"
            'b = f1_score(y_test, y_pred, average="macro", zero_division=0)\n'
            'c = f1_score(y_test, y_pred, zero_division=0, average="macro")',
        ),
        [
            "cell 4 line 1: f1_score(y_test, y_pred, average='macro') higher",
            # the same setting, written in another order: the last is kept
            'cell 4 line 3: f1_score(y_test, y_pred, zero_division=0, average="macro") higher',
        ],
    ),
    "no metric of the truth and the predictions": (
        (
            "from sklearn.metrics import silhouette_score\n"
            "cm = confusion_matrix(y_test, y_pred)\n"
            "s = silhouette_score(X_test, y_pred)",
        ),
        [],
    ),
    "an argument that is no name": (
        ("acc = accuracy_score(y_test, model.predict(X_test))",),
        [],
    ),
    "a keyword that is no literal": (
        (
            'avg = "macro"\nf1 = f1_score(y_test, y_pred, average=avg)',
            "options = {}\nf1 = f1_score(y_test, y_pred, **options)",
        ),
        [],
    ),
    "a third positional argument": (
        ("f1 = f1_score(y_test, y_pred, None)",),
        [],
    ),
    "inside a def, a lambda or a comprehension": (
        (
            "def score():\n    return accuracy_score(y_test, y_pred)\n\n\n"
            "print(score())",
            "scores = list(map(lambda _: f1_score(y_test, y_pred), [1]))\n"
            "accs = [accuracy_score(y_test, y_pred) for _ in range(2)]",
        ),
        [],
    ),
    "bound again after the call": (
        ("acc = accuracy_score(y_test, y_pred)", "y_pred = model.predict(X_train)"),
        [],
    ),
    "changed in place after the call": (
        ("acc = accuracy_score(y_test, y_pred)", "y_pred[0] = 1"),
        [],
    ),
    "bound again by the call's own statement": (
        ("for p in [y_pred]:\n    print(accuracy_score(y_test, p))",),
        [],
    ),
    # The value the call saw is the one the pipeline saves.
    "bound again before the call": (
        (
            "y_pred = model.predict(X_train)",
            "y_pred = model.predict(X_test)\nacc = accuracy_score(y_test, y_pred)",
        ),
        ["cell 5 line 2: accuracy_score(y_test, y_pred) higher"],
    ),
    "not saved by the pipeline": (
        (
            "other = LogisticRegression(C=2.0).fit(X_train, y_train)\n"
            "train_pred = other.predict(X_train)\n"
            "print(accuracy_score(y_train, train_pred))\n"
            "del train_pred",
        ),
        [],
    ),
    # A third model serves, and the notebook never measures it: every measure
    # is kept, the last of each metric.
    "measured again: the last": (
        (
            "tree = DecisionTreeClassifier(random_state=0).fit(X_train, y_train)\n"
            "tree_pred = tree.predict(X_test)",
            "a = accuracy_score(y_test, tree_pred)\nb = f1_score(y_test, tree_pred)",
            "c = accuracy_score(y_test, y_pred)",
            "final = LogisticRegression(C=2.0).fit(X_train, y_train)\n"
            'new = pd.read_csv("new.csv")\nnew_pred = final.predict(new[["a"]])',
        ),
        [
            "cell 5 line 2: f1_score(y_test, tree_pred) higher",
            "cell 6 line 1: accuracy_score(y_test, y_pred) higher",
        ],
    ),
    # The tree serves new rows: only its measures are kept, though the notebook
    # measured the other model last.
    "the model that serves": (
        (
            "tree = DecisionTreeClassifier(random_state=0).fit(X_train, y_train)\n"
            "tree_pred = tree.predict(X_test)",
            "a = accuracy_score(y_test, tree_pred)",
            "b = accuracy_score(y_test, y_pred)\nc = f1_score(y_test, y_pred)",
            'new = pd.read_csv("new.csv")\nnew_pred = tree.predict(new[["a"]])',
        ),
        ["cell 5 line 1: accuracy_score(y_test, tree_pred) higher"],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_monitored_metrics(case: str) -> None:
    cells, expected = CASES[case]
    assert metrics_of(*POC, *cells) == expected


EXPECTED = {
    "churn_classifier": [
        "cell 16 line 2: accuracy_score(y_test, y_pred) higher",
        "cell 16 line 3: f1_score(y_test, y_pred) higher",
    ],
    # silhouette_score measures the features' clusters: no truth to compare
    "customer_segments_clustering": [],
    # its measures are inside a function (evaluate), or no single number
    "helpers_and_class": [],
    # the forest serves: the ridge's measures are left
    "house_prices_regression": [
        "cell 14 line 2: mean_squared_error(y_test, rf_pred) lower",
        "cell 14 line 3: r2_score(y_test, rf_pred) higher",
    ],
    "parameters_cell": [
        "cell 9 line 6: accuracy_score(y_test, y_pred) higher",
        "cell 9 line 7: precision_score(y_test, y_pred) higher",
        "cell 9 line 8: recall_score(y_test, y_pred) higher",
        "cell 9 line 9: f1_score(y_test, y_pred) higher",
    ],
    # predict serves the logistic regression's predictions (lr_pred), not naive
    # Bayes' (nb_pred)
    "spam_text_classifier": [
        "cell 11 line 7: accuracy_score(y_test, lr_pred) higher",
        "cell 11 line 7: f1_score(y_test, lr_pred) higher",
    ],
    # final_model serves, and the notebook never measures it: the tuned model's
    # measures are kept; the baseline's is of a call, not a name
    "titanic_mlops_poc": [
        "cell 20 line 3: accuracy_score(y_val, val_pred) higher",
        "cell 20 line 3: f1_score(y_val, val_pred) higher",
    ],
    "wine_model_selection": [
        "cell 11 line 3: accuracy_score(y_test, test_pred) higher",
    ],
}


def test_every_example_is_listed() -> None:
    assert sorted(EXPECTED) == [p.stem for p in EXAMPLE_NOTEBOOKS]


@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_monitored_metrics_of_the_examples(notebook: Path) -> None:
    a = analyse(read_notebook(notebook))
    assert [shown(m) for m in monitored_metrics(a.plan, a.facts)] == EXPECTED[
        notebook.stem
    ]


def test_the_templates_get_them_as_dicts() -> None:
    a = analyse(read_notebook(EXAMPLES / "house_prices_regression.ipynb"))
    _, facts = build_files(a, None, FIXED_ENVIRONMENT)
    assert facts.variables()["monitored_metrics"] == [
        {
            "function": "mean_squared_error",
            "truth": "y_test",
            "predicted": "rf_pred",
            "keywords": (),
            "cell": 14,
            "line": 2,
            "source": "mean_squared_error(y_test, rf_pred)",
            "higher_is_better": False,
        },
        {
            "function": "r2_score",
            "truth": "y_test",
            "predicted": "rf_pred",
            "keywords": (),
            "cell": 14,
            "line": 3,
            "source": "r2_score(y_test, rf_pred)",
            "higher_is_better": True,
        },
    ]
