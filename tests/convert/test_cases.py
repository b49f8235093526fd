"""Small cases for analysis, planning and generation, one file each (black's
``tests/data/cases`` and marimo's snapshots): a notebook as ``# %%`` cells, then
the expected plan (as ``nbprod plan`` prints it) and the expected stage modules.

    # %%                        a code cell
    # %% [markdown]             a markdown cell (its lines without the "# ")
    # %% tags=["parameters"]    a code cell with tags
    # %% [plan]                 what ``nbprod plan`` prints after its header
    # %% [module training]      the generated ``training.py``

Rewrite the expected parts after an intended change with
``pytest tests/test_cases.py --update-golden`` and read the diff.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from nbprod.commands.convert import analyse, build_files
from nbprod.convert.describe import describe
from nbprod.convert.plan.signatures import WIDEST
from nbprod.notebook import read_notebook
from tests.helpers.environment import FIXED_ENVIRONMENT
from tests.helpers.notebooks import parse_case
from tests.helpers.paths import CASES, GOLDEN

CASE_FILES = sorted(CASES.glob("*.py"))


def actual(case: Path, cells: list[nbformat.NotebookNode], tmp: Path) -> dict[str, str]:
    """What nbprod makes of the case: its plan and its stage modules."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = cells
    path = tmp / f"{case.stem}.ipynb"
    nbformat.write(nb, str(path))
    a = analyse(read_notebook(path))
    files, _ = build_files(a, None, FIXED_ENVIRONMENT)
    found = {"plan": "\n".join(describe(a.plan))}
    for stage in a.plan.stages:
        module = f"src/{a.plan.package}/{stage.stage}.py"
        found[f"module {stage.stage}"] = files[module].rstrip("\n")
    return found


def write(case: Path, head: str, found: dict[str, str]) -> None:
    parts = [head.rstrip("\n")]
    parts += [f"# %% [{name}]\n{text}" for name, text in found.items()]
    case.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


@pytest.mark.parametrize("case", CASE_FILES, ids=lambda p: p.stem)
def test_case(case: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    text = case.read_text(encoding="utf-8")
    _, cells, expected = parse_case(text)
    found = actual(case, cells, tmp_path)
    if request.config.getoption("--update-golden"):
        first = re.search(r"^# %% \[(plan|module [a-z]+)\]", text, re.M)
        write(case, text[: first.start()] if first else text, found)
        return
    assert list(expected) == list(found), "the expected sections differ"
    for name, text in found.items():
        assert text == expected[name], f"{case.name}: {name} differs"


def test_no_generated_function_takes_more_than_seven_parameters() -> None:
    """Over every case's expected modules (``test_case`` shows they are what is
    generated) and every golden project's."""
    modules = [
        (f"{case.name}: {name}", text)
        for case in CASE_FILES
        for name, text in parse_case(case.read_text(encoding="utf-8"))[2].items()
        if name.startswith("module ")
    ] + [
        (str(path), path.read_text(encoding="utf-8"))
        for path in sorted(GOLDEN.glob("*/src/*/*.py"))
    ]
    wide = [
        f"{where}: {node.name} takes {width}"
        for where, text in modules
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef)
        and (
            width := len(node.args.posonlyargs)
            + len(node.args.args)
            + len(node.args.kwonlyargs)
        )
        > WIDEST
    ]
    assert len(modules) > 30
    assert not wide


def test_there_are_cases() -> None:
    assert len(CASE_FILES) >= 8
