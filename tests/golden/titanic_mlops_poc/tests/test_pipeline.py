"""Smoke test of the whole pipeline and a test per stage, run from artifacts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from titanic_mlops_poc.config import Config
from titanic_mlops_poc.pipeline import INPUTS, OUTPUTS, STAGES, run


def test_whole_pipeline_runs_and_saves_every_output(config: Config) -> None:
    values = run(config)
    for stage in STAGES:
        for name in OUTPUTS[stage]:
            assert name in values, f"{stage} did not produce {name}"
    saved = {
        p.stem
        for p in Path(config.artifacts_dir).glob("*/*.joblib")
        if not p.stem.startswith("_")
    }
    produced = {name for stage in STAGES for name in OUTPUTS[stage]}
    assert saved <= produced
    needed = {name for stage in STAGES for name in INPUTS[stage]}
    assert needed <= saved, "values later stages need were not saved"
    written = json.loads(Path(config.metrics_file).read_text(encoding="utf-8"))
    assert all(type(v) in (int, float) for v in written.values()), written


@pytest.fixture(scope="module")
def stage_alone(module_config: Config) -> Callable[[str], dict[str, Any]]:
    """What a stage returns run alone, in a call that has only the artifacts the
    stages before it saved to go on: each stage runs once for the module, in
    pipeline order, whichever test asks first."""
    returned: dict[str, dict[str, Any]] = {}

    def alone(stage: str) -> dict[str, Any]:
        for earlier in STAGES[: STAGES.index(stage) + 1]:
            if earlier not in returned:
                returned[earlier] = run(module_config, (earlier,))
        return returned[stage]

    return alone


@pytest.mark.parametrize("stage", STAGES)
def test_stage_runs_alone_from_artifacts(
    stage_alone: Callable[[str], dict[str, Any]], stage: str
) -> None:
    assert set(OUTPUTS[stage]) <= set(stage_alone(stage))
