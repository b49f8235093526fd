"""Golden trees: the full generated project of every example notebook, checked in.

Regenerate after an intended change with:

    pytest tests/convert/test_golden.py --update-golden

The notebooks are copied to ``tmp/notebooks`` and converted into ``tmp/projects/NAME``,
so the relative paths in config.yaml are the same on every machine. They are converted
with a fixed environment (``helpers.FIXED_ENVIRONMENT``: pins, hook revisions, Python,
nbprod's version), passed in as the CLI's conversion gathers this machine's: the golden
files hold those fixed values, byte for byte, with nothing masked.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from nbprod.commands.convert import convert
from tests.helpers.cli import run_nbprod
from tests.helpers.environment import FIXED_ENVIRONMENT
from tests.helpers.paths import EXAMPLE_NOTEBOOKS, GOLDEN, copy_examples


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _notebooks(tmp_path: Path) -> Path:
    if (tmp_path / "notebooks").exists():
        return tmp_path / "notebooks"
    return copy_examples(tmp_path)


def convert_example(tmp_path: Path, notebook: Path) -> Path:
    """``notebook`` converted in this process, with the fixed environment."""
    out = tmp_path / "projects" / notebook.stem
    convert(
        _notebooks(tmp_path) / notebook.name,
        out,
        validate=False,
        environment=FIXED_ENVIRONMENT,
    )
    return out


def convert_with_cli(tmp_path: Path, notebook: Path, *options: str) -> Path:
    """``notebook`` converted by the real CLI, with this machine's environment."""
    out = tmp_path / "projects" / notebook.stem
    result = run_nbprod(
        "convert",
        _notebooks(tmp_path) / notebook.name,
        "-o",
        out,
        "--no-validate",
        *options,
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
        for rel, data in actual.items():
            target = golden / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return
    assert (
        golden.is_dir()
    ), f"no golden tree for {notebook.stem}: run pytest tests/convert/test_golden.py --update-golden"
    expected = tree(golden)
    assert sorted(actual) == sorted(
        expected
    ), "the generated files differ from the golden tree"
    for rel in expected:
        assert (
            actual[rel] == expected[rel]
        ), f"{notebook.stem}/{rel} differs from the golden file"


def test_converting_twice_with_the_cli_gives_byte_identical_trees(
    tmp_path: Path,
) -> None:
    notebook = next(p for p in EXAMPLE_NOTEBOOKS if p.stem == "titanic_mlops_poc")
    first = convert_with_cli(tmp_path, notebook)
    snapshot = tree(first)
    assert convert_with_cli(tmp_path, notebook, "--force") == first
    assert tree(first) == snapshot


def _without_requirements(source: bytes) -> bytes:
    """pipeline.py without its REQUIREMENTS tuple."""
    return re.sub(rb"\nREQUIREMENTS: .*?\n\)\n", b"\n", source, flags=re.S)


def test_the_cli_converts_as_the_library_does_with_this_machines_environment(
    tmp_path: Path,
) -> None:
    """The golden trees are made in process with a fixed environment: the CLI's
    conversion differs from them only by the environment it gathers."""
    notebook = next(p for p in EXAMPLE_NOTEBOOKS if p.stem == "churn_classifier")
    out = convert_with_cli(tmp_path, notebook)
    by_cli = tree(out)
    convert(_notebooks(tmp_path) / notebook.name, out, validate=False, force=True)
    assert tree(out) == by_cli
    fixed = tree(convert_example(tmp_path / "fixed", notebook))
    changed = sorted(rel for rel in by_cli if by_cli[rel] != fixed[rel])
    # pipeline.py names the versions the logged serving model needs (REQUIREMENTS):
    # those, and nothing else in it, are the environment's.
    pipeline = "src/churn_classifier/pipeline.py"
    assert _without_requirements(by_cli[pipeline]) == _without_requirements(
        fixed[pipeline]
    )
    # What an environment decides, and nothing else (unless this machine happens
    # to have every fixed version).
    assert set(changed) - {pipeline} <= {
        ".github/workflows/ci.yml",
        ".pre-commit-config.yaml",
        "MODEL_CARD.md",
        "README.md",
        "nbprod-report.json",
        "pyproject.toml",
    }, changed
