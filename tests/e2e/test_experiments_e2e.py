"""Experiments: the same fit-and-score cell, run after each redefinition of the
feature function, is one step function called once per version, and each call
is proven as its own step.

The notebook is ``tests/cases/experiments.py`` (its plan and modules are
checked there). Here it runs with data; then the project is changed so that one
call passes the wrong feature function, and validation names that call's step.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.cli import run_with_kernels
from tests.helpers.shared import converted_case

pytestmark = [pytest.mark.e2e, pytest.mark.kernel]


def _cars(folder: Path) -> None:
    rng = np.random.default_rng(0)
    n = 300
    year = rng.integers(1995, 2017, n)
    hp = rng.normal(250, 60, n).round()
    make = rng.choice(["bmw", "ford", "kia"], n)
    price = np.exp(8 + hp / 150 + (year - 1995) / 15 + (make == "bmw") * 0.4)
    pd.DataFrame(
        {
            "engine_hp": hp,
            "city_mpg": rng.normal(20, 4, n).round(),
            "year": year,
            "make": make,
            "msrp": (price * rng.lognormal(0, 0.1, n)).round(),
        }
    ).to_csv(folder / "cars.csv", index=False)


def _statuses(project: Path) -> dict[str, str]:
    report = json.loads((project / "nbprod-report.json").read_text(encoding="utf-8"))
    return {c["name"]: c["status"] for c in report["validation"]["comparisons"]}


def test_each_call_of_a_shared_step_is_proven_as_its_own_step(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    copy = converted_case(tmp_path_factory, tmp_path, "experiments", _cars)
    assert copy.result.returncode == 0, copy.result.stdout + copy.result.stderr
    statuses = _statuses(copy.project)
    # The weights each experiment fitted, kept as each call returned them.
    for name in ("w (fit_w)", "w (fit_w_age)", "w", "score"):
        assert statuses.get(name) == "equal", statuses
    assert set(statuses.values()) == {"equal"}, statuses
    training = copy.project / "src" / "experiments" / "training.py"
    source = training.read_text(encoding="utf-8")
    assert source.count("def fit_w(") == 1 and "_2" not in source

    # The second experiment fitted on other rows (as many, drawn with
    # replacement): its weights differ from the notebook's, and the table names
    # its step; the first call's are still equal.
    call = "fit_w(df_train, y_train, base, prepare_X=prepare_X_age)"
    assert source.count(call) == 1
    other_rows = "df_train.sample(frac=1.0, replace=True, random_state=0)"
    training.write_text(
        source.replace(call, call.replace("df_train", other_rows, 1)), "utf-8"
    )
    again = run_with_kernels(tmp_path, "validate", copy.notebook, copy.project)
    assert again.returncode == 1, again.stdout + again.stderr
    statuses = _statuses(copy.project)
    assert statuses["w (fit_w_age)"] == "different", statuses
    assert statuses["w (fit_w)"] == "equal", statuses
