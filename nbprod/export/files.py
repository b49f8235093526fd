"""The orchestration files of a project, rendered from its plan."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nbprod.convert.format import format_sources
from nbprod.convert.render import render
from nbprod.export import Orchestrator
from nbprod.plan import Plan

# Where each orchestrator's files go in the project, by template.
TEMPLATES: dict[Orchestrator, dict[str, str]] = {
    "airflow": {
        "orchestration/airflow_dag.py.j2": "orchestration/airflow/{package}_dag.py",
        "orchestration/airflow_README.md.j2": "orchestration/airflow/README.md",
    },
    "kubeflow": {
        "orchestration/kubeflow_pipeline.py.j2": "orchestration/kubeflow/pipeline.py",
        "orchestration/kubeflow_README.md.j2": "orchestration/kubeflow/README.md",
        "orchestration/Dockerfile.j2": "Dockerfile",
        "orchestration/dockerignore.j2": ".dockerignore",
    },
}


def stage_facts(plan: Plan) -> list[dict[str, Any]]:
    """Each stage in the order it runs: its command, and the stages whose folders
    it reads (those that made its inputs, and the one before it, whose random
    state it starts from)."""
    loads_from = plan.loads_from()
    order = [s.stage for s in plan.stages]
    out = []
    for i, stage in enumerate(order):
        reads = {*loads_from[stage], *order[i - 1 : i]}
        out.append(
            {
                "command": stage.command,
                "title": str(stage).capitalize(),
                "reads": [t.command for t in order if t in reads],
            }
        )
    return out


def orchestration_files(
    plan: Plan, orchestrators: Iterable[Orchestrator], python_minor: str
) -> dict[str, str]:
    """The files that run ``plan``'s project under each of ``orchestrators``,
    formatted as the project's own code is."""
    facts = {
        "package": plan.package,
        "stages": stage_facts(plan),
        # monitor compares new rows as predict scores them: none without a serving path
        "monitor": plan.serving is not None,
        "python_minor": python_minor,
    }
    files = {
        path.format(package=plan.package): render(template, facts)
        for orchestrator in dict.fromkeys(orchestrators)
        for template, path in TEMPLATES[orchestrator].items()
    }
    return format_sources(files)
