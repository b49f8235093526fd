"""The generated project stands on its own: its data travels with it (or it says
where the data must be), and DVC runs its stages as ``dvc.yaml`` declares them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
import yaml

from tests.helpers.cli import run_nbprod, run_ok
from tests.helpers.notebooks import make_notebook
from tests.helpers.paths import EXAMPLES
from tests.helpers.project import in_own_repository
from tests.helpers.shared import copy_example_converted, example_converted, example_copy

TITANIC = "titanic_mlops_poc"


def _env(project: Path) -> dict[str, str]:
    # ``python -m PKG`` in dvc.yaml: this interpreter, the project importable
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
        "PYTHONPATH": str(project / "src"),
        "MPLBACKEND": "Agg",
    }


def test_titanic_data_travels_with_the_project(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The session's one validated conversion of the example, copied here as it
    # was converted: notebooks/ and the project side by side.
    base, converted = example_converted(tmp_path_factory, EXAMPLES / f"{TITANIC}.ipynb")
    notebooks, out = copy_example_converted(base, tmp_path, "titanic")
    assert converted.returncode == 0, converted.stderr
    assert "2 input files copied into data/" in converted.stdout
    for name in ("passengers_train.csv", "passengers_test.csv"):
        copied = out / "data" / name
        assert copied.read_bytes() == (EXAMPLES / "data" / name).read_bytes()
    # No path in the project points outside it.
    config = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert config["preprocessing"]["passengers_train_path"] == (
        "data/passengers_train.csv"
    )
    paths = [
        v
        for group in config.values()
        if isinstance(group, dict)
        for v in group.values()
    ]
    assert not [p for p in paths if isinstance(p, str) and p.startswith("..")]
    report = json.loads((out / "nbprod-report.json").read_text(encoding="utf-8"))
    assert {d["path"] for d in report["plan"]["data"]} == {
        "data/passengers_train.csv",
        "data/passengers_test.csv",
    }
    assert all(d["copied"] and len(d["sha256"]) == 64 for d in report["plan"]["data"])
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert (
        "| `data/passengers_train.csv` | `preprocessing.passengers_train_path` |"
        in (card)
    )

    # Moved away from the notebook, its repository keeps the copies (that it then
    # runs and passes its tests is every example's end-to-end test).
    alone = in_own_repository(out, tmp_path / "elsewhere" / "titanic")
    tracked = subprocess.run(
        ["git", "ls-files", "data"], cwd=alone, capture_output=True, text=True
    ).stdout.split()
    assert tracked == ["data/passengers_test.csv", "data/passengers_train.csv"]


def test_dvc_repro_runs_the_stages_and_reruns_only_what_a_change_touches(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, out = example_copy(tmp_path_factory, tmp_path, EXAMPLES / f"{TITANIC}.ipynb")
    declared = yaml.safe_load((out / "dvc.yaml").read_text(encoding="utf-8"))
    assert list(declared["stages"]) == ["preprocess", "train", "predict", "evaluate"]
    project = in_own_repository(out, tmp_path / "repo")
    env = _env(project)
    dvc = [sys.executable, "-m", "dvc"]
    run_ok([*dvc, "init", "-q"], project, env)

    first = run_ok([*dvc, "repro"], project, env)
    for stage in declared["stages"]:
        assert f"Running stage '{stage}'" in first
    written = json.loads((project / "metrics.json").read_text(encoding="utf-8"))
    shown = json.loads(run_ok([*dvc, "metrics", "show", "--json"], project, env))
    (workspace,) = shown.values()  # keyed "workspace" or "", by DVC's version
    assert workspace["data"]["metrics.json"]["data"] == written
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
        + ["commit", "-qm", "first run"],
        cwd=project,
        check=True,
    )

    # One training value changed: training and what follows run again, not
    # preprocessing.
    config = project / "config.yaml"
    text = config.read_text(encoding="utf-8")
    key = "random_forest_classifier_n_estimators"
    assert f"  {key}: 200\n" in text
    config.write_text(text.replace(f"  {key}: 200\n", f"  {key}: 20\n"), "utf-8")
    second = run_ok([*dvc, "repro"], project, env)
    assert "Stage 'preprocess' didn't change, skipping" in second
    for stage in ("train", "predict", "evaluate"):
        assert f"Running stage '{stage}'" in second
    diff = json.loads(run_ok([*dvc, "params", "diff", "--json"], project, env))
    changed = diff["config.yaml"][f"training.{key}"]
    assert (changed["old"], changed["new"]) == (200, 20)
    third = run_ok([*dvc, "repro"], project, env)
    assert "Running stage" not in third

    # The training data changed so that it breaks the data contract: preprocess
    # stops before anything is fitted on it, naming the file, row and value.
    train = project / "data" / "passengers_train.csv"
    lines = train.read_text(encoding="utf-8").splitlines(keepends=True)
    assert ",male," in lines[3]
    lines[3] = lines[3].replace(",male,", ",unknown,", 1)
    train.write_text("".join(lines), encoding="utf-8")
    fourth = subprocess.run(
        [*dvc, "repro"], cwd=project, env=env, capture_output=True, text=True
    )
    assert fourth.returncode != 0
    told = fourth.stdout + fourth.stderr
    assert "error: the rows of preprocessing.passengers_train_path = " in told
    assert (
        "row 2, column 'Sex', value 'unknown': not a category seen: 'female', 'male'"
        in told
    )
    assert "Running stage 'train'" not in told


def test_data_over_the_limit_is_referenced_and_a_missing_file_is_one_line(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "nb"
    folder.mkdir()
    rows = "\n".join(f"{i},{i % 7},{i % 2}" for i in range(200))
    (folder / "big.csv").write_text("a,b,y\n" + rows + "\n", encoding="utf-8")
    nb = make_notebook(
        folder / "big.ipynb",
        "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
        'df = pd.read_csv("big.csv")',
        'model = LogisticRegression().fit(df[["a", "b"]], df["y"])',
    )
    out = tmp_path / "project"
    converted = run_nbprod("convert", nb, "-o", out, "--data", "reference")
    assert converted.returncode == 0, converted.stderr
    assert "1 input files referenced, not copied (--data reference)" in (
        converted.stdout
    )
    assert not (out / "data").exists()
    config = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert config["preprocessing"]["big_path"] == "../nb/big.csv"
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "| `../nb/big.csv` | preprocessing.big_path |" in readme

    project = in_own_repository(out, tmp_path / "elsewhere" / "project")
    ran = subprocess.run(
        [sys.executable, "-m", "big", "run"],
        cwd=project,
        env=_env(project),
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 2
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in ran.stderr
    assert lines[0].startswith(
        "error: the preprocess stage reads preprocessing.big_path = "
    )
    assert lines[0].endswith(
        "which does not exist: put the file there (see README.md) "
        "or change preprocessing.big_path in config.yaml"
    )


# The MLflow side, run in the project: the run it logged, as MLflow reads it back.
READ_BACK = """
import json, sys
import joblib, mlflow
from pathlib import Path

