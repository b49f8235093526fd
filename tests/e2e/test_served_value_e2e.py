"""What the notebook serves, served by ``predict``: each test is a small notebook
of a kind people write (a target decoded, a log target turned back into prices,
a tuned threshold, a blend, sorted or merged rows, a scaler fitted before the
split, polars, parts read with glob), converted through the real CLI with a real
kernel; the generated pipeline is run, and ``predict`` scores NEW rows.

The oracle is never nbprod's report: it is the notebook's own code, run by
nbclient on the same new rows, in a copy of the notebook's folder (with its file
of new rows replaced, or with an appended cell applying the notebook's own
serving statements to them).

The contract (``assert_served_or_refused``): ``predict`` either exits 0 and its
``prediction`` column is what the notebook serves, row for row in the input's
order, with the report's predict check "equal" or "close"; or it exits 2 with one
line on stderr, writes nothing, and convert said "predict: not proven". Exit 0
with another value is the failure these tests exist to catch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from nbprod.validate.proof import read_report
from tests.helpers.cli import kernels_left, run_with_kernels
from tests.helpers.notebooks import make_notebook
from tests.helpers.project import run_project

pytestmark = [pytest.mark.e2e, pytest.mark.kernel]


# ---------------------------------------------------------------------------
# Running things: the CLI, the generated project, the notebook itself.


def execute_copy(
    notebook: Path,
    dest: Path,
    *,
    replace: dict[str, pd.DataFrame] | None = None,
    extra: str = "",
) -> tuple[nbformat.NotebookNode, Path]:
    """Run ``notebook`` as its user does, with nbclient, in a copy of its folder
    at ``dest`` (never in the folder itself): the files named in ``replace``
    overwritten with those rows first, ``extra`` appended as a last cell. The
    executed notebook and the folder it ran in."""
    from nbclient import NotebookClient

    shutil.copytree(notebook.parent, dest)
    for name, rows in (replace or {}).items():
        rows.to_csv(dest / name, index=False)
    nb = nbformat.read(str(dest / notebook.name), as_version=4)
    if extra:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    NotebookClient(
        nb, timeout=300, resources={"metadata": {"path": str(dest)}}
    ).execute()
    return nb, dest


def printed_json(nb: nbformat.NotebookNode) -> object:
    """What the last cell printed, read as JSON."""
    text = "".join(
        o.get("text", "")
        for o in nb.cells[-1].outputs
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )
    return json.loads(text)


def notebook_says(
    notebook: Path, dest: Path, replace: dict[str, pd.DataFrame], expression: str
) -> object:
    """What ``expression`` holds at the end of ``notebook``, run as its user runs
    it (:func:`execute_copy`) with the files of ``replace``, as JSON: the oracle
    a served value is checked against."""
    run, _ = execute_copy(
        notebook,
        dest,
        replace=replace,
        extra=f"import json\nprint(json.dumps({expression}))",
    )
    return printed_json(run)


@dataclass(frozen=True)
class Scored:
    """A notebook converted, its project run, and ``predict`` given new rows."""

    convert: subprocess.CompletedProcess
    project: Path
    predict: subprocess.CompletedProcess
    input: Path
    output: Path

    def predict_line(self) -> str:
        return next(
            (
                line
                for line in self.convert.stdout.splitlines()
                if line.startswith("predict:")
            ),
            "(convert printed no predict line)",
        )


def convert_run_and_score(
    tmp_path: Path, notebook: Path, new_rows: pd.DataFrame
) -> Scored:
    """Convert ``notebook`` through the CLI (validation on), run the pipeline in
    the project folder, then ``predict --input new.csv --output scored.csv``."""
    project = tmp_path / "project"
    converted = run_with_kernels(tmp_path, "convert", notebook, "-o", project)
    assert converted.returncode in (0, 1), converted.stdout + converted.stderr
    assert "Traceback" not in converted.stderr, converted.stderr
    assert kernels_left(tmp_path) == []
    ran = run_project(project, "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    source, target = tmp_path / "new.csv", tmp_path / "scored.csv"
    new_rows.to_csv(source, index=False)
    # New rows drawn afresh may fall outside the ranges the notebook's rows held:
    # scored anyway, as these tests are about the served value (the data contract
    # is tested in test_examples_e2e and test_serve).
    predicted = run_project(
        project, "predict", "--input", source, "--output", target, "--lax"
    )
    return Scored(converted, project, predicted, source, target)


def assert_served_or_refused(
    scored: Scored, oracle: Sequence[object], *, floats: bool
) -> str:
    """The contract: "served" (exit 0, the notebook's values row for row, the
    report's predict check equal or close) or "refused" (exit 2, one line, no
    file, convert said not proven). Anything else fails, above all exit 0 with
    other values."""
    run = scored.predict
    said = f"convert said {scored.predict_line()!r}"
    if run.returncode == 0:
        assert scored.output.is_file(), f"predict exited 0 and wrote no file; {said}"
        given = pd.read_csv(scored.input)
        table = pd.read_csv(scored.output)
        assert "prediction" in table.columns, list(table.columns)
        assert len(table) == len(given) == len(oracle), (
            f"{len(table)} rows scored of {len(given)} given, "
            f"the notebook served {len(oracle)}; {said}"
        )
        # Where scored.csv repeats the input's columns, its rows are the input
        # rows in their order: prediction i belongs to input row i.
        common = [c for c in given.columns if c in table.columns]
        pd.testing.assert_frame_equal(
            table[common], given[common], check_dtype=False, obj="input columns"
        )
        if floats:
            np.testing.assert_allclose(
                pd.to_numeric(table["prediction"]).to_numpy(dtype=float),
                np.asarray(oracle, dtype=float),
                rtol=1e-6,
                err_msg=f"predict exited 0 with other values than the notebook's; {said}",
            )
        else:
            got = pd.read_csv(
                scored.output, dtype={"prediction": str}, keep_default_na=False
            )["prediction"].tolist()
            want = [str(v) for v in oracle]
            wrong = [
                i for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w
            ]
            assert not wrong, (
                f"predict exited 0 with other values than the notebook's on "
                f"{len(wrong)} of {len(want)} rows (first: row {wrong[0]}: "
                f"{got[wrong[0]]!r} != {want[wrong[0]]!r}); {said}"
            )
        check = read_report(scored.project)["validation"].get("predict") or {}
        assert check.get("status") in {"equal", "close"}, (
            f"predict served the notebook's values but the report's predict "
            f"check is {check!r}"
        )
        return "served"
    assert (
        run.returncode == 2
    ), f"predict exited {run.returncode}: {run.stdout}{run.stderr}; {said}"
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert not scored.output.exists(), "a refusing predict wrote its output"
    assert (
        "predict: not proven" in scored.convert.stdout
    ), f"predict refused ({lines[0]}) but {said}"
    return "refused"


def assert_proven(scored: Scored, oracle: Sequence[object], *, floats: bool) -> None:
    """The expected outcome is the served value: a refusal fails, and so does a
    conversion that is not proven."""
    outcome = assert_served_or_refused(scored, oracle, floats=floats)
    assert outcome == "served", (
        f"expected the notebook's served values, predict refused: "
        f"{scored.predict.stderr.strip()}; convert said {scored.predict_line()!r}"
    )
    assert scored.convert.returncode == 0, scored.convert.stdout + scored.convert.stderr


# ---------------------------------------------------------------------------
# 1. A string target encoded with LabelEncoder, decoded where it is served.

TIERS = (
    "import pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\n"
    "from sklearn.metrics import accuracy_score\n"
    "from sklearn.model_selection import train_test_split\n"
    "from sklearn.preprocessing import LabelEncoder",
    "customers = pd.read_csv('customers.csv')\ncustomers.head()",
    "#md ## Prepare the target",
    "features = ['age', 'income', 'visits', 'tenure_months']\n"
    "le = LabelEncoder()\ny = le.fit_transform(customers['tier'])\n"
    "X = customers[features]\n"
    "X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=42)",
    "#md ## Train",
    "clf = RandomForestClassifier(n_estimators=20, random_state=0)\n"
    "clf.fit(X_train, y_train)",
    "print('validation accuracy:', accuracy_score(y_val, clf.predict(X_val)))",
    "#md ## Score the new customers",
    "new = pd.read_csv('new_customers.csv')\ncodes = clf.predict(new[features])\n"
    "tiers = le.inverse_transform(codes)\n"
    "pd.DataFrame({'customer_id': new['customer_id'], 'tier': tiers})"
    ".to_csv('predicted_tiers.csv', index=False)",
)


def customers(seed: int, n: int, *, first_id: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(first_id, first_id + n),
            "age": rng.integers(18, 75, n),
            "income": rng.normal(55_000, 18_000, n).clip(12_000).round(2),
            "visits": rng.poisson(6, n),
            "tenure_months": rng.integers(1, 120, n),
        }
    )
    score = (
        0.00004 * frame["income"]
        + 0.3 * frame["visits"]
        + 0.02 * frame["tenure_months"]
        + rng.normal(0, 0.7, n)
    )
    frame["tier"] = np.where(
        score > 6.0, "gold", np.where(score > 4.5, "silver", "bronze")
    )
    return frame


def test_a_label_encoded_target_is_served_as_its_names(tmp_path: Path) -> None:
    """Serves the tier NAMES ("bronze", "silver", "gold") that
    ``le.inverse_transform`` makes of the forest's codes, written to
    predicted_tiers.csv for the rows of new_customers.csv. Expected: proven."""
    nb = make_notebook(tmp_path / "nb" / "tiers.ipynb", *TIERS)
    customers(0, 300, first_id=1).to_csv(nb.parent / "customers.csv", index=False)
    customers(1, 80, first_id=5001).drop(columns="tier").to_csv(
        nb.parent / "new_customers.csv", index=False
    )
    new = customers(2, 120, first_id=9001).drop(columns="tier")

    scored = convert_run_and_score(tmp_path, nb, new)
    _, ran = execute_copy(nb, tmp_path / "oracle", replace={"new_customers.csv": new})
    served = pd.read_csv(ran / "predicted_tiers.csv")
    assert served["customer_id"].tolist() == new["customer_id"].tolist()
    oracle = served["tier"].tolist()
    assert set(oracle) == {"bronze", "silver", "gold"}
    assert_proven(scored, oracle, floats=False)


# ---------------------------------------------------------------------------
# 2. A model of log prices, served as prices.

PRICES = (
    "import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import Ridge\n"
    "from sklearn.metrics import mean_absolute_error\n"
    "from sklearn.model_selection import train_test_split",
    "df = pd.read_csv('houses.csv')\ndf.describe()",
    "features = ['sqft', 'bedrooms', 'age_years', 'distance_km']\nX = df[features]\n"
    "y = np.log1p(df['price'])\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)",
    "model = Ridge(alpha=1.0)\nmodel.fit(X_train, y_train)",
    "#md ## Evaluate on the original scale",
    "pred = np.expm1(model.predict(X_test))\n"
    "mae = mean_absolute_error(np.expm1(y_test), pred)\nprint(f'MAE: {mae:,.0f}')",
)


def houses(seed: int, n: int, *, price: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "sqft": rng.normal(1800, 500, n).clip(500).round(),
            "bedrooms": rng.integers(1, 6, n),
            "age_years": rng.integers(0, 80, n),
            "distance_km": rng.gamma(2.0, 5.0, n).round(2),
        }
    )
    if price:
        log_price = (
            11.5
            + 0.0005 * frame["sqft"]
            + 0.05 * frame["bedrooms"]
            - 0.004 * frame["age_years"]
            - 0.02 * frame["distance_km"]
            + rng.normal(0, 0.15, n)
        )
        frame["price"] = np.expm1(log_price).round()
    return frame


def test_a_log_target_is_served_on_the_original_scale(tmp_path: Path) -> None:
    """Serves prices, ``np.expm1(model.predict(X_test))`` of a Ridge fitted on
    ``np.log1p(price)``, for held-out rows of a split (new rows: the feature
    columns X_test has). Expected: proven, the values prices, not logs."""
    nb = make_notebook(tmp_path / "nb" / "prices.ipynb", *PRICES)
    houses(0, 300).to_csv(nb.parent / "houses.csv", index=False)
    new = houses(2, 100, price=False)

    scored = convert_run_and_score(tmp_path, nb, new)
    run, _ = execute_copy(
        nb,
        tmp_path / "oracle",
        extra=f"import json\nnew = pd.read_csv({str(scored.input)!r})\n"
        "print(json.dumps(np.expm1(model.predict(new[features])).tolist()))",
    )
    oracle = printed_json(run)
    assert min(oracle) > 10_000  # prices, not their logs
    assert_proven(scored, oracle, floats=True)


# ---------------------------------------------------------------------------
# 3. Predictions clipped to the scale and rounded.

EXAMS = (
    "import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import LinearRegression\n"
    "from sklearn.metrics import r2_score",
    "exams = pd.read_csv('exams.csv')\n"
    "features = ['hours_studied', 'attendance', 'practice_tests']",
    "model = LinearRegression()\nmodel.fit(exams[features], exams['score'])\n"
    "print('train R2:', round(r2_score(exams['score'], model.predict(exams[features])), 3))",
    "#md ## Predict this term's scores",
    "X_new = pd.read_csv('new_scores.csv')\n"
    "predicted = np.clip(model.predict(X_new), 0, 100).round()\npredicted[:10]",
)


def exams(
    seed: int, n: int, *, score: bool = True, spread: float = 1.0
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "hours_studied": rng.uniform(0, 20 * spread, n).round(1),
            "attendance": rng.uniform(100 - 60 * spread, 100, n).round(1),
            "practice_tests": rng.integers(0, 10, n),
        }
    )
    if score:
        raw = (
            -40
            + 3 * frame["hours_studied"]
            + 0.8 * frame["attendance"]
            + 2 * frame["practice_tests"]
            + rng.normal(0, 5, n)
        )
        frame["score"] = raw.clip(0, 100).round()
    return frame


def test_predictions_clipped_and_rounded_are_served_so(tmp_path: Path) -> None:
    """Serves ``np.clip(model.predict(X_new), 0, 100).round()`` for the rows of
    new_scores.csv (features only); the new rows reach past both ends of the
    scale, so the clip matters. Expected: proven."""
    nb = make_notebook(tmp_path / "nb" / "exams.ipynb", *EXAMS)
    exams(0, 300).to_csv(nb.parent / "exams.csv", index=False)
    exams(1, 60, score=False).to_csv(nb.parent / "new_scores.csv", index=False)
    new = exams(2, 150, score=False, spread=1.5)

    scored = convert_run_and_score(tmp_path, nb, new)
    oracle = notebook_says(
        nb, tmp_path / "oracle", {"new_scores.csv": new}, "predicted.tolist()"
    )
    assert 0.0 in oracle and 100.0 in oracle  # clipped at both ends
    assert_proven(scored, oracle, floats=True)


# ---------------------------------------------------------------------------
# 4. A decision threshold tuned on the validation rows.

THRESHOLD = (
    "import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
    "from sklearn.metrics import accuracy_score, f1_score\n"
    "from sklearn.model_selection import train_test_split",
    "train = pd.read_csv('train.csv')\nfeatures = ['usage', 'complaints', 'tenure', 'spend']\n"
    "X = train[features]\ny = train['churned']\nprint(y.mean())",
    "X_train, X_val, y_train, y_val = train_test_split(\n"
    "    X, y, test_size=0.3, random_state=7, stratify=y\n)",
    "model = LogisticRegression(max_iter=1000)\nmodel.fit(X_train, y_train)\n"
    "print(accuracy_score(y_val, model.predict(X_val)))",
    "#md ## Tune the threshold",
    "val_proba = model.predict_proba(X_val)[:, 1]\nthresholds = np.linspace(0.1, 0.9, 81)\n"
    "scores = [f1_score(y_val, (val_proba >= t).astype(int), zero_division=0) for t in thresholds]\n"
    "best_threshold = thresholds[int(np.argmax(scores))]\n"
    "print('best threshold:', round(best_threshold, 2), 'f1:', round(max(scores), 3))",
    "#md ## Submission",
    "test = pd.read_csv('test.csv')\nX_test = test[features]\n"
    "test_pred = (model.predict_proba(X_test)[:, 1] >= best_threshold).astype(int)\n"
    "submission = pd.DataFrame({'id': test['id'], 'churned': test_pred})\n"
    "submission.to_csv('submission.csv', index=False)",
)


def churn(seed: int, n: int, *, label: bool = True, first_id: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": np.arange(first_id, first_id + n),
            "usage": rng.normal(50, 15, n).round(1),
            "complaints": rng.poisson(1.0, n),
            "tenure": rng.integers(1, 73, n),
            "spend": rng.normal(70, 20, n).round(2),
        }
    )
    if label:
        logit = (
            -3.3
            + 0.9 * frame["complaints"]
            - 0.04 * (frame["tenure"] - 36)
            - 0.03 * (frame["usage"] - 50)
        )
        frame["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def churn_notebook(
    tmp_path: Path, cells: Sequence[str], *, test_rows: bool = True
) -> tuple[Path, pd.DataFrame]:
    """A notebook of ``cells`` beside its train.csv (and test.csv) of customers,
    and the new rows predict is given."""
    nb = make_notebook(tmp_path / "nb" / "churn.ipynb", *cells)
    churn(0, 600).to_csv(nb.parent / "train.csv", index=False)
    if test_rows:
        churn(1, 200, label=False, first_id=10_001).to_csv(
            nb.parent / "test.csv", index=False
        )
    return nb, churn(2, 300, label=False, first_id=20_001)


def test_a_tuned_threshold_is_the_served_decision(tmp_path: Path) -> None:
    """Serves ``(model.predict_proba(X_test)[:, 1] >= best_threshold)
    .astype(int)`` for the rows of test.csv, the threshold chosen for f1 on the
    validation rows (classes imbalanced: it is far from 0.5, and
    ``model.predict``, also called in the notebook, says otherwise on many rows).
    Expected: proven."""
    nb, new = churn_notebook(tmp_path, THRESHOLD)
    scored = convert_run_and_score(tmp_path, nb, new)
    run, ran = execute_copy(
        nb,
        tmp_path / "oracle",
        replace={"test.csv": new},
        extra="import json\nprint(json.dumps({'served': test_pred.tolist(), "
        "'plain': model.predict(X_test).tolist(), 'threshold': float(best_threshold)}))",
    )
    said = printed_json(run)
    assert isinstance(said, dict)
    oracle = said["served"]
    assert pd.read_csv(ran / "submission.csv")["churned"].tolist() == oracle
    assert abs(said["threshold"] - 0.5) >= 0.2, said["threshold"]
    differ = sum(a != b for a, b in zip(oracle, said["plain"], strict=True))
    assert differ >= 40, f"model.predict differs on {differ} rows only"
    assert_proven(scored, oracle, floats=False)


# ---------------------------------------------------------------------------
# 4b. The course's own functions: train() fits a DictVectorizer and a model,
# predict() applies both; the decision is a threshold over its probabilities.

HELPERS = (
    "import pandas as pd\nfrom sklearn.feature_extraction import DictVectorizer\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.metrics import roc_auc_score\n"
    "from sklearn.model_selection import train_test_split",
    "df = pd.read_csv('train.csv')\nfeatures = ['usage', 'complaints', 'tenure', 'spend']\n"
    "df_train, df_val = train_test_split(df, test_size=0.25, random_state=1)",
    "def train(df, y, C=1.0):\n    dicts = df[features].to_dict(orient='records')\n"
    "    dv = DictVectorizer(sparse=False)\n    X = dv.fit_transform(dicts)\n"
    "    model = LogisticRegression(C=C, max_iter=1000)\n    model.fit(X, y)\n"
    "    return dv, model",
    "def predict(df, dv, model):\n    dicts = df[features].to_dict(orient='records')\n"
    "    X = dv.transform(dicts)\n    y_pred = model.predict_proba(X)[:, 1]\n"
    "    return y_pred",
    "dv, model = train(df_train, df_train.churned.values, C=0.5)\n"
    "val_pred = predict(df_val, dv, model)\n"
    "print(round(roc_auc_score(df_val.churned.values, val_pred), 3))",
    "test = pd.read_csv('test.csv')\ntest_pred = predict(test, dv, model)\n"
    "decision = (test_pred >= 0.3).astype(int)\n"
    "pd.DataFrame({'id': test['id'], 'churned': decision}).to_csv('submission.csv', index=False)",
)


def test_the_courses_train_and_predict_functions_are_the_serving_path(
    tmp_path: Path,
) -> None:
    """The notebook's own ``predict(test, dv, model)`` (a function that applies
    the fitted DictVectorizer and returns probabilities) is followed to the
    thresholded decision; the cell calling ``train()`` makes a training stage.
    Expected: proven."""
    nb, new = churn_notebook(tmp_path, HELPERS)
    scored = convert_run_and_score(tmp_path, nb, new)
    report = read_report(scored.project)
    stages = {c["number"]: c["stage"] for c in report["plan"]["cells"]}
    assert stages[5] == "training", stages
    oracle = notebook_says(
        nb, tmp_path / "oracle", {"test.csv": new}, "decision.tolist()"
    )
    assert isinstance(oracle, list) and 0 < sum(oracle) < len(oracle)
    assert_proven(scored, oracle, floats=False)


# ---------------------------------------------------------------------------
# 5. Two models blended.

BLEND = (
    "import pandas as pd\nfrom sklearn.ensemble import RandomForestRegressor\n"
    "from sklearn.linear_model import Ridge\nfrom sklearn.metrics import mean_squared_error\n"
    "from sklearn.model_selection import train_test_split",
    "train = pd.read_csv('train.csv')\nfeatures = ['temp', 'humidity', 'wind', 'hour']\n"
    "X_tr, X_va, y_tr, y_va = train_test_split(\n"
    "    train[features], train['demand'], test_size=0.2, random_state=1\n)",
    "#md ## Two models",
    "forest = RandomForestRegressor(n_estimators=20, random_state=0)\nforest.fit(X_tr, y_tr)\n"
    "ridge = Ridge(alpha=1.0)\nridge.fit(X_tr, y_tr)",
    "val_blend = 0.6 * forest.predict(X_va) + 0.4 * ridge.predict(X_va)\n"
    "print('blend RMSE:', round(mean_squared_error(y_va, val_blend) ** 0.5, 3))",
    "#md ## Predict the test period",
    "test = pd.read_csv('test.csv')\nX_test = test[features]\n"
    "blend = 0.6 * forest.predict(X_test) + 0.4 * ridge.predict(X_test)\n"
    "pd.DataFrame({'id': test['id'], 'demand': blend}).to_csv('submission.csv', index=False)",
)


def demand(seed: int, n: int, *, label: bool = True, first_id: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": np.arange(first_id, first_id + n),
            "temp": rng.uniform(-5, 35, n).round(1),
            "humidity": rng.uniform(20, 100, n).round(1),
            "wind": rng.gamma(2.0, 4.0, n).round(1),
            "hour": rng.integers(0, 24, n),
        }
    )
    if label:
        frame["demand"] = (
            200
            + 8 * frame["temp"]
            - 1.5 * frame["humidity"]
            - 3 * frame["wind"]
            + 60 * np.sin(frame["hour"] / 24 * 2 * np.pi)
            + rng.normal(0, 20, n)
        ).round(1)
    return frame


# 5b. A linear regression written by hand: the normal equation, the weights
# applied as ``w0 + X.dot(w)``, the log target turned back with ``np.expm1``.

BY_HAND = (
    "import numpy as np\nimport pandas as pd",
    "train = pd.read_csv('train.csv')\nfeatures = ['temp', 'humidity', 'wind', 'hour']\n"
    "y_train = np.log1p(train['demand'].values)",
    "def train_linear_regression(X, y):\n    ones = np.ones(X.shape[0])\n"
    "    X = np.column_stack([ones, X])\n    XTX = X.T.dot(X)\n"
    "    w_full = np.linalg.inv(XTX).dot(X.T).dot(y)\n    return w_full[0], w_full[1:]",
    "def prepare_X(df):\n    return df[features].fillna(0).values",
    "w0, w = train_linear_regression(prepare_X(train), y_train)\nprint(round(w0, 3))",
    "test = pd.read_csv('test.csv')\ny_pred = w0 + prepare_X(test).dot(w)\n"
    "demand = np.expm1(y_pred)\n"
    "pd.DataFrame({'id': test['id'], 'demand': demand}).to_csv('submission.csv', index=False)",
)


def test_weights_solved_by_hand_are_served_as_the_notebook_applies_them(
    tmp_path: Path,
) -> None:
    """``w0, w = train_linear_regression(...)`` (``np.linalg.inv``) is the
    training stage and its fitted state; ``np.expm1(w0 + prepare_X(test).dot(w))``
    is what predict serves. Expected: proven."""
    nb = make_notebook(tmp_path / "nb" / "demand.ipynb", *BY_HAND)
    demand(0, 400).to_csv(nb.parent / "train.csv", index=False)
    demand(1, 100, label=False, first_id=10_001).to_csv(
        nb.parent / "test.csv", index=False
    )
    new = demand(2, 150, label=False, first_id=20_001)
    scored = convert_run_and_score(tmp_path, nb, new)
    report = read_report(scored.project)
    assert [s["stage"] for s in report["plan"]["stages"]][:2] == [
        "preprocessing",
        "training",
    ]
    assert_proven(
        scored,
        notebook_says(nb, tmp_path / "oracle", {"test.csv": new}, "demand.tolist()"),
        floats=True,
    )


# 5c. xgboost's native API: rows in a DMatrix (with their labels), a booster
# from xgb.train, its predictions on the validation DMatrix.

NATIVE_XGB = (
    "import pandas as pd\nimport xgboost as xgb\nfrom sklearn.metrics import roc_auc_score\n"
    "from sklearn.model_selection import train_test_split",
    "df = pd.read_csv('train.csv')\nfeatures = ['usage', 'complaints', 'tenure', 'spend']\n"
    "df_train, df_val = train_test_split(df, test_size=0.25, random_state=1)",
    "dtrain = xgb.DMatrix(df_train[features], label=df_train.churned, feature_names=features)\n"
    "dval = xgb.DMatrix(df_val[features], label=df_val.churned, feature_names=features)",
    "xgb_params = {'eta': 0.3, 'max_depth': 3, 'objective': 'binary:logistic',\n"
    "              'nthread': 1, 'seed': 1}\n"
    "model = xgb.train(xgb_params, dtrain, num_boost_round=20)",
    "#md ## Evaluate",
    "y_pred = model.predict(dval)\nprint(round(roc_auc_score(df_val.churned, y_pred), 3))",
)


def test_an_xgboost_booster_is_trained_and_served_from_its_dmatrix(
    tmp_path: Path,
) -> None:
    """A DMatrix cannot be pickled: the cell that predicts on one joins the
    stage that makes it, so every stage runs on its own; ``predict`` builds the
    DMatrix of the new rows without their labels (they have none). Expected:
    proven, and the booster's probabilities served."""
    pytest.importorskip("xgboost")
    nb, new = churn_notebook(tmp_path, NATIVE_XGB, test_rows=False)
    scored = convert_run_and_score(tmp_path, nb, new)
    report = read_report(scored.project)
    assert [s["stage"] for s in report["plan"]["stages"]] == [
        "preprocessing",
        "training",
    ]
    for stage in ("preprocess", "train"):
        alone = run_project(scored.project, stage)
        assert alone.returncode == 0, alone.stdout + alone.stderr
    run, _ = execute_copy(
        nb,
        tmp_path / "oracle",
        extra=f"import json\nnew = pd.read_csv({str(tmp_path / 'new.csv')!r})\n"
        "print(json.dumps(model.predict(xgb.DMatrix(new[features], "
        "feature_names=features)).tolist()))",
    )
    assert_proven(scored, printed_json(run), floats=True)


