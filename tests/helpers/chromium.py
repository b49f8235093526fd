"""Headless Chromium with no network, for the tests that open a page nbprod or a
generated project writes: what the browser parsed, drew, and asked for."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    """Chromium's command: CI installs Debian's package (.ci/run)."""
    found = next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "chrome"))),
        None,
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium: .ci/run installs Debian's chromium package")
        pytest.skip("no Chromium on this machine (CI installs it)")
    return found


def offline_chromium(
    tmp_path: Path, page: Path, *mode: str
) -> subprocess.CompletedProcess[str]:
    """Headless Chromium opening ``page`` with every host unresolvable and every
    request sent to a closed port, its own background requests off, and a log of
    every request it makes (``net.json``)."""
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            f"--user-data-dir={profile}",
            f"--log-net-log={tmp_path / 'net.json'}",
            *mode,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def page_requests(net_log: Path) -> list[str]:
    """What the page asked the network for: the requests made for a document
    opened from a file (Chromium's own, for its updates and accounts, are
    not)."""
    events = json.loads(net_log.read_text(encoding="utf-8"))["events"]
    return sorted(
        {
            e["params"]["url"]
            for e in events
            if "file://" in e.get("params", {}).get("network_isolation_key", "")
        }
    )
