"""The real CLI run in a subprocess as a user runs it, and the kernels it leaves."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def run_nbprod(
    *args: str | Path,
    cwd: Path | None = None,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "nbprod", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def run_with_kernels(
    tmp_path: Path, *args: str | Path, timeout: float = 300
) -> subprocess.CompletedProcess:
    """The CLI, with kernels' connection files under ``tmp_path`` so they can be found."""
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "MPLBACKEND": "Agg",
    }
    return run_nbprod(*args, timeout=timeout, env=env)


def kernels_left(tmp_path: Path) -> list[str]:
    """Kernel processes started for this test that are still alive."""
    deadline = time.monotonic() + 10
    while True:
        ps = subprocess.run(
            ["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True
        ).stdout
        alive = [
            line
            for line in ps.splitlines()
            if str(tmp_path / "runtime") in line and "ps -eo" not in line
        ]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Any command in ``cwd``, its output captured and its exit code left to the test."""
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def run_ok(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 1200
) -> str:
    """Any command in ``cwd``, which must succeed: what it printed, both streams."""
    done = run(args, cwd=cwd, env=env, timeout=timeout)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done.stdout + done.stderr
