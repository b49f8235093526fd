"""What nbprod's tests share: where the examples are, notebooks built in code, and
the real CLI run as a user runs it (with its kernels found and counted).

Imported by the tests (``from helpers import ...``); ``conftest.py`` only holds
pytest's options, fixtures and hooks.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest

from nbprod.commands.convert import Analysis, analyse
from nbprod.convert.analysis import collect_imports
from nbprod.convert.environment import Environment
from nbprod.convert.format import format_sources
from nbprod.convert.generate import generate_modules
from nbprod.convert.plan import Plan
from nbprod.notebook import parse_notebook
from nbprod.stages import STAGES

ROOT = Path(__file__).resolve().parents[1]


EXAMPLES = ROOT / "examples" / "notebooks"


EXAMPLE_NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

# The versions and date a conversion uses when a test must not depend on the machine
# (the golden trees): fixed values, not what is installed here. Every top-level module
# the example notebooks import has its distribution; a new one is left unpinned.
FIXED_ENVIRONMENT = Environment(
    python="3.11",
    nbprod="0.1.0",
    distributions={
        "joblib": "joblib",
        "matplotlib": "matplotlib",
        "numpy": "numpy",
        "pandas": "pandas",
        "sklearn": "scikit-learn",
        "yaml": "PyYAML",
    },
    versions={
        "PyYAML": "6.0.4",
        "black": "26.10.1",
        "joblib": "1.6.0",
        "matplotlib": "3.11.2",
        "numpy": "2.4.6",
        "pandas": "3.1.1",
        "pytest": "9.2.0",
        "ruff": "0.17.6",
        "scikit-learn": "1.9.1",
    },
)


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


def copy_examples(dest: Path) -> Path:
    """A copy of examples/notebooks (notebooks and data) under ``dest``."""
    target = dest / "notebooks"
    shutil.copytree(
        EXAMPLES,
        target,
        ignore=shutil.ignore_patterns("cache", "results", "__pycache__"),
    )
    return target


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


def make_notebook(
    path: Path,
    *sources: str,
    kernel: str = "python3",
    language: str = "python",
    tags: dict[int, list[str]] | None = None,
) -> Path:
    """Write a notebook whose code cells hold ``sources`` (markdown if a source starts with '#md ')."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(
        new_notebook(*sources, kernel=kernel, language=language, tags=tags), str(path)
    )
    return path


def new_notebook(
    *sources: str,
    kernel: str = "python3",
    language: str = "python",
    tags: dict[int, list[str]] | None = None,
) -> nbformat.NotebookNode:
    """A notebook of ``sources``: code cells, and markdown cells written
    ``"#md TEXT"``; ``tags`` by cell index."""
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
    return nb


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


def plan_of(*sources: str, tags: dict[int, list[str]] | None = None) -> Plan:
    """The plan of a notebook made of ``sources`` (see :func:`new_notebook`)."""
    return _analysed(sources, tags).plan


def stage_modules(
    *sources: str, tags: dict[int, list[str]] | None = None
) -> dict[str, str]:
    """The stage modules generated from a notebook of ``sources``, formatted as
    convert writes them, by module name."""
    a = _analysed(sources, tags)
    generated, _ = generate_modules(
        a.plan, a.parsed, a.facts, collect_imports(a.parsed)
    )
    files = format_sources({f"src/poc/{k}.py": v for k, v in generated.items()})
    return {k.split("/")[-1][:-3]: v for k, v in files.items()}


def _analysed(sources: Sequence[str], tags: dict[int, list[str]] | None) -> Analysis:
    nb = new_notebook(*sources, tags=tags)
    return analyse(parse_notebook(nbformat.writes(nb), "poc.ipynb"))


def saved_artifact(artifacts: Path, name: str) -> Path:
    """The file a generated pipeline saved ``name`` to last: in the folder of the
    last stage (in pipeline order) that made it."""
    for stage in reversed(STAGES):
        path = artifacts / stage.command / f"{name}.joblib"
        if path.is_file():
            return path
    raise AssertionError(f"no stage in {artifacts} saved {name}")


# A cell marker of a case file (tests/cases): ``# %%``, ``# %% [markdown]``,
# ``# %% tags=[...]``, ``# %% [plan]``, ``# %% [module NAME]``.
_MARK = re.compile(r"^# %%(?: \[(?P<section>[^\]]+)\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def parse_case(text: str) -> tuple[str, list[nbformat.NotebookNode], dict[str, str]]:
    """The case's description, its notebook cells, and its expected sections."""
    head, _, rest = text.partition("\n# %%")
    description = "\n".join(line.removeprefix("# ") for line in head.splitlines())
    cells: list[nbformat.NotebookNode] = []
    expected: dict[str, str] = {}
    for chunk in ("# %%" + rest).split("\n# %%"):
        chunk = chunk if chunk.startswith("# %%") else "# %%" + chunk
        mark, _, body = chunk.partition("\n")
        match = _MARK.match(mark)
        assert match, f"not a cell marker: {mark!r}"
        section, tags = match.group("section"), match.group("tags")
        body = body.strip("\n")
        if section is None:
            cell = nbformat.v4.new_code_cell(body)
            if tags:
                cell.metadata["tags"] = json.loads(tags)
            cells.append(cell)
        elif section == "markdown":
            lines = [
                line.removeprefix("#").removeprefix(" ") for line in body.splitlines()
            ]
            cells.append(nbformat.v4.new_markdown_cell("\n".join(lines)))
        else:
            expected[section] = body
    return description, cells, expected


def converted_case(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    case: str,
    data: Callable[[Path], object],
) -> ConvertedCopy:
    """The notebook of ``tests/cases/CASE.py``, with the files ``data`` writes
    beside it, converted and validated once for the session (:func:`converted_copy`)."""
    _, cells, _ = parse_case(
        (ROOT / "tests" / "cases" / f"{case}.py").read_text("utf-8")
    )
    return converted_copy(
        tmp_path_factory, tmp_path, case, *(c.source for c in cells), data=data
    )
