"""End to end: every example becomes a project that stands on its own (its own
repository and environment), runs under DVC and MLflow, passes its own tests,
scores new rows as its pipeline does, and is clean under black and ruff."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.cli import run, run_ok
from tests.helpers.paths import EXAMPLE_NOTEBOOKS, EXAMPLES, copy_examples
from tests.helpers.project import (
    fresh_environment,
    in_own_repository,
    saved_artifact,
)
from tests.helpers.server import free_port, serving
from tests.helpers.shared import example_converted, example_copy

pytestmark = pytest.mark.e2e

Converted = tuple[Path, subprocess.CompletedProcess]


@pytest.fixture()
def converted(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Converted]:
    """Each example converted (and validated) once for the session, whichever
    worker asks first (``example_converted``): a folder with the notebooks' copy
    and ``project``, and the CLI's result. Tests read it, or copy what they run."""
    return lambda notebook: example_converted(tmp_path_factory, notebook)


def _check_report_and_card(project: Path) -> dict[str, Any]:
    """What validation proved, and the model card stating it: the report's
    validation section."""
    report = json.loads((project / "nbprod-report.json").read_text(encoding="utf-8"))
    validation = report["validation"]
    assert validation["status"] == "equal"
    assert validation["compared"] >= 5
    assert all(c["status"] in {"equal", "close"} for c in validation["comparisons"])
    assert (project / "tests" / "test_characterization.py").is_file()
    # The model card states what validation measured: same classes, same numbers.
    card = (project / "MODEL_CARD.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---\n")[1])
    measured = {
        c["name"]: c["value"]
        for c in validation["comparisons"]
        if c["value"] is not None
    }
    equal = {
        c["name"]
        for c in validation["comparisons"]
        if c["status"] in {"equal", "close"}
    }
    for metric in header.get("metrics", []):
        if metric["name"] in measured:
            assert metric["value"] == measured[metric["name"]]
        else:  # a number inside a value found equal: ``results.1.f1``
            assert metric["name"].split(".")[0] in equal, metric
    assert "TODO (author)" in card
    estimators = report["plan"]["estimators"]
    assert any(
        f".{e.rsplit('.', 1)[-1]}`" in card for e in estimators
    ), "the card names no real estimator"
    for module in (project / "src").rglob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert "import nbprod" not in text and "from nbprod" not in text, module
    return dict(validation)


def _check_predict(
    project: Path, package: str, python: str, env: dict[str, str], scratch: Path
) -> None:
    """``predict`` refuses in one line when nothing is served; else it scores a
    file of the rows the notebook predicted on as ``predict_rows`` does."""
    report = json.loads((project / "nbprod-report.json").read_text(encoding="utf-8"))
    plan, validation = report["plan"], report["validation"]
    serving = plan["serving"]
    if serving is None:
        refused = run(
            [python, "-m", package, "predict", "--input", "x.csv", "--output", "y.csv"],
            cwd=project,
            env=env,
        )
        assert refused.returncode == 2
        assert refused.stderr == (
            f"error: this pipeline does not score new rows: {plan['serving_reason']}\n"
        )
        return
    assert validation["predict"]["status"] in {"equal", "close"}, validation["predict"]
    assert validation["predict"]["rows"] > 0
    # Rows written in the notebook's code have no file form to try the CLI with;
    # validation's proof covers their serving path.
    if serving["made_by"] == "literal":
        return
    reader = next(
        (
            p
            for p in plan["params"]
            if p["cell"] == serving["source"][0] and p["kind"] == "path"
        ),
        None,
    )
    if reader is not None:
        source = (project / reader["value"]).resolve()
        rows = pd.read_csv(source)
    else:
        # Held-out rows a stage saved, written out as a user would give them.
        saved = saved_artifact(project / "artifacts", serving["rows"])
        rows = joblib.load(saved)
        source = scratch / "new.csv"
        pd.DataFrame(rows).to_csv(source, index=False)
    scored = run(
        [python, "-m", package, "predict", "--input", str(source), "--output"]
        + [str(scratch / "scored.csv")],
        cwd=project,
        env=env,
    )
    assert scored.returncode == 0, scored.stderr
    sys.path.insert(0, str(project / "src"))
    try:
        pipeline = importlib.import_module(f"{package}.pipeline")
        settings = importlib.import_module(f"{package}.config")
        config = settings.load_config(project / "config.yaml")
        expected = np.asarray(pipeline.predict_rows(config, rows))
        contract = importlib.import_module(f"{package}.contract")
        schema = contract.schema(config.serving.range_tolerance)
        if isinstance(rows, pd.DataFrame):
            assert schema is not None, "no contract for rows of named columns"
            for name, lines in _corrupted(schema, rows, scratch):
                _check_refused(project, package, python, env, name, lines)
        else:
            assert schema is None
    finally:
        sys.path.remove(str(project / "src"))
        for name in [m for m in sys.modules if m.split(".")[0] == package]:
            del sys.modules[name]
    got = pd.read_csv(scratch / "scored.csv")["prediction"].to_numpy()
    (
        np.testing.assert_allclose(got, expected)
        if expected.dtype.kind in "fc"
        else np.testing.assert_array_equal(got.astype(expected.dtype), expected)
    )


