"""benchmarks/code_shape.py's measures, on stage modules written by hand: returns,
parameters, clones (identical, renamed, and a run too short to count) and sections.

The benchmark is a script, not a package: it is loaded from its file.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from textwrap import dedent
from types import ModuleType
from typing import Any

import pytest

from tests.helpers.paths import ROOT


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "code_shape", ROOT / "benchmarks" / "code_shape.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


code_shape = _load()


def _function(source: str) -> ast.FunctionDef:
    node = ast.parse(dedent(source)).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def test_return_count_counts_the_elements_of_a_returned_tuple() -> None:
    assert code_shape.return_count(_function("def f():\n    return a, b, c\n")) == 3
    assert code_shape.return_count(_function("def f():\n    return x\n")) == 1
    assert (
        code_shape.return_count(_function("def f():\n    return {'a': 1, 'b': 2}\n"))
        == 1
    )
    assert code_shape.return_count(_function("def f():\n    print(1)\n")) == 0
    # The most of its returns; a nested function's returns are not its own.
    source = """\
        def f(x):
            def inner():
                return 1, 2, 3, 4, 5
            if x:
                return x, x
            return (x, x, x)
        """
    assert code_shape.return_count(_function(source)) == 3


def test_param_count_leaves_out_star_args_and_star_kwargs() -> None:
    source = "def f(a, b, /, c, *args, d, e=1, **kwargs):\n    pass\n"
    assert code_shape.param_count(_function(source)) == 5
    assert code_shape.param_count(_function("def f(*, x: int):\n    pass\n")) == 1


SIX = """\
    df = load(path)
    df["a"] = df["a"].fillna(0)
    df["b"] = df["b"] * 2
    df = df.dropna()
    X = df[["a", "b"]]
    y = df["target"]
