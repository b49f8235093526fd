"""Shared fixtures and options for nbprod's tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "notebooks"
EXAMPLE_NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current output instead of comparing",
    )
    parser.addoption(
        "--corpus",
        default=None,
        help="folder built by ../shared/corpus/build_dev_corpus.sh (for -m corpus)",
    )


def run_nbprod(
    *args: str | Path, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "nbprod", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def copy_examples(dest: Path) -> Path:
    """A copy of examples/notebooks (notebooks and data) under ``dest``."""
    target = dest / "notebooks"
    shutil.copytree(
        EXAMPLES,
        target,
        ignore=shutil.ignore_patterns("cache", "results", "__pycache__"),
    )
    return target


def make_notebook(
    path: Path,
    *sources: str,
    kernel: str = "python3",
    language: str = "python",
    tags: dict[int, list[str]] | None = None,
) -> Path:
    """Write a notebook whose code cells hold ``sources`` (markdown if a source starts with '#md ')."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": kernel,
        "display_name": kernel,
        "language": language,
    }
    nb.metadata["language_info"] = {"name": language}
    for i, src in enumerate(sources):
        if src.startswith("#md "):
            nb.cells.append(nbformat.v4.new_markdown_cell(src[4:]))
        else:
            cell = nbformat.v4.new_code_cell(src)
            if tags and i in tags:
                cell.metadata["tags"] = tags[i]
            nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


@pytest.fixture()
def examples_copy(tmp_path: Path) -> Path:
    return copy_examples(tmp_path)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_notebook" in metafunc.fixturenames:
        folder = metafunc.config.getoption("--corpus")
        notebooks = sorted(Path(folder).glob("notebooks/*.ipynb")) if folder else []
        metafunc.parametrize("corpus_notebook", notebooks, ids=lambda p: p.stem)


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    # The corpus tests need notebooks built outside the repo: they run only when asked
    # for with --corpus, and are deselected (not skipped) otherwise.
    if config.getoption("--corpus"):
        return
    deselected = [item for item in items if item.get_closest_marker("corpus")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("corpus")]


def run_with_kernels(
    tmp_path: Path, *args: str | Path, timeout: float = 300
) -> subprocess.CompletedProcess:
    """The CLI, with kernels' connection files under ``tmp_path`` so they can be found."""
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "MPLBACKEND": "Agg",
    }
    return subprocess.run(
        [sys.executable, "-m", "nbprod", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


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
