"""Characterization tests from the notebook's own values: the generated project's
tests fail when a stage stops reproducing what the notebook computed.

Small values are stored whole (joblib); large ones as type, shape, dtype, summary
statistics and a hash, so the fixtures stay small.
"""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import black

from nbprod.compare import Comparison
from nbprod.format import BLACK_MODE
from nbprod.render import render

MAX_VALUE_BYTES = 256 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024
FOLDER = "tests/characterization"


def dump_value(value: Any) -> bytes:
    """``value`` as joblib writes it (the bytes of a fixture file)."""
    import joblib

    buffer = io.BytesIO()
    joblib.dump(value, buffer)
    return buffer.getvalue()


def summary(value: Any) -> dict[str, Any]:
    """What is kept of a value too large to store whole."""
    import joblib
    import numpy as np

    data: dict[str, Any] = {
        "type": f"{type(value).__module__}.{type(value).__qualname__}"
    }
    params = getattr(value, "params", None)
    if (
        params is not None
        and not callable(params)
        and data["type"].startswith("statsmodels")
    ):
        # A fitted statistical model: what it estimated.
        data["params"] = np.asarray(params, dtype=float).tolist()
        return data
    if type(value).__module__.split(".")[0] in {"numpy", "pandas", "builtins"}:
        # Plain data hashes the same from run to run; arbitrary objects may not.
        data["hash"] = joblib.hash(value)
    else:
        data["checked"] = "type only: too large to store, no reproducible summary"
    shape = getattr(value, "shape", None)
    if shape is not None:
        data["shape"] = list(shape)
    dtypes = getattr(value, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "astype"):
        data["dtypes"] = [str(d) for d in np.atleast_1d(dtypes.astype(str))]
    elif getattr(value, "dtype", None) is not None:
        data["dtypes"] = [str(value.dtype)]
    numeric = _numeric(value)
    if numeric is not None and numeric.size:
        data["stats"] = {
            "mean": float(np.nanmean(numeric)),
            "std": float(np.nanstd(numeric)),
            "min": float(np.nanmin(numeric)),
            "max": float(np.nanmax(numeric)),
        }
    return data


def model_summary(model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """A fitted model's class, parameters, and predictions on one captured input."""
    data: dict[str, Any] = {
        "type": f"{type(model).__module__}.{type(model).__qualname__}",
        "params": repr(model.get_params(deep=True)),
    }
    for name, frame in inputs.items():
        try:
            # Trying inputs the model may not take: their warnings are not the user's.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                predictions = model.predict(frame)
        except Exception:  # noqa: BLE001, S112 - not an input this model takes
            continue
        data["predict_on"] = name
        data["predictions"] = [
            p.item() if hasattr(p, "item") else p for p in predictions
        ]
        break
    return data


def _numeric(value: Any) -> Any:
    import numpy as np

    try:
        if hasattr(value, "select_dtypes"):
            array = value.select_dtypes("number").to_numpy(dtype=float)
        elif hasattr(value, "to_numpy"):
            array = value.to_numpy()
        else:
            array = np.asarray(value)
        return array.astype(float) if array.dtype.kind in "biuf" else None
    except (TypeError, ValueError):
        return None


def characterization_files(
    values: dict[str, Any], comparisons: tuple[Comparison, ...], package: str
) -> dict[str, str | bytes]:
    """The fixtures and the test module, from the notebook's captured ``values``."""
    files: dict[str, str | bytes] = {}
    expected: dict[str, Any] = {}
    total = 0
    matched = {c.name for c in comparisons if c.matches}
    loaded = {name: value for name, value in values.items() if name in matched}
    inputs = {
        n: v
        for n, v in loaded.items()
        if type(v).__module__.split(".")[0] in {"pandas", "numpy"}
    }
    for name, value in loaded.items():
        blob = dump_value(value)
        if (
            hasattr(value, "get_params")
            and hasattr(value, "fit")
            and len(blob) > MAX_VALUE_BYTES
        ):
            # A large model is kept as what it is and what it predicts.
            expected[name] = {"stored": "model", **model_summary(value, inputs)}
            continue
        if len(blob) <= MAX_VALUE_BYTES and total + len(blob) <= MAX_TOTAL_BYTES:
            files[f"{FOLDER}/{name}.joblib"] = blob
            expected[name] = {"stored": "whole", "file": f"{name}.joblib"}
            total += len(blob)
        else:
            expected[name] = {"stored": "summary", **summary(value)}
    if not expected:
        return {}
    files[f"{FOLDER}/expected.json"] = (
        json.dumps(expected, indent=2, sort_keys=True) + "\n"
    )
    test = render(
        "project/tests/test_characterization.py.j2",
        {"package": package, "names": list(expected)},
    )
    files["tests/test_characterization.py"] = black.format_str(test, mode=BLACK_MODE)
    return files
