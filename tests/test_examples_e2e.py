"""End to end: every example becomes a project that installs, runs, passes its own
tests, and is clean under black and ruff."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE_NOTEBOOKS, copy_examples, run_nbprod

pytestmark = pytest.mark.e2e


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_example_project_installs_runs_and_passes_its_tests(
    tmp_path: Path, notebook: Path
) -> None:
    notebooks = copy_examples(tmp_path)
    source = notebooks / notebook.name
    before = source.read_bytes()
    out = tmp_path / "project"
    # Validation runs the notebook in a real kernel and the pipeline, and compares.
    result = run_nbprod("convert", source, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert source.read_bytes() == before, "convert modified the notebook"
    validation = json.loads((out / "nbprod-report.json").read_text(encoding="utf-8"))[
        "validation"
    ]
    assert validation["status"] == "equal"
    assert validation["compared"] >= 5
    assert all(c["status"] in {"equal", "close"} for c in validation["comparisons"])
    assert (out / "tests" / "test_characterization.py").is_file()

    # The model card states what validation measured: same classes, same numbers.
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---\n")[1])
    measured = {
        c["name"]: c["value"]
        for c in validation["comparisons"]
        if c["value"] is not None
    }
    for metric in header.get("metrics", []):
        assert metric["value"] == measured[metric["name"]]
    assert "TODO (author)" in card
    estimators = json.loads((out / "nbprod-report.json").read_text(encoding="utf-8"))[
        "plan"
    ]["estimators"]
    assert any(
        f".{e.rsplit('.', 1)[-1]}`" in card for e in estimators
    ), "the card names no real estimator"
    package = next((out / "src").iterdir()).name
    for module in (out / "src").rglob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert "import nbprod" not in text and "from nbprod" not in text, module

    # Install it as a user would (no network: its dependencies are already here).
    site = tmp_path / "site"
    install = run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(out),
        ],
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr
    assert (site / package / "pipeline.py").is_file()
    env = {**os.environ, "PYTHONPATH": str(site), "MPLBACKEND": "Agg"}

    pipeline = run(
        [sys.executable, "-m", package, "run", "--config", "config.yaml"],
        cwd=out,
        env=env,
    )
    assert pipeline.returncode == 0, pipeline.stderr[-3000:]
    assert list((out / "artifacts").glob("*.joblib")), "the pipeline saved no artifacts"

    # One stage alone, from the artifacts the run left.
    stages = [
        line.split(":")[0] for line in pipeline.stdout.splitlines() if ": done;" in line
    ]
    last = run([sys.executable, "-m", package, stages[-1]], cwd=out, env=env)
    assert last.returncode == 0, last.stderr[-3000:]

    tests = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=out,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout.splitlines()[-1]

    black = run([sys.executable, "-m", "black", "--check", "--quiet", "."], cwd=out)
    assert black.returncode == 0, black.stderr
    ruff = run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=out)
    assert ruff.returncode == 0, ruff.stdout


def test_config_errors_are_reported_by_the_generated_cli(tmp_path: Path) -> None:
    notebooks = copy_examples(tmp_path)
    out = tmp_path / "project"
    assert (
        run_nbprod(
            "convert", notebooks / "churn_classifier.ipynb", "-o", out, "--no-validate"
        ).returncode
        == 0
    )
    config = out / "config.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("test_size: 0.2", "test_size: lots"),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    result = run([sys.executable, "-m", "churn_classifier", "run"], cwd=out, env=env)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "error: preprocessing.test_size must be float, got str 'lots'"
    )
