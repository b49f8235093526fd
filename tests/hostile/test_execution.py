"""Notebooks that misbehave when run: waiting for input, exiting, killing their
kernel, a kernel that cannot start. Each is one clear line naming the cell, the
project is still written (exit 1: not proven), and no kernel is left running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import kernels_left, run_with_kernels
from tests.helpers.notebooks import make_notebook

pytestmark = pytest.mark.kernel

CASES = {
    "input()": (
        "name = input('your name? ')",
        "notebook cell 2 raised StdinNotImplementedError: raw_input was called, "
        "but this frontend does not support input requests.",
    ),
    "getpass": (
        "import getpass\npassword = getpass.getpass()",
        "notebook cell 2 raised StdinNotImplementedError: getpass was called, "
        "but this frontend does not support input requests.",
    ),
    "sys.exit": ("import sys\nsys.exit(3)", "notebook cell 2 raised SystemExit: 3"),
    "killed kernel": (
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        "the notebook's kernel died while running it",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_misbehaving_cells(case: str, tmp_path: Path) -> None:
    source, message = CASES[case]
    nb = make_notebook(tmp_path / "nb" / "run.ipynb", "x = 1", source, "y = x + 1")
    out = tmp_path / "project"
    r = run_with_kernels(tmp_path, "convert", nb, "-o", out, "--timeout", "60")
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip() == f"nbprod: validation failed: {nb}: {message}"
    assert "Traceback" not in r.stdout + r.stderr
    report = json.loads((out / "nbprod-report.json").read_text())
    assert report["validation"]["status"] == "error"
    assert kernels_left(tmp_path) == []


def test_a_kernel_that_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "jupyter" / "kernels" / "broken"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": ["/bin/false", "{connection_file}"],
                "display_name": "Broken",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = make_notebook(
        tmp_path / "nb" / "run.ipynb", "x = 1", "y = x + 1", kernel="broken"
    )
    r = run_with_kernels(tmp_path, "convert", nb, "-o", tmp_path / "project")
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip() == (
        f"nbprod: validation failed: {nb}: the notebook's kernel did not start "
        "(it exited or did not answer)"
    )
    assert kernels_left(tmp_path) == []
