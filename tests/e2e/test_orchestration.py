"""The generated project's stages under Airflow and Kubeflow Pipelines: the real
engines' own loaders and compilers, and the stage commands they run, really run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pandas as pd
import pytest
import yaml

from nbprod.export.files import stage_facts
from nbprod.validate.compare import Verdict, compare
from tests.helpers.build import plan_of
from tests.helpers.cli import run, run_nbprod, run_ok
from tests.helpers.paths import EXAMPLES, copy_examples
from tests.helpers.shared import copy_example_converted, example_converted

pytestmark = pytest.mark.e2e

PACKAGE = "titanic_mlops_poc"
STAGES = ["preprocess", "train", "predict", "evaluate"]
BIN = Path(sys.executable).parent
# Airflow lives in environments of its own (its pins are not the project's), one
# per major version the DAG is written for, kept between runs.
CACHE = Path(
    os.environ.get("NBPROD_TEST_CACHE", Path.home() / ".cache" / "nbprod-tests")
)
AIRFLOWS = {"2": "apache-airflow>=2.9,<3", "3": "apache-airflow>=3,<4"}


def _files(folder: Path) -> list[str]:
    return [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """titanic converted (and validated: monitor compares the columns of the data
    contract validation infers) as the session converts it once, with the files
    of both orchestrators exported into it; and the artifacts and metrics of its
    own ``python -m PKG run`` in ``reference/``."""
    base = tmp_path_factory.mktemp("orchestrated")
    converted, result = example_converted(
        tmp_path_factory, EXAMPLES / f"{PACKAGE}.ipynb"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    _, out = copy_example_converted(converted, base)
    for orchestrator in ("airflow", "kubeflow"):
        exported = run_nbprod("export", orchestrator, out)
        assert exported.returncode == 0, exported.stderr
    env = {**os.environ, "PYTHONPATH": str(out / "src"), "MPLBACKEND": "Agg"}
    reference = base / "reference"
    run_ok(
        [sys.executable, "-m", PACKAGE, "run", "--artifacts", str(reference)], out, env
    )
    shutil.copy(out / "metrics.json", base / "reference-metrics.json")
    return out


def _same_as_reference(project: Path, artifacts: Path) -> None:
    """Every value the stages saved equals what ``python -m PKG run`` saved, as
    validation compares values (pickles of equal values may differ in bytes);
    and the metrics file is the same, byte for byte."""
    reference = project.parent / "reference"
    assert sorted(p.name for p in artifacts.iterdir()) == sorted(STAGES)
    saved = sorted(_files(artifacts))
    assert saved == sorted(_files(reference))
    for name in saved:
        if Path(name).stem == "_random_state":  # the first stage's start is unseeded
            continue
        if name.endswith(".json"):  # monitor's reference profile
            ours, theirs = (
                (a / name).read_text("utf-8") for a in (artifacts, reference)
            )
            assert json.loads(ours) == json.loads(theirs), name
            continue
        ours, theirs = joblib.load(artifacts / name), joblib.load(reference / name)
        verdict = compare(name, ours, theirs, [])
        assert verdict.status in {Verdict.EQUAL, Verdict.CLOSE}, verdict
    assert (project / "metrics.json").read_bytes() == (
        project.parent / "reference-metrics.json"
    ).read_bytes()


def test_the_orchestration_files_are_clean_and_need_no_nbprod(project: Path) -> None:
    files = [
        project / "orchestration" / "airflow" / f"{PACKAGE}_dag.py",
        project / "orchestration" / "kubeflow" / "pipeline.py",
    ]
    for tool in (["ruff", "check"], ["black", "--check", "--quiet"]):
        run_ok([str(BIN / tool[0]), *tool[1:], *map(str, files)], project)
    for path in [*files, project / "Dockerfile"]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from) nbprod|install.*nbprod", text, re.M)
    # The image's recipe, as a Dockerfile linter reads it.
    run_ok([str(BIN / "hadolint"), "Dockerfile"], project)


def _airflow(major: str) -> Path:
    """The bin folder of an environment holding Airflow ``major``."""
    python_version = f"py{sys.version_info.major}{sys.version_info.minor}"
    venv = CACHE / f"airflow{major}-{python_version}"
    ready = venv / "installed"
    if not ready.exists():
        shutil.rmtree(venv, ignore_errors=True)  # a run that stopped halfway
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, AIRFLOWS[major]], check=True, timeout=1500)
        ready.write_text(AIRFLOWS[major], encoding="utf-8")
    return venv / "bin"


@pytest.mark.parametrize("major", sorted(AIRFLOWS))
def test_the_airflow_dag_loads_and_runs_every_stage_then_monitor(
    project: Path, tmp_path: Path, major: str
) -> None:
    """Each stage's task, then, switched on, the monitor task: under Airflow 2 on
    the notebook's own rows (no drift: a green run), under Airflow 3 on them with
    Sex swapped (drift: monitor exits 1, its task fails, the run fails, the stages
    stay green). Switched off, the monitor task is skipped."""
    airflow = _airflow(major)
    home = tmp_path / "airflow"
    dags = home / "dags"
    dags.mkdir(parents=True)
    shutil.copy(project / "orchestration" / "airflow" / f"{PACKAGE}_dag.py", dags)
    artifacts = tmp_path / "artifacts"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        f"{PACKAGE.upper()}_PROJECT_DIR": str(project),
        # the tasks run the stages with this interpreter, the project importable
        "PYTHONPATH": str(project / "src"),
        "MPLBACKEND": "Agg",
    }
    loaded = run_ok(
        [
            str(airflow / "python"),
            "-c",
            "try:\n from airflow.dag_processing.dagbag import DagBag\n"
            "except ImportError:\n from airflow.models.dagbag import DagBag\n"
            "import json\n"
            f"bag = DagBag(dag_folder={str(dags)!r})\n"
            f"dag = bag.dags[{PACKAGE!r}]\n"
            "print('DAGBAG', json.dumps({'errors': {str(k): str(v) for k, v in "
            "bag.import_errors.items()}, 'tasks': [[t.task_id, "
            "sorted(t.downstream_task_ids)] for t in dag.tasks], "
            "'schedule': str(dag.schedule) if hasattr(dag, 'schedule') else None}))",
        ],
        tmp_path,
        env,
    )
    (line,) = [x for x in loaded.splitlines() if x.startswith("DAGBAG ")]
    found = json.loads(line.removeprefix("DAGBAG "))
    assert found["errors"] == {}
    assert found["tasks"] == [
        [stage, [after]]
        for stage, after in zip(STAGES, [*STAGES[1:], "monitor"], strict=True)
    ] + [["monitor", []]]
    run_ok([str(airflow / "airflow"), "db", "migrate"], tmp_path, env)
    rows = project / "data" / "passengers_test.csv"
    drift = major == "3"
    if drift:
        swapped = pd.read_csv(rows)
        swapped["Sex"] = swapped["Sex"].map({"male": "female", "female": "male"})
        rows = tmp_path / "swapped.csv"
        swapped.to_csv(rows, index=False)
    conf = json.dumps(
        {
            "python": sys.executable,
            "artifacts": str(artifacts),
            "monitor": True,
            "monitor_input": str(rows),
        }
    )
    (project / "metrics.json").unlink()
    reports = project / "reports" / "monitoring"
    shutil.rmtree(reports, ignore_errors=True)
    dags_test = [str(airflow / "airflow"), "dags", "test", PACKAGE, "-c", conf]
    done = run(dags_test, tmp_path, env)
    ran = done.stdout + done.stderr
    assert done.returncode == int(drift), ran[-3000:]
    (run_id,) = re.findall(r"DagRun Finished: .*?run_id=([^,\s]+)", ran)
    assert f"state={'failed' if drift else 'success'}" in ran, ran[-3000:]
    listed = run(
        [str(airflow / "airflow"), "tasks", "states-for-dag-run", PACKAGE]
        + [run_id, "--output", "json"],
        tmp_path,
        env,
    )
    assert listed.returncode == 0, listed.stderr[-3000:]
    (states,) = [
        json.loads(line) for line in listed.stdout.splitlines() if line.startswith("[")
    ]
    assert {s["task_id"]: s["state"] for s in states} == {
        **dict.fromkeys(STAGES, "success"),
        "monitor": "failed" if drift else "success",
    }
    _same_as_reference(project, artifacts)
    # The task's log names the report it wrote.
    verdict = "drift in Sex (150 rows)" if drift else "no drift in 150 rows"
    assert re.search(
        rf"monitor: {re.escape(verdict)}; wrote \S*reports/monitoring/report\.html, ",
        ran,
    ), ran[-3000:]
    summary = json.loads((reports / "summary.json").read_text("utf-8"))
    assert (summary["input"], summary["drift"]) == (str(rows), drift)

    # Off (the param's default): the task says so and is skipped.
    off = run_ok(
        [str(airflow / "airflow"), "tasks", "test", PACKAGE, "monitor"], tmp_path, env
    )
    assert "monitor: off (the monitor param)" in off
    assert re.search(r"Marking task as SKIPPED|new_state=skipped", off), off[-3000:]


def _substituted(argv: list[str], paths: dict[str, str]) -> list[str]:
    pattern = re.compile(r"\{\{\$\.(inputs|outputs)\.artifacts\['([^']+)'\]\.path\}\}")
    return [pattern.sub(lambda m: paths[f"{m.group(1)}.{m.group(2)}"], a) for a in argv]


def test_the_kubeflow_pipeline_compiles_and_its_steps_hand_on_the_artifacts(
    project: Path, tmp_path: Path
) -> None:
    compiled = project / "orchestration" / "kubeflow" / "pipeline.yaml"
    compiled.unlink(missing_ok=True)
    run_ok([sys.executable, "orchestration/kubeflow/pipeline.py"], project)
    spec = yaml.safe_load(compiled.read_text(encoding="utf-8"))
    tasks = spec["root"]["dag"]["tasks"]
    assert sorted(tasks) == sorted(STAGES)
    executors = spec["deploymentSpec"]["executors"]
    for before, stage in zip([None, *STAGES[:-1]], STAGES, strict=True):
        task = tasks[stage]
        container = executors[f"exec-{stage}"]["container"]
        assert container["image"] == "titanic-mlops-poc:latest"
        assert container["command"][:2] == ["sh", "-c"]
        assert container["command"][2].startswith(f"STAGE={stage};")
        assert f'python -m {PACKAGE} "$STAGE" --config config.yaml' in (
            container["command"][2]
        )
        inputs = task.get("inputs", {}).get("artifacts", {})
        producers = {v["taskOutputArtifact"]["producerTask"] for v in inputs.values()}
        if before is not None:
            assert before in producers and before in task["dependentTasks"]
        assert producers <= set(STAGES[: STAGES.index(stage)])

    # Each step's command, as the compiled spec gives it to the container (the
    # project's folder as the image's working folder), in the pipeline's order:
    # each output artifact is handed to the steps that take it.
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        "PYTHONPATH": str(project / "src"),
        "MPLBACKEND": "Agg",
    }
    (project / "metrics.json").unlink()
    made: dict[str, str] = {}
    for stage in STAGES:
        task = tasks[stage]
        paths = {"outputs.artifacts": str(tmp_path / "kfp" / stage)}
        for name, source in task.get("inputs", {}).get("artifacts", {}).items():
            paths[f"inputs.{name}"] = made[source["taskOutputArtifact"]["producerTask"]]
        container = executors[f"exec-{stage}"]["container"]
        run_ok(
            _substituted(container["command"] + container["args"], paths), project, env
        )
        made[stage] = paths["outputs.artifacts"]
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    for stage, folder in made.items():
        shutil.copytree(folder, artifacts / stage)
    _same_as_reference(project, artifacts)


def test_export_adds_the_files_to_a_converted_project(tmp_path: Path) -> None:
    notebooks = copy_examples(tmp_path)
    out = tmp_path / "project"
    converted = run_nbprod(
        "convert", notebooks / f"{PACKAGE}.ipynb", "-o", out, "--no-validate"
    )
    assert converted.returncode == 0, converted.stderr
    assert not (out / "orchestration").exists()
    first = run_nbprod("export", "kubeflow", out)
    assert first.returncode == 0, first.stderr
    assert (out / "orchestration" / "kubeflow" / "pipeline.py").is_file()
    assert (out / "Dockerfile").is_file()
    again = run_nbprod("export", "kubeflow", out)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"nbprod: error: {out}: .dockerignore exists already; use --force to replace it"
    ]
    assert run_nbprod("export", "kubeflow", out, "--force").returncode == 0
    assert run_nbprod("export", "airflow", out).returncode == 0
    assert (out / "orchestration" / "airflow" / f"{PACKAGE}_dag.py").is_file()
    nothing = run_nbprod("export", "airflow", tmp_path / "notebooks")
    assert (
        nothing.returncode == 2 and "not a project nbprod converted" in nothing.stderr
    )


def test_a_stage_reads_the_folders_of_what_it_loads_and_of_the_stage_before() -> None:
    plan = plan_of(
        "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
        "from sklearn.metrics import accuracy_score",
        'df = pd.read_csv("d.csv")\nX, y = df[["a"]], df["y"]',
        "model = LogisticRegression().fit(X, y)",
        "pred = model.predict(X)",
        "print(accuracy_score(y, pred))",
    )
    facts = {s["command"]: s["reads"] for s in stage_facts(plan)}
    assert facts == {
        "preprocess": [],
        "train": ["preprocess"],
        "predict": ["preprocess", "train"],  # X, and the model
        "evaluate": ["preprocess", "predict"],
    }
