"""The comparison of one value from each run, with real scikit-learn objects."""

from __future__ import annotations

import ast
import dataclasses
import json
import pickle
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from nbprod.plan import Plan
from nbprod.validate import compare as compare_module
from nbprod.validate.characterize import EQUIVALENCE, characterization_files
from nbprod.validate.compare import (
    Comparison,
    How,
    Verdict,
    compare,
    compare_summary,
    is_model,
    summary,
)
from nbprod.validate.proof import Outcome, Validation, format_table, judge

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend

RNG = np.random.RandomState(0)
X5 = RNG.rand(80, 5)
Y = (X5[:, 0] + X5[:, 1] > 1).astype(int)
X3 = X5[:, :3]
OTHER3 = RNG.rand(80, 3)  # same shape as X3, other data


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
    assert status(a, a + [0, 0, 1, 0, 2]) == (
        "different",
        "2 of 5 values differ, by up to 2",
    )
    df = pd.DataFrame({"x": [1.0, 2.0], "mean_fit_time": [0.1, 0.2]})
    other = df.assign(mean_fit_time=[0.3, 0.4])
    assert status(df, other)[0] == "equal", "fit times are not computed values"
    assert status(df, df.assign(x=[1.0, 3.0]))[0] == "different"
    assert compare("v", df, df.copy()).how == "frame"


def test_containers_and_paths() -> None:
    assert status({"a": [1, 2]}, {"a": [1, 3]}) == ("different", "v['a'][1]: 2 != 3")
    assert status(Path("/proj/out/results/p.csv"), Path("results/p.csv"))[0] == "equal"
    assert status("/proj/out/results/p.csv", "results/p.csv")[0] == "equal"
    assert status([1, 2], [1, 2, 3]) == ("different", "length 2 != 3")
    gen = (i for i in range(3))
    assert status(gen, (i for i in range(3)))[0] == "not comparable"


@pytest.mark.parametrize("bad", [float("nan")])
def test_nan_equals_nan(bad: float) -> None:
    assert status(bad, bad)[0] == "equal"


# Estimators: class, parameters, fitted state, predictions ---------------------


def logreg(X: np.ndarray, **params: Any) -> LogisticRegression:
    return LogisticRegression(**params).fit(X, Y)


def scaled(X: np.ndarray) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(
        X, Y
    )


def forest(seed: Any) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=10, random_state=seed).fit(X5, Y)


def boosted(X: np.ndarray) -> GradientBoostingClassifier:
    return GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, Y)


def search() -> GridSearchCV:
    return GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=3).fit(X5, Y)


def slow(fitted: GridSearchCV) -> GridSearchCV:
    """The same search, as if it had run on a slower machine."""
    fitted.refit_time_ += 1.0
    for key in ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"):
        fitted.cv_results_[key] = fitted.cv_results_[key] + 1.0
    return fitted


