"""Code that does not compile is never written, whatever the flags.

nbprod compiles every generated ``.py`` file before the tree reaches the disk
(``write.check_compiles``). Notebooks that made it write such code were found and
fixed (``global`` in a helper became ``def f(*, X): global X``); this test makes
sure the next such bug stops the conversion too. It injects one: a wrapper runs the
real CLI after making code generation append a function that does not compile to
the training module. nbprod must then exit 3 with one line naming the file, and
write nothing: no project, no partial tree, no scratch folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.notebooks import make_notebook

BROKEN = "\n\ndef broken(*, X):\n    global X\n"
WRAPPER = f"""
import sys
import nbprod.commands.convert

real = nbprod.commands.convert.generate_modules

def generate_modules(*args, **kwargs):
    generated = real(*args, **kwargs)
    generated.modules["training"] += {BROKEN!r}
    return generated

nbprod.commands.convert.generate_modules = generate_modules
from nbprod.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    "flags", [["--no-validate"], []], ids=["no-validate", "validate"]
)
def test_code_that_does_not_compile_is_never_written(
    tmp_path: Path, flags: list[str]
) -> None:
    nb = make_notebook(
        tmp_path / "work" / "fit.ipynb",
        "import numpy as np\nfrom sklearn.linear_model import LinearRegression",
        "X = np.arange(10.0).reshape(-1, 1)\ny = X[:, 0] * 2",
        "model = LinearRegression().fit(X, y)",
    )
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            WRAPPER,
            "convert",
            str(nb),
            "-o",
            str(tmp_path / "out"),
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")},
        check=False,
    )
    assert result.returncode == 3, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "nbprod: error: src/fit/training.py: generated code does not compile: line "
    ), line
    assert "name 'X' is parameter and global" in line and "please report" in line, line
    assert "Traceback" not in result.stderr + result.stdout
    after = sorted(
        p.relative_to(tmp_path)
        for p in tmp_path.rglob("*")
        if not p.is_relative_to(tmp_path / "runtime")
    )
    assert after == before, "something was written"