def _corrupted(
    schema: Any, rows: pd.DataFrame, scratch: Path
) -> list[tuple[Path, list[str]]]:
    """Copies of ``rows`` that break the contract, written to files in
    ``scratch``, with the lines ``predict`` must print for each: one without a
    column the serving path reads; one where each of a few rows breaks it once
    (a number out of its range, an unseen category, a value missing where none
    was)."""
    rows = rows.reset_index(drop=True)
    broken, lines = rows.copy(), []
    missing = None
    for name, column in schema.columns.items():
        if column.dtype is None:
            continue
        missing = missing or name
        checks = {c.name: c.statistics for c in column.checks}
        row = len(lines)
        if row >= len(rows):
            break
        if "in_range" in checks:
            broken[name] = broken[name].astype(float)
            high = checks["in_range"]["max_value"]
            broken.loc[row, name] = high + abs(high) + 1000
            lines.append(f"row {row}, column {name!r}, value ")
        elif "isin" in checks:
            broken[name] = broken[name].astype(object)
            broken.loc[row, name] = "never-seen"
            lines.append(
                f"row {row}, column {name!r}, value 'never-seen': not a category seen"
            )
        elif not column.nullable:
            broken[name] = broken[name].astype(object)
            broken.loc[row, name] = None
            lines.append(
                f"row {row}, column {name!r}, value missing: missing, and never missing"
            )
    assert missing is not None, "the contract checks nothing"
    files = [
        (
            rows.drop(columns=[missing]),
            [f"column {missing!r}: missing: the serving path reads it"],
        ),
        *([(broken, lines)] if lines else []),
    ]
    for number, (frame, _) in enumerate(files):
        frame.to_csv(scratch / f"broken-{number}.csv", index=False)
    return [(scratch / f"broken-{n}.csv", found) for n, (_, found) in enumerate(files)]


