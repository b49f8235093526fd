"""Conversions made once per test session and shared by the tests that read them."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.helpers.cli import run_nbprod, run_with_kernels
from tests.helpers.notebooks import make_notebook, parse_case
from tests.helpers.paths import CASES, copy_examples


def made_once(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    make: Callable[[Path], subprocess.CompletedProcess],
) -> tuple[Path, subprocess.CompletedProcess]:
    """The folder ``make`` filled, and the result of the command it ran there, made
    once for the whole session: by whichever xdist worker asks first, while any
    other waits for it (a module-scoped fixture is made once per worker, and
    xdist deals neighbouring tests to different workers). Callers only read the
    folder, or copy what they change."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's
    folder = root / "made-once" / name
    result = folder.with_suffix(".json")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a make that raised
            folder.mkdir()
            done = make(folder)
            kept = [
                list(map(str, done.args)),
                done.returncode,
                done.stdout,
                done.stderr,
            ]
            result.write_text(json.dumps(kept), encoding="utf-8")
    args, code, stdout, stderr = json.loads(result.read_text(encoding="utf-8"))
    return folder, subprocess.CompletedProcess(args, code, stdout, stderr)


class ConvertedCopy(NamedTuple):
    """A test's own copy of a notebook converted once for the session."""

    notebook: Path  # the copy of the notebook, its data beside it
    project: Path  # the copy of the project, for the test to change as it likes
    result: subprocess.CompletedProcess  # what the one ``nbprod convert`` did
    shared: Path  # the one conversion's folder: its runtime/ names its kernels


def converted_copy(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    notebook: str,
    *cells: str,
    data: Callable[[Path], object] | None = None,
) -> ConvertedCopy:
    """``nb/NOTEBOOK.ipynb`` made of ``cells`` (``data`` writes its files into
    ``nb/``), converted and validated once for the session (:func:`made_once`),
    as ``run_with_kernels`` converts it; ``nb/`` and ``project/`` are copied into
    ``tmp_path``. The project holds no path of its own, so the copy is what
    converting in ``tmp_path`` would have left.

    Tests sharing a conversion must give the same ``data`` for the same
    notebook and cells: the folder's name tells cells apart, not data."""

    def convert(base: Path) -> subprocess.CompletedProcess:
        nb = make_notebook(base / "nb" / f"{notebook}.ipynb", *cells)
        if data is not None:
            data(nb.parent)
        return run_with_kernels(base, "convert", nb, "-o", base / "project")

    cells_digest = hashlib.sha256("\0".join(cells).encode()).hexdigest()[:16]
    shared, result = made_once(
        tmp_path_factory, f"converted-{notebook}-{cells_digest}", convert
    )
    for name in ("nb", "project"):
        shutil.copytree(shared / name, tmp_path / name, symlinks=True)
    return ConvertedCopy(
        tmp_path / "nb" / f"{notebook}.ipynb", tmp_path / "project", result, shared
    )


def example_converted(
    tmp_path_factory: pytest.TempPathFactory, notebook: Path
) -> tuple[Path, subprocess.CompletedProcess]:
    """``notebook``, one of the examples, converted and validated once for the
    session (:func:`made_once`) as a user converts it: a folder holding
    ``notebooks/`` (a copy of the examples, the notebook's folder) and
    ``project/``, and the CLI's result. Read it only; a test that changes or runs
    the project takes its own copy (:func:`copy_example_converted`)."""

    def convert(base: Path) -> subprocess.CompletedProcess:
        notebooks = copy_examples(base)
        return run_nbprod("convert", notebooks / notebook.name, "-o", base / "project")

    return made_once(tmp_path_factory, f"example-{notebook.stem}", convert)


def copy_example_converted(
    base: Path, dest: Path, project: str = "project"
) -> tuple[Path, Path]:
    """The notebooks and the project of :func:`example_converted`'s ``base``,
    copied side by side into ``dest`` (the project's paths to the notebooks' data
    still hold; it holds no path of its own): the notebooks' folder and the
    project."""
    shutil.copytree(base / "notebooks", dest / "notebooks", symlinks=True)
    shutil.copytree(base / "project", dest / project, symlinks=True)
    return dest / "notebooks", dest / project


def example_copy(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    notebook: Path,
    project: str = "project",
) -> tuple[Path, Path]:
    """The session's validated conversion of the example ``notebook``
    (:func:`example_converted`), checked to have succeeded and copied into
    ``tmp_path``: the notebooks' folder and the project."""
    base, result = example_converted(tmp_path_factory, notebook)
    assert result.returncode == 0, result.stdout + result.stderr
    return copy_example_converted(base, tmp_path, project)


def converted_case(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    case: str,
    data: Callable[[Path], object],
) -> ConvertedCopy:
    """The notebook of ``tests/cases/CASE.py``, with the files ``data`` writes
    beside it, converted and validated once for the session (:func:`converted_copy`)."""
    _, cells, _ = parse_case((CASES / f"{case}.py").read_text("utf-8"))
    return converted_copy(
        tmp_path_factory, tmp_path, case, *(c.source for c in cells), data=data
    )