MODELS: list[tuple[str, Callable[[], Any], Callable[[], Any], tuple, str, str]] = [
    # id, the pipeline's, the notebook's, inputs, status, how
    ("refit identically", lambda: logreg(X3), lambda: logreg(X3), (), "equal", "fitted state"),
    ("refit, with inputs", lambda: logreg(X3), lambda: logreg(X3), (X3,), "equal", "fitted state"),
    ("5 vs 3 features", lambda: logreg(X5), lambda: logreg(X3), (), "different", "fitted state"),
    ("5 vs 3 features, inputs", lambda: logreg(X5), lambda: logreg(X3), (X3, X5), "different", "fitted state"),
    ("other data, same shape", lambda: logreg(X3), lambda: logreg(OTHER3), (), "different", "fitted state"),
    ("other parameter", lambda: logreg(X3, C=1.0), lambda: logreg(X3, C=2.0), (X3,), "different", "parameters"),
    ("fitted vs not", lambda: logreg(X3), LogisticRegression, (), "different", "fitted state"),
    ("never fitted", LogisticRegression, LogisticRegression, (X3,), "equal", "parameters"),
    ("RandomState parameter", lambda: forest(np.random.RandomState(0)), lambda: forest(np.random.RandomState(0)), (X5,), "equal", "fitted state"),
    ("RandomState seeded apart", lambda: forest(np.random.RandomState(0)), lambda: forest(np.random.RandomState(1)), (), "different", "parameters"),
    ("grid search, other timings", search, lambda: slow(search()), (X5,), "equal", "fitted state"),
    ("scaler on other data", lambda: scaled(X3), lambda: scaled(X3 * 2), (), "different", "fitted state"),
    ("pipeline refit", lambda: scaled(X3), lambda: scaled(X3), (X3,), "equal", "fitted state"),
    ("dict of two models", lambda: {"a": logreg(X3), "b": forest(0)}, lambda: {"a": logreg(X3), "b": forest(0)}, (X3,), "equal", "fitted state"),
    ("boosted trees", lambda: boosted(X5), lambda: boosted(X5), (), "equal", "fitted state"),
    ("boosted trees, other data", lambda: boosted(X5), lambda: boosted(X5[::-1]), (), "different", "fitted state"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("ours", "theirs", "inputs", "expected", "how"),
    [pytest.param(*case[1:], id=case[0]) for case in MODELS],
)
def test_models_by_what_they_learned(
    ours: Callable[[], Any],
    theirs: Callable[[], Any],
    inputs: tuple,
    expected: str,
    how: str,
) -> None:
    verdict = compare("model", ours(), theirs(), inputs)
    assert (verdict.status, verdict.how) == (expected, how), verdict.detail
    assert verdict.model
    assert "repr" not in verdict.detail


def test_what_differs_in_a_model_is_named() -> None:
    assert status(logreg(X5), logreg(X3)) == (
        "different",
        "fitted n_features_in_: 5 != 3",
    )
    # Other data of the same shape: the first learned attribute that differs.
    detail = status(logreg(X3), logreg(OTHER3))[1]
    assert detail.startswith("fitted ") and detail.split()[1].endswith("_:"), detail
    assert status(logreg(X3, C=1.0), logreg(X3, C=2.0)) == (
        "different",
        "parameter C: 1.0 != 2.0",
    )
    assert status(scaled(X3), scaled(X3 * 2))[1].startswith(
        "parameter steps[0][1]: fitted mean_: 3 of 3 values differ"
    )
    assert status(logreg(X3), LogisticRegression()) == (
        "different",
        "only the pipeline's is fitted",
    )


def test_how_an_equal_model_was_proven_is_said() -> None:
    assert status(logreg(X3), logreg(X3), (X3,)) == (
        "equal",
        "same parameters and fitted state (5 attributes); predict on a captured input",
    )
    assert status(logreg(X3), logreg(X3), (X5,))[1].endswith(
        "no captured input it takes"
    )
    assert status(LogisticRegression(), LogisticRegression()) == (
        "equal",
        "not fitted: compared by its parameters",
    )


class Offset(LogisticRegression):
    """Keeps an offset privately: its fitted state hides it, its predictions show it."""

    def predict(self, X: Any) -> Any:
        return super().predict(X) + getattr(self, "_offset", 0)


def test_predictions_that_differ_make_a_model_different() -> None:
    a, b = Offset().fit(X3, Y), Offset().fit(X3, Y)
    assert compare("m", a, b, (X3,)).status == "equal"
    b._offset = 1
    verdict = compare("m", a, b, (X3,))
    assert (verdict.status, verdict.how) == ("different", "predictions"), verdict
    assert verdict.detail.startswith("predict on a captured input: ")


def test_cross_validate_results_are_equal_despite_their_timings() -> None:
    a = cross_validate(LogisticRegression(), X5, Y, cv=3)
    b = cross_validate(LogisticRegression(), X5, Y, cv=3)
    b["fit_time"], b["score_time"] = a["fit_time"] + 1, a["score_time"] + 1
    assert compare("cv", a, b).status == "equal"
    b["test_score"] = b["test_score"] + 0.1
    assert compare("cv", a, b).status == "different"
    only = compare("cv", {"fit_time": 1.0}, {"fit_time": 2.0})
    assert (only.status, only.how) == ("not comparable", "not computed")
    assert compare("fit_time", 1.0, 2.0).status == "not comparable"


def test_search_results_frame_skips_timing_columns() -> None:
    a, b = search(), slow(search())
    verdict = compare(
        "cv_results", pd.DataFrame(a.cv_results_), pd.DataFrame(b.cv_results_)
    )
    assert (verdict.status, verdict.how) == ("equal", "frame")


def displays() -> list[tuple[Any, Any]]:
    plt.close("all")
    matrix = np.array([[3, 1], [0, 4]])
    plotted = [ConfusionMatrixDisplay(matrix).plot() for _ in range(2)]
    return [
        (ConfusionMatrixDisplay(matrix), ConfusionMatrixDisplay(matrix)),
        (plotted[0], plotted[1]),
        (plt.figure(), plt.figure()),
        (plt.subplots(), plt.subplots()),
        (plt.subplots(2, 2)[1], plt.subplots(2, 2)[1]),
        (plotted[0], plotted[1].figure_),
    ]


def test_plots_are_not_compared() -> None:
    for ours, theirs in displays():
        verdict = compare("plot", ours, theirs)
        assert (verdict.status, verdict.detail) == (
            "not comparable",
            "a plot, not a computed value",
        ), type(ours)
    # Beside computed values, a plot is set aside, not held against them.
    fig = plt.figure()
    assert compare("pair", (1.0, fig), (1.0, plt.figure())).status == "equal"
    plt.close("all")


class Handle:
    """Nothing to compare but a repr: no equality, no attributes, no pickled state."""

    __slots__ = ("lock",)

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __repr__(self) -> str:
        return "Handle()"


class Settings:
    """A plain object: compared by its attributes, whatever its repr says."""

    def __init__(self, alpha: float, weights: np.ndarray) -> None:
        self.alpha, self.weights = alpha, weights

    def __repr__(self) -> str:
        return "Settings()"


class Identity:
    """An == that only knows identity, and a repr that only shows an address."""

    __slots__ = ("lock",)

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__


def test_no_verdict_comes_from_a_repr() -> None:
    assert repr(Handle()) == repr(Handle())
    verdict = compare("h", Handle(), Handle())
    assert verdict.status == "not comparable", verdict
    assert status(Settings(1.0, np.ones(3)), Settings(1.0, np.ones(3)))[0] == "equal"
    assert status(Settings(1.0, np.ones(3)), Settings(1.0, np.ones(3) + 1e-12))[0] == (
        "close"
    )
    assert status(Settings(1.0, np.ones(3)), Settings(2.0, np.ones(3))) == (
        "different",
        "v['alpha']: 1.0 != 2.0",
    )
    assert status(Identity(), Identity()) == (
        "not comparable",
        "its repr shows only a memory address",
    )


def test_random_generators_by_their_state() -> None:
    assert compare("r", np.random.RandomState(1), np.random.RandomState(1)).how == (
        "random state"
    )
    assert status(np.random.RandomState(1), np.random.RandomState(2))[0] == "different"
    assert status(np.random.default_rng(1), np.random.default_rng(1))[0] == "equal"
    drawn = np.random.default_rng(1)
    drawn.random()
    assert status(drawn, np.random.default_rng(1))[0] == "different"


def test_statsmodels_results_by_fitted_parameters() -> None:
    import statsmodels.api as sm  # in the test extra: a real dependency of this test

    design = sm.add_constant(X3)
    a, b = sm.OLS(Y, design).fit(), sm.OLS(Y, design).fit()
    assert status(a, b) == ("equal", "fitted parameters")
    other = sm.OLS(Y, sm.add_constant(OTHER3)).fit()
    assert status(a, other)[0] == "different"
    assert status(sm.OLS(Y, design), sm.OLS(Y, design)) == (
        "equal",
        "fitted parameters",
    )


def test_every_how_is_in_the_vocabulary() -> None:
    cases = [(c[1](), c[2](), c[3]) for c in MODELS] + displays()
    cases += [
        (1, 1),
        (np.ones(2), np.ones(2)),
        ({"a": 1}, {"a": 1}),
        (Handle(), Handle()),
    ]
    for ours, theirs, *inputs in cases:
        assert compare("v", ours, theirs, *inputs).how in set(How)
    plt.close("all")


def test_is_model() -> None:
    assert is_model(LogisticRegression()) and is_model(scaled(X3))
    assert not is_model(LogisticRegression) and not is_model(np.ones(2))


# What validation concludes --------------------------------------------------


def test_models_that_cannot_be_compared_leave_the_notebook_unproven() -> None:
    number = Comparison("acc", "equal", how="number")
    stuck = Comparison("model", "not comparable", "no way", model=True)
    proven = Comparison("model", "equal", how="fitted state", model=True)

    plan = Plan("nb", "nb", cells=(), stages=(), params=(), helpers=())

    def proof_status(comparisons: tuple[Comparison, ...]) -> str:
        return judge(plan, comparisons, (), None).status

    assert proof_status((number, stuck)) == "unproven"
    assert proof_status((number, stuck, proven)) == "equal"
    assert proof_status((number,)) == "equal"
    assert proof_status((stuck,)) == "unproven"
    assert proof_status((number, Comparison("x", "different"))) == "different"
    validation = judge(plan, (number, stuck), (), None)
    assert "no model could be compared (model)" in validation.reason
    assert validation.to_dict()["comparisons"][0]["how"] == "number"
    table = format_table(Validation(Outcome.EQUAL, (number, proven)))
    assert table.splitlines()[2].split() == ["acc", "equal", "number"]
    assert table.splitlines()[3].split() == ["model", "equal", "fitted", "state"]


# Values too large to keep: summaries -----------------------------------------


def kept(value: Any, inputs: dict[str, Any] | None = None) -> Any:
    """A summary as the generated test reads it back from expected.json."""
    return json.loads(json.dumps(summary(value, inputs)))


def test_summaries_compare_with_tolerance_and_never_pass_by_a_hash_alone() -> None:
    frame = pd.DataFrame(RNG.rand(500, 3), columns=list("abc")).assign(s="x")
    expected = kept(frame)

    def check(value: Any) -> str:
        return compare_summary("f", value, expected, {}).status

    assert check(frame.copy()) == "equal"
    assert check(frame.assign(a=frame["a"] * (1 + 1e-12))) == "close"
    assert check(frame.assign(a=frame["a"] * 1.01)) == "different"
    assert check(frame.assign(s="y")) == "different", "text has no tolerance"
    assert check(frame.assign(a=frame["a"].to_numpy()[::-1])) == "different"
    assert check(frame.rename(columns={"a": "z"})) == "different"
    assert check(frame.iloc[:-1]) == "different"


def test_model_summaries_by_class_parameters_and_predictions() -> None:
    inputs = {"X": X5, "X3": X3}
    models = {"forest": forest(np.random.RandomState(0)), "scaled": scaled(X3)}
    expected = kept(models, inputs)
    text = json.dumps(expected)
    assert " at 0x" not in text and "RandomState(" not in text
    again = {"forest": forest(np.random.RandomState(0)), "scaled": scaled(X3)}
    verdict = compare_summary("models", again, expected, inputs)
    assert (verdict.status, verdict.how, verdict.model) == ("equal", "summary", True)
    seeded_apart = {"forest": forest(np.random.RandomState(1)), "scaled": scaled(X3)}
    assert compare_summary("m", seeded_apart, expected, inputs).status == "different"
    other = {"forest": forest(np.random.RandomState(0)), "scaled": scaled(X3 * 2)}
    assert compare_summary("m", other, expected, inputs).status == "different"
    narrower = {"forest": forest(np.random.RandomState(0)), "scaled": scaled(OTHER3)}
    assert compare_summary("m", narrower, expected, inputs).status == "different"


def test_a_summary_of_nothing_but_a_type_proves_nothing() -> None:
    verdict = compare_summary("h", Handle(), kept(Handle()), {})
    assert verdict.status == "not comparable"


# The comparison the generated project ships ------------------------------------


def test_generated_projects_receive_this_module_byte_for_byte() -> None:
    files = characterization_files({"x": 1.0}, (Comparison("x", Verdict.EQUAL),), "pkg")
    source = Path(compare_module.__file__).read_bytes()
    assert files[EQUIVALENCE].encode("utf-8") == source
    # The project never imports nbprod: the module must stand alone.
    tree = ast.parse(source)
    top = [
        alias.name if isinstance(node, ast.Import) else node.module
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [node])
    ]
    assert all(
        name.split(".")[0] in sys.stdlib_module_names or name == "__future__"
        for name in top
    ), top


