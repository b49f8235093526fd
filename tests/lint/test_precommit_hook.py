"""This repository's pre-commit hook, installed and run by pre-commit itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests.helpers.paths import ROOT


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _write(path: Path, *cells: tuple[str, int]) -> None:
    nb = new_notebook(cells=[new_code_cell(src, execution_count=n) for src, n in cells])
    path.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")


@pytest.mark.e2e
def test_pre_commit_try_repo_runs_nbprod_lint(tmp_path: Path) -> None:
    work = tmp_path / "analysis"
    work.mkdir()
    _git("init", "-q", cwd=work)
    _write(work / "clean.ipynb", ("import math", 1), ("print(math.pi)", 2))
    _write(
        work / "messy.ipynb",
        ("import math", 1),
        ("radius = 2.0", 5),
        ("print(math.pi * radius)", 3),
    )
    _git("add", ".", cwd=work)
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PRE_COMMIT_COLOR": "never",
        "SKIP": "",
    }

    def try_repo(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "try-repo",
                str(ROOT),
                "nbprod-lint",
                *args,
            ],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    r = try_repo("--all-files")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "nbprod lint" in r.stdout and "Failed" in r.stdout
    assert "messy.ipynb:cell 2:1:1: NBP001 cell ran out of order" in r.stdout
    assert "clean.ipynb" not in r.stdout.split("Failed", 1)[1]

    r = try_repo("--files", "clean.ipynb")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Passed" in r.stdout
