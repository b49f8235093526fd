"""Golden trees: the full generated project of every example notebook, checked in.

Regenerate after an intended change with:

    pytest tests/test_golden.py --update-golden

The notebooks are copied to ``tmp/notebooks`` and converted into ``tmp/projects/NAME``,
so the relative paths in config.yaml are the same on every machine. Versions that
depend on the installed environment (pins, hook revisions, Python, nbprod) are
masked in every file, on both sides of the comparison.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from helpers import EXAMPLE_NOTEBOOKS, ROOT, copy_examples, run_nbprod

GOLDEN = ROOT / "tests" / "golden"
# What the installed environment decides, not the notebook: pins of distributions
# (pyproject.toml, MODEL_CARD.md), the hook revisions (ruff's and black's versions),
# the Python of this machine and nbprod's own version. pip installs the newest of
# everything, so a golden tree holding any of these would fail on the next release.
_ENVIRONMENT = (
    (re.compile(r"(?<=[A-Za-z0-9_\]])==[0-9][^\s\",;]*"), "==<pinned>"),
    (re.compile(r"^(\s*rev: )v?[0-9][^\s]*$", re.M), r"\1<version>"),
    (re.compile(r'(requires-python = ">=|python-version: ")3\.\d+'), r"\g<1>3.<minor>"),
    (re.compile(r'("nbprod_version": )"[^"]+"'), r'\1"<version>"'),
    (re.compile(r"nbprod\)? \d+\.\d+\.\d+\S*"), "nbprod <version>"),
)


def mask(text: str) -> str:
    """Hide what depends on the environment rather than on the notebook."""
    for pattern, replacement in _ENVIRONMENT:
        text = pattern.sub(replacement, text)
    return text


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): mask(p.read_text(encoding="utf-8"))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def convert_example(tmp_path: Path, notebook: Path) -> Path:
    notebooks = (
        copy_examples(tmp_path)
        if not (tmp_path / "notebooks").exists()
        else tmp_path / "notebooks"
    )
    out = tmp_path / "projects" / notebook.stem
    result = run_nbprod(
        "convert", notebooks / notebook.name, "-o", out, "--no-validate"
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_generated_project_matches_golden(
    tmp_path: Path, notebook: Path, request: pytest.FixtureRequest
) -> None:
    out = convert_example(tmp_path, notebook)
    actual = tree(out)
    golden = GOLDEN / notebook.stem
    if request.config.getoption("--update-golden"):
        shutil.rmtree(golden, ignore_errors=True)
        for rel, text in actual.items():
            target = golden / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        return
    assert (
        golden.is_dir()
    ), f"no golden tree for {notebook.stem}: run pytest tests/test_golden.py --update-golden"
    expected = tree(golden)
    assert sorted(actual) == sorted(
        expected
    ), "the generated files differ from the golden tree"
    for rel in expected:
        assert (
            actual[rel] == expected[rel]
        ), f"{notebook.stem}/{rel} differs from the golden file"


def test_converting_twice_gives_byte_identical_trees(tmp_path: Path) -> None:
    notebook = next(p for p in EXAMPLE_NOTEBOOKS if p.stem == "titanic_mlops_poc")
    first = convert_example(tmp_path, notebook)
    snapshot = {
        p.relative_to(first).as_posix(): p.read_bytes()
        for p in first.rglob("*")
        if p.is_file()
    }
    result = run_nbprod(
        "convert",
        tmp_path / "notebooks" / notebook.name,
        "-o",
        first,
        "--no-validate",
        "--force",
    )
    assert result.returncode == 0, result.stderr
    again = {
        p.relative_to(first).as_posix(): p.read_bytes()
        for p in first.rglob("*")
        if p.is_file()
    }
    assert again == snapshot