def test_a_blend_of_two_models_is_served_with_its_weights(tmp_path: Path) -> None:
    """Serves ``0.6 * forest.predict(X_test) + 0.4 * ridge.predict(X_test)`` for
    the rows of test.csv: both fitted models and the weights are on the serving
    path. Expected: proven."""
    nb = make_notebook(tmp_path / "nb" / "blend.ipynb", *BLEND)
    demand(0, 400).to_csv(nb.parent / "train.csv", index=False)
    demand(1, 100, label=False, first_id=1001).to_csv(
        nb.parent / "test.csv", index=False
    )
    new = demand(2, 120, label=False, first_id=5001)

    scored = convert_run_and_score(tmp_path, nb, new)
    said = notebook_says(
        nb,
        tmp_path / "oracle",
        {"test.csv": new},
        "{'blend': blend.tolist(), "
        "'forest': forest.predict(X_test).tolist(), "
        "'ridge': ridge.predict(X_test).tolist()}",
    )
    assert isinstance(said, dict)
    oracle = said["blend"]
    # Either model alone is far from the blend: serving one of them is caught.
    for alone in (said["forest"], said["ridge"]):
        assert not np.allclose(alone, oracle, rtol=1e-3)
    assert_proven(scored, oracle, floats=True)


# ---------------------------------------------------------------------------
# 6 and 7. New rows sorted before they are scored.


