"""Shared fixtures: the project's own config, with artifacts in a temporary folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from parameters_cell.config import Config, load_config

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    """The project's config.yaml, with the artifacts, figures and metrics the
    pipeline saves under ``tmp_path`` (files the notebook's own code writes, such
    as its results, go where config.yaml says)."""
    loaded = load_config(PROJECT / "config.yaml")
    return dataclasses.replace(
        loaded,
        artifacts_dir=str(tmp_path / "artifacts"),
        metrics_file=str(tmp_path / "metrics.json"),
    )
