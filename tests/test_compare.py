"""The comparison of one value from each run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from nbprod.compare import compare


def status(a: object, b: object, inputs: tuple = ()) -> tuple[str, str]:
    c = compare("v", a, b, inputs)
    return c.status, c.detail


def test_numbers() -> None:
    assert status(1, 1) == ("equal", "")
    assert status(0.1 + 0.2, 0.3) == ("close", "max difference 5.55e-17")
    assert status(0.5, 0.6) == ("different", "0.5 != 0.6")
    assert status(1, 1.0)[0] == "different"


def test_arrays_and_frames() -> None:
    a = np.arange(5, dtype=float)
    assert status(a, a.copy())[0] == "equal"
    assert status(a, a + 1e-12)[0] == "close"
    assert status(a, a[:4]) == ("different", "shape (5,) != (4,)")
    df = pd.DataFrame({"x": [1.0, 2.0], "mean_fit_time": [0.1, 0.2]})
    other = df.assign(mean_fit_time=[0.3, 0.4])
    assert status(df, other)[0] == "equal", "fit times are not computed values"
    assert status(df, df.assign(x=[1.0, 3.0]))[0] == "different"


def test_estimators_by_parameters_and_predictions() -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    a, b = LogisticRegression(C=1.0).fit(X, y), LogisticRegression(C=1.0).fit(X, y)
    assert status(a, b, (X,)) == ("equal", "predict on a captured input")
    c = LogisticRegression(C=2.0).fit(X, y)
    assert status(a, c, (X,)) == ("different", "parameter C: 1.0 != 2.0")


def test_containers_and_paths() -> None:
    assert status({"a": [1, 2]}, {"a": [1, 3]}) == ("different", "v['a'][1]: 2 != 3")
    assert status(Path("/proj/out/results/p.csv"), Path("results/p.csv"))[0] == "equal"
    gen = (i for i in range(3))
    assert status(gen, (i for i in range(3)))[0] == "not comparable"


@pytest.mark.parametrize("bad", [float("nan")])
def test_nan_equals_nan(bad: float) -> None:
    assert status(bad, bad)[0] == "equal"