def sales(
    seed: int, days: range, n: int, *, label: bool, first_id: int
) -> pd.DataFrame:
    """``n`` distinct (store, day) rows in random order, a price per row."""
    rng = np.random.default_rng(seed)
    pairs = [(s, d) for s in range(1, 11) for d in days]
    chosen = rng.choice(len(pairs), size=n, replace=False)
    frame = pd.DataFrame(
        {
            "id": np.arange(first_id, first_id + n),
            "store": [pairs[i][0] for i in chosen],
            "day": [pairs[i][1] for i in chosen],
            "promo": (rng.random(n) < 0.3).astype(int),
            "price": rng.uniform(2.0, 9.0, n).round(2),
        }
    )
    if label:
        weekend = (frame["day"] % 7 >= 5).astype(int)
        frame["sales"] = (
            100
            + 10 * frame["store"]
            + 30 * frame["promo"]
            + 25 * weekend
            + 0.5 * frame["day"]
            - 6 * frame["price"]
            + rng.normal(0, 8, n)
        ).round(1)
    return frame


SORTED_RESET = (
    "import pandas as pd\nfrom sklearn.ensemble import RandomForestRegressor\n"
    "from sklearn.metrics import mean_absolute_error",
    "sales = pd.read_csv('sales.csv')\n"
    "sales = sales.sort_values(['store', 'day']).reset_index(drop=True)\n"
    "sales['weekend'] = (sales['day'] % 7 >= 5).astype(int)\n"
    "features = ['store', 'day', 'promo', 'price', 'weekend']",
    "model = RandomForestRegressor(n_estimators=20, random_state=0)\n"
    "model.fit(sales[features], sales['sales'])\n"
    "print('train MAE:', round(mean_absolute_error(sales['sales'], model.predict(sales[features])), 3))",
    "#md ## Forecast",
    "test = pd.read_csv('test.csv')\n"
    "test = test.sort_values(['store', 'day']).reset_index(drop=True)\n"
    "test['weekend'] = (test['day'] % 7 >= 5).astype(int)\n"
    "preds = model.predict(test[features])",
)


