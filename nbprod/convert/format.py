"""black and ruff over the generated Python files."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import black
from ruff.__main__ import find_ruff_bin

from nbprod.errors import InternalError, NbprodError

BLACK_MODE = black.Mode(target_versions={black.mode.TargetVersion.PY310})
# Import sorting, plus fixes for what notebook code commonly trips in ruff's default
# rules; each keeps behaviour (an unused ``x = f()`` keeps the call ``f()``).
RUFF_FIXES = "I,F401,F541,F841,E711,E712,E713,E714,E731"


def format_sources(files: dict[str, str]) -> dict[str, str]:
    """Apply ruff's fixes, then black, to every ``.py`` file of ``files``."""
    python = {path: text for path, text in files.items() if path.endswith(".py")}
    if not python:
        return dict(files)
    fixed = _ruff_fix(python, files.get("pyproject.toml", ""))
    out = dict(files)
    for path, text in fixed.items():
        try:
            out[path] = black.format_str(text, mode=BLACK_MODE)
        except (
            black.parsing.InvalidInput
        ) as exc:  # a bug in generation, not in the notebook
            raise InternalError(
                f"generated code does not parse ({exc})", where=path
            ) from None
    return out


def _ruff_fix(files: dict[str, str], pyproject: str) -> dict[str, str]:
    # One ruff run over a scratch copy of the tree: ruff needs the files' places
    # (first-party imports) and the project's settings to sort imports as it will check them.
    with tempfile.TemporaryDirectory(prefix="nbprod-ruff-") as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        result = subprocess.run(
            [
                # the binary itself: `python -m ruff` would start an interpreter
                # only to find it
                os.fsdecode(find_ruff_bin()),
                "check",
                "--fix-only",
                "--unsafe-fixes",
                "--select",
                RUFF_FIXES,
                "--exit-zero",
                "--quiet",
                "--no-cache",
                ".",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise NbprodError(
                f"ruff failed on the generated code: {result.stderr.strip()}"
            )
        return {rel: (root / rel).read_text(encoding="utf-8") for rel in files}