def _check_refused(
    project: Path,
    package: str,
    python: str,
    env: dict[str, str],
    source: Path,
    expected: list[str],
) -> None:
    """``predict`` on rows breaking the contract: exit 2, a line naming each
    problem, nothing written; with --lax, scored and the problems beside."""
    target = source.with_name(f"{source.stem}-scored.csv")
    command = [
        python,
        "-m",
        package,
        "predict",
        "--input",
        str(source),
        "--output",
        str(target),
    ]
    refused = run(command, cwd=project, env=env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = refused.stderr.splitlines()
    assert (
        lines[0]
        == f"error: the rows of {source} break the data contract (contract.py):"
    )
    for line in expected:
        assert any(found.startswith(line) for found in lines[1:]), (line, lines)
    assert not target.exists()
    if expected[0].endswith("missing: the serving path reads it"):
        return  # without the column, --lax has nothing to score the rows with
    lax = run([*command, "--lax"], cwd=project, env=env)
    problems = target.with_name(f"{target.stem}.problems.csv")
    if lax.returncode == 0:
        assert len(pd.read_csv(problems)) >= 1 and target.is_file()
    else:
        # Scored anyway, the notebook's own steps may fail on such rows: said in
        # one error, nothing written.
        assert lax.returncode == 2, lax.stderr
        assert "cannot be scored as the notebook scored" in lax.stderr
        assert not target.exists() and not problems.exists()


@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_every_example_stands_alone_installs_runs_and_passes_its_tests(
    tmp_path: Path, notebook: Path, converted: Callable[[Path], Converted]
) -> None:
    """The session's validated conversion, moved into a git repository of its own
    with nothing of the notebook's beside it, and installed into a fresh
    environment (as a wheel): a later stage run first says what it misses in one line; DVC runs
    its stages, training tracked by MLflow; the last stage runs again alone; its
    own tests pass, the characterization tests among them (compared in another
    folder and process than validation's); ``predict`` scores a file as
    ``predict_rows`` does; black and ruff find nothing; no path points outside."""
    base, result = converted(notebook)
    assert result.returncode == 0, result.stdout + result.stderr
    source = base / "notebooks" / notebook.name
    assert source.read_bytes() == notebook.read_bytes(), "convert modified the notebook"
    _check_report_and_card(base / "project")
    package = next((base / "project" / "src").iterdir()).name
    alone = in_own_repository(base / "project", tmp_path / "alone" / package)
    python, env = fresh_environment(tmp_path / "venv")
    # As a wheel, as the image installs it: what runs is what the wheel holds.
    install = [python, "-m", "pip", "install", "-q", "--no-build-isolation"]
    run_ok([*install, ".[dev]"], alone, env)

    # A later stage first: what it loads is missing, and it says so in one line.
    stages = list(yaml.safe_load((alone / "dvc.yaml").read_text("utf-8"))["stages"])
    if len(stages) > 1:
        early = run([python, "-m", package, stages[-1]], cwd=alone, env=env)
        assert early.returncode == 2, early.stderr[-2000:]
        (line,) = early.stderr.splitlines()
        assert line.startswith("error: ") and "stage first" in line

    # DVC runs every stage as dvc.yaml declares it; MLflow tracks the training.
    run_ok([python, "-m", "dvc", "init", "-q"], alone, env)
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    repro = run_ok(
        [python, "-m", "dvc", "repro"], alone, {**env, "MLFLOW_TRACKING_URI": tracking}
    )
    for stage in stages:
        assert f"Running stage '{stage}'" in repro
    assert f"in experiment '{package}'" in repro
    assert list((alone / "artifacts").glob("*/*.joblib")), "no artifacts saved"
    run_ok([python, "-m", package, stages[-1]], alone, env)  # again, alone

    tests = run_ok([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], alone, env)
    summary = tests.strip().splitlines()[-1]
    expected = json.loads(
        (alone / "tests" / "characterization" / "expected.json").read_text("utf-8")
    )
    counted = re.fullmatch(r"(\d+) passed(, \d+ warnings?)? in .*", summary)
    assert counted and int(counted.group(1)) > len(expected), summary

    _check_predict(alone, package, python, env, tmp_path)
    black = run([python, "-m", "black", "--check", "--quiet", "."], cwd=alone)
    assert black.returncode == 0, black.stderr
    ruff = run([python, "-m", "ruff", "check", "--no-cache", "."], cwd=alone)
    assert ruff.returncode == 0, ruff.stdout
    config = yaml.safe_load((alone / "config.yaml").read_text(encoding="utf-8"))
    values = [v for g in config.values() if isinstance(g, dict) for v in g.values()]
    assert not [v for v in values if isinstance(v, str) and v.startswith("..")]


def _take(rows: Any, positions: Sequence[int]) -> Any:
    """The rows at ``positions``, in that order, in the form ``rows`` has."""
    if hasattr(rows, "iloc"):
        return rows.iloc[list(positions)]
    if isinstance(rows, np.ndarray):
        return rows[np.asarray(positions, dtype=int)]
    return type(rows)(rows[i] for i in positions)


@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_predict_rows_scores_each_row_as_it_scores_it_alone(
    tmp_path: Path,
    notebook: Path,
    converted: Callable[[Path], Converted],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Property: what ``predict_rows`` serves for a row does not depend on the rows
    scored with it. For random orders and random subsets of new rows, each row gets
    the value it gets when scored alone. A pipeline whose predict was not proven by
    validation must refuse instead."""
    base, result = converted(notebook)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(
        (base / "project" / "nbprod-report.json").read_text(encoding="utf-8")
    )
    plan, serving = report["plan"], report["plan"]["serving"]
    predict = (report.get("validation") or {}).get("predict") or {}
    proven = serving is not None and predict.get("status") in {"equal", "close"}

    # A scratch copy beside the notebooks' copy (as the notebook's paths expect).
    copy_examples(tmp_path)
    project = tmp_path / "project"
    shutil.copytree(base / "project", project)
    (package,) = [p.name for p in (project / "src").iterdir() if p.is_dir()]
    if proven:
        ran = run(
            [sys.executable, "-m", package, "run"],
            cwd=project,
            env={
                **os.environ,
                "PYTHONPATH": str(project / "src"),
                "MPLBACKEND": "Agg",
            },
        )
        assert ran.returncode == 0, ran.stderr[-3000:]

    monkeypatch.chdir(project)
    monkeypatch.syspath_prepend(str(project / "src"))

    def forget() -> None:
        for name in [m for m in sys.modules if m.split(".")[0] == package]:
            del sys.modules[name]

    forget()
    try:
        pipeline = importlib.import_module(f"{package}.pipeline")
        scoring = importlib.import_module(f"{package}.scoring")
        config = importlib.import_module(f"{package}.config").load_config("config.yaml")
        if not proven:
            # No proven served value: predict_rows refuses, saying why.
            assert pipeline.PREDICT_REFUSED is not None, predict
            if serving is None:
                assert pipeline.PREDICT_REFUSED == plan["serving_reason"]
            with pytest.raises(scoring.PredictError) as refused:
                pipeline.predict_rows(config, pd.DataFrame({"x": [1.0]}))
            assert str(refused.value) == (
                f"this pipeline does not score new rows: {pipeline.PREDICT_REFUSED}"
            )
            return
        assert pipeline.PREDICT_REFUSED is None

        # New rows in the form predict takes: the file the notebook read them from,
        # or the held-out rows the pipeline saved when it split them off.
        if serving["made_by"] == "reader":
            (reader,) = [
                p
                for p in plan["params"]
                if p["cell"] == serving["source"][0] and p["kind"] == "path"
            ]
            source = Path(getattr(getattr(config, reader["group"]), reader["key"]))
            assert source.is_file(), source
            assert any(
                (project / d["path"]).resolve() == source.resolve()
                for d in plan["data"]
            ), f"{source} is not among the project's data files"
            read = (
                pd.read_parquet(source)
                if source.suffix == ".parquet"
                else pd.read_csv(source)
            )
            rows = {
                "array": lambda: read.to_numpy(),
                "series": lambda: read.iloc[:, 0].copy(),
                "frame": lambda: read,
            }[pipeline.ROWS_FORM]()
        else:
            rows = joblib.load(saved_artifact(project / "artifacts", serving["rows"]))
            # The rows as the stages left them, but for the column the notebook
            # served in them (``new_customers["segment"] = ...``): not an input.
            column = re.fullmatch(
                rf'{re.escape(serving["rows"])}\["(.+)"\]', serving["served"]
            )
            if column is not None:
                rows = rows.drop(columns=column.group(1))
        rows = _take(rows, range(min(40, len(rows))))
        count = len(rows)
        assert count >= 2, f"only {count} new rows"

        def served(positions: Sequence[int]) -> np.ndarray:
            value = np.asarray(pipeline.predict_rows(config, _take(rows, positions)))
            assert value.ndim >= 1 and value.shape[0] == len(
                positions
            ), f"{len(positions)} rows scored into shape {value.shape}"
            return value

        alone = [served([i])[0] for i in range(count)]

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(
            st.one_of(
                st.permutations(range(count)),
                st.lists(st.sampled_from(range(count)), unique=True, min_size=1),
            )
        )
        def each_row_as_alone(positions: list[int]) -> None:
            got = served(positions)
            expected = np.asarray([alone[i] for i in positions])
            message = (
                f"{notebook.stem}: rows at positions {positions} scored together "
                f"gave {got.tolist()}, scored alone {expected.tolist()}"
            )
            if got.dtype.kind in "fc" and expected.dtype.kind in "fc":
                np.testing.assert_allclose(got, expected, rtol=1e-9, err_msg=message)
            else:
                np.testing.assert_array_equal(got, expected, err_msg=message)

        each_row_as_alone()
    finally:
        forget()


def test_config_errors_are_reported_by_the_generated_cli(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, out = example_copy(
        tmp_path_factory, tmp_path, EXAMPLES / "churn_classifier.ipynb"
    )
    config = out / "config.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("test_size: 0.2", "test_size: lots"),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    result = run([sys.executable, "-m", "churn_classifier", "run"], cwd=out, env=env)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "error: preprocessing.test_size must be float, got str 'lots'"
    )


def test_generated_readme_commands_work(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every `python -m PACKAGE ...` and `pytest` line of the generated README runs."""
    _, out = example_copy(
        tmp_path_factory, tmp_path, EXAMPLES / "churn_classifier.ipynb"
    )
    readme = (out / "README.md").read_text(encoding="utf-8")
    # Each command once: the README shows `run` in several sections.
    commands = list(
        dict.fromkeys(
            line.split("#")[0].strip()
            for block in readme.split("```bash")[1:]
            for line in block.split("```")[0].splitlines()
            if line.startswith(("python -m churn_classifier", "pytest", "cp "))
        )
    )
    assert any(" predict --input" in c for c in commands) and "pytest" in commands
    assert any(" monitor --input" in c and "--labels" in c for c in commands)
    env = {**os.environ, "PYTHONPATH": str(out / "src"), "MPLBACKEND": "Agg"}
    for command in commands:
        if " serve " in command:
            # A server runs until stopped: it must answer, then it is stopped.
            port = free_port()
            args = [sys.executable, *command.split()[1:]]
            args[args.index("--port") + 1] = str(port)
            with serving(
                args,
                cwd=out,
                env=env,
                ready=f"http://127.0.0.1:{port}/health",
                log=tmp_path / "serve.log",
            ):
                continue
        if " --input new_rows.csv" in command:  # predict's and monitor's
            rows = joblib.load(saved_artifact(out / "artifacts", "X_test"))
            rows.to_csv(out / "new_rows.csv", index=False)
        if " --labels new_labels.csv" in command:
            labels = joblib.load(saved_artifact(out / "artifacts", "y_test"))
            labels.to_frame().to_csv(out / "new_labels.csv", index=False)
        args = command.split()
        if args[0] == "python":
            args[0] = sys.executable
        elif args[0] == "pytest":
            args = [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                *args[1:],
            ]
        result = run(args, cwd=out, env=env)
        assert (
            result.returncode == 0
        ), f"{command}: {result.stdout[-1500:]}{result.stderr[-1500:]}"
    assert (out / "scored.csv").is_file() and (out / "experiment-artifacts").is_dir()