SORTED_KEPT = (
    "import pandas as pd\nfrom sklearn.ensemble import RandomForestRegressor\n"
    "from sklearn.metrics import mean_absolute_error",
    "sales = pd.read_csv('sales.csv')\nsales = sales.sort_values('day')\n"
    "sales['weekend'] = (sales['day'] % 7 >= 5).astype(int)\n"
    "features = ['store', 'day', 'promo', 'price', 'weekend']",
    "model = RandomForestRegressor(n_estimators=20, random_state=0)\n"
    "model.fit(sales[features], sales['sales'])\n"
    "print('train MAE:', round(mean_absolute_error(sales['sales'], model.predict(sales[features])), 3))",
    "#md ## Forecast",
    "test = pd.read_csv('test.csv')\ntest = test.sort_values('day')\n"
    "test['weekend'] = (test['day'] % 7 >= 5).astype(int)\n"
    "preds = model.predict(test[features])",
)


@pytest.mark.parametrize("cells", [SORTED_RESET, SORTED_KEPT], ids=["reset", "kept"])
def test_rows_sorted_are_refused_or_matched_to_their_input(
    tmp_path: Path, cells: tuple[str, ...]
) -> None:
    """Serves ``model.predict(test[features])`` after the new rows are sorted,
    with ``reset_index(drop=True)`` (the input order is lost) or with the index
    kept: the notebook's predictions are in sorted order. Expected: each
    prediction beside its own input row (the oracle keys the notebook's
    predictions by the rows' id), or refused with one line (today: refused, as
    every reordering step is); never the sorted order pasted beside the rows as
    given."""
    nb = make_notebook(tmp_path / "nb" / "forecast.ipynb", *cells)
    sales(0, range(1, 41), 300, label=True, first_id=1).to_csv(
        nb.parent / "sales.csv", index=False
    )
    sales(1, range(41, 61), 150, label=False, first_id=1001).to_csv(
        nb.parent / "test.csv", index=False
    )
    new = sales(2, range(41, 61), 160, label=False, first_id=5001)

    scored = convert_run_and_score(tmp_path, nb, new)
    said = notebook_says(
        nb,
        tmp_path / "oracle",
        {"test.csv": new},
        "[test['id'].tolist(), preds.tolist()]",
    )
    assert isinstance(said, list)
    ids, preds = said
    by_id = dict(zip(ids, preds, strict=True))
    oracle = [by_id[i] for i in new["id"].tolist()]
    # The sort moves rows, and the predictions tell rows apart: serving them in
    # the notebook's order beside the input rows is caught.
    assert ids != new["id"].tolist()
    assert not np.allclose(preds, oracle)
    assert len(set(oracle)) > 0.9 * len(oracle)
    assert_served_or_refused(scored, oracle, floats=True)


