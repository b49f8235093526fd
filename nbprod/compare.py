"""Compare what the notebook computed with what the pipeline computed, name by name.

Numbers and arrays with a tolerance (numpy.testing), frames and series with
pandas.testing, fitted estimators by their parameters and their predictions on the
captured inputs, anything else by pickled equality, ``==`` or ``repr``.
"""

from __future__ import annotations

import math
import numbers
import pickle
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

EQUAL, CLOSE, DIFFERENT, NOT_COMPARABLE = (
    "equal",
    "close",
    "different",
    "not comparable",
)
RTOL, ATOL = 1e-7, 1e-12
# Wall-clock measurements are not computed values: scikit-learn's search results
# carry fit and score times that differ on every run.
TIMING = re.compile(r"^(mean|std)_(fit|score)_time$|^refit_time_$")


@dataclass(frozen=True)
class Comparison:
    """The verdict for one captured name."""

    name: str
    status: str
    detail: str = ""
    value: float | None = None  # the notebook's value, when it is a single number
    how: str = ""  # what was compared: fitted state, predictions, printed output...

    @property
    def matches(self) -> bool:
        return self.status in {EQUAL, CLOSE}


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = " ".join(lines[:3])
    return text[:300] or exc.__class__.__name__


def _module(value: Any) -> str:
    return type(value).__module__.split(".")[0]


def compare(
    name: str, ours: Any, theirs: Any, inputs: Iterable[Any] = ()
) -> Comparison:
    """Compare the pipeline's value ``ours`` with the notebook's ``theirs``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = _compare(name, ours, theirs, list(inputs))
        if isinstance(theirs, numbers.Real) and not isinstance(theirs, bool):
            result = replace(result, value=float(theirs))
        return result
    except Exception as exc:  # noqa: BLE001 - a comparison must never crash validation
        return Comparison(
            name, NOT_COMPARABLE, f"{exc.__class__.__name__}: {_first_line(exc)}"
        )


def _compare(name: str, ours: Any, theirs: Any, inputs: list[Any]) -> Comparison:
    if type(ours) is not type(theirs):
        return Comparison(
            name, DIFFERENT, f"type {type(ours).__name__} != {type(theirs).__name__}"
        )
    if _is_plot(ours):
        return Comparison(name, NOT_COMPARABLE, "a plot, not a computed value")
    if hasattr(ours, "get_state") and _module(ours) == "numpy":
        # A legacy RandomState: compared by its state, like a Generator below.
        return _compare(name, ours.get_state(), theirs.get_state(), [])
    if isinstance(ours, set | frozenset):
        # Sets of objects compare by identity: compare what their elements show.
        if sorted(map(repr, ours)) == sorted(map(repr, theirs)):
            return Comparison(name, EQUAL, "same elements (by repr)")
        return Comparison(name, DIFFERENT, "different elements")
    if hasattr(ours, "bit_generator"):
        # A numpy random Generator: equal when it would draw the same numbers next.
        if ours.bit_generator.state == theirs.bit_generator.state:
            return Comparison(name, EQUAL)
        return Comparison(name, DIFFERENT, "random generator state")
    fitted = _fitted_parameters(ours)
    if fitted is not None:
        # Statistical results (statsmodels): compared by their fitted parameters.
        verdict = _compare(name, fitted, _fitted_parameters(theirs), [])
        detail = (
            f"fitted parameters: {verdict.detail}"
            if verdict.detail
            else "fitted parameters"
        )
        return Comparison(name, verdict.status, detail)
    if _module(ours) == "pandas":
        return _pandas(name, ours, theirs)
    if _module(ours) == "numpy":
        return _numpy(name, ours, theirs)
    if hasattr(ours, "get_params") and hasattr(ours, "fit"):
        return _estimator(name, ours, theirs, inputs)
    if isinstance(ours, str | PurePath) and _same_place(ours, theirs):
        return Comparison(name, EQUAL, "the same path, resolved from config.yaml")
    if isinstance(ours, bool) or ours is None or isinstance(ours, str | bytes):
        return (
            Comparison(name, EQUAL)
            if ours == theirs
            else Comparison(name, DIFFERENT, f"{_short(ours)} != {_short(theirs)}")
        )
    if isinstance(ours, int | float | complex):
        return _number(name, ours, theirs)
    if isinstance(ours, list | tuple) and len(ours) == len(theirs):
        parts = [
            _compare(f"{name}[{i}]", a, b, inputs)
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
        ]
        return _combine(name, parts)
    if isinstance(ours, dict) and set(ours) == set(theirs):
        keys = [k for k in ours if not (isinstance(k, str) and TIMING.match(k))]
        parts = [_compare(f"{name}[{k!r}]", ours[k], theirs[k], inputs) for k in keys]
        return _combine(name, parts)
    return _generic(name, ours, theirs)


def _same_place(ours: str | PurePath, theirs: str | PurePath) -> bool:
    """The pipeline's absolute path (config paths are resolved) ends with the
    notebook's relative one."""
    a, b = PurePath(ours), PurePath(theirs)
    if not a.is_absolute() or b.is_absolute() or a == b or not b.parts:
        return False
    return a.parts[-len(b.parts) :] == b.parts


def _is_plot(value: Any) -> bool:
    if _module(value) == "matplotlib":
        return True
    return (
        _module(value) == "numpy"
        and getattr(getattr(value, "dtype", None), "kind", "") == "O"
        and any(_module(v) == "matplotlib" for v in value.flat)
    )


