"""Smoke test of the whole pipeline and a test per stage, run from artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer_segments_clustering.config import Config
from customer_segments_clustering.pipeline import INPUTS, OUTPUTS, STAGES, run


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


@pytest.mark.parametrize("stage", STAGES)
def test_stage_runs_alone_from_artifacts(config: Config, stage: str) -> None:
    earlier = STAGES[: STAGES.index(stage)]
    run(config, earlier)
    values = run(config, (stage,))
    assert set(OUTPUTS[stage]) <= set(values)
