"""Ruff's findings on the notebooks: ruff reads notebooks itself, so general Python
findings (unused imports, undefined names) are ruff's. It runs once over every
notebook nbprod could read, while nbprod's own rules run."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from nbprod.lint.finding import Finding
from nbprod.lint.report import Reported


def start_ruff(files: list[Path]) -> subprocess.Popen[bytes]:
    """Start ruff on every file; it runs while nbprod's own rules do."""
    from ruff.__main__ import find_ruff_bin

    return subprocess.Popen(
        [
            os.fsdecode(find_ruff_bin()),
            "check",
            "--output-format=json",
            "--exit-zero",
            "--no-fix",
            "--force-exclude",  # the user's own ruff excludes still apply
            *map(os.fspath, files),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )


def ruff_findings(
    proc: subprocess.Popen[bytes], files: list[Path], names: dict[str, str]
) -> tuple[list[Reported], list[str]]:
    """Ruff's findings, each under the name the file was given (``names``: real
    path -> name), and an error line for each file ruff failed on: when ruff
    fails on a batch (it overflows its stack on a cell nested thousands of levels
    deep), each file is run alone to find which."""
    out, err = proc.communicate()
    if proc.returncode == 0:
        return _parse(out, names), []
    if len(files) > 1:
        reported: list[Reported] = []
        errors: list[str] = []
        for path in files:
            found, failed = ruff_findings(start_ruff([path]), [path], names)
            reported += found
            errors += failed
        return reported, errors
    lines = err.decode("utf-8", "replace").strip().splitlines()
    reason = lines[-1] if lines else f"exit code {proc.returncode}"
    where = f"{files[0]}: " if files else ""
    return [], [f"{where}ruff failed ({reason})"]


def _parse(out: bytes, names: dict[str, str]) -> list[Reported]:
    reported = []
    for item in json.loads(out or b"[]"):
        filename = os.path.realpath(item["filename"])
        location = item.get("location") or {"row": 1, "column": 1}
        code = item.get("code") or item.get("name") or "invalid-syntax"
        finding = Finding(
            int(item.get("cell") or 0),
            int(location["row"]),
            int(location["column"]),
            code,
            item["message"],
        )
        reported.append(Reported(names.get(filename, filename), finding, "ruff"))
    return reported
