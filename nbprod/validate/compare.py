"""Compare what the notebook computed with what the pipeline computed, name by name.

Numbers and arrays with a tolerance (numpy.testing), frames and series with
pandas.testing, estimators by class, parameters and fitted state (and by their
predictions on captured inputs), random generators by their state, other objects
by their attributes. Nothing is ever equal by its ``repr``: what cannot really be
compared is "not comparable", with the reason.

This module is copied verbatim into every generated project (as
``tests/equivalence.py``), so that its characterization tests compare exactly as
validation did. It must therefore import nothing from nbprod and only the standard
library at module level; numpy, pandas and joblib are imported when a value needs
them.
"""

from __future__ import annotations

import cmath
import dataclasses
import enum
import hashlib
import json
import math
import numbers
import pickle
import re
import types
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any


class Word(str, enum.Enum):
    """A str enum that prints as its value, in f-strings and reports alike (what
    ``enum.StrEnum`` does from Python 3.11; projects still run on 3.10)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Verdict(Word):
    """What comparing one value concluded."""

    EQUAL = "equal"
    CLOSE = "close"
    DIFFERENT = "different"
    NOT_COMPARABLE = "not comparable"


class How(Word):
    """How a verdict was reached: the "how" of each value in nbprod-report.json."""

    FITTED_STATE = "fitted state"  # an estimator: parameters and what fitting learned
    PREDICTIONS = "predictions"  # an estimator: its outputs on a captured input
    PARAMETERS = "parameters"  # an estimator never fitted: parameters are all it has
    ARRAY = "array"
    FRAME = "frame"
    NUMBER = "number"
    VALUE = "value"  # by ``==``, for values whose type defines it
    ELEMENTS = "elements"  # a container of several kinds, element by element
    RANDOM_STATE = "random state"
    PICKLED_STATE = "pickled state"
    ATTRIBUTES = "attributes"  # an object without equality of its own, by its state
    PATH = "path"
    SUMMARY = "summary"  # a value too large to keep, by its kept summary
    NOT_COMPUTED = "not computed"  # a plot or a timing: nothing the notebook computed
    PRINTED = "printed output"  # what a cell printed, line by line (validate.printed)
    NONE = "none"


RTOL, ATOL = 1e-7, 1e-12
# Wall-clock measurements are not computed values: cross_validate's fit and score
# times, and scikit-learn's search results, differ on every run.
TIMING = re.compile(r"^(mean_|std_)?(fit|score)_time$|^refit_time_$")
# Modules whose objects are pictures of values, not values.
PLOT_MODULES = {"matplotlib", "mpl_toolkits", "seaborn", "plotly", "bokeh", "altair"}
PLOT = "a plot, not a computed value"
# Attributes that memoise what was computed from the rest.
CACHE = re.compile(r"^_*cached?(_|$)|_cache$")
MAX_DEPTH = 40
ADDRESS = " at 0x"


@dataclass(frozen=True)
class Comparison:
    """The verdict for one captured name."""

    name: str
    status: Verdict
    detail: str = ""
    value: float | None = None  # the notebook's value, when it is a single number
    how: How = How.NONE
    model: bool = False  # the notebook's value is a model, or holds models

    @property
    def matches(self) -> bool:
        return self.status in {Verdict.EQUAL, Verdict.CLOSE}


@dataclass(frozen=True)
class _Walk:
    """What a comparison carries down into nested values."""

    inputs: list[Any]
    depth: int = 0
    inside_model: bool = False  # a part of an estimator: no predictions of its own
    # Pairs being compared further up: an object that contains itself.
    seen: set[tuple[int, int]] = field(default_factory=set)

    def deeper(self) -> _Walk:
        return replace(self, depth=self.depth + 1)


def is_model(value: Any) -> bool:
    """An estimator: something with parameters that is fitted (scikit-learn's API)."""
    return (
        not isinstance(value, type)
        and hasattr(value, "get_params")
        and hasattr(value, "fit")
    )


def prediction_inputs(values: Iterable[Any]) -> list[Any]:
    """The frames and arrays among ``values``: what models may predict on."""
    return [v for v in values if _module(v) in {"pandas", "numpy"}]


def compare(
    name: str, ours: Any, theirs: Any, inputs: Iterable[Any] = ()
) -> Comparison:
    """Compare the pipeline's value ``ours`` with the notebook's ``theirs``; models
    are also asked to predict on each of ``inputs`` they take."""
    model = _holds_model(theirs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if TIMING.match(name):
                result = Comparison(
                    name, Verdict.NOT_COMPARABLE, "a timing, not a computed value"
                )
                result = replace(result, how=How.NOT_COMPUTED)
            else:
                result = _compare(name, ours, theirs, _Walk(list(inputs)))
        if isinstance(theirs, numbers.Real) and not isinstance(theirs, bool):
            result = replace(result, value=float(theirs))
        return replace(result, model=model)
    except Exception as exc:  # noqa: BLE001 - a comparison must never crash validation
        return Comparison(
            name,
            Verdict.NOT_COMPARABLE,
            f"{exc.__class__.__name__}: {_first_line(exc)}",
            model=model,
        )


def _holds_model(value: Any) -> bool:
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return any(is_model(v) for v in value)
    return is_model(value)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = " ".join(lines[:3])
    return text[:300] or exc.__class__.__name__


def _module(value: Any) -> str:
    return type(value).__module__.split(".")[0]


def _qualified(value: Any) -> str:
    return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"


def _is_plot(value: Any) -> bool:
    if _module(value) in PLOT_MODULES:
        return True
    # scikit-learn's ConfusionMatrixDisplay, RocCurveDisplay, ...
    return type(value).__name__.endswith("Display") and (
        hasattr(value, "plot") or hasattr(value, "figure_") or hasattr(value, "ax_")
    )


def _compare(name: str, ours: Any, theirs: Any, walk: _Walk) -> Comparison:
    if _is_plot(ours) or _is_plot(theirs):
        return Comparison(name, Verdict.NOT_COMPARABLE, PLOT, how=How.NOT_COMPUTED)
    if type(ours) is not type(theirs):
        return Comparison(
            name,
            Verdict.DIFFERENT,
            f"type {type(ours).__name__} != {type(theirs).__name__}",
            how=How.VALUE,
        )
    if walk.depth > MAX_DEPTH:
        return Comparison(
            name, Verdict.NOT_COMPARABLE, f"nested deeper than {MAX_DEPTH} levels"
        )
    if isinstance(ours, bool | int | float | complex | str | bytes) or ours is None:
        return _plain(name, ours, theirs)
    key = (id(ours), id(theirs))
    if key in walk.seen:
        # The pair is being compared further up: what differs is found there.
        return Comparison(name, Verdict.EQUAL, how=How.ATTRIBUTES)
    walk.seen.add(key)
    try:
        return _dispatch(name, ours, theirs, walk.deeper())
    finally:
        walk.seen.discard(key)


def _plain(name: str, ours: Any, theirs: Any) -> Comparison:
    if isinstance(ours, int | float | complex) and not isinstance(ours, bool):
        return _number(name, ours, theirs)
    if isinstance(ours, str) and _same_place(ours, theirs):
        return Comparison(
            name,
            Verdict.EQUAL,
            "the same path, resolved from config.yaml",
            how=How.PATH,
        )
    if ours == theirs:
        return Comparison(name, Verdict.EQUAL, how=How.VALUE)
    return Comparison(
        name, Verdict.DIFFERENT, f"{_short(ours)} != {_short(theirs)}", how=How.VALUE
    )


def _dispatch(name: str, ours: Any, theirs: Any, walk: _Walk) -> Comparison:
    if _module(ours) == "numpy" and hasattr(ours, "get_state"):
        # A legacy RandomState: equal when it would draw the same numbers next.
        return _random(name, ours.get_state(), theirs.get_state(), walk)
    if hasattr(ours, "bit_generator"):
        # A numpy random Generator.
        return _random(name, ours.bit_generator.state, theirs.bit_generator.state, walk)
    if _module(ours) == "numpy" and hasattr(ours, "random_raw"):
        # A bit generator alone (PCG64, MT19937, ...).
        return _random(name, ours.state, theirs.state, walk)
    fitted = _fitted_parameters(ours)
    if fitted is not None:
        # Statistical results (statsmodels): compared by their fitted parameters.
        verdict = _compare(name, fitted, _fitted_parameters(theirs), walk)
        detail = (
            f"fitted parameters: {verdict.detail}"
            if verdict.detail
            else "fitted parameters"
        )
        return Comparison(name, verdict.status, detail, how=How.FITTED_STATE)
    if _module(ours) == "pandas":
        return _pandas(name, ours, theirs, walk)
    if _module(ours) == "numpy":
        return _numpy(name, ours, theirs, walk)
    if is_model(ours):
        return _estimator(name, ours, theirs, walk)
    if isinstance(ours, PurePath):
        if ours == theirs:
            return Comparison(name, Verdict.EQUAL, how=How.PATH)
        if _same_place(ours, theirs):
            detail = "the same path, resolved from config.yaml"
            return Comparison(name, Verdict.EQUAL, detail, how=How.PATH)
        return Comparison(name, Verdict.DIFFERENT, f"{ours} != {theirs}", how=How.PATH)
    if isinstance(ours, list | tuple):
        return _sequence(name, ours, theirs, walk)
    if isinstance(ours, dict):
        return _mapping(name, ours, theirs, walk)
    if isinstance(ours, set | frozenset):
        return _set(name, ours, theirs)
    if isinstance(ours, types.MethodType):
        # A bound method: the same function of an equal object.
        return _sequence(
            name,
            [ours.__func__, ours.__self__],
            [theirs.__func__, theirs.__self__],
            walk,
        )
    if isinstance(
        ours,
        type | types.FunctionType | types.BuiltinFunctionType | types.ModuleType,
    ):
        # Pickled by reference: the same name is all two runs can share.
        if "<" in _qualified(ours):
            # A lambda or a local function: its name is not its own.
            return Comparison(name, Verdict.NOT_COMPARABLE, "a function without a name")
        if _qualified(ours) == _qualified(theirs):
            return Comparison(name, Verdict.EQUAL, how=How.VALUE)
        return Comparison(
            name,
            Verdict.DIFFERENT,
            f"{_qualified(ours)} != {_qualified(theirs)}",
            how=How.VALUE,
        )
    if dataclasses.is_dataclass(ours):
        # A dataclass's own == cannot compare arrays or tolerate rounding.
        return _attributes(name, ours, theirs, walk)
    return _generic(name, ours, theirs, walk)


def _random(name: str, ours: Any, theirs: Any, walk: _Walk) -> Comparison:
    verdict = _compare(name, ours, theirs, walk)
    if verdict.matches:
        return Comparison(name, Verdict.EQUAL, how=How.RANDOM_STATE)
    return Comparison(
        name, verdict.status, "random generator state", how=How.RANDOM_STATE
    )


def _same_place(ours: str | PurePath, theirs: str | PurePath) -> bool:
    """The pipeline's absolute path (config paths are resolved) ends with the
    notebook's relative one."""
    a, b = PurePath(ours), PurePath(theirs)
    if not a.is_absolute() or b.is_absolute() or a == b or not b.parts:
        return False
    return a.parts[-len(b.parts) :] == b.parts


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


def _combine(name: str, parts: list[Comparison], how: How | None = None) -> Comparison:
    """One verdict for a container: the worst of its parts, plots and timings aside."""
    compared = [p for p in parts if p.how != How.NOT_COMPUTED]
    if parts and not compared:
        return Comparison(
            name, Verdict.NOT_COMPARABLE, parts[0].detail, how=How.NOT_COMPUTED
        )
    for status in (Verdict.DIFFERENT, Verdict.NOT_COMPARABLE):
        bad = next((p for p in compared if p.status == status), None)
        if bad is not None:
            return Comparison(name, status, _where(bad), how=bad.how)
    hows = {p.how for p in compared}
    how = how or (hows.pop() if len(hows) == 1 else How.ELEMENTS)
    close = next((p for p in compared if p.status == Verdict.CLOSE), None)
    if close is not None:
        return Comparison(name, Verdict.CLOSE, _where(close), how=how)
    return Comparison(name, Verdict.EQUAL, how=how)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(name: str, ours: Any, theirs: Any) -> Comparison:
    if ours == theirs or (
        isinstance(ours, float) and math.isnan(ours) and math.isnan(theirs)
    ):
        return Comparison(name, Verdict.EQUAL, how=How.NUMBER)
    diff = abs(ours - theirs)
    if cmath.isclose(ours, theirs, rel_tol=RTOL, abs_tol=ATOL):
        return Comparison(
            name, Verdict.CLOSE, f"max difference {diff:.3g}", how=How.NUMBER
        )
    return Comparison(
        name, Verdict.DIFFERENT, f"{ours!r} != {theirs!r}", how=How.NUMBER
    )


def _sequence(name: str, ours: Any, theirs: Any, walk: _Walk) -> Comparison:
    if len(ours) != len(theirs):
        return Comparison(
            name,
            Verdict.DIFFERENT,
            f"length {len(ours)} != {len(theirs)}",
            how=How.ELEMENTS,
        )
    parts = [
        _compare(f"{name}[{i}]", a, b, walk)
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
    ]
    return _combine(name, parts)


def _is_timing(key: Any) -> bool:
    return isinstance(key, str) and TIMING.match(key) is not None


def _mapping(name: str, ours: Any, theirs: Any, walk: _Walk) -> Comparison:
    keys = [k for k in ours if not _is_timing(k)]
    other = [k for k in theirs if not _is_timing(k)]
    if set(keys) != set(other):
        extra, missing = set(keys) - set(other), set(other) - set(keys)
        what = [
            f"{label}: {', '.join(sorted(map(repr, ks)))}"
            for label, ks in (
                ("only the pipeline's has", extra),
                ("only the notebook's has", missing),
            )
            if ks
        ]
        return Comparison(name, Verdict.DIFFERENT, "; ".join(what), how=How.ELEMENTS)
    if not keys and (ours or theirs):
        return Comparison(
            name,
            Verdict.NOT_COMPARABLE,
            "timings, not computed values",
            how=How.NOT_COMPUTED,
        )
    parts = [_compare(f"{name}[{k!r}]", ours[k], theirs[k], walk) for k in keys]
    return _combine(name, parts)


def _set(name: str, ours: Any, theirs: Any) -> Comparison:
    # Set membership uses the elements' own equality and hashing.
    if ours == theirs:
        return Comparison(name, Verdict.EQUAL, how=How.ELEMENTS)
    if len(ours) != len(theirs):
        return Comparison(
            name,
            Verdict.DIFFERENT,
            f"size {len(ours)} != {len(theirs)}",
            how=How.ELEMENTS,
        )
    elements = ours | theirs
    if all(_has_equality(e) for e in elements) and not any(map(_addressed, elements)):
        extra = sorted(map(_short, ours - theirs))
        return Comparison(
            name,
            Verdict.DIFFERENT,
            f"only the pipeline's has {', '.join(extra)}",
            how=How.ELEMENTS,
        )
    return Comparison(
        name, Verdict.NOT_COMPARABLE, "a set of objects without equality of their own"
    )


def _numpy(name: str, ours: Any, theirs: Any, walk: _Walk) -> Comparison:
    import numpy as np

    if isinstance(ours, np.ma.MaskedArray):
        # scikit-learn's cv_results_ parameters: what is masked holds nothing.
        mask = np.ma.getmaskarray(ours)
        if not np.array_equal(mask, np.ma.getmaskarray(theirs)):
            return Comparison(
                name, Verdict.DIFFERENT, "masked entries differ", how=How.ARRAY
            )
        ours, theirs = np.ma.getdata(ours)[~mask], np.ma.getdata(theirs)[~mask]
    a, b = np.asarray(ours), np.asarray(theirs)
    how = How.NUMBER if a.ndim == 0 and a.dtype.kind in "biufc" else How.ARRAY
    if a.shape != b.shape:
        return Comparison(
            name, Verdict.DIFFERENT, f"shape {a.shape} != {b.shape}", how=how
        )
    if a.dtype != b.dtype and not {a.dtype.kind, b.dtype.kind} <= {"U", "S"}:
        return Comparison(
            name, Verdict.DIFFERENT, f"dtype {a.dtype} != {b.dtype}", how=how
        )
    if a.dtype.names:
        # Structured records (a tree's nodes): field by field, with tolerance.
        parts = [_numpy(f"{name}[{f!r}]", a[f], b[f], walk) for f in a.dtype.names]
        return _combine(name, parts, how)
    try:
        np.testing.assert_array_equal(a, b)
        return Comparison(name, Verdict.EQUAL, how=how)
    except (AssertionError, ValueError, TypeError):
        pass
    if a.dtype.kind == "O":
        # Objects (trees of a boosted ensemble, parameters): one by one.
        parts = [
            _compare(f"{name}[{', '.join(map(str, i))}]", a[i], b[i], walk)
            for i in np.ndindex(a.shape)
        ]
        return _combine(name, parts)
    if a.dtype.kind in "bfciu" and b.dtype.kind in "bfciu":
        if a.dtype.kind == "b":
            a, b = a.astype(int), b.astype(int)
        close = np.isclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)
        gap = np.abs(a.astype(complex) - b.astype(complex))
        diff = float(np.nanmax(gap)) if a.size else 0.0
        if close.all():
            return Comparison(
                name, Verdict.CLOSE, f"max difference {diff:.3g}", how=how
            )
        if a.size == 1:
            detail = f"{a.ravel()[0].item()!r} != {b.ravel()[0].item()!r}"
        else:
            off = int((~close).sum())
            detail = f"{off} of {a.size} values differ, by up to {diff:.3g}"
        return Comparison(name, Verdict.DIFFERENT, detail, how=how)
    return Comparison(name, Verdict.DIFFERENT, "array values differ", how=how)


def _pandas(name: str, ours: Any, theirs: Any, walk: _Walk) -> Comparison:
    import pandas as pd

    checks = {
        pd.DataFrame: pd.testing.assert_frame_equal,
        pd.Series: pd.testing.assert_series_equal,
        pd.Index: pd.testing.assert_index_equal,
    }
    check = next((f for t, f in checks.items() if isinstance(ours, t)), None)
    if check is None:
        return _generic(name, ours, theirs, walk)
    if isinstance(ours, pd.DataFrame):
        timing = [c for c in ours.columns if _is_timing(c)]
        if timing and len(timing) == len(ours.columns):
            return Comparison(
                name,
                Verdict.NOT_COMPARABLE,
                "timings, not computed values",
                how=How.NOT_COMPUTED,
            )
        ours = ours.drop(columns=timing)
        theirs = theirs.drop(columns=[c for c in theirs.columns if _is_timing(c)])
    try:
        check(ours, theirs, check_exact=True)
        return Comparison(name, Verdict.EQUAL, how=How.FRAME)
    except AssertionError:
        pass
    try:
        check(ours, theirs, check_exact=False, rtol=RTOL, atol=ATOL)
        return Comparison(
            name, Verdict.CLOSE, f"equal within rtol={RTOL:g}", how=How.FRAME
        )
    except AssertionError as exc:
        failure = Comparison(name, Verdict.DIFFERENT, _first_line(exc), how=How.FRAME)
    if isinstance(ours, pd.Index) or str(ours.dtypes) != str(theirs.dtypes):
        return failure
    # Objects in cells (a column of fitted models): compared one by one, once the
    # rest (index, names, other columns) is the same.
    frame = isinstance(ours, pd.DataFrame)
    objects = [c for c in ours.columns if _objects_in(ours[c])] if frame else []
    if not (objects if frame else _objects_in(ours)):
        return failure
    try:
        check(ours.map(type), theirs.map(type), check_exact=True)
        if frame:
            rest = [ours.drop(columns=objects), theirs.drop(columns=objects)]
            check(*rest, check_exact=False, rtol=RTOL, atol=ATOL)
    except AssertionError:
        return failure
    cells = [ours[objects], theirs[objects]] if frame else [ours, theirs]
    pairs = zip(*(c.to_numpy().ravel() for c in cells), strict=True)
    parts = [_compare(f"{name}[{i}]", a, b, walk) for i, (a, b) in enumerate(pairs)]
    verdict = _combine(name, parts)
    return replace(verdict, how=How.FRAME) if verdict.matches else verdict


def _objects_in(series: Any) -> bool:
    # Only plain object columns: a categorical's categories are not its cells.
    return str(series.dtype) == "object"


def _public_state(estimator: Any) -> dict[str, Any]:
    """What fitting learned: the attributes ending in ``_``, timings aside."""
    return {
        k: v
        for k, v in _vars(estimator).items()
        if k.endswith("_") and not k.startswith("_") and not _is_timing(k)
    }


def _vars(value: Any) -> dict[str, Any]:
    try:
        return _without_caches(vars(value))
    except TypeError:
        return {}


def _without_caches(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes but memoised results (statsmodels' ``_cache`` of ``aic``, ``bic``,
    ...): what was asked for before, not what the object is."""
    return {
        k: v
        for k, v in attributes.items()
        if not (isinstance(k, str) and CACHE.search(k))
    }


def _learned(estimator: Any) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    """Whether an estimator is fitted (scikit-learn's own test); the state to
    compare: what fitting learned (attributes ending in ``_``), else every attribute
    that is not a parameter (an estimator of the notebook's own may keep what it
    learned there); and the private rest (a booster, caches)."""
    attributes = _vars(estimator)
    params = estimator.get_params(deep=False)
    rest = {
        k: v for k, v in attributes.items() if k not in params and not _is_timing(k)
    }
    public = _public_state(estimator)
    if public:
        return True, public, {k: v for k, v in rest.items() if k not in public}
    check = getattr(estimator, "__sklearn_is_fitted__", None)
    fitted = (
        bool(check())
        if callable(check)
        else any(k.endswith("_") and not k.startswith("__") for k in attributes)
    )
    return fitted, rest, {}


def _named_parts(
    name: str, label: str, mine: dict[str, Any], other: dict[str, Any], walk: _Walk
) -> Comparison:
    """Named attributes (or parameters) of two estimators, each said as ``label X``."""
    if set(mine) != set(other):
        extra, missing = sorted(set(mine) - set(other)), sorted(set(other) - set(mine))
        detail = (
            f"{label} {extra[0]}: only in the pipeline's"
            if extra
            else f"{label} {missing[0]}: only in the notebook's"
        )
        return Comparison(name, Verdict.DIFFERENT, detail, how=How.ATTRIBUTES)
    verdict = _combine(name, [_compare(k, mine[k], other[k], walk) for k in mine])
    return replace(verdict, detail=f"{label} {verdict.detail}".strip())


def _estimator(name: str, ours: Any, theirs: Any, walk: _Walk) -> Comparison:
    # An estimator names what differs relative to itself: "parameter C", "fitted coef_".
    inner = replace(walk, inside_model=True)
    mine, other = ours.get_params(deep=False), theirs.get_params(deep=False)
    params = _named_parts(name, "parameter", mine, other, inner)
    if params.status == Verdict.DIFFERENT:
        how = (
            params.how
            if params.how in {How.FITTED_STATE, How.PREDICTIONS}
            else How.PARAMETERS
        )
        return replace(params, how=how)
    fitted, state, private = _learned(ours)
    fitted_theirs, state_theirs, private_theirs = _learned(theirs)
    if fitted != fitted_theirs:
        side = "pipeline's" if fitted else "notebook's"
        return Comparison(
            name, Verdict.DIFFERENT, f"only the {side} is fitted", how=How.FITTED_STATE
        )
    how = How.FITTED_STATE if fitted else How.PARAMETERS
    label = "fitted" if fitted else "attribute"
    learned = _named_parts(name, label, state, state_theirs, inner)
    if learned.status == Verdict.DIFFERENT:
        return replace(learned, how=how)
    if not fitted and params.matches and learned.matches:
        # Nothing learned: its parameters (and settings) are all there is.
        status = (
            Verdict.CLOSE
            if Verdict.CLOSE in {params.status, learned.status}
            else Verdict.EQUAL
        )
        return Comparison(
            name, status, "not fitted: compared by its parameters", how=how
        )
    predicted = None if walk.inside_model else _predictions(ours, theirs, walk)
    if predicted is not None and not predicted.matches:
        return replace(predicted, name=name)
    unproven = [
        v
        for v in (params, learned)
        if v.status == Verdict.NOT_COMPARABLE and v.how != How.NOT_COMPUTED
    ]
    if predicted is None and not walk.inside_model and fitted and private:
        # What it keeps privately (a booster) shows only in its predictions, and
        # private caches may differ harmlessly: a difference there proves nothing
        # either way.
        hidden = _named_parts(name, "private", private, private_theirs, inner)
        if not hidden.matches and hidden.how != How.NOT_COMPUTED:
            detail = f"{hidden.detail}; no captured input it takes"
            unproven.append(
                replace(hidden, status=Verdict.NOT_COMPARABLE, detail=detail)
            )
    if unproven and predicted is None:
        return Comparison(name, Verdict.NOT_COMPARABLE, unproven[0].detail, how=how)
    if unproven and predicted is not None:
        # Its outputs on real data are proof enough of what it learned.
        detail = f"{predicted.detail}; not comparable: {unproven[0].detail}"
        return replace(predicted, name=name, detail=detail)
    said = [
        (
            f"same parameters and fitted state ({len(state)} attributes)"
            if state
            else "same parameters, fitted estimators included"
        )
    ]
    if predicted is not None:
        said.append(predicted.detail)
    elif not walk.inside_model:
        said.append("no captured input it takes")
    close = [v.detail for v in (params, learned) if v.status == Verdict.CLOSE]
    if predicted is not None and predicted.status == Verdict.CLOSE:
        close.append(predicted.detail)
    if close:
        return Comparison(name, Verdict.CLOSE, "; ".join(close), how=how)
    return Comparison(name, Verdict.EQUAL, "; ".join(said), how=how)


def _predictions(ours: Any, theirs: Any, walk: _Walk) -> Comparison | None:
    """The estimators' outputs on the first captured input they take, if any."""
    for method in ("predict", "transform"):
        if not hasattr(ours, method):
            continue
        for data in walk.inputs:
            try:
                a, b = getattr(ours, method)(data), getattr(theirs, method)(data)
            except Exception:  # noqa: BLE001, S112 - not an input this estimator takes
                continue
            verdict = _compare(method, a, b, walk)
            said = f"{method} on a captured input"
            if verdict.detail:
                said = f"{said}: {verdict.detail}"
            return Comparison(method, verdict.status, said, how=How.PREDICTIONS)
    return None


def _attributes(name: str, ours: Any, theirs: Any, walk: _Walk) -> Comparison:
    # Fields, not vars(): a dataclass with slots has no __dict__.
    fields = [f.name for f in dataclasses.fields(ours)]
    mine = {f: getattr(ours, f) for f in fields}
    verdict = _mapping(name, mine, {f: getattr(theirs, f) for f in fields}, walk)
    return (
        verdict
        if verdict.how == How.NOT_COMPUTED
        else replace(verdict, how=How.ATTRIBUTES)
    )


def _truth(value: Any) -> bool | None:
    """``value`` if it is a single truth value (``==`` of arrays is not)."""
    if isinstance(value, bool):
        return value
    kind = getattr(getattr(value, "dtype", None), "kind", "")
    return bool(value) if kind == "b" and getattr(value, "shape", None) == () else None


def _state(value: Any) -> Any:
    """What an object is made of: what it pickles when it says (C types such as
    scikit-learn's trees do), else its attributes."""
    getstate = getattr(type(value), "__getstate__", None)
    if getstate is not None and getstate is not getattr(object, "__getstate__", None):
        state = value.__getstate__()
        if state:
            return _without_caches(state) if isinstance(state, dict) else state
    return _vars(value) or None


def _has_equality(value: Any) -> bool:
    """Its type defines ``==`` (else ``==`` is identity, which says nothing here)."""
    eq: object = type(value).__eq__
    return eq is not object.__eq__


def _addressed(value: Any) -> bool:
    """Its repr shows a memory address: the repr says nothing about the value."""
    try:
        return ADDRESS in repr(value)
    except Exception:  # noqa: BLE001 - a repr that raises shows nothing either
        return True


def _generic(name: str, ours: Any, theirs: Any, walk: _Walk) -> Comparison:
    try:
        if pickle.dumps(ours) == pickle.dumps(theirs):
            return Comparison(name, Verdict.EQUAL, how=How.PICKLED_STATE)
    except Exception:  # noqa: BLE001, S110 - unpicklable: try the next way
        pass
    addressed = _addressed(ours) or _addressed(theirs)
    if _has_equality(ours):
        try:
            same = _truth(ours == theirs)
        except Exception:  # noqa: BLE001 - an == that raises says nothing
            same = None
        if same:
            return Comparison(name, Verdict.EQUAL, how=How.VALUE)
        if same is False and not addressed:
            detail = f"{_short(ours)} != {_short(theirs)}"
            return Comparison(name, Verdict.DIFFERENT, detail, how=How.VALUE)
    state, state_theirs = _state(ours), _state(theirs)
    if state is not None and state_theirs is not None:
        verdict = _compare(name, state, state_theirs, walk)
        if verdict.how == How.NOT_COMPUTED:
            return verdict
        return replace(verdict, how=How.ATTRIBUTES)
    why = (
        "its repr shows only a memory address"
        if addressed
        else f"no way to compare {type(ours).__name__} values"
    )
    return Comparison(name, Verdict.NOT_COMPARABLE, why)


# Values too large to keep whole: a summary, compared with tolerance -----------


def summary(
    value: Any, inputs: Mapping[str, Any] | None = None, like: Any = None
) -> dict[str, Any]:
    """What is kept of a value too large to store whole (JSON): its type, shape,
    dtypes and statistics; a model's class, parameters and predictions on one of
    ``inputs``; a container's items. ``like``, a summary made before, says which
    input a model predicted on then."""
    with warnings.catch_warnings():
        # Trying inputs a model may not take: their warnings are not the user's.
        warnings.simplefilter("ignore")
        found: dict[str, Any] = _summary(value, dict(inputs or {}), like, 0)
        return found


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _summary(value: Any, inputs: dict[str, Any], like: Any, depth: int) -> Any:
    data: dict[str, Any] = {"type": _type_name(value)}
    like = like if isinstance(like, dict) else {}
    if depth > MAX_DEPTH:
        return data
    if is_model(value):
        return {**data, **_model_summary(value, inputs, like, depth)}
    fitted = _fitted_parameters(value)
    if fitted is not None:
        return {**data, "params": _described(fitted, depth + 1)}
    if _module(value) in {"numpy", "pandas"}:
        return {**data, **_data_summary(value, depth)}
    if isinstance(value, dict):
        kept = [(k, v) for k, v in value.items() if not _is_timing(k)]
        items = [
            [_described(k, depth + 1), _summary(v, inputs, _item(like, i), depth + 1)]
            for i, (k, v) in enumerate(kept)
        ]
        return {**data, "items": items}
    if isinstance(value, list | tuple):
        if all(isinstance(v, numbers.Number | str) for v in value):
            import numpy as np

            return {**data, **_data_summary(np.asarray(value), depth)}
        items = [
            _summary(v, inputs, _item(like, i), depth + 1) for i, v in enumerate(value)
        ]
        return {**data, "items": items}
    return {**data, "described": _described(value, depth + 1)}


def _item(like: dict[str, Any], index: int) -> Any:
    items = like.get("items") or []
    if index >= len(items):
        return None
    item = items[index]
    return item[1] if isinstance(item, list) and len(item) == 2 else item


def _model_summary(
    model: Any, inputs: dict[str, Any], like: dict[str, Any], depth: int
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "params": _described(model.get_params(deep=False), depth + 1),
        "fitted": {
            k: _described(v, depth + 1)
            for k, v in _public_state(model).items()
            if _plain_data(v)
        },
    }
    wanted = like.get("predict_on")
    names = [wanted] if wanted in inputs else [] if wanted else list(inputs)
    for name in names:
        try:
            predictions = model.predict(inputs[name])
        except Exception:  # noqa: BLE001, S112 - not an input this model takes
            continue
        data["predict_on"] = name
        data["predictions"] = _described(predictions, depth + 1, limit=10**6)
        break
    return data


def _plain_data(value: Any) -> bool:
    """A number, a text, or an array of them: what summarises the same every run
    (a hash of other objects may not: pickles differ with shared references)."""
    if isinstance(value, bool | int | float | str) or value is None:
        return True
    if _module(value) not in {"numpy", "pandas"}:
        return False
    import numpy as np

    array = value.to_numpy() if hasattr(value, "to_numpy") else np.asarray(value)
    if array.dtype.kind != "O":
        return True
    return all(v is None or isinstance(v, str | int | float) for v in array.ravel())


def _described(value: Any, depth: int, limit: int = 1000) -> Any:
    """``value`` as JSON that two runs agree on: never an address, a hash of an
    object or a repr; a random generator by a digest of its state."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth > MAX_DEPTH:
        return {"type": _type_name(value)}
    if _module(value) == "numpy" and hasattr(value, "get_state"):
        return {"type": _type_name(value), "state": _digest(value.get_state())}
    if hasattr(value, "bit_generator"):
        return {"type": _type_name(value), "state": _digest(value.bit_generator.state)}
    if _module(value) in {"numpy", "pandas"}:
        size = getattr(value, "size", limit + 1)
        kind = getattr(getattr(value, "dtype", None), "kind", "")
        if size <= limit and kind in "biufUSO" and _plain_data(value):
            import numpy as np

            return np.asarray(value).tolist()
        return _summary(value, {}, None, depth)
    if isinstance(value, numbers.Number):
        return {"type": _type_name(value), "value": str(value)}
    if is_model(value):
        return _summary(value, {}, None, depth)
    if isinstance(value, list | tuple):
        return [_described(v, depth + 1, limit) for v in value]
    if isinstance(value, dict):
        # In key order: equal dicts (and objects whose attributes were set in
        # another order) describe alike.
        items = sorted(value.items(), key=lambda kv: (type(kv[0]).__name__, str(kv[0])))
        return [
            [_described(k, depth + 1), _described(v, depth + 1, limit)]
            for k, v in items
        ]
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
        return {"type": "function", "name": _qualified(value)}
    attributes = _vars(value)
    if attributes:
        return {
            "type": _type_name(value),
            "attributes": _described(attributes, depth + 1, limit),
        }
    return {"type": _type_name(value)}


def _digest(state: Any) -> str:
    def plain(value: Any) -> Any:
        return value.tolist() if hasattr(value, "tolist") else str(value)

    text = json.dumps(state, sort_keys=True, default=plain)
    return hashlib.sha256(text.encode()).hexdigest()


def _data_summary(value: Any, depth: int = 0) -> dict[str, Any]:
    """A frame's or array's shape, dtypes, statistics (with tolerance) and hashes:
    of the whole (a fast path) and of what has no statistics (exact)."""
    import joblib
    import numpy as np

    data: dict[str, Any] = {"hash": joblib.hash(value)}
    shape = getattr(value, "shape", None)
    if shape is not None:
        data["shape"] = list(shape)
    dtypes = getattr(value, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "astype"):
        data["dtypes"] = [str(d) for d in np.atleast_1d(dtypes.astype(str))]
    elif getattr(value, "dtype", None) is not None:
        data["dtypes"] = [str(value.dtype)]
    if hasattr(value, "columns"):
        data["columns"] = [str(c) for c in value.columns]
        numeric = value.select_dtypes("number")
        rest = value.select_dtypes(exclude="number")
        objects = [c for c in rest if not _plain_data(rest[c])]
        data["stats"] = [_stats(numeric[c].to_numpy(dtype=float)) for c in numeric]
        data["exact"] = joblib.hash((rest.drop(columns=objects), value.index))
        data["objects"] = [_objects(rest[c].to_numpy(), depth) for c in objects]
        return data
    array = value.to_numpy() if hasattr(value, "to_numpy") else np.asarray(value)
    if array.dtype.kind in "biuf":
        data["stats"] = _stats(array.astype(float))
    elif _plain_data(array):
        data["exact"] = joblib.hash(array)
    else:
        data["objects"] = _objects(array, depth)
    if hasattr(value, "index"):
        data["index"] = joblib.hash(value.index)
    return data


def _objects(array: Any, depth: int) -> list[Any]:
    """Objects in an array, one by one (a few thousand at most: beyond, the shape
    and the rest of the summary are what is kept)."""
    if array.size > 1000:
        return []
    return [_described(v, depth + 1) for v in array.ravel()]


def _stats(array: Any) -> dict[str, float]:
    """Summary statistics; ``weighted`` changes when the same values move."""
    import numpy as np

    flat = array.ravel()
    if not flat.size:
        return {}
    weights = np.arange(flat.size) % 97 + 1
    return {
        "mean": float(np.nanmean(flat)),
        "std": float(np.nanstd(flat)),
        "min": float(np.nanmin(flat)),
        "max": float(np.nanmax(flat)),
        "weighted": float(np.nansum(flat * weights) / flat.size),
    }


def compare_summary(
    name: str, value: Any, expected: dict[str, Any], inputs: Mapping[str, Any]
) -> Comparison:
    """Compare ``value`` with the summary kept of the notebook's (see ``summary``):
    types, shapes, dtypes and exact hashes exactly, statistics and predictions with
    tolerance. A hash of the whole is only a fast path."""
    model = _holds_model(value)
    if type_only(expected):
        why = "nothing but its type was kept"
        return Comparison(
            name, Verdict.NOT_COMPARABLE, why, how=How.SUMMARY, model=model
        )
    try:
        got = json.loads(json.dumps(summary(value, inputs, like=expected)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            verdict = _summaries(name, got, expected)
    except Exception as exc:  # noqa: BLE001 - as compare: never crash
        why = f"{exc.__class__.__name__}: {_first_line(exc)}"
        return Comparison(
            name, Verdict.NOT_COMPARABLE, why, how=How.SUMMARY, model=model
        )
    return replace(verdict, how=How.SUMMARY, model=model)


def type_only(kept: Any) -> bool:
    """A summary that says nothing but the value's type: it proves nothing."""
    if not isinstance(kept, dict) or not set(kept) <= {"type", "described"}:
        return False
    return "described" not in kept or type_only(kept["described"])


def _summaries(name: str, got: Any, expected: Any) -> Comparison:
    if isinstance(got, dict) and isinstance(expected, dict):
        if "hash" in got and got.get("hash") == expected.get("hash"):
            return Comparison(name, Verdict.EQUAL)
        got = {k: v for k, v in got.items() if k != "hash"}
        expected = {k: v for k, v in expected.items() if k != "hash"}
        if set(got) != set(expected):
            keys = ", ".join(sorted(set(got) ^ set(expected)))
            return Comparison(name, Verdict.DIFFERENT, f"summaries differ in {keys}")
        parts = [_summaries(f"{name}[{k!r}]", got[k], expected[k]) for k in got]
        return _combine(name, parts)
    if isinstance(got, list) and isinstance(expected, list):
        if len(got) != len(expected):
            return Comparison(
                name, Verdict.DIFFERENT, f"length {len(got)} != {len(expected)}"
            )
        parts = [
            _summaries(f"{name}[{i}]", a, b)
            for i, (a, b) in enumerate(zip(got, expected, strict=True))
        ]
        return _combine(name, parts)
    return _compare(name, got, expected, _Walk([]))
