"""Characterization tests from the notebook's own values: the generated project's
tests fail when a stage stops reproducing what the notebook computed.

Small values are stored whole (joblib); large ones as the summary
``nbprod.validate.compare.summary`` keeps (shape, dtypes, statistics; a model's class,
parameters and predictions), so the fixtures stay small. The tests compare with
``nbprod/validate/compare.py`` itself, shipped into the project as ``tests/equivalence.py``:
a value stored whole is compared as validation compared it; one stored as a
summary only as far as the summary goes (a forest's simple fitted attributes and
its predictions, not its trees).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from nbprod.convert.format import black_format
from nbprod.convert.render import render
from nbprod.validate import compare
from nbprod.validate.compare import Comparison, prediction_inputs, summary, type_only
from nbprod.validate.execute import SEED

MAX_VALUE_BYTES = 256 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024
FOLDER = "tests/characterization"
# The comparison the tests use: nbprod's own module, byte for byte (the project
# never imports nbprod).
EQUIVALENCE = "tests/equivalence.py"


def equivalence_source() -> str:
    """The text of ``nbprod/validate/compare.py``, as the generated project receives it."""
    return Path(compare.__file__).read_text(encoding="utf-8")


def dump_value(value: Any) -> bytes:
    """``value`` as joblib writes it (the bytes of a fixture file)."""
    import joblib

    buffer = io.BytesIO()
    joblib.dump(value, buffer)
    return buffer.getvalue()


def characterization_files(
    values: dict[str, Any], comparisons: tuple[Comparison, ...], package: str
) -> dict[str, str | bytes]:
    """The fixtures and the test module, from the notebook's captured ``values``."""
    files: dict[str, str | bytes] = {}
    expected: dict[str, Any] = {}
    total = 0
    matched = {c.name for c in comparisons if c.matches}
    loaded = {name: value for name, value in values.items() if name in matched}
    inputs = {n: v for n, v in loaded.items() if prediction_inputs([v])}
    for name, value in loaded.items():
        blob = dump_value(value)
        if len(blob) <= MAX_VALUE_BYTES and total + len(blob) <= MAX_TOTAL_BYTES:
            files[f"{FOLDER}/{name}.joblib"] = blob
            expected[name] = {"stored": "whole", "file": f"{name}.joblib"}
            total += len(blob)
        else:
            # Too large to keep: what it is, and for a model what it predicts.
            kept = summary(value, inputs)
            if not type_only(kept):
                # (A type alone would prove nothing: such a value is not tested.)
                expected[name] = {"stored": "summary", "summary": kept}
    if not expected:
        return {}
    files[f"{FOLDER}/expected.json"] = (
        json.dumps(expected, indent=2, sort_keys=True) + "\n"
    )
    test = render(
        "project/tests/test_characterization.py.j2",
        {"package": package, "names": list(expected), "seed": SEED},
    )
    files["tests/test_characterization.py"] = black_format(
        test, where="tests/test_characterization.py"
    )
    files[EQUIVALENCE] = equivalence_source()
    return files
