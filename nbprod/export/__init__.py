"""``nbprod export`` and ``convert --orchestrator``: the project's stages under the
engines teams schedule on (Airflow, Kubeflow Pipelines), running the project's
own ``python -m PKG STAGE`` commands and needing nothing of nbprod at run time.

``files`` renders the orchestration files from a plan (pure); ``write`` puts them
into an existing project.
"""

from typing import Literal

Orchestrator = Literal["airflow", "kubeflow"]
ORCHESTRATORS: tuple[Orchestrator, ...] = ("airflow", "kubeflow")
