"""serve.py as every generated project gets it (``templates/project/src/serve.py``),
imported as shipped: its answers made JSON-plain, JSON records turned into the CSV
``predict`` reads. tests/project/test_runtime.py lints and type-checks it with the
other shipped files; tests/e2e/test_serve.py serves it for real."""

from __future__ import annotations

import importlib
import io
import json
import math
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from tests.helpers.paths import ROOT

SRC = ROOT / "templates" / "project" / "src"
SHIPPED = [SRC / "scoring.py", SRC / "serve.py"]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The modules as a project holds them: a package (serve imports .scoring)."""
    folder = tmp_path_factory.mktemp("shipped") / "shipped_pkg"
    folder.mkdir()
    (folder / "__init__.py").write_text("", encoding="utf-8")
    for module in SHIPPED:
        shutil.copy(module, folder / module.name)
    return folder


@pytest.fixture(scope="module")
def serve(package: Path) -> Iterator[ModuleType]:
    sys.path.insert(0, str(package.parent))
    try:
        yield importlib.import_module(f"{package.name}.serve")
    finally:
        sys.path.remove(str(package.parent))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.int64(3), 3),
        (np.float32(0.5), 0.5),
        (np.bool_(True), True),
        (np.str_("yes"), "yes"),
        (float("nan"), None),
        (np.float64("inf"), None),
        (np.array([0.25, np.nan]), [0.25, None]),
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        ((np.int8(1), "a"), [1, "a"]),
        ({"p": np.float64(0.1)}, {"p": 0.1}),
        (pd.NA, None),
        (None, None),
        (pd.Timestamp("2024-01-02"), "2024-01-02 00:00:00"),
    ],
    ids=repr,
)
def test_predictions_are_made_json_plain(
    serve: ModuleType, value: object, expected: object
) -> None:
    plain = serve.plain(value)
    assert plain == expected
    assert type(plain) is type(expected)
    # what JSONResponse writes: NaN and infinities are not JSON
    json.dumps(plain, allow_nan=False)


def test_json_records_become_the_csv_predict_reads(serve: ModuleType) -> None:
    """Each value reads back as it reads from a file: null is missing, floats
    keep every digit, text with commas and quotes stays one cell."""
    records = [
        {"a": 0.1 + 0.2, "b": 'x, "y"', "c": None, "d": True},
        {"a": 1e-300, "b": "line\nbreak", "d": False, "e": 7},
    ]
    text = serve._records_csv(json.dumps(records).encode())
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.columns) == ["a", "b", "c", "d", "e"]
    assert frame["a"].tolist() == [0.1 + 0.2, 1e-300]
    assert frame["b"].tolist() == ['x, "y"', "line\nbreak"]
    assert frame["c"].isna().all() and math.isnan(frame["e"][0])
    assert frame["d"].tolist() == [True, False]