def _fitted_parameters(value: Any) -> Any:
    """statsmodels: a fitted result's parameters, or an unfitted model's data."""
    if _module(value) != "statsmodels":
        return None
    params = getattr(value, "params", None)
    if params is not None and not callable(params):
        return params
    if hasattr(value, "endog"):
        return [value.endog, getattr(value, "exog", None)]
    return None


def _where(part: Comparison) -> str:
    # Nested containers: the innermost name says where.
    return (
        part.detail
        if part.detail.startswith(part.name)
        else f"{part.name}: {part.detail}"
    )


def _combine(name: str, parts: list[Comparison]) -> Comparison:
    bad = [p for p in parts if not p.matches]
    if bad:
        worst = bad[0]
        return Comparison(name, worst.status, _where(worst))
    if any(p.status == CLOSE for p in parts):
        close = next(p for p in parts if p.status == CLOSE)
        return Comparison(name, CLOSE, _where(close))
    return Comparison(name, EQUAL)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(name: str, ours: float, theirs: float) -> Comparison:
    if ours == theirs or (
        isinstance(ours, float) and math.isnan(ours) and math.isnan(theirs)
    ):
        return Comparison(name, EQUAL)
    diff = abs(ours - theirs)
    if math.isclose(ours, theirs, rel_tol=RTOL, abs_tol=ATOL):
        return Comparison(name, CLOSE, f"max difference {diff:.3g}")
    return Comparison(name, DIFFERENT, f"{ours!r} != {theirs!r}")


def _numpy(name: str, ours: Any, theirs: Any) -> Comparison:
    import numpy as np

    a, b = np.asarray(ours), np.asarray(theirs)
    if a.shape != b.shape:
        return Comparison(name, DIFFERENT, f"shape {a.shape} != {b.shape}")
    try:
        np.testing.assert_array_equal(a, b)
        return Comparison(name, EQUAL)
    except AssertionError:
        pass
    if a.dtype.kind in "fciu" and b.dtype.kind in "fciu":
        try:
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
            diff = (
                float(np.nanmax(np.abs(a.astype(complex) - b.astype(complex))))
                if a.size
                else 0.0
            )
            return Comparison(name, CLOSE, f"max difference {diff:.3g}")
        except AssertionError as exc:
            return Comparison(name, DIFFERENT, _first_line(exc))
    return Comparison(name, DIFFERENT, "array values differ")


def _pandas(name: str, ours: Any, theirs: Any) -> Comparison:
    import pandas as pd

    checks = {
        pd.DataFrame: pd.testing.assert_frame_equal,
        pd.Series: pd.testing.assert_series_equal,
        pd.Index: pd.testing.assert_index_equal,
    }
    check = next((f for t, f in checks.items() if isinstance(ours, t)), None)
    if check is None:
        return _generic(name, ours, theirs)
    if isinstance(ours, pd.DataFrame):
        timing = [c for c in ours.columns if isinstance(c, str) and TIMING.match(c)]
        if timing and list(ours.columns) == list(theirs.columns):
            ours, theirs = ours.drop(columns=timing), theirs.drop(columns=timing)
    try:
        check(ours, theirs, check_exact=True)
        return Comparison(name, EQUAL)
    except AssertionError:
        pass
    try:
        check(ours, theirs, check_exact=False, rtol=RTOL, atol=ATOL)
        return Comparison(name, CLOSE, f"equal within rtol={RTOL:g}")
    except AssertionError as exc:
        return Comparison(name, DIFFERENT, _first_line(exc))


def _estimator(name: str, ours: Any, theirs: Any, inputs: list[Any]) -> Comparison:
    params_ours, params_theirs = _params(ours), _params(theirs)
    if params_ours != params_theirs:
        changed = sorted(
            k
            for k in params_ours.keys() | params_theirs.keys()
            if params_ours.get(k) != params_theirs.get(k)
        )
        first = changed[0]
        return Comparison(
            name,
            DIFFERENT,
            f"parameter {first}: {params_ours.get(first)} != {params_theirs.get(first)}",
        )
    for method in ("predict", "transform"):
        if not hasattr(ours, method):
            continue
        for data in inputs:
            try:
                a, b = getattr(ours, method)(data), getattr(theirs, method)(data)
            except Exception:  # noqa: BLE001, S112 - not an input this estimator takes
                continue
            verdict = _compare(name, a, b, [])
            detail = f"{method} on a captured input: {verdict.detail}".rstrip(": ")
            return Comparison(name, verdict.status, detail)
    state = _generic(name, ours, theirs)
    if state.matches:
        return Comparison(name, EQUAL, "same parameters and fitted state")
    return Comparison(
        name,
        NOT_COMPARABLE,
        "same parameters; no captured input to compare predictions on",
    )


def _params(estimator: Any) -> dict[str, str]:
    return {k: repr(v) for k, v in estimator.get_params(deep=True).items()}


def _generic(name: str, ours: Any, theirs: Any) -> Comparison:
    try:
        if pickle.dumps(ours) == pickle.dumps(theirs):
            return Comparison(name, EQUAL)
    except Exception:  # noqa: BLE001, S110 - unpicklable: try the next way
        pass
    try:
        if type(ours).__eq__ is object.__eq__:
            raise TypeError("identity is not equality")  # noqa: TRY301
        same = ours == theirs
        if isinstance(same, bool):
            return (
                Comparison(name, EQUAL)
                if same
                else Comparison(name, DIFFERENT, f"{_short(ours)} != {_short(theirs)}")
            )
    except Exception:  # noqa: BLE001, S110
        pass
    if repr(ours) == repr(theirs) and " at 0x" not in repr(ours):
        return Comparison(name, EQUAL, "same repr")
    return Comparison(
        name, NOT_COMPARABLE, f"no way to compare {type(ours).__name__} values"
    )
