"""The proof's holes, closed: each test is a small notebook of a kind people write,
built here, converted and validated through the real CLI with a real kernel.

- a model fitted on other features is "different", naming what it learned;
- a scaler fitted outside the model: ``predict`` applies it, is proven on the
  notebook's own rows, and scores new rows as the notebook's own code does;
- a file one cell writes and another reads: project dataflow, not an input beside
  the notebook; the notebook's folder is untouched; the project runs alone;
- a hand-written training loop: its weights are compared, not only the raw data;
- a notebook that computes nothing but reading its data is "not proven";
- what a cell prints is compared: a refit on half the rows is caught;
- durations from the clock never make values "different".
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from tests.helpers.cli import kernels_left, run_with_kernels
from tests.helpers.notebooks import make_notebook
from tests.helpers.project import run_project, saved_artifact
from tests.helpers.shared import ConvertedCopy, converted_copy

pytestmark = [pytest.mark.kernel, pytest.mark.e2e]


def folder_state(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder``: names, and the bytes of files."""
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        )
        for p in sorted(folder.rglob("*"))
    }


def report(project: Path) -> dict:
    return json.loads((project / "nbprod-report.json").read_text(encoding="utf-8"))


def statuses(project: Path) -> dict[str, str]:
    validation = report(project)["validation"]
    return {c["name"]: c["status"] for c in validation["comparisons"]}


def execute_in_place(notebook: Path, extra: str = "") -> nbformat.NotebookNode:
    """Run ``notebook`` as its user does, in its own folder (with ``extra`` code
    appended), with nbclient."""
    from nbclient import NotebookClient

    nb = nbformat.read(str(notebook), as_version=4)
    if extra:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    NotebookClient(nb, resources={"metadata": {"path": str(notebook.parent)}}).execute()
    return nb


SCALER = (
    "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
    "from sklearn.model_selection import train_test_split\n"
    "from sklearn.preprocessing import StandardScaler",
    "df = pd.read_csv('data.csv')\nX = df[['a', 'b', 'c']]\ny = df['y']\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)",
    "scaler = StandardScaler()\nX_train_s = scaler.fit_transform(X_train)\n"
    "X_test_s = scaler.transform(X_test)",
    "model = LogisticRegression().fit(X_train_s, y_train)",
    "y_pred = model.predict(X_test_s)\nprint((y_pred == y_test).mean())",
)