# ---------------------------------------------------------------------------
# 8. A lookup table merged into the new rows.

MERGED = (
    "import pandas as pd\nfrom sklearn.ensemble import RandomForestRegressor",
    "train = pd.read_csv('train.csv')\ntest = pd.read_csv('test.csv')\n"
    "stores = pd.read_csv('stores.csv')\nprint(train.shape, test.shape, stores.shape)",
    "#md ## Add the store details",
    "train = train.merge(stores, on='store', how='left')\n"
    "test = test.merge(stores, on='store', how='left')\n"
    "features = ['promo', 'day', 'size', 'competition_km']",
    "model = RandomForestRegressor(n_estimators=20, random_state=0)\n"
    "model.fit(train[features], train['sales'])\n"
    "print('R2 on train:', round(model.score(train[features], train['sales']), 3))",
    "#md ## Submission",
    "preds = model.predict(test[features])\n"
    "pd.DataFrame({'id': test['id'], 'sales': preds}).to_csv('submission.csv', index=False)",
)


def stores() -> pd.DataFrame:
    rng = np.random.default_rng(100)
    return pd.DataFrame(
        {
            "store": np.arange(1, 11),
            "size": rng.integers(500, 3000, 10),
            "competition_km": rng.uniform(0.2, 15.0, 10).round(2),
        }
    )


