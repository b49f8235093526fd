"""Shared fixtures: the project's own config, with artifacts in a temporary folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from house_prices_regression.config import Config, load_config

PROJECT = Path(__file__).resolve().parents[1]


def _scratch(folder: Path) -> Config:
    """The project's config.yaml, with the artifacts, figures and metrics the
    pipeline saves under ``folder`` (files the notebook's own code writes, such
    as its results, go where config.yaml says)."""
    loaded = load_config(PROJECT / "config.yaml")
    return dataclasses.replace(
        loaded,
        artifacts_dir=str(folder / "artifacts"),
        metrics_file=str(folder / "metrics.json"),
    )


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    """The config, saving under the test's own temporary folder."""
    return _scratch(tmp_path)


@pytest.fixture(scope="module")
def module_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The config, saving under a temporary folder the module's tests share."""
    return _scratch(tmp_path_factory.mktemp("module"))
