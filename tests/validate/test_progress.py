"""Validation shows signs of life on a terminal, and nothing anywhere else: every
cell of the notebook as it starts, the stage the pipeline is at, then the line is
cleared before the result."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers.notebooks import make_notebook

SOURCES = (
    "#md # Tiny",
    "import pandas as pd",
    "df = pd.DataFrame({'a': [1, 2, 3]})",
    "df['b'] = df['a'] * 2",
    "total = int(df['b'].sum())\nprint(total)",
)
CODE_CELLS = (2, 3, 4, 5)


def _on_a_terminal(*args: str | Path) -> tuple[int, str, str]:
    """Run the CLI with its standard error on a pseudo-terminal (as a person at a
    terminal sees it) and its standard output on a pipe."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "nbprod", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    shown: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the other end closed: the process ended
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    stdout, _ = process.communicate(timeout=600)
    reader.join(timeout=60)
    os.close(leader)
    return process.returncode, stdout, b"".join(shown).decode("utf-8", "replace")


@pytest.mark.e2e
def test_a_terminal_sees_each_cell_and_the_stage_and_a_pipe_sees_nothing(
    tmp_path: Path,
) -> None:
    notebook = make_notebook(tmp_path / "nb" / "tiny.ipynb", *SOURCES)
    project = tmp_path / "tiny"

    code, stdout, terminal = _on_a_terminal("convert", notebook, "-o", project)
    assert code == 0, terminal
    for number in CODE_CELLS:
        assert f"validating · notebook: cell {number} of 5" in terminal
    assert "notebook: done · pipeline: " in terminal
    # cleared: the last thing drawn is a blank line over it, back at its start
    assert terminal.rstrip(" ").endswith("\r")
    assert "validating" not in stdout and "values compared" in stdout

    code, _, quiet = _on_a_terminal("validate", notebook, project, "--quiet")
    assert code == 0, quiet
    assert "validating" not in quiet

    piped = subprocess.run(
        [sys.executable, "-m", "nbprod", "validate", str(notebook), str(project)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert piped.returncode == 0, piped.stderr
    assert "validating" not in piped.stdout + piped.stderr