def test_pickled_copies_compare_equal() -> None:
    # What validation really compares: values that went through joblib/pickle.
    for model in (logreg(X3), scaled(X3), forest(np.random.RandomState(0)), search()):
        copy = pickle.loads(pickle.dumps(model))
        verdict = compare("m", copy, model, (X3, X5))
        assert (verdict.status, verdict.how) == ("equal", "fitted state"), verdict


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    x: float
    ys: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(2))


def test_dataclasses_by_their_fields() -> None:
    assert compare("p", Point(1.0), Point(1.0)).status == "equal"
    assert status(Point(1.0), Point(1.0, np.ones(2)))[0] == "different"
    assert status(Point(1.0), Point(1.0 + 1e-12))[0] == "close"


def test_a_large_dict_of_fitted_searches_is_characterized_without_its_timings() -> None:
    # A dict too large to keep whole, holding a search that carries fit times: its
    # hash changes on every run, so the kept summary must pass without it.
    noise = np.random.RandomState(1)
    X = noise.rand(400, 5)
    y = (X[:, 0] + noise.rand(400) > 1).astype(int)  # noisy: deep trees, large

    def fitted() -> dict[str, Any]:
        grid = GridSearchCV(
            RandomForestClassifier(n_estimators=40, random_state=0),
            {"min_samples_leaf": [1, 2]},
            cv=2,
        )
        return {"search": grid.fit(X, y), "forest": forest(0)}

    notebook = fitted()
    files = characterization_files(
        {"models": notebook, "X": X},
        (Comparison("models", Verdict.EQUAL), Comparison("X", Verdict.EQUAL)),
        "pkg",
    )
    expected = json.loads(files["tests/characterization/expected.json"])["models"]
    assert expected["stored"] == "summary"
    rerun = fitted()
    rerun["search"] = slow(rerun["search"])
    verdict = compare_summary("models", rerun, expected["summary"], {"X": X})
    assert (verdict.status, verdict.how) == ("equal", "summary"), verdict.detail
    # ... and it still notices a search that learned something else.
    other = fitted()
    other["search"].fit(X[:200], y[:200])
    assert compare_summary("models", other, expected["summary"], {"X": X}).status == (
        "different"
    )


