"""The real CLI in a subprocess: exit codes, one-line errors, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from tests.helpers.cli import run_nbprod
from tests.helpers.notebooks import make_notebook
from tests.helpers.paths import EXAMPLE_NOTEBOOKS


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix != ".ipynb")


def test_syntax_error_names_cell_and_line_and_writes_nothing(tmp_path: Path) -> None:
    nb = make_notebook(
        tmp_path / "bad.ipynb",
        "import pandas as pd",
        "#md ## Clean",
        "df = pd.DataFrame()\nx = (1 +\n",
    )
    result = run_nbprod("convert", nb, "-o", tmp_path / "out", "--no-validate")
    assert_one_line_error(result, "cell 3, line 2: syntax error")
    assert leftovers(tmp_path) == []


def test_existing_output_folder_is_refused_without_force(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "nb" / "poc.ipynb", "x = 1\nprint(x)\ny = x + 1")
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me", encoding="utf-8")
    result = run_nbprod("convert", nb, "-o", out, "--no-validate")
    assert_one_line_error(result, "exists and is not empty", "--force")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert (out / "mine.txt").read_text(encoding="utf-8") == "keep me"

    forced = run_nbprod("convert", nb, "-o", out, "--no-validate", "--force")
    assert forced.returncode == 0, forced.stderr
    assert not (out / "mine.txt").exists() and (out / "config.yaml").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "nb",
        "out",
    ], "staging folders left behind"


def test_output_inside_the_notebook_folder_itself_is_refused(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "poc.ipynb", "x = 1")
    result = run_nbprod("convert", nb, "-o", tmp_path, "--no-validate", "--force")
    assert_one_line_error(result, "would contain or replace the notebook")
    assert nb.is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid notebook JSON"),
        ("[1, 2, 3]", "not a Jupyter notebook"),
        (
            '{"cells": 5, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
            "invalid notebook",
        ),
        ("", "not valid notebook JSON"),
    ],
)
def test_files_that_are_not_notebooks_are_refused(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "x.ipynb"
    path.write_text(content, encoding="utf-8")
    for command in (
        ["convert", path, "-o", tmp_path / "out", "--no-validate"],
        ["plan", path],
    ):
        assert_one_line_error(run_nbprod(*command), str(path), message)
    assert not (tmp_path / "out").exists()


def test_non_python_kernel_is_refused(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "r.ipynb", "x <- 1", kernel="ir", language="R")
    assert_one_line_error(
        run_nbprod("plan", nb), "kernel is 'r'", "Python notebooks only"
    )


def test_notebook_without_code_has_nothing_to_convert(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "md.ipynb", "#md # Only words")
    assert_one_line_error(
        run_nbprod("convert", nb, "-o", tmp_path / "out", "--no-validate"),
        "nothing to convert",
    )


def test_unconvertible_magic_fails_before_anything_is_written(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "poc.ipynb", "x = 1", "files = !ls")
    result = run_nbprod("convert", nb, "-o", tmp_path / "out", "--no-validate")
    assert_one_line_error(result, "cell 2, line 1", "shell output capture")
    assert leftovers(tmp_path) == []


def test_bad_package_name_is_a_usage_error(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "poc.ipynb", "x = 1")
    assert_one_line_error(
        run_nbprod("convert", nb, "--name", "my-pkg", "--no-validate"), "--name"
    )


@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_plan_accounts_for_every_code_cell_and_never_modifies_the_notebook(
    notebook: Path,
) -> None:
    before = notebook.read_bytes()
    result = run_nbprod("plan", notebook, "--format", "json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    code_cells = [
        i
        for i, c in enumerate(nbformat.read(str(notebook), as_version=4).cells, start=1)
        if c.cell_type == "code"
    ]
    assert [c["number"] for c in plan["cells"]] == code_cells
    assert all(c["reason"] for c in plan["cells"])
    text = run_nbprod("plan", notebook)
    assert text.returncode == 0 and all(
        f"cell {n:>3}" in text.stdout for n in code_cells
    )
    assert notebook.read_bytes() == before


def test_convert_prints_where_it_went_and_what_to_do_next(tmp_path: Path) -> None:
    nb = make_notebook(
        tmp_path / "nb" / "my poc.ipynb",
        "import pandas as pd",
        "df = pd.DataFrame({'a': [1, 2]})\ndf = df.dropna()",
    )
    result = run_nbprod("convert", nb, "--no-validate")
    assert result.returncode == 0, result.stderr
    assert (
        tmp_path / "nb" / "my_poc" / "src" / "my_poc" / "preprocessing.py"
    ).is_file()
    assert "python -m my_poc run" in result.stdout


def test_old_formats_are_upgraded(tmp_path: Path) -> None:
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {"name": "old"},
        "worksheets": [
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "language": "python",
                        "input": ["import pandas as pd\n"],
                        "outputs": [],
                    },
                    {
                        "cell_type": "code",
                        "language": "python",
                        "input": ["df = pd.DataFrame({'a': [1]}).fillna(0)"],
                        "outputs": [],
                    },
                ]
            }
        ],
    }
    v40 = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = [1, 2]\nx.append(3)")]
    )
    v40.nbformat_minor = 0
    for cell in v40.cells:
        cell.pop("id", None)
    for name, text in (("v3.ipynb", json.dumps(v3)), ("v40.ipynb", json.dumps(v40))):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        result = run_nbprod(
            "convert", path, "-o", tmp_path / path.stem, "--no-validate"
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / path.stem / "config.yaml").is_file()
