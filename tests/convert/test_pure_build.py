"""Pure means pure: building the project's files reads nothing but its arguments
(issue 11, item 5). Versions, the date and the notebook's hash come in as values."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import pytest

from nbprod.commands.convert import analyse, build_files
from nbprod.notebook import read_notebook
from tests.helpers.environment import FIXED_ENVIRONMENT
from tests.helpers.notebooks import make_notebook
from tests.helpers.paths import EXAMPLES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def test_read_notebook_hashes_the_bytes_it_read(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "nb.ipynb", "x = 1")
    assert read_notebook(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    # A byte-order mark is part of the file, not of the text nbprod parses.
    bom = tmp_path / "bom.ipynb"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    nb = read_notebook(bom)
    assert nb.sha256 == hashlib.sha256(bom.read_bytes()).hexdigest()
    assert nb.sha256 != read_notebook(path).sha256


def _no_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any look at installed distributions fails the test."""

    def looked(*args: object) -> None:
        raise AssertionError(f"the build read installed distributions {args}")

    for name in ("version", "distribution", "packages_distributions"):
        monkeypatch.setattr(metadata, name, looked)


def test_build_files_reads_only_its_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = tmp_path / "titanic_mlops_poc.ipynb"
    shutil.copy(EXAMPLES / "titanic_mlops_poc.ipynb", notebook)
    a = analyse(read_notebook(notebook), tmp_path / "out")
    digest = a.notebook.sha256
    # Nothing is read again: not the notebook, not the versions, not the clock.
    notebook.unlink()
    _no_machine(monkeypatch)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    env = replace(
        FIXED_ENVIRONMENT, nbprod="7.7.7", python="3.10", generated_at="2001-02-03"
    )
    files, _ = build_files(a, None, env)
    pyproject = tomllib.loads(files["pyproject.toml"])
    assert pyproject["project"]["requires-python"] == ">=3.10"
    assert "scikit-learn==1.9.1" in pyproject["project"]["dependencies"]
    assert "ruff==0.17.6" in pyproject["project"]["optional-dependencies"]["dev"]
    assert "rev: v0.17.6" in files[".pre-commit-config.yaml"]
    card = files["MODEL_CARD.md"]
    assert f"source_notebook_sha256: {digest}" in card
    assert "generated_by: nbprod 7.7.7" in card
    assert "generated_at: 2001-02-03" in card
    report = json.loads(files["nbprod-report.json"])
    assert report["notebook_sha256"] == digest
    assert report["nbprod_version"] == "7.7.7"
    assert not os.path.exists(notebook)


def test_the_same_environment_gives_the_same_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = analyse(read_notebook(EXAMPLES / "churn_classifier.ipynb"))
    first, _ = build_files(a, None, FIXED_ENVIRONMENT)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    again, _ = build_files(a, None, FIXED_ENVIRONMENT)
    assert again == first
    assert "generated_at" not in first["MODEL_CARD.md"]
    newer = replace(
        FIXED_ENVIRONMENT, versions={**FIXED_ENVIRONMENT.versions, "pandas": "9.0"}
    )
    changed, _ = build_files(a, None, newer)
    # The requirements are in pyproject.toml, in the card, and in what the logged
    # serving model installs (pipeline.REQUIREMENTS).
    assert {rel for rel in first if changed[rel] != first[rel]} == {
        "pyproject.toml",
        "MODEL_CARD.md",
        "src/churn_classifier/pipeline.py",
    }
    assert '"pandas==9.0"' in changed["pyproject.toml"]
    assert '"pandas==9.0"' in changed["src/churn_classifier/pipeline.py"]