def scaled_rows(seed: int, n: int) -> pd.DataFrame:
    """Columns far from 0 and on different scales: the model given raw rows instead
    of scaled ones predicts about half of them wrong."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) * [1, 10, 5] + [0, 100, -50]
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["y"] = (x[:, 0] + (x[:, 1] - 100) / 10 - (x[:, 2] + 50) / 5 > 0).astype(int)
    return frame


@pytest.fixture()
def scaler(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> ConvertedCopy:
    """SCALER on its rows, as converting it in ``tmp_path`` leaves it, from one
    conversion for the session."""

    def rows(folder: Path) -> None:
        scaled_rows(0, 200).to_csv(folder / "data.csv", index=False)

    return converted_copy(tmp_path_factory, tmp_path, "scaled", *SCALER, data=rows)


def test_a_scaler_outside_the_model_is_saved_applied_and_proven(
    tmp_path: Path, scaler: ConvertedCopy
) -> None:
    nb, out, result, shared = scaler
    assert result.returncode == 0, result.stdout + result.stderr
    assert "predict: proven on 50 rows" in result.stdout
    assert report(out)["validation"]["predict"]["status"] == "equal"
    assert report(out)["plan"]["serving"]["inputs"] == ["model", "scaler"]

    # New rows through the generated CLI, against the notebook's own code (its
    # fitted scaler and model, in its own kernel) on the same rows.
    new = scaled_rows(1, 100).drop(columns="y")
    new.to_csv(tmp_path / "new.csv", index=False)
    assert run_project(out, "run").returncode == 0
    scored = run_project(
        out, "predict", "--input", tmp_path / "new.csv", "--output", tmp_path / "s.csv"
    )
    assert scored.returncode == 0, scored.stderr
    assert "scored 100 rows" in scored.stdout
    run = execute_in_place(
        nb,
        f"import json\nnew = pd.read_csv({str(tmp_path / 'new.csv')!r})\n"
        "print(json.dumps(model.predict(scaler.transform(new)).tolist()))",
    )
    notebook_says = json.loads(run.cells[-1].outputs[0]["text"])
    got = pd.read_csv(tmp_path / "s.csv")["prediction"].tolist()
    assert got == notebook_says
    # What the model alone would say of raw rows differs: the scaler matters here.
    import joblib

    raw = joblib.load(saved_artifact(out / "artifacts", "model")).predict(
        new.to_numpy()
    )
    assert (raw == np.array(notebook_says)).mean() < 0.8
    assert kernels_left(shared) == []


def test_a_predict_that_does_not_reproduce_the_notebook_refuses(
    tmp_path: Path, scaler: ConvertedCopy
) -> None:
    nb, out, result, shared = scaler
    assert result.returncode == 0
    # Someone changes the serving step: validation runs predict on the notebook's
    # rows, sees other predictions, and says so.
    inference = out / "src" / "scaled" / "inference.py"
    code = inference.read_text(encoding="utf-8")
    assert "X_test_s = scaler.transform(X_test)" in code
    inference.write_text(
        code.replace("X_test_s = scaler.transform(X_test)", "X_test_s = X_test"),
        encoding="utf-8",
    )
    again = run_with_kernels(tmp_path, "validate", nb, out)
    assert again.returncode == 1
    assert "predict: not proven:" in again.stdout
    assert report(out)["validation"]["predict"]["status"] == "different"


def test_a_predict_inside_a_loop_is_not_scored_and_says_why(tmp_path: Path) -> None:
    nb = make_notebook(
        tmp_path / "nb" / "loop.ipynb",
        *SCALER[:4],
        "for part in (X_test_s[:10], X_test_s[10:]):\n    print(model.predict(part).sum())",
    )
    scaled_rows(0, 200).to_csv(nb.parent / "data.csv", index=False)
    out = tmp_path / "project"
    result = run_with_kernels(tmp_path, "convert", nb, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "predict: not proven: cell 5, line 1: the prediction is inside a block"
        in result.stdout
    )
    assert run_project(out, "run").returncode == 0
    scaled_rows(1, 5).drop(columns="y").to_csv(tmp_path / "new.csv", index=False)
    refused = run_project(
        out, "predict", "--input", tmp_path / "new.csv", "--output", tmp_path / "s.csv"
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: this pipeline does not score new rows: ")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s.csv").exists()


ROUND_TRIP = (
    "import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import LinearRegression",
    "raw = pd.DataFrame({'x': np.arange(40.0), 'y': np.arange(40.0) * 2 + 1})\n"
    "raw.loc[3, 'y'] = np.nan\n"
    "clean = raw.dropna()\nclean.to_csv('clean.csv', index=False)",
    "train = pd.read_csv('clean.csv')\n"
    "model = LinearRegression().fit(train[['x']], train['y'])",
    "import os\nos.makedirs('outputs', exist_ok=True)\n"
    "pd.Series(model.coef_).to_csv('outputs/coef.csv', index=False)\n"
    "print(round(float(model.coef_[0]), 6))",
)


def test_files_written_and_read_back_are_dataflow_and_the_folder_is_untouched(
    tmp_path: Path,
) -> None:
    nb = make_notebook(tmp_path / "nb" / "files.ipynb", *ROUND_TRIP)
    (nb.parent / "notes.txt").write_text("the user's own file\n", encoding="utf-8")
    before = folder_state(nb.parent)
    first = tmp_path / "first"
    result = run_with_kernels(tmp_path, "convert", nb, "-o", first)
    assert result.returncode == 0, result.stdout + result.stderr
    assert folder_state(nb.parent) == before, "convert changed the notebook's folder"
    for args in (
        ("validate", nb, first),
        ("convert", nb, "-o", first, "--force"),
        ("plan", nb),
        ("lint", nb, "--no-cache"),
    ):
        run_with_kernels(tmp_path, *args)
        assert folder_state(nb.parent) == before, f"{args[0]} changed the folder"

    config = (first / "config.yaml").read_text(encoding="utf-8")
    assert "clean_path: clean.csv" in config and ".." not in config
    # The user runs the notebook (clean.csv, outputs/ appear beside it): the
    # conversion is the same as before.
    execute_in_place(nb)
    assert (nb.parent / "clean.csv").is_file()
    second = tmp_path / "second"
    assert run_with_kernels(tmp_path, "convert", nb, "-o", second).returncode == 0
    assert folder_state(second) == folder_state(first)

    # Moved alone, the project writes and reads its own files.
    alone = tmp_path / "elsewhere" / "deeper" / "project"
    shutil.copytree(first, alone)
    shutil.rmtree(nb.parent)
    ran = run_project(alone, "run", "--config", alone / "config.yaml", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (alone / "clean.csv").is_file()
    assert kernels_left(tmp_path) == []


def test_a_notebook_that_writes_outside_its_folder_is_not_run(
    tmp_path: Path,
) -> None:
    target = tmp_path / "outside.csv"
    nb = make_notebook(
        tmp_path / "nb" / "abs.ipynb",
        "import pandas as pd",
        f"df = pd.DataFrame({{'a': [1, 2]}})\ndf.to_csv({str(target)!r})",
        "total = df['a'].sum()",
    )
    result = run_with_kernels(tmp_path, "convert", nb, "-o", tmp_path / "project")
    assert result.returncode == 1
    assert f"the notebook writes to {target}, outside its folder" in result.stderr
    assert not target.exists()


LOOP = (
    "import numpy as np\nimport pandas as pd",
    "rng = np.random.default_rng(0)\nX = rng.normal(size=(100, 2))\n"
    "y = X @ np.array([2.0, -1.0]) + 0.5\n"
    "pd.DataFrame({'a': X[:, 0], 'b': X[:, 1], 'y': y}).to_csv('data.csv', index=False)",
    "df = pd.read_csv('data.csv')\nX = df[['a', 'b']].to_numpy()\ny = df['y'].to_numpy()",
    "w = np.zeros(2)\nb = 0.0\nlr = 0.1\nfor epoch in range(300):\n"
    "    pred = X @ w + b\n    grad = X.T @ (pred - y) / len(y)\n"
    "    w -= lr * grad\n    b -= lr * (pred - y).mean()",
    "mse = ((X @ w + b - y) ** 2).mean()",
    "mse",
)


def test_a_hand_written_training_loop_is_compared_by_its_weights(
    tmp_path: Path,
) -> None:
    nb = make_notebook(tmp_path / "nb" / "loop.ipynb", *LOOP)
    out = tmp_path / "project"
    result = run_with_kernels(tmp_path, "convert", nb, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    plan = report(out)["plan"]
    assert {c["number"]: c["stage"] for c in plan["cells"]}[4] == "training"
    assert "hand-written fitting" in plan["cells"][3]["reason"]
    got = statuses(out)
    assert got["w"] == got["b"] == got["mse"] == "equal"
    # The weights are what training returns: a changed learning rate is caught.
    training = out / "src" / "loop" / "training.py"
    code = training.read_text(encoding="utf-8")
    assert "w -= lr * grad" in code
    training.write_text(code.replace("w -= lr * grad", "w -= lr * grad / 2"))
    again = run_with_kernels(tmp_path, "validate", nb, out)
    assert again.returncode == 1
    assert statuses(out)["w"] == "different"


def test_reading_data_alone_proves_nothing(tmp_path: Path) -> None:
    nb = make_notebook(
        tmp_path / "nb" / "look.ipynb",
        "import pandas as pd\nimport matplotlib.pyplot as plt",
        "pd.DataFrame({'a': [1.0, 2.0, 3.0]}).to_csv('data.csv', index=False)",
        "df = pd.read_csv('data.csv')",
        "df.plot()\nplt.show()",
        "df.describe()",
    )
    out = tmp_path / "project"
    result = run_with_kernels(tmp_path, "convert", nb, "-o", out)
    assert result.returncode == 1, result.stdout + result.stderr
    assert statuses(out) == {"df": "equal"}
    validation = report(out)["validation"]
    assert validation["status"] == "unproven"
    assert validation["why_unproven"].startswith(
        "only what the notebook read from files was compared (df)"
    )
    assert result.stderr.strip() == (
        "nbprod: validation failed: not proven: " + validation["why_unproven"]
    )


REFIT = (
    "import numpy as np\nfrom sklearn.linear_model import LogisticRegression",
    "rng = np.random.default_rng(3)\nX = rng.normal(size=(200, 4))\n"
    "y = (X[:, 0] - X[:, 2] + rng.normal(scale=0.5, size=200) > 0).astype(int)",
    "model = LogisticRegression(C=0.3)\nmodel.fit(X, y)\n"
    "print('first fit accuracy', model.score(X, y))\nprint('coef', model.coef_.round(4))",
    "model.fit(X[:150], y[:150])\nprint('refit accuracy', round(model.score(X, y), 4))",
)


def test_what_a_cell_prints_is_compared(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "nb" / "refit.ipynb", *REFIT)
    out = tmp_path / "project"
    result = run_with_kernels(tmp_path, "convert", nb, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = {c["name"]: c["status"] for c in report(out)["validation"]["outputs"]}
    assert outputs == {"cell 3 output": "equal", "cell 4 output": "equal"}
    # The first fit, on half the rows: the model is refitted afterwards, so only
    # what cell 3 printed shows it.
    training = out / "src" / "refit" / "training.py"
    code = training.read_text(encoding="utf-8")
    assert code.count("model.fit(X, y)") == 1
    training.write_text(code.replace("model.fit(X, y)", "model.fit(X[:100], y[:100])"))
    again = run_with_kernels(tmp_path, "validate", nb, out)
    assert again.returncode == 1
    outputs = {c["name"]: c for c in report(out)["validation"]["outputs"]}
    assert outputs["cell 3 output"]["status"] == "different"
    assert outputs["cell 3 output"]["detail"].startswith("line 1: ")
    assert statuses(out)["model"] == "equal"


def test_durations_are_never_a_difference(tmp_path: Path) -> None:
    nb = make_notebook(
        tmp_path / "nb" / "timed.ipynb",
        "import time\nimport numpy as np\nfrom sklearn.linear_model import Ridge",
        "rng = np.random.default_rng(0)\nX = rng.normal(size=(300, 5))\n"
        "y = X.sum(axis=1)",
        "t0 = time.time()\nmodel = Ridge(alpha=2.0).fit(X, y)\n"
        "elapsed = time.time() - t0\nsummary = {'r2': model.score(X, y), 'seconds': elapsed}\n"
        "print(f'fitted in {elapsed:.6f}, r2 {summary[\"r2\"]:.4f}')",
    )
    out = tmp_path / "project"
    result = run_with_kernels(tmp_path, "convert", nb, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    got = statuses(out)
    assert got["model"] == "equal"
    assert got["elapsed"] in {"not comparable", "equal"}
    assert got["summary"] in {"not comparable", "equal"}
    assert set(report(out)["plan"]["timings"]) >= {"t0", "elapsed", "summary"}


def test_a_model_fitted_on_other_features_is_different(tmp_path: Path) -> None:
    nb = make_notebook(
        tmp_path / "nb" / "feat.ipynb",
        "import numpy as np\nfrom sklearn.linear_model import LogisticRegression",
        "rng = np.random.default_rng(1)\nX = rng.normal(size=(120, 3))\n"
        "y = (X[:, 0] + X[:, 1] > 0).astype(int)",
        "model = LogisticRegression().fit(X, y)",
    )
    out = tmp_path / "project"
    assert run_with_kernels(tmp_path, "convert", nb, "-o", out).returncode == 0
    training = out / "src" / "feat" / "training.py"
    code = training.read_text(encoding="utf-8")
    assert "LogisticRegression().fit(X, y)" in code
    # Fitted on two of the three columns: no captured input fits both models, and
    # the parameters are the same; what it learned is not.
    training.write_text(code.replace(".fit(X, y)", ".fit(X[:, :2], y)"))
    again = run_with_kernels(tmp_path, "validate", nb, out)
    assert again.returncode == 1
    model = next(
        c for c in report(out)["validation"]["comparisons"] if c["name"] == "model"
    )
    assert model["status"] == "different"
    assert model["how"] == "fitted state"
    assert "n_features_in_: 2 != 3" in model["detail"]
