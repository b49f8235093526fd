"""Placement (issue 12, item 4): cells under an evaluation heading that only
compute from a fitted model go to evaluation (nbprod/convert/plan/cells.py), and
only when that is safe; the model card's metrics; and a notebook with a metric
and a figure under "## Evaluate" converted, proven and run (kernel)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nbprod.convert.plan.cells import evaluation_heading
from nbprod.plan import Plan
from nbprod.stages import Stage
from nbprod.validate.card import card_facts
from nbprod.validate.compare import Comparison, Verdict
from tests.helpers.build import plan_of
from tests.helpers.cli import kernels_left, run_with_kernels
from tests.helpers.cli import run as run_in
from tests.helpers.notebooks import make_notebook

IMPORTS = """import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split"""

DATA = (
    'df = pd.read_csv("data.csv")\n'
    'X, y = df[["a", "b"]], df["y"]\n'
    "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)"
)
FIT = "model = LogisticRegression()\nmodel.fit(X_train, y_train)"
SCORE = "y_pred = model.predict(X_test)\nacc = accuracy_score(y_test, y_pred)"
IMPORTANCES = "weights = pd.Series(model.coef_[0], index=X.columns).sort_values()"


def placed(plan: Plan) -> dict[int, tuple[Stage | None, str]]:
    return {c.number: (c.stage, c.reason) for c in plan.cells}


def test_a_cell_reading_a_fitted_model_under_evaluate_goes_to_evaluation() -> None:
    plan = plan_of(
        IMPORTS, DATA, "#md ## Train", FIT, "#md ## Evaluate", SCORE, IMPORTANCES
    )
    cells = placed(plan)
    assert cells[7] == (
        Stage.EVALUATION,
        "under heading 'Evaluate' and computes from a fitted model only (model): "
        "evaluation",
    )
    evaluation = plan.stage(Stage.EVALUATION)
    assert evaluation is not None and evaluation.cells == (6, 7)
    assert "weights" in evaluation.outputs
    training = plan.stage(Stage.TRAINING)
    assert training is not None and "weights" not in training.outputs


def test_without_an_evaluation_heading_it_stays_with_what_it_reads() -> None:
    plan = plan_of(IMPORTS, DATA, "#md ## Train", FIT, IMPORTANCES, SCORE)
    stage, reason = placed(plan)[5]
    assert stage == Stage.TRAINING
    assert reason.startswith("depends on cell 4 (training: uses model)")


def test_a_cell_an_earlier_stage_uses_does_not_move() -> None:
    # The weights pick the features of a model fitted afterwards: training needs
    # them, so the cell computing them cannot run after training.
    refit = "chosen = list(weights.index[-1:])\nfinal = LogisticRegression()\nfinal.fit(X_train[chosen], y_train)"
    plan = plan_of(
        IMPORTS, DATA, "#md ## Train", FIT, "#md ## Evaluate", IMPORTANCES, refit
    )
    cells = placed(plan)
    assert cells[6][0] == Stage.TRAINING
    assert cells[7][0] == Stage.TRAINING


def test_a_cell_that_fits_a_model_under_evaluate_stays_in_training() -> None:
    # titanic's final model is fitted under "## Evaluate": it is a training product.
    final = "final = LogisticRegression()\nfinal.fit(X, y)"
    plan = plan_of(IMPORTS, DATA, "#md ## Train", FIT, "#md ## Evaluate", final)
    assert placed(plan)[6] == (
        Stage.TRAINING,
        "calls sklearn.linear_model.LogisticRegression (estimator)",
    )


def test_a_cell_that_changes_the_model_does_not_move() -> None:
    tweak = "model.set_params(C=2.0)\nsize = len(model.coef_)"
    plan = plan_of(IMPORTS, DATA, "#md ## Train", FIT, "#md ## Results", tweak)
    assert placed(plan)[6][0] == Stage.TRAINING


def test_a_cell_inference_uses_does_not_move() -> None:
    # inference runs before evaluation: what it reads must be made before it.
    threshold = "threshold = float(model.intercept_[0])"
    predict = "flags = model.predict(X_test) > threshold"
    plan = plan_of(
        IMPORTS, DATA, "#md ## Train", FIT, "#md ## Evaluate", threshold, predict
    )
    cells = placed(plan)
    assert cells[6][0] == Stage.TRAINING
    assert cells[7][0] == Stage.INFERENCE


def test_a_run_of_evaluation_cells_moves_together() -> None:
    # The second reads what the first makes: moved from the last cell up, both go.
    top = "top = weights.tail(1)\nprint(top.index[0])"
    plan = plan_of(
        IMPORTS,
        DATA,
        "#md ## Train",
        FIT,
        "#md ## Feature importances",
        IMPORTANCES,
        top,
    )
    cells = placed(plan)
    assert cells[6][0] == Stage.EVALUATION
    assert cells[7][0] == Stage.EVALUATION


def test_a_cell_that_reads_no_fitted_model_is_not_evaluation() -> None:
    summary = "shape = X_train.shape"
    plan = plan_of(IMPORTS, DATA, "#md ## Train", FIT, "#md ## Evaluate", summary)
    assert placed(plan)[6][0] == Stage.PREPROCESSING


def test_an_explicit_mark_is_never_moved() -> None:
    marked = "# nbprod: training\n" + IMPORTANCES
    plan = plan_of(IMPORTS, DATA, "#md ## Train", FIT, "#md ## Evaluate", marked)
    assert placed(plan)[6] == (Stage.TRAINING, "explicit: comment '# nbprod: training'")


@pytest.mark.parametrize(
    ("heading", "evaluates"),
    [
        ("Evaluate", True),
        ("Evaluate on the test split", True),
        ("Model evaluation", True),
        ("Metrics", True),
        ("Results", True),
        ("Performance", True),
        ("Feature importances", True),
        ("Permutation importance", True),
        ("Cross-validation scores", True),
        ("Classification report", True),
        ("Score new customers", False),  # a verb: inference
        ("Train", False),
        ("Predict", False),
        ("", False),
    ],
)
def test_evaluation_headings_are_known_by_their_words(
    heading: str, evaluates: bool
) -> None:
    assert evaluation_heading(heading) is evaluates


# The model card's metrics ----------------------------------------------------


def test_the_card_shows_every_equal_number_of_training_and_evaluation() -> None:
    # evaluation's first in the values, training's first in the card: stage order
    plan = plan_of(
        IMPORTS,
        DATA,
        "#md ## Train",
        FIT + "\ntrain_acc = model.score(X_train, y_train)\nbest = {'C': 1.0}",
        "#md ## Evaluate",
        SCORE
        + '\nresults = [{"model": "logreg", "accuracy": acc, "f1": 0.5}]'
        + "\nsummary = {'acc': acc, 'ok': acc > 0.5}",
    )
    values = {
        "acc": 0.75,
        "X_train": pd.DataFrame({"a": [1.0]}),
        "train_acc": 0.9,
        "best": {"C": 1.0},  # training's settings: not a metric
        "results": [{"model": "logreg", "accuracy": 0.75, "f1": 0.5}],
        "summary": {"acc": 0.75, "ok": True},
        "y_pred": np.array([1, 0]),
    }
    comparisons = tuple(
        Comparison(name, Verdict.DIFFERENT if name == "summary" else Verdict.EQUAL)
        for name in values
    )
    card = card_facts(plan, comparisons, values)
    assert [(m["name"], m["value"], m["stage"]) for m in card["metrics"]] == [
        ("train_acc", 0.9, Stage.TRAINING),
        ("acc", 0.75, Stage.EVALUATION),
        ("results.0.accuracy", 0.75, Stage.EVALUATION),
        ("results.0.f1", 0.5, Stage.EVALUATION),
    ]


# Converted, validated and run ------------------------------------------------


@pytest.mark.kernel
def test_an_evaluation_cell_with_a_metric_and_a_figure_end_to_end(
    tmp_path: Path,
) -> None:
    notebook = make_notebook(
        tmp_path / "nb" / "evaluated.ipynb",
        "import matplotlib.pyplot as plt\nimport numpy as np\n"
        "from sklearn.datasets import make_classification\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.metrics import accuracy_score\n"
        "from sklearn.model_selection import train_test_split",
        "#md ## Data",
        "X, y = make_classification(n_samples=200, n_features=4, random_state=0)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)",
        "#md ## Train",
        "model = LogisticRegression().fit(X_train, y_train)",
        "#md ## Evaluate",
        "y_pred = model.predict(X_test)\naccuracy = accuracy_score(y_test, y_pred)\n"
        "print(round(accuracy, 3))",
        "weights = np.abs(model.coef_[0])\nfig, ax = plt.subplots()\n"
        "ax.bar(range(len(weights)), weights)\nax.set_title('weights')\nplt.show()",
    )
    out = tmp_path / "out"
    result = run_with_kernels(tmp_path, "convert", notebook, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert kernels_left(tmp_path) == []
    report = json.loads((out / "nbprod-report.json").read_text(encoding="utf-8"))
    validation = report["validation"]
    assert validation["status"] == "equal"
    (summary,) = [line for line in result.stdout.splitlines() if " compared: " in line]
    compared = summary.split()[0]
    assert summary == f"{compared} values compared: {compared} equal"
    assert all(c["status"] in {"equal", "close"} for c in validation["comparisons"])
    cells = {c["number"]: c for c in report["plan"]["cells"]}
    assert cells[8]["stage"] == Stage.EVALUATION
    assert cells[8]["reason"].startswith("under heading 'Evaluate'")
    stages = {s["stage"]: s for s in report["plan"]["stages"]}
    for stage in stages.values():
        assert not {"fig", "ax"} & set(stage["outputs"]), stage["outputs"]
    assert {"accuracy", "weights"} <= set(stages[Stage.EVALUATION]["outputs"])
    assert report["plan"]["figures"] == [{"name": "weights", "cell": 8, "show": 4}]
    accuracy = next(c for c in validation["comparisons"] if c["name"] == "accuracy")

    # The model card states the metric validation found equal.
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"| `accuracy` | {accuracy['value']} | evaluation |" in card

    # The project runs on its own: metrics.json and the figure, and no figure
    # object among the artifacts.
    package = report["plan"]["package"]
    env = {**os.environ, "PYTHONPATH": str(out / "src"), "MPLBACKEND": "Agg"}
    ran = run_in([sys.executable, "-m", package, "run"], cwd=out, env=env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    assert metrics == {"accuracy": accuracy["value"]}
    figure = out / "reports" / "figures" / "weights.png"
    assert figure.read_bytes().startswith(b"\x89PNG")
    saved = {p.stem for p in (out / "artifacts").glob("*/*.joblib")}
    assert {"accuracy", "weights", "model"} <= saved
    assert not {"fig", "ax"} & saved
    # Alone, from the artifacts, evaluation writes the same metrics again.
    alone = run_in([sys.executable, "-m", package, "evaluate"], cwd=out, env=env)
    assert alone.returncode == 0, alone.stderr[-3000:]
    again = json.loads((out / "metrics.json").read_text("utf-8"))
    assert again == metrics


# Figures in the plan -------------------------------------------------------------

PLOTS = "import matplotlib.pyplot as plt"


def test_figure_objects_are_never_results_and_what_is_drawn_is() -> None:
    plan = plan_of(
        IMPORTS,
        PLOTS,
        DATA,
        "#md ## Train",
        FIT,
        "#md ## Evaluate",
        IMPORTANCES + "\nfig, ax = plt.subplots()\nweights.plot.barh(ax=ax)",
    )
    evaluation = plan.stage(Stage.EVALUATION)
    assert evaluation is not None and evaluation.outputs == ("weights",)
    assert [(f.name, f.cell, f.show) for f in plan.figures] == [("weights", 7, None)]
    assert ("fig", "a figure, saved as an image (cell 7)") in plan.unreturned


def test_binding_a_figure_name_again_orders_no_cells() -> None:
    # Both cells draw on a new ``fig``: the second, a preprocessing cell, is not
    # pulled into training because the first (training) bound the name before.
    plan = plan_of(
        IMPORTS,
        PLOTS,
        DATA,
        FIT + "\nfig, ax = plt.subplots()\nax.plot(model.coef_[0])\nplt.show()",
        "fig, ax = plt.subplots()\nax.plot(df['a'])\nclean = df.dropna()",
    )
    assert placed(plan)[5][0] == Stage.PREPROCESSING
    assert [(f.name, f.show) for f in plan.figures] == [("model", 4), ("df", None)]


def test_a_figure_is_named_after_what_it_draws_and_never_twice_the_same() -> None:
    draw = "{0}_copy = {0}.copy()\n{0}.plot()\nplt.show()\n{0}.hist()"
    plan = plan_of(
        PLOTS, "import pandas as pd", DATA, draw.format("df"), draw.format("df")
    )
    assert [(f.name, f.cell, f.show) for f in plan.figures] == [
        ("df", 4, 2),
        ("df_2", 4, None),
        ("df_3", 5, 2),
        ("df_4", 5, None),
    ]


def test_a_cell_that_only_draws_stays_out_of_the_pipeline() -> None:
    plan = plan_of(PLOTS, "import pandas as pd", DATA, "df.plot()\nplt.show()")
    assert placed(plan)[4] == (
        None,
        "excluded: plot only, nothing later depends on it",
    )
    assert plan.figures == ()