def visits(seed: int, n: int, *, label: bool, first_id: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": np.arange(first_id, first_id + n),
            "store": rng.integers(1, 11, n),
            "day": rng.integers(1, 91, n),
            "promo": (rng.random(n) < 0.3).astype(int),
        }
    )
    if label:
        shop = frame.merge(stores(), on="store", how="left")
        frame["sales"] = (
            50
            + 0.05 * shop["size"]
            - 5 * shop["competition_km"]
            + 30 * frame["promo"]
            + 0.2 * frame["day"]
            + rng.normal(0, 10, n)
        ).round(1)
    return frame


def test_a_merged_lookup_table_is_saved_state_not_the_input(tmp_path: Path) -> None:
    """Serves ``model.predict(test[features])`` for the rows of test.csv (250),
    after merging stores.csv (10 rows, read after test.csv) into them: proven on
    the 250 rows, and a NEW 40-row test table gets 40 predictions, the store
    table being saved state, not the input. Expected: proven."""
    nb = make_notebook(tmp_path / "nb" / "stores.ipynb", *MERGED)
    visits(0, 400, label=True, first_id=1).to_csv(nb.parent / "train.csv", index=False)
    visits(1, 250, label=False, first_id=1001).to_csv(
        nb.parent / "test.csv", index=False
    )
    stores().to_csv(nb.parent / "stores.csv", index=False)
    new = visits(2, 40, label=False, first_id=5001)

    scored = convert_run_and_score(tmp_path, nb, new)
    oracle = notebook_says(nb, tmp_path / "oracle", {"test.csv": new}, "preds.tolist()")
    assert isinstance(oracle, list) and len(oracle) == 40
    assert_proven(scored, oracle, floats=True)
    assert "predict: proven on 250 rows" in scored.convert.stdout


