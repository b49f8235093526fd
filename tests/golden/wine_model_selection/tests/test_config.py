"""The config is checked when loaded: unknown keys and wrong types are errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wine_model_selection.config import ConfigError, load_config

PROJECT = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _data() -> dict:
    return yaml.safe_load((PROJECT / "config.yaml").read_text(encoding="utf-8"))


def test_project_config_loads() -> None:
    load_config(PROJECT / "config.yaml")


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    data = _data()
    data["unexpected_key"] = 1
    with pytest.raises(ConfigError, match="unknown key config.unexpected_key"):
        load_config(_write(tmp_path, data))


def test_wrong_type_is_an_error(tmp_path: Path) -> None:
    data = _data()
    data["preprocessing"]["test_size"] = "not a float"
    with pytest.raises(ConfigError, match="preprocessing.test_size"):
        load_config(_write(tmp_path, data))


def test_missing_key_is_an_error(tmp_path: Path) -> None:
    data = _data()
    del data["preprocessing"]["test_size"]
    with pytest.raises(ConfigError, match="missing key preprocessing.test_size"):
        load_config(_write(tmp_path, data))
