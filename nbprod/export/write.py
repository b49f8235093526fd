"""Add orchestration files to an existing project, from its report's plan."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from nbprod.errors import NbprodError
from nbprod.export import Orchestrator
from nbprod.export.files import orchestration_files
from nbprod.plan import Plan

REPORT = "nbprod-report.json"


def export(
    project: Path, orchestrators: Iterable[Orchestrator], *, force: bool = False
) -> list[str]:
    """Write the orchestration files of ``project`` (converted by nbprod) for each
    of ``orchestrators``; returns their paths in it. Nothing is written when a
    file exists already, unless ``force``."""
    report_path = project / REPORT
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        plan = Plan.from_dict(report["plan"])
    except OSError as exc:
        raise NbprodError(
            f"not a project nbprod converted: cannot read {REPORT} ({exc.strerror})",
            where=str(project),
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise NbprodError(
            f"{REPORT} is not one this nbprod reads: {exc}", where=str(project)
        ) from None
    files = orchestration_files(plan, orchestrators, _python_minor(project))
    existing = sorted(path for path in files if (project / path).exists())
    if existing and not force:
        raise NbprodError(
            f"{existing[0]} exists already; use --force to replace it",
            where=str(project),
        )
    for path, text in sorted(files.items()):
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".nbprod-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, target)
    return sorted(files)


def _python_minor(project: Path) -> str:
    """The Python the project was generated for (its ``requires-python``)."""
    try:
        text = (project / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        text = ""
    found = re.search(r'^requires-python\s*=\s*">=\s*(\d+\.\d+)', text, re.M)
    if found is None:
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    return found.group(1)
