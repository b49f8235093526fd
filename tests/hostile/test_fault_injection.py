"""Fault injection: ``nbprod convert --force`` is killed (SIGKILL) at many points of
its run, and the target folder must then be absent or hold, byte for byte, either
the complete previous project or the complete new one. Never anything in between.

The kill points follow a fixed schedule over the whole run, measured first. The
write phase takes milliseconds, so most runs go through a small wrapper that makes
every write under the work folder slow (files, ``os.replace``, ``mkdtemp``,
``rmtree``) without touching nbprod's code, and logs each step, so that many kills
land while the project is being written and swapped into place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers.cli import run_nbprod
from tests.helpers.paths import copy_examples

NB_OLD = "parameters_cell.ipynb"  # the previous project (tree A)
NB_NEW = "wine_model_selection.ipynb"  # what the killed run writes (tree B)
TARGET = "project"
PAUSE = 0.02  # seconds before each slowed write; five times that before a move

# Runs nbprod's real CLI after making every write under $NBPROD_FI_DIR slow, and
# appends one line per step to $NBPROD_FI_LOG (written straight to the file, so a
# SIGKILL loses nothing that was logged).
WRAPPER = r"""
import builtins, os, pathlib, shutil, sys, tempfile, time

ROOT = os.path.realpath(os.environ["NBPROD_FI_DIR"])
PAUSE = float(os.environ["NBPROD_FI_PAUSE"])
LOG = os.open(os.environ["NBPROD_FI_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)

def mine(path):
    try:
        real = os.path.realpath(os.fspath(path))
    except TypeError:
        return False
    return real == ROOT or real.startswith(ROOT + os.sep)

def step(what, path, pause):
    os.write(LOG, f"{what} {os.path.relpath(os.fspath(path), ROOT)}\n".encode())
    time.sleep(pause)

real_open, real_write_bytes = builtins.open, pathlib.Path.write_bytes
real_replace, real_rmtree, real_mkdtemp = os.replace, shutil.rmtree, tempfile.mkdtemp

def slow_open(file, mode="r", *args, **kwargs):
    if any(c in mode for c in "wxa+") and mine(file):
        step("write", file, PAUSE)
    return real_open(file, mode, *args, **kwargs)

def slow_write_bytes(self, data):
    if mine(self):
        step("write", self, PAUSE)
    return real_write_bytes(self, data)

def slow_replace(src, dst, *args, **kwargs):
    if mine(dst):
        step("replace", dst, 5 * PAUSE)
    result = real_replace(src, dst, *args, **kwargs)
    if mine(dst):
        step("replaced", dst, 0)
    return result

def slow_rmtree(path, *args, **kwargs):
    if mine(path):
        step("rmtree", path, 5 * PAUSE)
    return real_rmtree(path, *args, **kwargs)

def slow_mkdtemp(*args, **kwargs):
    path = real_mkdtemp(*args, **kwargs)
    if mine(path):
        step("mkdtemp", path, PAUSE)
    return path

builtins.open, pathlib.Path.write_bytes = slow_open, slow_write_bytes
os.replace, shutil.rmtree, tempfile.mkdtemp = slow_replace, slow_rmtree, slow_mkdtemp

from nbprod.cli import main
main()
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, by relative path (symbolic links refused)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        assert not path.is_symlink(), path
        if path.is_file():
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
        else:
            assert path.is_dir(), path
    return files


def describe(found: dict[str, bytes], expected: dict[str, bytes]) -> str:
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    changed = sorted(k for k in set(found) & set(expected) if found[k] != expected[k])
    return f"missing {missing}, extra {extra}, changed {changed}"


class Run:
    """The work folder, the two reference trees and the commands."""

    def __init__(self, tmp_path: Path) -> None:
        self.notebooks = copy_examples(tmp_path)
        self.old_nb = self.notebooks / NB_OLD
        self.new_nb = self.notebooks / NB_NEW
        self.work = tmp_path / "work"
        self.target = self.work / TARGET
        self.log = tmp_path / "steps.log"
        # Both references are built at the target's own path, as the project's
        # relative paths to the notebook's data depend on where it is.
        self.tree_a = self.reference(self.old_nb)
        self.tree_b = self.reference(self.new_nb)
        assert self.tree_a != self.tree_b

    def reference(self, notebook: Path) -> dict[str, bytes]:
        self.reset(None)
        result = run_nbprod("convert", notebook, "-o", self.target, "--no-validate")
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in self.work.iterdir()) == [TARGET]
        return snapshot(self.target)

    def reset(self, tree: dict[str, bytes] | None) -> None:
        """The work folder holding only ``tree`` as the target (nothing if None)."""
        if self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir()
        for rel, data in (tree or {}).items():
            path = self.target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.log.write_bytes(b"")

    def command(self, slow: bool) -> list[str]:
        args = [str(self.new_nb), "-o", str(self.target), "--force", "--no-validate"]
        if slow:
            return [sys.executable, "-c", WRAPPER, "convert", *args]
        return [sys.executable, "-m", "nbprod", "convert", *args]

    def start(self, slow: bool) -> subprocess.Popen:
        env = {
            **os.environ,
            "NBPROD_FI_DIR": str(self.work),
            "NBPROD_FI_LOG": str(self.log),
            "NBPROD_FI_PAUSE": str(PAUSE),
        }
        return subprocess.Popen(
            self.command(slow),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # the kill takes its ruff/black children too
        )

    def duration(self, slow: bool) -> float:
        """Seconds a whole run takes (the slower of two)."""
        times = []
        for _ in range(2):
            self.reset(self.tree_a)
            began = time.monotonic()
            proc = self.start(slow)
            _, err = proc.communicate(timeout=120)
            times.append(time.monotonic() - began)
            assert proc.returncode == 0, err.decode()
            assert snapshot(self.target) == self.tree_b
            assert sorted(p.name for p in self.work.iterdir()) == [TARGET]
        return max(times)

    def steps(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()


def phase(steps: list[str], finished: bool) -> str:
    """Where the run was when killed, from the last logged step."""
    if finished:
        return "finished"
    if not steps:
        return "before writing"
    if steps[-1].startswith("rmtree"):
        return "removing the old tree"
    if any(s.startswith("replace") for s in steps):
        return "moving into place"
    return "writing staging"


def _wait_for_step(run: Run, proc: subprocess.Popen, step: str) -> None:
    """Return once the slowed run logs ``step`` (it then pauses inside it), or ends."""
    while proc.poll() is None:
        if any(line.startswith(step + " ") for line in run.steps()):
            return
        time.sleep(0.002)


def kill_and_check(
    run: Run,
    slow: bool,
    delay: float,
    counts: Counter,
    notes: list[str],
    at_step: str | None = None,
) -> None:
    """Kill a run ``delay`` seconds after its start, or (slowed runs) as soon as it
    logs ``at_step``; then check what it left."""
    run.reset(run.tree_a)
    nb_hash = sha256(run.new_nb)
    proc = run.start(slow)
    try:
        if at_step is not None:
            _wait_for_step(run, proc, at_step)
            if proc.poll() is None:
                raise subprocess.TimeoutExpired(proc.args, 0)
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    # It may also have ended on its own just before the kill.
    finished = proc.returncode == 0
    if not finished:
        assert proc.returncode == -signal.SIGKILL, (proc.returncode, err.decode())

    where = phase(run.steps(), finished) if slow else ("finished" if finished else "-")
    when = f"at its first {at_step!r}" if at_step else f"at {delay:.3f}s"
    label = f"{'slowed' if slow else 'plain'} run killed {when} ({where})"
    assert sha256(run.new_nb) == nb_hash, f"{label}: the notebook changed"

    # Nothing but the target and nbprod's own hidden temporary folders.
    others = sorted(p.name for p in run.work.iterdir() if p.name != TARGET)
    staging = [n for n in others if n.startswith(f".{TARGET}.nbprod-")]
    old = [n for n in others if n.startswith(f".{TARGET}.old-")]
    assert sorted(staging + old) == others, f"{label}: stray output {others}"

    if not run.target.exists():
        outcome = "absent"
        # The previous project is not lost: it waits, whole, in the hidden folder
        # it was moved to just before the new one took its place.
        assert len(old) == 1, f"{label}: target absent, old folders {old}"
        kept = snapshot(run.work / old[0] / "tree")
        assert kept == run.tree_a, f"{label}: {describe(kept, run.tree_a)}"
    else:
        found = snapshot(run.target)
        if found == run.tree_a:
            outcome = "A (previous)"
        elif found == run.tree_b:
            outcome = "B (new)"
        else:
            pytest.fail(
                f"{label}: partial output; against A: {describe(found, run.tree_a)}; "
                f"against B: {describe(found, run.tree_b)}"
            )
    counts[outcome] += 1
    counts[f"phase: {where}"] += 1
    if staging:
        counts["left a staging folder"] += 1
    if old:
        counts["left an .old folder"] += 1
    notes.append(f"{label}: {outcome}" + (f", left {others}" if others else ""))

    if others and "recovered after leftovers" not in counts:
        # A normal run after a kill still works, whatever the kill left behind.
        result = run_nbprod(
            "convert", run.new_nb, "-o", run.target, "--force", "--no-validate"
        )
        assert result.returncode == 0, result.stderr
        assert snapshot(run.target) == run.tree_b
        counts["recovered after leftovers"] += 1
        still = sorted(p.name for p in run.work.iterdir() if p.name != TARGET)
        notes.append(f"  a normal run after it wrote B; still left: {still}")


@pytest.mark.e2e
def test_killed_convert_leaves_previous_or_new_project_or_none(tmp_path: Path):
    began = time.monotonic()
    run = Run(tmp_path)
    all_notebooks = folder_hash(run.notebooks)

    counts: Counter = Counter()
    notes: list[str] = []
    plain, slowed = run.duration(slow=False), run.duration(slow=True)
    # Evenly spaced over the whole run and a little past its end.
    for slow, total, n in ((False, plain, 10), (True, slowed, 30)):
        for i in range(n):
            kill_and_check(run, slow, 1.1 * total * i / (n - 1), counts, notes)
    # The swap takes a fraction of a second, and where it falls in the run moves
    # with the machine's load: kills at the steps themselves land in each phase
    # whatever the timing.
    for step in ("write", "replace", "rmtree"):
        kill_and_check(run, True, slowed, counts, notes, at_step=step)

    assert folder_hash(run.notebooks) == all_notebooks, "the notebooks changed"
    print(f"\nfault injection: plain run {plain:.2f}s, slowed run {slowed:.2f}s")
    print("\n".join(notes))
    for key in sorted(counts):
        print(f"  {key}: {counts[key]}")
    print(f"  total time: {time.monotonic() - began:.1f}s")

    # The schedule did what it is for: kills before, during and after the write.
    assert counts["A (previous)"] > 0, counts
    assert counts["B (new)"] > 0, counts
    assert counts["phase: writing staging"] > 0, counts
    assert counts["left a staging folder"] > 0, counts
    assert counts["phase: moving into place"] > 0, counts
