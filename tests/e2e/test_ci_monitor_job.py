"""The generated CI workflow's monitor job, its shell steps run one after the
other as a GitHub runner runs them, in a titanic project converted with
validation and installed in an environment of its own."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.helpers.paths import EXAMPLES
from tests.helpers.project import fresh_environment
from tests.helpers.shared import example_copy

pytestmark = pytest.mark.e2e

PACKAGE = "titanic_mlops_poc"
# The one condition the job's steps after Monitor carry (asserted below): they
# run when the steps before them failed too, not when the run was cancelled.
AFTER_MONITOR = "${{ !cancelled() && steps.monitor.outputs.reports != '' }}"
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


class Job:
    """The steps of one job run in ``project`` as a runner runs them: each
    ``run`` with ``bash -e`` (GitHub's default shell), the job's and the step's
    env (``${{ inputs.X }}`` and ``${{ steps.ID.outputs.X }}`` filled in), the
    files $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY; a step after a failed one
    only when its ``if`` says so. The actions (``uses``) are GitHub's: they are
    returned, not run."""

    def __init__(self, spec: dict[str, Any], project: Path, env: dict[str, str]):
        self.spec, self.project, self.env = spec, project, env

    def run(
        self, inputs: dict[str, str], summary: Path, start: str | None = None
    ) -> tuple[dict[str, int], dict[str, dict[str, str]], list[dict[str, Any]]]:
        """The exit code of each step run (by name), the outputs of each step
        (by id), and the actions the runner would have used, from step ``start``."""
        steps = self.spec["steps"]
        if start is not None:
            steps = steps[[s.get("name") for s in steps].index(start) :]
        codes: dict[str, int] = {}
        outputs: dict[str, dict[str, str]] = {}
        used = []
        failed = False
        for step in steps:
            condition = step.get("if")
            if condition is None:
                runs = not failed  # success()
            else:
                assert condition == AFTER_MONITOR
                runs = outputs.get("monitor", {}).get("reports", "") != ""
            if not runs:
                continue

            def value(match: re.Match[str]) -> str:
                parts = match.group(1).split(".")
                if parts[0] == "inputs":
                    return inputs.get(parts[1], "")
                assert parts[0] == "steps" and parts[2] == "outputs", match.group(0)
                return outputs.get(parts[1], {}).get(parts[3], "")

            if "uses" in step:
                used.append(
                    {
                        "uses": step["uses"],
                        **{
                            k: EXPRESSION.sub(value, str(v))
                            for k, v in step.get("with", {}).items()
                        },
                    }
                )
                continue
            output = summary.with_name(f"output-{len(codes)}")
            output.write_text("", "utf-8")
            env = {
                **self.env,
                **{
                    k: EXPRESSION.sub(value, str(v))
                    for k, v in {
                        **self.spec.get("env", {}),
                        **step.get("env", {}),
                    }.items()
                },
                "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(summary),
            }
            done = subprocess.run(
                ["bash", "-e", "-c", step["run"]],
                cwd=self.project,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            codes[step["name"]] = done.returncode
            failed = failed or done.returncode != 0
            lines = output.read_text("utf-8").splitlines()
            if "id" in step:
                outputs[step["id"]] = dict(line.split("=", 1) for line in lines)
        return codes, outputs, used


def test_the_monitor_job_writes_the_drift_table_to_the_job_summary_and_fails_on_drift(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    _, project = example_copy(tmp_path_factory, tmp_path, EXAMPLES / f"{PACKAGE}.ipynb")
    workflow = yaml.safe_load(
        (project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    )
    spec = workflow["jobs"]["monitor"]
    names = [s.get("name") for s in spec["steps"]]
    assert names[2:] == [
        "Install",
        "Run every stage",
        "Monitor",
        "Drift table to the job summary",
        "Keep the report",
    ]
    assert [s.get("if") for s in spec["steps"][-2:]] == [AFTER_MONITOR] * 2

    # The rows the notebook predicted on, and the same rows with Sex swapped: new
    # rows committed to the repository, as the job reads them.
    rows = pd.read_csv(project / "data" / "passengers_test.csv")
    rows["Sex"] = rows["Sex"].map({"male": "female", "female": "male"})
    rows.to_csv(project / "data" / "swapped.csv", index=False)

    # Installed as the job installs it, from the environment's packages (no
    # index): the build backend too, as pip's build isolation would fetch it
    # (PIP_NO_BUILD_ISOLATION=0 turns the isolation off: pip's inverted switch).
    _, env = fresh_environment(tmp_path / "venv")
    job = Job(spec, project, {**env, "PIP_NO_BUILD_ISOLATION": "0"})
    summary = tmp_path / "step-summary.md"
    reports = project / "reports" / "monitoring"

    # Run by hand, naming the notebook's own rows: no drift.
    codes, outputs, used = job.run({"input": "data/passengers_test.csv"}, summary)
    assert codes == {
        "Install": 0,
        "Run every stage": 0,
        "Monitor": 0,
        "Drift table to the job summary": 0,
    }
    assert outputs == {"monitor": {"reports": str(reports)}}  # the config resolves it
    table = summary.read_text("utf-8")
    assert table == (reports / "summary.md").read_text("utf-8")
    assert table.startswith(f"## Monitoring {PACKAGE}: no drift in 150 rows\n")
    assert "| Sex | category: chi-square |" in table
    *_, upload = used
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["path"] == str(reports)
    assert sorted(p.name for p in reports.iterdir()) == [
        "report.html",
        "summary.json",
        "summary.md",
    ]

    # The swapped rows, in a new run (a new checkout: no report yet): monitor
    # exits 1, which fails the job; the table lands in the summary all the same.
    shutil.rmtree(reports)
    summary.unlink()
    codes, outputs, used = job.run(
        {"input": "data/swapped.csv"}, summary, start="Monitor"
    )
    assert codes == {"Monitor": 1, "Drift table to the job summary": 0}
    table = summary.read_text("utf-8")
    assert table.startswith(f"## Monitoring {PACKAGE}: drift in Sex (150 rows)\n")
    assert "| Sex | category: chi-square |" in table
    assert (reports / "report.html").is_file()
    assert used[-1]["path"] == str(reports)

    # On the schedule (no inputs) with no monitoring.input in config.yaml: monitor
    # says what it needs (exit 2) and the summary says where to look.
    shutil.rmtree(reports)
    summary.unlink()
    codes, _, _ = job.run({}, summary, start="Monitor")
    assert codes == {"Monitor": 2, "Drift table to the job summary": 0}
    assert summary.read_text("utf-8") == (
        "monitor wrote no report: the Monitor step's log says why.\n"
    )

    # On the schedule, with the new rows and where reports go in config.yaml:
    # the summary and the upload follow monitoring.reports_dir.
    summary.unlink()
    config = project / "config.yaml"
    text = config.read_text(encoding="utf-8")
    monitoring = "  input: null\n  labels: null\n  reports_dir: reports/monitoring\n"
    assert monitoring in text
    config.write_text(
        text.replace(
            monitoring,
            "  input: data/swapped.csv\n  labels: null\n  reports_dir: drift\n",
        ),
        "utf-8",
    )
    codes, outputs, used = job.run({}, summary, start="Monitor")
    assert codes == {"Monitor": 1, "Drift table to the job summary": 0}
    assert outputs == {"monitor": {"reports": str(project / "drift")}}
    assert summary.read_text("utf-8") == (project / "drift" / "summary.md").read_text(
        "utf-8"
    )
    assert f"150 new rows of {project / 'data' / 'swapped.csv'}," in summary.read_text(
        "utf-8"
    )
    assert used[-1]["path"] == str(project / "drift")