def test_frames_of_objects_are_summarised_by_their_objects() -> None:
    frame = pd.DataFrame({"model": [logreg(X3), logreg(X5)], "score": [0.5, 0.7]})
    kept_frame = kept(frame)
    same = pd.DataFrame({"model": [logreg(X3), logreg(X5)], "score": [0.5, 0.7]})
    assert compare_summary("f", same, kept_frame, {}).status == "equal"
    other = pd.DataFrame({"model": [logreg(X3), logreg(OTHER3)], "score": [0.5, 0.7]})
    assert compare_summary("f", other, kept_frame, {}).status == "different"


def test_frames_holding_models_compare_them_by_what_they_learned() -> None:
    def table(X: np.ndarray, score: float = 0.5, index: int = 0) -> pd.DataFrame:
        return pd.DataFrame({"model": [logreg(X)], "score": [score]}, index=[index])

    assert compare("t", table(X3), table(X3)).status == "equal"
    assert status(table(X3), table(OTHER3))[1].startswith("v[0]: fitted ")
    assert status(table(X3), table(X3, score=0.6))[0] == "different"
    assert status(table(X3), table(X3, index=1))[0] == "different"
    # A categorical's categories are part of it, not cells to compare one by one.
    ab = pd.Categorical(["a", "b"], categories=["a", "b"])
    ba = pd.Categorical(["a", "b"], categories=["b", "a"])
    assert status(pd.DataFrame({"c": ab}), pd.DataFrame({"c": ba}))[0] == "different"


class Boosted(ClassifierMixin, BaseEstimator):
    """Keeps what it learned privately, as xgboost's and lightgbm's wrappers do."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> Boosted:
        self.n_features_in_ = X.shape[1]
        self._booster = np.linalg.lstsq(X, y, rcond=None)[0]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (X @ self._booster > 0.5).astype(int)


def test_what_a_model_keeps_privately_is_proven_by_its_predictions_or_not_at_all() -> (
    None
):
    a, same, other = (
        Boosted().fit(X3, Y),
        Boosted().fit(X3, Y),
        Boosted().fit(OTHER3, Y),
    )
    assert compare("b", a, same).status == "equal"
    # Its public state agrees; only predictions could tell, and there is no input.
    verdict = compare("b", a, other)
    assert verdict.status == "not comparable", verdict
    assert verdict.detail.startswith("private _booster: ")
    assert compare("b", a, other, (X3,)).status == "different"
