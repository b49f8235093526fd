"""nbprod init: a new project that installs, runs, passes its tests, and whose CI
workflow and pre-commit config pass their checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_nbprod

BIN = Path(sys.executable).parent


def run(
    args: list[str | Path], cwd: Path, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.mark.e2e
def test_init_gives_a_project_that_installs_runs_and_passes(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run_nbprod("init", "demo", "-o", out)
    assert result.returncode == 0, result.stderr
    assert (out / "notebooks" / "demo.ipynb").is_file()

    site = tmp_path / "site"
    install = run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            site,
            out,
        ],
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": str(site)}
    pipeline = run([sys.executable, "-m", "demo", "run"], cwd=out, env=env)
    assert pipeline.returncode == 0, pipeline.stderr
    assert "evaluate: done; saved accuracy" in pipeline.stdout
    tests = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=out
    )
    assert tests.returncode == 0, tests.stdout[-2000:]

    workflow = out / ".github" / "workflows" / "ci.yml"
    assert (
        run(
            [
                BIN / "check-jsonschema",
                "--builtin-schema",
                "vendor.github-workflows",
                workflow,
            ],
            cwd=out,
        ).returncode
        == 0
    )
    audit = run([BIN / "zizmor", "--offline", "--no-progress", workflow], cwd=out)
    assert audit.returncode == 0 and "No findings to report" in audit.stdout
    assert (
        run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "validate-config",
                ".pre-commit-config.yaml",
            ],
            cwd=out,
        ).returncode
        == 0
    )


def test_init_is_deterministic_and_keeps_existing_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "demo", tmp_path / "b" / "demo"
    assert run_nbprod("init", "demo", "-o", first).returncode == 0
    assert run_nbprod("init", "demo", "-o", second).returncode == 0
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(second) for p in second.rglob("*") if p.is_file()
    )
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)

    again = run_nbprod("init", "demo", "-o", first)
    assert again.returncode == 2 and "exists and is not empty" in again.stderr
    bad = run_nbprod("init", "my-demo", "-o", tmp_path / "c")
    assert bad.returncode == 2 and "'my-demo' is not a valid package name" in bad.stderr
    assert not (tmp_path / "c").exists()
