"""Configuration of the spam_text_classifier pipeline, loaded from config.yaml and checked.

An unknown key, a missing key or a value of the wrong type is a ConfigError naming
the key, never a silent default. Relative paths are resolved against the folder of
the config file, so the pipeline runs from any working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """config.yaml does not match what the pipeline expects."""


@dataclass(frozen=True)
class TrackingConfig:
    """Whether ``run`` and ``train`` log to MLflow, under which experiment, and
    the registered model name the serving path is registered as (None: not registered).
    """

    mlflow: bool
    experiment: str
    register_as: str | None


@dataclass(frozen=True)
class ServingConfig:
    """How ``predict`` and ``serve`` guard new rows: how far past the range seen a
    number may go (a fraction of the range's width, on each side), and the largest
    request ``serve`` reads, in bytes."""

    range_tolerance: float
    max_request_bytes: int


@dataclass(frozen=True)
class MonitoringConfig:
    """What ``monitor`` checks when not told (``input``, ``labels``: None), where
    it writes its report, and when a change counts as drift (see config.yaml)."""

    input: str | None
    labels: str | None
    reports_dir: str
    p_value: float
    psi: float
    js_distance: float
    missing_rate: float
    metric_drop: float


@dataclass(frozen=True)
class PreprocessingConfig:
    """Values of the preprocessing group."""

    messages_path: str
    test_size: float
    random_state: int


@dataclass(frozen=True)
class TrainingConfig:
    """Values of the training group."""

    lowercase: bool
    ngram_range: tuple
    min_df: int
    sublinear_tf: bool
    alpha: float
    C: float
    max_iter: int
    random_state: int


@dataclass(frozen=True)
class Config:
    """The whole pipeline configuration."""

    artifacts_dir: str
    figures_dir: str
    metrics_file: str
    preprocessing: PreprocessingConfig
    training: TrainingConfig
    serving: ServingConfig
    monitoring: MonitoringConfig
    tracking: TrackingConfig


# The top-level paths: where the pipeline writes.
PATHS: tuple[str, ...] = ("artifacts_dir", "figures_dir", "metrics_file")
# The kind of every value: int, float, str, bool, path, list, tuple or dict.
SCHEMA: dict[str, dict[str, str]] = {
    "preprocessing": {
        "messages_path": "path",
        "test_size": "float",
        "random_state": "int",
    },
    "training": {
        "lowercase": "bool",
        "ngram_range": "tuple",
        "min_df": "int",
        "sublinear_tf": "bool",
        "alpha": "float",
        "C": "float",
        "max_iter": "int",
        "random_state": "int",
    },
}
GROUPS: dict[str, type] = {
    "preprocessing": PreprocessingConfig,
    "training": TrainingConfig,
}
_TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "float": (int, float),
    "str": str,
    "bool": bool,
    "path": str,
    "list": list,
    "tuple": list,
    "dict": dict,
}


def _check(value: Any, kind: str, where: str, base: Path) -> Any:
    expected = _TYPES[kind]
    if isinstance(value, bool) and kind != "bool" or not isinstance(value, expected):
        raise ConfigError(
            f"{where} must be {kind}, got {type(value).__name__} {value!r}"
        )
    if kind == "float":
        return float(value)
    if kind == "tuple":
        return tuple(value)
    if kind == "path":
        return (
            str(value) if Path(value).is_absolute() else os.path.normpath(base / value)
        )
    return value


def _keys(data: Any, expected: set[str], where: str) -> None:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(data).__name__}")
    unknown = sorted(set(data) - expected)
    missing = sorted(expected - set(data))
    if unknown:
        raise ConfigError(
            f"unknown key {where}.{unknown[0]}; expected one of {sorted(expected)}"
        )
    if missing:
        raise ConfigError(f"missing key {where}.{missing[0]}")


def load_config(path: str | Path = "config.yaml") -> Config:
    """Read and check the config file at ``path``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    base = path.resolve().parent
    _keys(data, {*PATHS, *SCHEMA, "serving", "monitoring", "tracking"}, "config")
    groups = {}
    for name, kinds in SCHEMA.items():
        _keys(data[name], set(kinds), name)
        values = {
            key: _check(data[name][key], kind, f"{name}.{key}", base)
            for key, kind in kinds.items()
        }
        groups[name] = GROUPS[name](**values)
    paths = {key: _check(data[key], "path", key, base) for key in PATHS}
    _keys(data["serving"], {"range_tolerance", "max_request_bytes"}, "serving")
    serving = ServingConfig(
        range_tolerance=_check(
            data["serving"]["range_tolerance"], "float", "serving.range_tolerance", base
        ),
        max_request_bytes=_check(
            data["serving"]["max_request_bytes"],
            "int",
            "serving.max_request_bytes",
            base,
        ),
    )
    if serving.range_tolerance < 0 or serving.max_request_bytes <= 0:
        raise ConfigError(
            "serving.range_tolerance must be 0 or more, serving.max_request_bytes more than 0"
        )
    monitoring = _monitoring(data["monitoring"], base)
    _keys(data["tracking"], {"mlflow", "experiment", "register_as"}, "tracking")
    register_as = data["tracking"]["register_as"]
    tracking = TrackingConfig(
        mlflow=_check(data["tracking"]["mlflow"], "bool", "tracking.mlflow", base),
        experiment=_check(
            data["tracking"]["experiment"], "str", "tracking.experiment", base
        ),
        register_as=(
            None
            if register_as is None
            else _check(register_as, "str", "tracking.register_as", base)
        ),
    )
    return Config(
        **paths, **groups, serving=serving, monitoring=monitoring, tracking=tracking
    )


def _monitoring(data: Any, base: Path) -> MonitoringConfig:
    _keys(data, {f.name for f in fields(MonitoringConfig)}, "monitoring")
    files = {
        key: (
            None
            if data[key] is None
            else _check(data[key], "path", f"monitoring.{key}", base)
        )
        for key in ("input", "labels")
    }
    limits = {
        key: _check(data[key], "float", f"monitoring.{key}", base)
        for key in ("p_value", "psi", "js_distance", "missing_rate", "metric_drop")
    }
    if not 0 < limits["p_value"] < 1 or any(value < 0 for value in limits.values()):
        raise ConfigError(
            "monitoring.p_value must lie between 0 and 1, the other thresholds be 0 or more"
        )
    reports = _check(data["reports_dir"], "path", "monitoring.reports_dir", base)
    return MonitoringConfig(**files, reports_dir=reports, **limits)
