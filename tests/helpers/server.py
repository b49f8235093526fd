"""Servers the tests start for real on the loopback interface, and stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

# How long a server may take to load its model and answer.
STARTUP_SECONDS = 180


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    command: Sequence[str | Path],
    *,
    cwd: Path,
    env: dict[str, str],
    ready: str,
    log: Path,
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` running (its output in ``log``) once ``ready``, a URL, answers
    200; stopped with every process it started when the block ends."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(part) for part in command],
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers are stopped with it
        )
    try:
        _wait(process, ready, log)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _wait(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll ``url`` until it answers, the server exits, or time runs out."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(
        f"no answer at {url} in {STARTUP_SECONDS} s:\n{log.read_text()[-4000:]}"
    )
