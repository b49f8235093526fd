"""Helpers the benchmarks that run a generated project share: titanic converted
(validated, so it has its data contract), its package, its environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from _report import progress

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "notebooks" / "titanic_mlops_poc.ipynb"


def run_ok(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    """Run ``args``; stop the benchmark, saying what failed, when it fails."""
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{(done.stdout + done.stderr)[-3000:]}")


def converted(base: Path) -> Path:
    """The titanic example converted (and validated: the contract) under ``base``."""
    notebooks = base / "notebooks"
    shutil.copytree(EXAMPLE.parent, notebooks)
    project = base / "project"
    progress(f"converting {EXAMPLE.name} (validated) ...")
    run_ok(
        [sys.executable, "-m", "nbprod", "convert", str(notebooks / EXAMPLE.name)]
        + ["-o", str(project)],
        ROOT,
        {**os.environ, "MPLBACKEND": "Agg"},
    )
    return project


def package_of(project: Path) -> str:
    """The generated project's package: the one folder under ``src/``."""
    (package,) = [p.name for p in (project / "src").iterdir() if p.is_dir()]
    return package


def project_env(project: Path) -> dict[str, str]:
    """This environment, seeing the project's package and drawing off screen."""
    return {**os.environ, "PYTHONPATH": str(project / "src"), "MPLBACKEND": "Agg"}
