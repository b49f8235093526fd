"""The generated project stands on its own: its data travels with it (or it says
where the data must be), and DVC runs its stages as ``dvc.yaml`` declares them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from helpers import EXAMPLES, copy_examples, make_notebook, run_nbprod

TITANIC = "titanic_mlops_poc"


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout + done.stderr


def _alone(project: Path, where: Path) -> Path:
    """The project moved into a folder of its own, as its own git repository."""
    shutil.copytree(project, where)
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "generated"]):
        subprocess.run([*git, *args], cwd=where, check=True)
    return where


def _env(project: Path) -> dict[str, str]:
    # ``python -m PKG`` in dvc.yaml: this interpreter, the project importable
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
        "PYTHONPATH": str(project / "src"),
        "MPLBACKEND": "Agg",
    }


def test_titanic_data_travels_with_the_project(tmp_path: Path) -> None:
    notebooks = copy_examples(tmp_path)
    out = tmp_path / "titanic"
    converted = run_nbprod("convert", notebooks / f"{TITANIC}.ipynb", "-o", out)
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

    # Moved away from the notebook, its repository keeping the copies, it runs and
    # passes its own tests.
    alone = _alone(out, tmp_path / "elsewhere" / "titanic")
    tracked = subprocess.run(
        ["git", "ls-files", "data"], cwd=alone, capture_output=True, text=True
    ).stdout.split()
    assert tracked == ["data/passengers_test.csv", "data/passengers_train.csv"]
    shutil.rmtree(notebooks)
    env = _env(alone)
    _run([sys.executable, "-m", TITANIC, "run"], alone, env)
    metrics = json.loads((alone / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["results.1.accuracy"] > 0.5
    _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], alone, env)


def test_dvc_repro_runs_the_stages_and_reruns_only_what_a_change_touches(
    tmp_path: Path,
) -> None:
    notebooks = copy_examples(tmp_path)
    out = tmp_path / "titanic"
    converted = run_nbprod(
        "convert", notebooks / f"{TITANIC}.ipynb", "-o", out, "--no-validate"
    )
    assert converted.returncode == 0, converted.stderr
    declared = yaml.safe_load((out / "dvc.yaml").read_text(encoding="utf-8"))
    assert list(declared["stages"]) == ["preprocess", "train", "predict", "evaluate"]
    project = _alone(out, tmp_path / "repo")
    env = _env(project)
    dvc = [sys.executable, "-m", "dvc"]
    _run([*dvc, "init", "-q"], project, env)

    first = _run([*dvc, "repro"], project, env)
    for stage in declared["stages"]:
        assert f"Running stage '{stage}'" in first
    written = json.loads((project / "metrics.json").read_text(encoding="utf-8"))
    shown = json.loads(_run([*dvc, "metrics", "show", "--json"], project, env))
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
    second = _run([*dvc, "repro"], project, env)
    assert "Stage 'preprocess' didn't change, skipping" in second
    for stage in ("train", "predict", "evaluate"):
        assert f"Running stage '{stage}'" in second
    diff = json.loads(_run([*dvc, "params", "diff", "--json"], project, env))
    changed = diff["config.yaml"][f"training.{key}"]
    assert (changed["old"], changed["new"]) == (200, 20)
    third = _run([*dvc, "repro"], project, env)
    assert "Running stage" not in third


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

    project = _alone(out, tmp_path / "elsewhere" / "project")
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