# ---------------------------------------------------------------------------
# 9. A scaler fitted on all rows, before the split.

SCALED_FIRST = (
    "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
    "from sklearn.metrics import classification_report\n"
    "from sklearn.model_selection import train_test_split\n"
    "from sklearn.preprocessing import StandardScaler",
    "df = pd.read_csv('patients.csv')\n"
    "features = ['age', 'cholesterol', 'blood_pressure', 'heart_rate']",
    "scaler = StandardScaler()\nX = scaler.fit_transform(df[features])\ny = df['disease']",
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)\n"
    "model = LogisticRegression()\nmodel.fit(X_train, y_train)",
    "y_pred = model.predict(X_test)\nprint(classification_report(y_test, y_pred))",
)


def patients(seed: int, n: int, *, label: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    means = np.array([55.0, 210.0, 130.0, 75.0])
    scales = np.array([12.0, 40.0, 18.0, 12.0])
    z = rng.normal(size=(n, 4))
    frame = pd.DataFrame(
        (z * scales + means).round(1),
        columns=["age", "cholesterol", "blood_pressure", "heart_rate"],
    )
    if label:
        score = z @ np.array([0.9, 0.6, 0.8, -0.5]) + rng.normal(0, 0.5, n)
        frame["disease"] = (score > 0).astype(int)
    return frame


def test_a_scaler_fitted_before_the_split_is_applied_to_raw_rows(
    tmp_path: Path,
) -> None:
    """Serves ``model.predict(X_test)``, X_test being rows of
    ``scaler.fit_transform(df[features])`` (scaled before the split); new rows
    come raw (df's feature columns, means in the hundreds), so the notebook's own
    scoring of them is ``model.predict(scaler.transform(new[features]))``.
    Expected: proven on the 75 held-out rows, the saved scaler applied to raw
    rows; never exit 0 scoring unscaled rows."""
    nb = make_notebook(tmp_path / "nb" / "patients.ipynb", *SCALED_FIRST)
    patients(0, 300).to_csv(nb.parent / "patients.csv", index=False)
    new = patients(2, 120, label=False)

    scored = convert_run_and_score(tmp_path, nb, new)
    run, _ = execute_copy(
        nb,
        tmp_path / "oracle",
        extra=f"import json\nnew = pd.read_csv({str(scored.input)!r})\n"
        "print(json.dumps({'served': model.predict(scaler.transform(new[features])).tolist(), "
        "'raw': model.predict(new[features].to_numpy()).tolist()}))",
    )
    said = printed_json(run)
    assert isinstance(said, dict)
    oracle = said["served"]
    # Unscaled rows are scored wrongly: an exit 0 that skips the scaler is caught.
    agree = np.mean(np.array(said["raw"]) == np.array(oracle))
    assert agree < 0.8, agree
    assert_proven(scored, oracle, floats=False)
    assert "predict: proven on 75 rows" in scored.convert.stdout


# ---------------------------------------------------------------------------
# 10. Read with polars.

POLARS = (
    "import polars as pl\nfrom sklearn.ensemble import RandomForestClassifier\n"
    "from sklearn.metrics import accuracy_score\n"
    "from sklearn.model_selection import train_test_split",
    "df = pl.read_csv('data.csv')\nprint(df.shape)\ndf.head()",
    "data = df.to_pandas()\nfeatures = ['x1', 'x2', 'x3']\n"
    "X_train, X_test, y_train, y_test = train_test_split(\n"
    "    data[features], data['label'], test_size=0.2, random_state=0\n)",
    "model = RandomForestClassifier(n_estimators=20, random_state=0)\n"
    "model.fit(X_train, y_train)\n"
    "print('accuracy:', accuracy_score(y_test, model.predict(X_test)))",
    "#md ## New rows",
    "new = pl.read_csv('new.csv').to_pandas()\nnew_pred = model.predict(new[features])",
)


def points(seed: int, n: int, *, label: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)).round(4), columns=["x1", "x2", "x3"])
    if label:
        signal = frame["x1"] + 0.5 * frame["x2"] - frame["x3"] + rng.normal(0, 0.4, n)
        frame["label"] = (signal > 0).astype(int)
    return frame


