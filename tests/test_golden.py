"""Golden trees: the full generated project of every example notebook, checked in.

Regenerate after an intended change with:

    pytest tests/test_golden.py --update-golden

The notebooks are copied to ``tmp/notebooks`` and converted into ``tmp/projects/NAME``,
so the relative paths in config.yaml are the same on every machine. Versions that
depend on the installed environment (pins, Python, nbprod) are masked.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLE_NOTEBOOKS, ROOT, copy_examples, run_nbprod

GOLDEN = ROOT / "tests" / "golden"
_PIN = re.compile(r'^(\s*"[A-Za-z0-9_.\-\[\]]+)==[^"]+(",?)$', re.M)


def mask(path: str, text: str) -> str:
    """Hide what depends on the environment rather than on the notebook."""
    if path == "pyproject.toml":
        text = _PIN.sub(r"\1==<pinned>\2", text)
        text = re.sub(
            r'requires-python = ">=3\.\d+"', 'requires-python = ">=3.<minor>"', text
        )
    if path == "nbprod-report.json":
        text = re.sub(
            r'"nbprod_version": "[^"]+"', '"nbprod_version": "<version>"', text
        )
    if path == "README.md":
        text = re.sub(r"nbprod\)? \d+\.\d+\.\d+\S*", "nbprod <version>", text)
    return text


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): mask(
            p.relative_to(root).as_posix(), p.read_text(encoding="utf-8")
        )
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
