"""The runtime every generated project gets unchanged (``templates/project/src/runtime.py``),
tested here as it is shipped: imported from the templates folder, linted and
type-checked (issue 11, item 6)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nbprod.commands.convert import analyse, build_files
from nbprod.convert.render import COPIED_FILES, shipped_runtime
from nbprod.notebook import read_notebook
from tests.helpers.environment import FIXED_ENVIRONMENT
from tests.helpers.paths import EXAMPLES, ROOT

RUNTIME = ROOT / "templates" / "project" / "src" / "runtime.py"


runtime = shipped_runtime()


# Artifacts ------------------------------------------------------------------


def test_artifacts_are_saved_and_loaded_by_name(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    runtime.save_artifacts(tmp_path / "new", {"frame": frame, "n": 3})
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [
        "frame.joblib",
        "n.joblib",
    ]
    loaded = runtime.load_artifacts(
        tmp_path, ["n", "frame"], outputs={"new": ("frame", "n")}
    )
    assert list(loaded) == ["n", "frame"]
    assert loaded["n"] == 3
    pd.testing.assert_frame_equal(loaded["frame"], frame)


def test_a_value_that_cannot_be_pickled_is_a_warning_not_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime.save_artifacts(tmp_path, {"gen": (i for i in range(3)), "ok": 1})
    assert not (tmp_path / "gen.joblib").exists()
    assert (tmp_path / "ok.joblib").is_file()
    err = capsys.readouterr().err
    assert err.startswith("warning: gen cannot be saved (TypeError: ")
    assert "a later stage run on its own will not find it" in err


def test_a_missing_artifact_names_the_stage_to_run_first(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run the 'train' stage first"):
        runtime.load_artifacts(tmp_path, ["model"], outputs={"train": ("model",)})


def test_a_value_two_stages_make_is_loaded_from_the_last_before_the_stage(
    tmp_path: Path,
) -> None:
    outputs = {"clean": ("rows",), "train": ("rows", "model"), "score": ()}
    runtime.save_artifacts(runtime.stage_folder(tmp_path, "clean"), {"rows": 1})
    runtime.save_artifacts(runtime.stage_folder(tmp_path, "train"), {"rows": 2})
    load = runtime.load_artifacts
    assert load(tmp_path, ["rows"], outputs=outputs, before="train") == {"rows": 1}
    assert load(tmp_path, ["rows"], outputs=outputs, before="score") == {"rows": 2}
    assert load(tmp_path, ["rows"], outputs=outputs) == {"rows": 2}


# Random state ----------------------------------------------------------------


def _draws() -> tuple[float, float]:
    return random.random(), float(np.random.random())


def test_the_global_random_state_round_trips_through_an_artifact(
    tmp_path: Path,
) -> None:
    random.seed(1)
    np.random.seed(1)
    runtime.save_artifacts(tmp_path / "s", {"state": runtime.random_state()})
    expected = _draws()
    random.seed(2)
    np.random.seed(2)
    assert _draws() != expected
    saved = runtime.load_artifacts(tmp_path, ["state"], outputs={"s": ("state",)})
    runtime.restore_random_state(saved["state"])
    assert _draws() == expected


def test_without_numpy_only_pythons_generator_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)  # import numpy raises ImportError
    state = runtime.random_state()
    assert list(state) == ["random"]
    first = random.random()
    runtime.restore_random_state(state)
    assert random.random() == first


# Running stages --------------------------------------------------------------

CONFIG = {"scale": 10}
ORDER = ("preprocess", "train", "evaluate")
INPUTS = {"preprocess": (), "train": ("rows",), "evaluate": ("rows", "model")}
OUTPUTS = {
    "preprocess": ("rows",),
    "train": ("model", "noise"),
    "evaluate": ("score", "draw"),
}


def _runners(calls: list[str]) -> dict[str, Any]:
    """Three stages: each records its call and draws a random number."""

    def preprocess(config: dict, values: dict[str, Any]) -> dict[str, Any]:
        calls.append("preprocess")
        return {"rows": [1, 2, 3]}

    def train(config: dict, values: dict[str, Any]) -> dict[str, Any]:
        calls.append("train")
        return {
            "model": sum(values["rows"]) * config["scale"],
            "noise": random.random(),
        }

    def evaluate(config: dict, values: dict[str, Any]) -> dict[str, Any]:
        calls.append("evaluate")
        return {"score": values["model"] / len(values["rows"]), "draw": random.random()}

    return {"preprocess": preprocess, "train": train, "evaluate": evaluate}


def _run(artifacts: Path, stages: tuple[str, ...], calls: list[str]) -> dict:
    return runtime.run_stages(
        CONFIG,
        stages,
        runtime.Tables(INPUTS, OUTPUTS, _runners(calls)),
        artifacts=artifacts,
    )


def test_stages_run_in_the_order_given_and_return_every_value(
    tmp_path: Path,
) -> None:
    calls: list[str] = []
    values = _run(tmp_path, ORDER, calls)
    assert calls == list(ORDER)
    assert values["model"] == 60 and values["score"] == 20
    saved = {p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/*.joblib")}
    assert saved == {
        *(f"{stage}/_random_state.joblib" for stage in ORDER),
        "preprocess/rows.joblib",
        "train/model.joblib",
        "train/noise.joblib",
        "evaluate/score.joblib",
        "evaluate/draw.joblib",
    }


def test_a_stage_alone_loads_its_inputs_and_draws_as_in_a_whole_run(
    tmp_path: Path,
) -> None:
    random.seed(0)
    np.random.seed(0)
    whole = _run(tmp_path / "whole", ORDER, [])
    random.seed(0)
    np.random.seed(0)
    calls: list[str] = []
    _run(tmp_path / "alone", ORDER[:2], calls)
    random.seed(99)  # another process: whatever state it starts with
    alone = _run(tmp_path / "alone", ("evaluate",), calls)
    assert calls == ["preprocess", "train", "evaluate"]
    assert alone["rows"] == [1, 2, 3] and alone["model"] == 60  # loaded
    assert alone["draw"] == whole["draw"]


def test_a_run_from_the_first_stage_starts_from_the_current_random_state(
    tmp_path: Path,
) -> None:
    _run(tmp_path, ORDER, [])
    random.seed(5)
    again = _run(tmp_path, ORDER, [])
    # train's is the first draw (preprocess draws none): from seed 5, not the state
    # the last stage of the run before saved.
    assert again["noise"] == random.Random(5).random()


def test_a_stage_whose_inputs_were_never_saved_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="rows.joblib not found"):
        _run(tmp_path, ("train",), [])


# Metrics ---------------------------------------------------------------------


def test_the_numbers_among_a_stages_values_are_its_metrics() -> None:
    values = {
        "acc": np.float64(0.875),
        "n_test": np.int64(40),
        "f1": 0.5,
        "passed": True,  # a bool is no metric
        "flag": np.bool_(False),
        "pred": np.array([0, 1, 1]),  # an array is data
        "frame": pd.DataFrame({"a": [1.0]}),
        "label": "tuned forest",
        "missing": float("nan"),  # JSON has no NaN
    }
    metrics = runtime.scalar_metrics(values)
    assert metrics == {"acc": 0.875, "n_test": 40, "f1": 0.5}
    assert [type(v) for v in metrics.values()] == [float, int, float]


def test_numbers_in_a_dict_or_a_table_of_records_are_keyed_by_their_path() -> None:
    # titanic's results: one record per model
    results = [
        {"model": "baseline", "accuracy": 0.56},
        {"model": "tuned forest", "accuracy": 0.81, "f1": 0.74},
    ]
    values = {
        "results": results,
        "scores": {"test": {"r2": 0.9}, "note": "held out"},
        "losses": [0.9, 0.5, 0.3],  # a curve, not metrics
        "history": {f"epoch_{i}": float(i) for i in range(500)},  # data: too many
    }
    assert runtime.scalar_metrics(values) == {
        "results.0.accuracy": 0.56,
        "results.1.accuracy": 0.81,
        "results.1.f1": 0.74,
        "scores.test.r2": 0.9,
    }


def test_values_computed_from_the_clock_are_not_metrics() -> None:
    metrics = runtime.scalar_metrics({"acc": 0.9, "seconds": 1.5}, skip={"seconds"})
    assert metrics == {"acc": 0.9}


def test_metrics_are_written_as_one_flat_sorted_json_object(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "metrics.json"
    runtime.write_metrics(target, {"zeta": 1, "alpha": 0.25})
    first = target.read_bytes()
    assert first == b'{\n  "alpha": 0.25,\n  "zeta": 1\n}\n'
    runtime.write_metrics(target, {"alpha": 0.25, "zeta": 1})
    assert target.read_bytes() == first  # the same numbers, the same bytes


def test_the_metrics_stage_writes_the_metrics_file(tmp_path: Path) -> None:
    runtime.run_stages(
        CONFIG,
        ORDER,
        runtime.Tables(
            INPUTS, OUTPUTS, _runners([]), metrics="evaluate", not_metrics=("draw",)
        ),
        artifacts=tmp_path,
        metrics_file=tmp_path / "metrics.json",
    )
    written = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    # evaluate's numbers only: not train's model or noise, not the clock-like draw
    assert written == {"score": 20.0}
    assert not (tmp_path / "metrics.joblib").exists()


def test_a_stage_run_alone_writes_the_metrics_too(tmp_path: Path) -> None:
    _run(tmp_path, ORDER[:2], [])
    assert not (tmp_path / "metrics.json").exists()
    runtime.run_stages(
        CONFIG,
        ("evaluate",),
        runtime.Tables(INPUTS, OUTPUTS, _runners([]), metrics="evaluate"),
        artifacts=tmp_path,
        metrics_file=tmp_path / "metrics.json",
    )
    assert set(json.loads((tmp_path / "metrics.json").read_text())) == {
        "score",
        "draw",
    }


def test_without_a_metrics_stage_no_metrics_file_is_written(tmp_path: Path) -> None:
    _run(tmp_path, ORDER, [])
    assert not list(tmp_path.rglob("*.json"))


# Figures ---------------------------------------------------------------------


def _draw(values: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.figure(figsize=(2, 2))
    plt.plot(values)


def test_open_figures_are_saved_as_png_by_name_and_closed(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    plt.close("all")
    _draw([1.0, 2.0])
    _draw([3.0, 1.0])
    folder = tmp_path / "reports" / "figures"
    written = runtime.save_figures(str(folder), "importances")
    assert written == [folder / "importances.png", folder / "importances-2.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)
    assert plt.get_fignums() == []  # closed, as Jupyter closes a shown figure
    assert runtime.save_figures(folder, "again") == []  # nothing open: no file


def test_the_same_figure_is_the_same_bytes(tmp_path: Path) -> None:
    _draw([1.0, 2.0, 0.5])
    (first,) = runtime.save_figures(tmp_path / "a", "curve")
    _draw([1.0, 2.0, 0.5])
    (second,) = runtime.save_figures(tmp_path / "b", "curve")
    assert first.read_bytes() == second.read_bytes()


def test_without_pyplot_imported_nothing_is_saved_or_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "matplotlib.pyplot", raising=False)
    assert runtime.save_figures(tmp_path, "none") == []
    assert "matplotlib.pyplot" not in sys.modules
    assert list(tmp_path.iterdir()) == []


# As it is shipped ------------------------------------------------------------


def test_every_project_gets_the_runtime_byte_for_byte() -> None:
    a = analyse(read_notebook(EXAMPLES / "titanic_mlops_poc.ipynb"))
    files, _ = build_files(a, None, FIXED_ENVIRONMENT)
    package = a.plan.package
    assert files[f"src/{package}/runtime.py"] == RUNTIME.read_text(encoding="utf-8")
    pipeline = files[f"src/{package}/pipeline.py"]
    imported = pipeline.split("from .runtime import (", 1)[1].split(")", 1)[0].split()
    assert {"load_artifacts,", "run_stages,", "track_run,"} <= set(imported)
    # What the runtime does is not rendered into the pipeline again.
    for defined in ("def save_artifacts", "def load_artifacts", "random.getstate"):
        assert defined not in pipeline
    for done in ("import joblib", "random.setstate"):
        assert done not in pipeline


# Every plain file copied into each project, checked as it is shipped.
SHIPPED = sorted(ROOT / "templates" / template for template in COPIED_FILES)


@pytest.mark.parametrize(
    "command",
    [
        # nbprod's own settings (pyproject.toml), and the generated projects' rules
        ("ruff", "check", "--no-cache"),
        ("ruff", "check", "--no-cache", "--isolated", "--select", "E4,E7,E9,F,I"),
        ("black", "--check", "--quiet"),
        # typed throughout; joblib and pandas ship no types
        (
            "mypy",
            "--strict",
            "--no-incremental",
            "--disable-error-code",
            "import-untyped",
            "--explicit-package-bases",
        ),
    ],
    ids=["ruff", "ruff-project-rules", "black", "mypy"],
)
def test_the_shipped_files_are_clean(command: tuple[str, ...]) -> None:
    # mypy checks them as the package they are copied into (src/, by its path
    # from templates/project): relative imports (serve's .scoring) resolve.
    project = ROOT / "templates" / "project"
    files = [str(path.relative_to(project)) for path in SHIPPED]
    result = subprocess.run(
        [sys.executable, "-m", *command, *files],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Tracking --------------------------------------------------------------------


def test_config_values_become_params_by_group_and_key() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Training:
        n_estimators: int
        grid: dict

    @dataclass(frozen=True)
    class Tracking:
        mlflow: bool
        experiment: str

    @dataclass(frozen=True)
    class Config:
        artifacts_dir: str
        training: Training
        tracking: Tracking

    config = Config(
        "artifacts", Training(100, {"depth": [3, None]}), Tracking(True, "x")
    )
    assert runtime.config_params(config) == {
        "training.n_estimators": "100",
        "training.grid": "{'depth': [3, None]}",
    }


def test_tracking_is_on_by_the_switch_or_mlflows_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(runtime.TRACKING_URI, raising=False)
    assert not runtime.tracking_on(False) and runtime.tracking_on(True)
    monkeypatch.setenv(runtime.TRACKING_URI, "sqlite:///x.db")
    assert runtime.tracking_on(False)


def test_tracking_without_mlflow_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow raises ImportError
    with pytest.raises(runtime.TrackingError, match=r'pip install -e "\.\[mlflow\]"'):
        runtime.require_mlflow()
