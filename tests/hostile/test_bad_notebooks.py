"""Broken and hostile notebooks through the real CLI: one clear line naming the
place, a non-zero exit code, no traceback, nothing written, the notebook untouched.

Every fixture is built here by code; none is a hand-edited file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests.helpers.cli import run_nbprod


def text(*sources: str, metadata: dict | None = None) -> str:
    """Notebook JSON whose code cells hold ``sources`` ('#md ' makes markdown)."""
    nb = new_notebook(
        cells=[
            new_markdown_cell(s[4:]) if s.startswith("#md ") else new_code_cell(s)
            for s in sources
        ]
    )
    nb.metadata.update(
        {"kernelspec": {"name": "python3", "language": "python", "display_name": "P"}}
        if metadata is None
        else metadata
    )
    return nbformat.writes(nb)


def without_ids() -> bytes:
    data = json.loads(text("x = 1\ny = x + 1\nprint(y)"))
    for cell in data["cells"]:
        del cell["id"]
    return json.dumps(data).encode()


def v3(source: str) -> bytes:
    cell = {"cell_type": "code", "input": source, "language": "python"}
    cell.update(outputs=[], collapsed=False, metadata={})
    return json.dumps(
        {
            "nbformat": 3,
            "nbformat_minor": 0,
            "metadata": {"name": ""},
            "worksheets": [{"cells": [cell], "metadata": {}}],
        }
    ).encode()


JULIA = {"kernelspec": {"name": "julia-1.9", "language": "julia", "display_name": "J"}}
R = {"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}}

# name -> (notebook bytes, the commands it is refused by, what the one line says)
# Every case is refused by convert and plan; "lint" marks the ones lint refuses too.
REFUSED: dict[str, tuple[Callable[[], bytes], bool, str]] = {
    "empty file": (lambda: b"", True, "not valid notebook JSON"),
    "truncated JSON": (
        lambda: text("x = 1").encode()[:60],
        True,
        "not valid notebook JSON",
    ),
    "a JSON list": (lambda: b"[1, 2, 3]", True, "not a Jupyter notebook (no cells)"),
    "deeply nested arrays": (
        lambda: b"[" * 100_000 + b"]" * 100_000,
        True,
        "not valid notebook JSON (nested too deeply)",
    ),
    "deeply nested cells": (
        lambda: b'{"cells": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        True,
        "not valid notebook JSON (nested too deeply)",
    ),
    "a cell whose source is a number": (
        lambda: json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {},
                "cells": [
                    {"cell_type": "code", "id": "a", "metadata": {}, "source": 3}
                    | {"outputs": [], "execution_count": None}
                ],
            }
        ).encode(),
        True,
        "invalid notebook: cell 1: source has an unexpected form",
    ),
    "an unknown cell type": (
        lambda: json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 4,
                "metadata": {},
                "cells": [{"cell_type": "banana", "metadata": {}, "source": "x"}],
            }
        ).encode(),
        True,
        "invalid notebook: cell 1",
    ),
    "a terminal escape sequence": (
        lambda: b'{"nbformat": "\\u001b[2J", "nbformat_minor": 0, "metadata": {}, "cells": []}',
        True,
        "Unsupported nbformat version \\x1b[2J",  # escaped, never sent raw
    ),
    "Latin-1 bytes": (
        lambda: text("name = 'José'").encode("latin-1"),
        True,
        "not UTF-8 text (byte",
    ),
    "UTF-16 bytes": (
        lambda: text("x = 1").encode("utf-16"),
        True,
        "not UTF-8 text (byte 0 is 0xff)",
    ),
    "a Julia kernel": (
        lambda: text("x = 1", metadata=JULIA).encode(),
        True,
        "the notebook's kernel is 'julia'",
    ),
    "an R kernel": (
        lambda: text("x <- 1", metadata=R).encode(),
        True,
        "the notebook's kernel is 'r'",
    ),
    "no cells": (lambda: text().encode(), False, "nothing to convert"),
    "markdown only": (
        lambda: text("#md # Title").encode(),
        False,
        "nothing to convert",
    ),
    "only imports and help": (
        lambda: text("import os", "?os.path").encode(),
        False,
        "nothing to convert: no code cell computes anything",
    ),
    "Python 2 except": (
        lambda: text("try:\n    x = 1\nexcept ValueError, e:\n    x = 2").encode(),
        False,
        "cell 1, line 3: syntax error: multiple exception types must be parenthesized",
    ),
    "Python 2 print in a v3 notebook": (
        lambda: v3("x = 1\nprint x"),
        False,
        "cell 1, line 2: syntax error: Missing parentheses in call to 'print'",
    ),
    "top-level return": (
        lambda: text("x = 1", "return x").encode(),
        False,
        "cell 2, line 1: syntax error: 'return' outside function",
    ),
    "top-level await": (
        lambda: text("import asyncio", "x = 1\nawait asyncio.sleep(0)").encode(),
        False,
        "cell 2, line 2: top-level await",
    ),
    "2,000 nested parentheses": (
        lambda: text("x = " + "(" * 2000 + "1" + ")" * 2000).encode(),
        False,
        "cell 1, line 1: syntax error: too many nested parentheses",
    ),
    "a 200,000-term sum": (
        lambda: text("x = 1", "y = " + "+".join(["1"] * 200_000)).encode(),
        True,
        "cell 2 is too deeply nested to analyse",
    ),
    "3,000 nested lambdas": (
        lambda: text("f = " + "lambda: " * 3000 + "1").encode(),
        True,
        "cell 1 is too deeply nested to analyse",
    ),
    "a syntax error below line magics": (
        lambda: text(
            "%matplotlib inline\n%load_ext autoreload\nx = 1\ny = (x"
        ).encode(),
        False,
        "cell 1, line 4: syntax error: '(' was never closed",
    ),
    "a syntax error in a %%time cell": (
        lambda: text("x = 1", "%%time\nz = 1\nw = (z").encode(),
        False,
        "cell 2, line 3: syntax error: '(' was never closed",
    ),
    "shell output captured": (
        lambda: text("x = !ls\nprint(x)").encode(),
        False,
        "cell 1, line 1: shell output capture cannot be converted",
    ),
    "a bash cell": (
        lambda: text("x = 1", "%%bash\necho hi").encode(),
        False,
        "cell 2, line 1: cell magic %%bash is not Python",
    ),
    # What would convert into code that computes something else, or nothing.
    "global in a helper": (
        lambda: text(
            "X = 0", "def bump():\n    global X\n    X += 1", "bump()"
        ).encode(),
        False,
        "cell 2, line 2: global X inside a function",
    ),
    "global in a method": (
        lambda: text(
            "n = 0",
            "class Counter:\n    def add(self):\n        global n\n        n += 1",
            "Counter().add()",
        ).encode(),
        False,
        "cell 2, line 3: global n inside a function",
    ),
    "a name only exec defines": (
        lambda: text("exec('rate = 0.1')", "x = 2", "y = x * rate").encode(),
        False,
        "cell 3, line 1: rate is read here but no cell defines it; the notebook "
        "defines names dynamically (cell 1, line 1: exec(...))",
    ),
    "a name only globals() defines": (
        lambda: text("globals()['rate'] = 0.1", "y = 2 * rate").encode(),
        False,
        "cell 2, line 1: rate is read here but no cell defines it; the notebook "
        "defines names dynamically (cell 1, line 1: globals(...))",
    ),
    "a class reading notebook variables": (
        lambda: text(
            "K = 3",
            "class Scaler:\n    def apply(self, x):\n        return x * K",
            "y = Scaler().apply(2)",
        ).encode(),
        False,
        "cell 2, line 1: class Scaler reads the notebook's variables K",
    ),
    "%env with variable expansion": (
        lambda: text("x = 1\n%env OUT_DIR={x}").encode(),
        False,
        "cell 1, line 2: %env with IPython's variable expansion cannot be converted",
    ),
    "IPython's Out": (
        lambda: text("x = 1", "x + 1", "y = Out[2] * 2").encode(),
        False,
        "cell 3, line 1: Out[...] is IPython's output history",
    ),
    "IPython's _ after a call that may return None": (
        lambda: text("log = []", "log.append(1)", "y = _").encode(),
        False,
        "cell 3, line 1: _ is IPython's last output, and the code does not tell",
    ),
    "IPython's __": (
        lambda: text("x = 1", "x", "x + 1", "y = __").encode(),
        False,
        "cell 4, line 1: __ is IPython's output history",
    ),
    "a helper run across a redefinition of what it uses": (
        lambda: text(
            "def scale(x):\n    return x * 2",
            "def prepare(x):\n    return scale(x) + 1",
            "a = prepare(1)",
            "def scale(x):\n    return x * 3",
            "b = prepare(2)",
        ).encode(),
        False,
        "cell 2, line 2: prepare() uses scale, and the notebook runs prepare() both "
        "before and after a redefinition of scale",
    ),
}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("case", REFUSED)
def test_refused_with_one_clear_line_and_nothing_written(
    case: str, tmp_path: Path
) -> None:
    make, lint_refuses, expected = REFUSED[case]
    nb = tmp_path / "work" / "analysis.ipynb"
    nb.parent.mkdir()
    nb.write_bytes(make())
    before = _snapshot(tmp_path)
    commands = [
        ["convert", nb, "-o", tmp_path / "out", "--no-validate"],
        ["convert", nb, "-o", tmp_path / "out"],  # validation on: refused before it
        ["plan", nb],
    ]
    if lint_refuses:
        commands.append(["lint", "--no-cache", nb])
    for command in commands:
        r = run_nbprod(*command, cwd=tmp_path)
        assert r.returncode == 2, (command, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr + r.stdout
        [line] = r.stderr.splitlines()
        assert line.startswith(f"nbprod: error: {nb}: "), line
        assert expected in line, line
        assert _snapshot(tmp_path) == before, f"{command[0]} wrote or changed files"


# Accepted as they are (cases the libraries get wrong or refuse).
ACCEPTED: dict[str, Callable[[], bytes]] = {
    "a UTF-8 byte-order mark": lambda: b"\xef\xbb\xbf"
    + text("x = 1\ny = x + 1\nprint(y)").encode(),
    "CRLF line endings": lambda: text("x = 1\ny = x + 1\nprint(y)")
    .replace("\\n", "\\r\\n")
    .encode(),
    "no kernelspec": lambda: text("x = 1\ny = x + 1\nprint(y)", metadata={}).encode(),
    "4.5 without cell ids": without_ids,
    "duplicate cell ids": lambda: json.dumps(
        {
            **json.loads(text("x = 1", "y = x + 1\nprint(y)")),
            "cells": [
                {**c, "id": "same"}
                for c in json.loads(text("x = 1", "y = x + 1\nprint(y)"))["cells"]
            ],
        }
    ).encode(),
    "nbformat 4.0": lambda: json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 0,
            "metadata": {},
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {},
                    "source": "x = 1\ny = x + 1\nprint(y)",
                    "outputs": [],
                    "execution_count": None,
                }
            ],
        }
    ).encode(),
}


@pytest.mark.parametrize("case", ACCEPTED)
def test_accepted_written_as_utf8_with_lf(case: str, tmp_path: Path) -> None:
    nb = tmp_path / "analysis.ipynb"
    nb.write_bytes(ACCEPTED[case]())
    digest = hashlib.sha256(nb.read_bytes()).hexdigest()
    out = tmp_path / "out"
    r = run_nbprod("convert", nb, "-o", out, "--no-validate")
    assert r.returncode == 0, r.stderr
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in {".py", ".yaml", ".md", ".toml", ".json"}:
            data = path.read_bytes()
            assert b"\r" not in data and not data.startswith(b"\xef\xbb\xbf"), path
            data.decode("utf-8")
    assert "y = x + 1" in (out / "src" / "analysis" / "preprocessing.py").read_text()
    assert hashlib.sha256(nb.read_bytes()).hexdigest() == digest
