"""A generated project run as its user runs it, what it saved, and the project on its
own: in a repository and an environment of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from nbprod.stages import STAGES


def run_project(
    project: Path, *args: str | Path, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``python -m PKG ARGS`` in a generated project, as its user runs it."""
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "MPLBACKEND": "Agg"}
    package = next((project / "src").iterdir()).name
    return subprocess.run(
        [sys.executable, "-m", package, *map(str, args)],
        cwd=cwd or project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def saved_artifact(artifacts: Path, name: str) -> Path:
    """The file a generated pipeline saved ``name`` to last: in the folder of the
    last stage (in pipeline order) that made it."""
    for stage in reversed(STAGES):
        path = artifacts / stage.command / f"{name}.joblib"
        if path.is_file():
            return path
    raise AssertionError(f"no stage in {artifacts} saved {name}")


def in_own_repository(project: Path, where: Path) -> Path:
    """A copy of ``project`` at ``where``, committed as a git repository of its
    own, as a team would move it away from the notebook."""
    shutil.copytree(project, where)
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "generated"]):
        subprocess.run([*git, *args], cwd=where, check=True)
    return where


def fresh_environment(venv: Path) -> tuple[str, dict[str, str]]:
    """A new virtual environment at ``venv``, its python and the environment to
    run it in. It sees this one's packages through a ``.pth`` file (pip and
    setuptools included), so a project installs into it with no index, as
    ``pip install -e ".[dev]"`` does: what it depends on is found installed,
    never downloaded."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True
    )
    (purelib,) = (venv / "lib").glob("python*/site-packages")
    (purelib / "here.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(venv / "bin"), os.environ.get("PATH", "")]),
        "MPLBACKEND": "Agg",
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("PYTHONPATH", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    return str(venv / "bin" / "python"), env
