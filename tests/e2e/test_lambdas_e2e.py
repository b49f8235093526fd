"""A lambda bound to a name is a function: the notebook of
``tests/cases/lambdas.py`` is proven, and each of its stages runs in a process
of its own (as DVC runs them), although preprocessing's ``scale`` is used by
inference: it is imported, not handed on as a value no pickle can save."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.project import run_project
from tests.helpers.shared import converted_case

pytestmark = [pytest.mark.e2e, pytest.mark.kernel]


def _data(folder: Path) -> None:
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(3, 2, 100), "b": rng.normal(0, 1, 100)}).to_csv(
        folder / "data.csv", index=False
    )


def test_a_lambda_used_by_a_later_stage_runs_in_each_stage_alone(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    copy = converted_case(tmp_path_factory, tmp_path, "lambdas", _data)
    assert copy.result.returncode == 0, copy.result.stdout + copy.result.stderr
    assert re.search(r"(\d+) values compared: \1 equal", copy.result.stdout)
    for stage in ("preprocess", "train", "predict"):
        ran = run_project(copy.project, stage)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "cannot be saved" not in ran.stderr, ran.stderr
