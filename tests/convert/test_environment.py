"""The environment a project is generated with: gathered once from this machine,
then a frozen value the pure steps read (issue 11, item 5)."""

from __future__ import annotations

import sys
from dataclasses import FrozenInstanceError
from importlib import metadata

import pytest

from nbprod import __version__
from nbprod.convert import environment
from nbprod.convert.environment import (
    Environment,
    date_from_epoch,
    dependencies,
    gather,
)


def test_gather_reads_this_machines_versions() -> None:
    env = gather({"pandas", "sklearn", "json", "os"})
    assert env.python == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert env.nbprod == __version__
    assert env.distributions["pandas"] == "pandas"
    assert env.distributions["sklearn"] == "scikit-learn"
    # What every project imports, whether or not the notebook does.
    assert env.distributions["yaml"] == "PyYAML"
    assert env.distributions["joblib"] == "joblib"
    assert "json" not in env.distributions and "os" not in env.distributions
    for dist in ("pandas", "scikit-learn", "PyYAML", "joblib", "black", "ruff"):
        assert env.versions[dist] == metadata.version(dist)
    assert env.versions["pytest"] == metadata.version("pytest")


@pytest.fixture
def no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scanning every installed distribution fails the test."""

    def scan() -> None:
        raise AssertionError("scanned every installed distribution")

    monkeypatch.setattr(environment, "_all_providers", scan)


@pytest.mark.usefixtures("no_scan")
def test_gather_looks_up_only_the_distributions_it_needs() -> None:
    # Scanning every installed distribution costs 40 to 100 direct lookups: the
    # example notebooks' modules (sklearn and yaml included) never need it.
    env = gather({"pandas", "numpy", "sklearn", "matplotlib"})
    assert env.distributions["sklearn"] == "scikit-learn"


def test_gather_scans_for_a_module_named_unlike_its_distribution() -> None:
    # pandas needs python-dateutil, whose module is ``dateutil``.
    env = gather({"dateutil"})
    assert env.distributions["dateutil"] == "python-dateutil"
    assert env.versions["python-dateutil"] == metadata.version("python-dateutil")


@pytest.mark.usefixtures("no_scan")
def test_a_module_not_installed_is_not_pinned() -> None:
    # Nothing installed provides a module that cannot be found: no scan for one.
    env = gather({"nbprod_test_not_installed"})
    assert "nbprod_test_not_installed" not in env.distributions
    assert "nbprod_test_not_installed" in dependencies(
        {"nbprod_test_not_installed"}, (), env
    )


def test_gather_reads_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert gather(()).generated_at == "2023-11-14T22:13:20Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    assert gather(()).generated_at == ""
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert gather(()).generated_at == ""


@pytest.mark.parametrize(
    ("epoch", "date"),
    [("0", "1970-01-01T00:00:00Z"), ("", ""), ("-1", ""), ("1.5", "")],
)
def test_date_from_epoch(epoch: str, date: str) -> None:
    assert date_from_epoch(epoch) == date


ENV = Environment(
    python="3.10",
    nbprod="9.9.9",
    distributions={"sklearn": "scikit-learn", "yaml": "PyYAML", "joblib": "joblib"},
    versions={"scikit-learn": "1.0", "PyYAML": "6.0", "joblib": "1.2", "ruff": "0.5"},
)


def test_dependencies_come_from_the_environment_alone() -> None:
    deps = dependencies({"sklearn", "cv2", "xgboost", "os", "_private"}, (), ENV)
    # Sorted by name, whatever the case; a distribution the environment does not
    # have is named (by the known table, else the module) and left unpinned.
    assert deps == [
        "joblib==1.2",
        "opencv-python",
        "pandas",
        "pandera",
        "PyYAML==6.0",
        "scikit-learn==1.0",
        "xgboost",
    ]


def test_pip_install_lines_are_kept_unless_already_required() -> None:
    deps = dependencies({"sklearn"}, ("lightgbm>=4", "scikit-learn<2"), ENV)
    assert "lightgbm>=4" in deps
    assert "scikit-learn==1.0" in deps and "scikit-learn<2" not in deps


def test_the_environment_is_frozen_through_and_through() -> None:
    with pytest.raises(FrozenInstanceError):
        ENV.python = "3.12"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ENV.versions["joblib"] = "0.1"  # type: ignore[index]
    source = {"joblib": "1.2"}
    env = Environment("3.10", "1", versions=source)
    source["joblib"] = "0.1"
    assert env.versions["joblib"] == "1.2"
    assert env == Environment("3.10", "1", versions={"joblib": "1.2"})


def test_pinned() -> None:
    assert ENV.pinned("joblib") == "joblib==1.2"
    assert ENV.pinned("pandas") == "pandas"
