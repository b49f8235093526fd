"""No generated function takes more than seven parameters, and the functions
that take their many inputs as one named tuple are still proven.

The notebooks are ``tests/cases/many_inputs.py`` and ``wide_serving.py`` (their
plans and modules are checked there): in the first, evaluation reads eleven
values, training six, one of its steps ten with its config; in the second,
predict applies nine saved values. Here the notebooks really run, with data, and
so do the stages, each in its own process, as an orchestrator runs them, and
predict on a file of new rows.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nbprod.convert.plan.signatures import WIDEST
from tests.helpers.project import run_project
from tests.helpers.shared import converted_case

pytestmark = [pytest.mark.e2e, pytest.mark.kernel]


def _churn(folder: Path) -> None:
    rng = np.random.default_rng(0)
    n = 600
    tenure = rng.integers(0, 72, n)
    charges = rng.normal(60, 20, n).round(2)
    contract = rng.choice(["monthly", "yearly", "two_year"], n)
    risk = charges / 40 - tenure / 20 + (contract == "monthly")
    pd.DataFrame(
        {
            "gender": rng.choice(["female", "male"], n),
            "contract": contract,
            "tenure": tenure,
            "charges": charges,
            "churn": (rng.random(n) < 1 / (1 + np.exp(-risk))).astype(int),
        }
    ).to_csv(folder / "churn.csv", index=False)


def _widths(source: str) -> dict[str, int]:
    return {
        node.name: len(node.args.posonlyargs)
        + len(node.args.args)
        + len(node.args.kwonlyargs)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef)
    }


def _project_widths(project: Path) -> dict[str, int]:
    """Each generated function's number of parameters, at most WIDEST."""
    widths = {
        f"{path.stem}.{name}": n
        for path in sorted((project / "src").glob("*/*.py"))
        for name, n in _widths(path.read_text(encoding="utf-8")).items()
    }
    assert max(widths.values()) <= WIDEST, widths
    return widths


def test_wide_stages_take_their_inputs_as_one_value_and_are_proven(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    copy = converted_case(tmp_path_factory, tmp_path, "many_inputs", _churn)
    assert copy.result.returncode == 0, copy.result.stdout + copy.result.stderr
    project = copy.project
    report = json.loads((project / "nbprod-report.json").read_text(encoding="utf-8"))
    statuses = {c["name"]: c["status"] for c in report["validation"]["comparisons"]}
    # What the wide stage and the step that takes its inputs whole computed.
    for name in ("drops", "base", "model", "X_test", "churn"):
        assert statuses.get(name) == "equal", statuses
    assert set(statuses.values()) == {"equal"}, statuses
    assert "predict: proven on 120 rows" in copy.result.stdout, copy.result.stdout

    widths = _project_widths(project)
    assert widths["evaluation.evaluate"] == 1, widths

    # Each stage in a process of its own: evaluate gets its eleven inputs from
    # the artifacts two earlier stages saved.
    for stage in ("preprocess", "train", "evaluate"):
        ran = run_project(project, stage)
        assert ran.returncode == 0, ran.stdout + ran.stderr


def _rows(folder: Path) -> None:
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": rng.choice(["x", "y", "z"], n),
            "d": rng.choice(["p", "q"], n),
            "e": rng.normal(size=n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "a"] = np.nan
    frame["y"] = ((frame.a.fillna(0) + frame.b + (frame.c == "x")) > 0.5).astype(int)
    frame.to_csv(folder / "data.csv", index=False)


def test_a_serving_path_applying_many_saved_values_is_proven_and_scores_a_file(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    copy = converted_case(tmp_path_factory, tmp_path, "wide_serving", _rows)
    assert copy.result.returncode == 0, copy.result.stdout + copy.result.stderr
    assert "predict: proven on 100 rows" in copy.result.stdout, copy.result.stdout
    widths = _project_widths(copy.project)
    assert widths["inference.predict_new_rows"] == 2, widths

    ran = run_project(copy.project, "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    new_rows = copy.notebook.parent / "data.csv"
    scored = tmp_path / "scored.csv"
    ran = run_project(copy.project, "predict", "--input", new_rows, "--output", scored)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert len(pd.read_csv(scored)) == 400