(run,) = mlflow.search_runs(experiment_names=["titanic_mlops_poc"], output_format="list")
model = mlflow.sklearn.load_model(sys.argv[1])
rows = joblib.load(Path("artifacts/train/test.joblib"))
print(json.dumps({
    "params": run.data.params,
    "metrics": run.data.metrics,
    "predictions": model.predict(rows).tolist(),
}))
"""


def test_mlflow_tracks_the_config_the_metrics_and_a_loadable_model(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, out = example_copy(tmp_path_factory, tmp_path, EXAMPLES / f"{TITANIC}.ipynb")
    config = out / "config.yaml"
    text = config.read_text(encoding="utf-8")
    assert "  mlflow: false\n" in text
    config.write_text(text.replace("  mlflow: false\n", "  mlflow: true\n"), "utf-8")
    env = _env(out)
    env.pop("MLFLOW_TRACKING_URI", None)  # MLflow's own default store, here

    # Tracking on, MLflow missing: one line saying which extra to install.
    hidden = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy, sys; sys.modules['mlflow'] = None; "
            f"sys.argv = ['{TITANIC}', 'run']; "
            f"runpy.run_module('{TITANIC}', run_name='__main__')",
        ],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
    )
    assert hidden.returncode == 2 and "Traceback" not in hidden.stderr
    assert hidden.stderr.strip().splitlines() == [
        "error: tracking is on (tracking.mlflow in config.yaml, or MLFLOW_TRACKING_URI)"
        ' but MLflow is not installed: pip install -e ".[mlflow]"'
    ]
    assert not (out / "artifacts").exists(), "a stage ran before the check"

    ran = run_ok([sys.executable, "-m", TITANIC, "run"], out, env)
    logged = [line for line in ran.splitlines() if line.startswith("MLflow run ")]
    assert len(logged) == 1, ran
    # "..., model URI; serving path URI": the bare model's URI
    uri = logged[0].split(" model ", 1)[1].split(";", 1)[0]
    back = json.loads(
        run_ok([sys.executable, "-c", READ_BACK, uri], out, env)
        .strip()
        .splitlines()[-1]
    )
    assert back["params"]["training.n_estimators"] == "100"
    assert back["params"]["preprocessing.passengers_train_path"].endswith(
        "data/passengers_train.csv"
    )
    assert back["metrics"] == json.loads((out / "metrics.json").read_text("utf-8"))
    predicted = joblib.load(out / "artifacts" / "predict" / "test_pred.joblib")
    assert back["predictions"] == predicted.tolist()