def test_a_notebook_reading_with_polars_is_served_or_refused(tmp_path: Path) -> None:
    """Reads its data and its new rows with polars (``pl.read_csv(...)
    .to_pandas()``) and serves ``model.predict(new[features])`` of a forest.
    Expected: proven, or refused with one line."""
    nb = make_notebook(tmp_path / "nb" / "polars_poc.ipynb", *POLARS)
    points(0, 300).to_csv(nb.parent / "data.csv", index=False)
    points(1, 60, label=False).to_csv(nb.parent / "new.csv", index=False)
    new = points(2, 100, label=False)

    scored = convert_run_and_score(tmp_path, nb, new)
    oracle = notebook_says(
        nb, tmp_path / "oracle", {"new.csv": new}, "new_pred.tolist()"
    )
    assert isinstance(oracle, list) and len(oracle) == len(new)
    assert_served_or_refused(scored, oracle, floats=False)


# ---------------------------------------------------------------------------
# 11. Data read from parts found with glob.

PARTS = (
    "import glob\n\nimport pandas as pd\nfrom sklearn.linear_model import LinearRegression",
    "files = sorted(glob.glob('data/parts/*.csv'))\n"
    "df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)\n"
    "print(len(files), df.shape)",
    "model = LinearRegression()\nmodel.fit(df[['a', 'b']], df['y'])\n"
    "print('R2:', round(model.score(df[['a', 'b']], df['y']), 4))",
)


def test_parts_read_with_glob_travel_with_the_project(tmp_path: Path) -> None:
    """Reads ``glob.glob('data/parts/*.csv')`` and concatenates the parts.
    Expected: convert exits 0 or 1 (never a traceback), and the project's ``run``
    succeeds from the project folder with the notebook's folder gone: the parts
    are inside the project."""
    nb = make_notebook(tmp_path / "nb" / "parts.ipynb", *PARTS)
    parts = nb.parent / "data" / "parts"
    parts.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for month in ("2024-01", "2024-02", "2024-03"):
        a, b = rng.normal(size=(2, 100))
        frame = pd.DataFrame(
            {"a": a, "b": b, "y": 3 * a - 2 * b + rng.normal(0, 0.1, 100)}
        )
        frame.to_csv(parts / f"sales_{month}.csv", index=False)

    project = tmp_path / "project"
    converted = run_with_kernels(tmp_path, "convert", nb, "-o", project)
    assert converted.returncode in (0, 1), converted.stdout + converted.stderr
    assert "Traceback" not in converted.stdout + converted.stderr, converted.stderr
    assert kernels_left(tmp_path) == []
    # The user's folder moves away: the project runs from what it holds.
    shutil.move(str(nb.parent), str(tmp_path / "moved_away"))
    ran = run_project(project, "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