"""


def _two_functions(first: str, second: str) -> dict[str, str]:
    """A preprocessing and a training module, each a stage function around a body;
    their returns differ, so that they do not lengthen a clone."""
    return {
        "preprocessing": (
            '"""Preprocessing."""\n\nimport pandas as pd\n\n\n'
            'def preprocess(path):\n    """Run it."""\n\n'
            f"    # Notebook cell 2: Load.\n{first}\n    return X, y\n"
        ),
        "training": (
            '"""Training."""\n\nimport pandas as pd\n\n\n'
            'def train(path):\n    """Run it."""\n\n'
            f"    # Notebook cell 5: Train.\n{second}\n    return y, X\n"
        ),
    }


CELLS = [
    {"number": 2, "stage": "preprocessing", "section": "Load"},
    {"number": 5, "stage": "training", "section": "Train"},
]


def _measure(sources: dict[str, str], cells: list[dict[str, Any]] = CELLS) -> Any:
    return code_shape.measure_sources(sources, cells)


def test_six_identical_statement_lines_are_a_clone() -> None:
    # Comments and blank lines between them do not hide a clone.
    spaced = SIX.replace(
        "    df = df.dropna()\n", "\n    # drop\n    df = df.dropna()\n"
    )
    shape = _measure(_two_functions(SIX, spaced))
    assert (shape.identical, shape.renamed) == (1, 0)
    clone = shape.clones[0]
    assert clone.length == 6
    assert {clone.a[1], clone.b[1]} == {"preprocess", "train"}


def test_a_clone_within_one_function_is_found() -> None:
    shape = _measure(_two_functions(SIX + "    print(X)\n" + SIX, "    X = 1\n"))
    assert (shape.identical, shape.renamed) == (1, 0)
    assert shape.clones[0].a[1] == shape.clones[0].b[1] == "preprocess"


def test_the_same_lines_with_other_names_are_a_renamed_clone() -> None:
    renamed = SIX.replace("df", "test").replace("X", "X_test").replace("y ", "y_test ")
    shape = _measure(_two_functions(SIX, renamed))
    assert (shape.identical, shape.renamed) == (0, 1)
    assert shape.clones[0].length == 6


def test_renaming_must_be_consistent_and_leaves_attributes_alone() -> None:
    # One name in the first maps onto two in the second: not the same shape.
    inconsistent = SIX.replace('df["b"] = df["b"]', 'df["b"] = other["b"]')
    assert _measure(_two_functions(SIX, inconsistent)).clones == []
    # An attribute is the API called, not a name: .dropna() is not .fillna().
    other_call = SIX.replace("df.dropna()", "df.ffill()")
    assert _measure(_two_functions(SIX, other_call)).clones == []


def test_five_shared_lines_are_not_a_clone() -> None:
    five = "".join(SIX.splitlines(keepends=True)[:5])
    shape = _measure(_two_functions(five, five))
    assert shape.clones == []
    # Docstrings and the imports outside the functions are not compared either.
    assert (shape.identical, shape.renamed) == (0, 0)


def test_functions_lines_and_the_longest_cell() -> None:
    shape = _measure(_two_functions(SIX, "    X = 1\n    y = 2\n"))
    assert len(shape.functions) == 2
    assert shape.max_returns == 2
    assert shape.max_params == 1
    preprocess = next(f for f in shape.functions if f.name == "preprocess")
    # def, docstring, blank, label, six lines, blank, return.
    assert preprocess.lines == 12
    assert shape.longest_cell == 6


@pytest.mark.parametrize(
    ("cells", "covered"),
    [
        # Each function holds the cells of one section: both covered.
        (CELLS, ["Load", "Train"]),
        # Cell 5 is in "Load" too: preprocess and train both belong to "Load";
        # "Clean" has pipeline code (cell 7's, kept elsewhere) but no function.
        (
            [
                {"number": 2, "stage": "preprocessing", "section": "Load"},
                {"number": 5, "stage": "training", "section": "Load"},
                {"number": 7, "stage": "training", "section": "Clean"},
            ],
            ["Load"],
        ),
    ],
)
def test_a_section_is_covered_by_a_function_of_its_own(
    cells: list[dict[str, Any]], covered: list[str]
) -> None:
    shape = _measure(_two_functions("    X = 1\n", "    y = 2\n"), cells)
    assert shape.covered == covered
    assert len(shape.sections) == len({c["section"] for c in cells})


def test_a_function_mixing_sections_covers_none() -> None:
    source = {
        "training": (
            "def train(a):\n"
            "    # Notebook cell 3: Clean.\n    a = a + 1\n\n"
            "    # Notebook cell 4: Train.\n    b = a * 2\n\n    return b\n"
        )
    }
    cells = [
        {"number": 1, "stage": None, "section": "Explore"},  # excluded: not counted
        {"number": 3, "stage": "preprocessing", "section": "Clean"},
        {"number": 4, "stage": "training", "section": "Train"},
    ]
    shape = _measure(source, cells)
    assert (shape.covered, shape.sections) == ([], ["Clean", "Train"])
    # The generated return is no part of cell 4's block.
    assert [(b.cell, b.lines) for b in shape.functions[0].blocks] == [(3, 1), (4, 1)]


def _stage(cells: dict[int, int]) -> dict[str, str]:
    """A training module whose function holds, per cell, that many statements."""
    body = "".join(
        f"\n    # Notebook cell {cell}: Train.\n"
        + "".join(f"    x{cell}_{i} = {i}\n" for i in range(count))
        for cell, count in cells.items()
    )
    return {"training": f"def train():{body}\n    return None\n"}


def test_a_long_function_passes_only_when_one_long_cell_is_all_it_holds() -> None:
    cells = [{"number": n, "stage": "training", "section": "Train"} for n in (3, 4)]
    alone = _measure(_stage({3: 45}), cells)
    assert alone.longest_cell == 45 and alone.too_long() == []
    shared = _measure(_stage({3: 45, 4: 2}), cells)
    assert [f.name for f in shared.too_long()] == ["train"]
    short = _measure(_stage({3: 20, 4: 2}), cells)
    assert short.too_long() == []
