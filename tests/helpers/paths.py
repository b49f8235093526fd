"""Where the repository's examples, golden trees and case files are, and a copy of
the examples."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "notebooks"
EXAMPLE_NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
# The whole project of each example, and the small notebooks with their expected
# plan and modules: data, beside the test folders.
GOLDEN = ROOT / "tests" / "golden"
CASES = ROOT / "tests" / "cases"


def copy_examples(dest: Path) -> Path:
    """A copy of examples/notebooks (notebooks and data) under ``dest``."""
    target = dest / "notebooks"
    shutil.copytree(
        EXAMPLES,
        target,
        ignore=shutil.ignore_patterns("cache", "results", "__pycache__"),
    )
    return target
