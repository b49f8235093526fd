"""The generated CI workflow and pre-commit config pass the checks their users run:
check-jsonschema's GitHub-workflow schema, zizmor (offline), pre-commit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

GOLDEN = sorted(p for p in (ROOT / "tests" / "golden").iterdir() if p.is_dir())
BIN = Path(sys.executable).parent


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("project", GOLDEN, ids=lambda p: p.name)
def test_workflow_is_valid_and_has_no_zizmor_findings(project: Path) -> None:
    workflow = project / ".github" / "workflows" / "ci.yml"
    schema = run(
        BIN / "check-jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
        workflow,
        cwd=project,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = run(
        BIN / "zizmor",
        "--offline",
        "--persona",
        "pedantic",
        "--no-progress",
        workflow,
        cwd=project,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings to report" in audit.stdout


@pytest.mark.parametrize("project", GOLDEN, ids=lambda p: p.name)
def test_pre_commit_config_is_valid(project: Path) -> None:
    result = run(
        sys.executable,
        "-m",
        "pre_commit",
        "validate-config",
        ".pre-commit-config.yaml",
        cwd=project,
    )
    assert result.returncode == 0, result.stdout + result.stderr
