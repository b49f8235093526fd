"""The generated CI workflow and pre-commit config pass the checks their users run:
check-jsonschema's GitHub-workflow schema, zizmor (offline), pre-commit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers.paths import GOLDEN

PROJECTS = sorted(p for p in GOLDEN.iterdir() if p.is_dir())
BIN = Path(sys.executable).parent


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_workflow_is_valid_and_has_no_zizmor_findings(project: Path) -> None:
    workflow = project / ".github" / "workflows" / "ci.yml"
    schema = run(
        BIN / "check-jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
        workflow,
        cwd=project,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = run(
        BIN / "zizmor",
        "--offline",
        "--persona",
        "pedantic",
        "--no-progress",
        workflow,
        cwd=project,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings to report" in audit.stdout


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_pre_commit_config_is_valid(project: Path) -> None:
    result = run(
        sys.executable,
        "-m",
        "pre_commit",
        "validate-config",
        ".pre-commit-config.yaml",
        cwd=project,
    )
    assert result.returncode == 0, result.stdout + result.stderr


ON_PUSH = "github.event_name == 'push' || github.event_name == 'pull_request'"
WHEN_ASKED = (
    "github.event_name == 'workflow_dispatch' || github.event_name == 'schedule'"
)


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_the_monitor_job_runs_only_when_asked_and_alone(project: Path) -> None:
    """On a push or a pull request the jobs run as they did, and none monitors; by
    hand (or on a schedule the user switches on) only the monitor job runs. A
    project whose predict scores no rows has nothing to monitor: no monitor job."""
    text = (project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    (package,) = (p.name for p in (project / "src").iterdir())
    pipeline = (project / "src" / package / "pipeline.py").read_text("utf-8")
    jobs = workflow["jobs"]
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    if "PREDICT_REFUSED: str | None = None\n" not in pipeline:
        assert sorted(jobs) == ["pipeline", "test"]
        assert sorted(triggers) == ["pull_request", "push"]
        assert "monitor" not in text
        return
    assert sorted(jobs) == ["monitor", "pipeline", "test"]
    assert sorted(triggers) == ["pull_request", "push", "workflow_dispatch"]
    # No live schedule: one a project with no monitoring.input would fail weekly.
    assert '  # schedule:\n  #   - cron: "0 6 * * 1"\n' in text
    assert sorted(triggers["workflow_dispatch"]["inputs"]) == ["input", "labels"]
    assert jobs["test"]["if"] == jobs["pipeline"]["if"] == ON_PUSH
    assert jobs["monitor"]["if"] == WHEN_ASKED
    assert "needs" not in jobs["monitor"]
    for name in ("test", "pipeline"):
        assert f"{package} monitor" not in yaml.safe_dump(jobs[name])
    # Pushes still cancel the run in progress on their branch; monitor runs, each a
    # group of its own, neither cancel nor are cancelled.
    assert workflow["concurrency"]["group"].endswith(
        "-${{ (github.event_name == 'push' || github.event_name == 'pull_request') "
        "&& 'ci' || github.run_id }}"
    )
    steps = jobs["monitor"]["steps"]
    assert f"python -m {package} monitor " in steps[4]["run"]
    assert steps[3]["run"] == f"python -m {package} run --config config.yaml"


def _summary_step(project: Path) -> str:
    workflow = yaml.safe_load(
        (project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    )
    (step,) = [
        s
        for s in workflow["jobs"]["pipeline"]["steps"]
        if s.get("name") == "Metrics to the job summary"
    ]
    return str(step["run"])


def test_the_job_summary_shows_the_metrics_and_a_pull_requests_change(
    tmp_path: Path,
) -> None:
    script = _summary_step(GOLDEN / "titanic_mlops_poc")
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    (repo / "metrics.json").write_text('{"acc": 0.75, "gone": 1}\n', "utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "a"]):
        subprocess.run([*git, *args], cwd=repo, check=True)
    # what actions/checkout with fetch-depth 0 leaves: the base as origin/main
    subprocess.run([*git, "update-ref", "refs/remotes/origin/main", "main"], cwd=repo)
    (repo / "metrics.json").write_text('{"acc": 0.8, "new": 2}\n', "utf-8")

    def summary(env: dict[str, str]) -> list[str]:
        target = tmp_path / "summary.md"
        target.write_text("", "utf-8")
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=repo,
            env={
                **env,
                "PATH": f"{BIN}:/usr/bin:/bin",
                "GITHUB_STEP_SUMMARY": str(target),
            },
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return target.read_text("utf-8").splitlines()

    assert summary({}) == [
        "| metric | value |",
        "| --- | ---: |",
        "| `acc` | 0.8 |",
        "| `new` | 2 |",
    ]
    assert summary({"GITHUB_BASE_REF": "main"}) == [
        "| metric | main | this change | change |",
        "| --- | ---: | ---: | ---: |",
        "| `acc` | 0.75 | 0.8 | +0.05 |",
        "| `gone` | 1 |  |  |",
        "| `new` |  | 2 |  |",
    ]
