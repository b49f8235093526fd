"""Shared fixtures: the project's own config, with artifacts in a temporary folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from customer_segments_clustering.config import Config, load_config

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def config(tmp_path: Path) -> Config:
    """The project's config.yaml, writing what it writes under ``tmp_path``."""
    loaded = load_config(PROJECT / "config.yaml")
    return dataclasses.replace(
        loaded,
        artifacts_dir=str(tmp_path / "artifacts"),
    )
