"""The pure steps run in the test's own process: a plan, stage modules."""

from __future__ import annotations

from collections.abc import Sequence

import nbformat

from nbprod.commands.convert import Analysis, analyse
from nbprod.convert.analysis import collect_imports
from nbprod.convert.format import format_sources
from nbprod.convert.generate import generate_modules
from nbprod.notebook import parse_notebook
from nbprod.plan import Plan
from tests.helpers.notebooks import new_notebook


def plan_of(*sources: str, tags: dict[int, list[str]] | None = None) -> Plan:
    """The plan of a notebook made of ``sources`` (see :func:`new_notebook`)."""
    return _analysed(sources, tags).plan


def analysis_of(*sources: str, tags: dict[int, list[str]] | None = None) -> Analysis:
    """Everything known of a notebook made of ``sources``: its plan and facts."""
    return _analysed(sources, tags)


def stage_modules(
    *sources: str, tags: dict[int, list[str]] | None = None
) -> dict[str, str]:
    """The stage modules generated from a notebook of ``sources``, formatted as
    convert writes them, by module name."""
    a = _analysed(sources, tags)
    generated = generate_modules(a.plan, a.parsed, a.facts, collect_imports(a.parsed))
    files = format_sources({f"src/poc/{k}.py": v for k, v in generated.modules.items()})
    return {k.split("/")[-1][:-3]: v for k, v in files.items()}


def _analysed(sources: Sequence[str], tags: dict[int, list[str]] | None) -> Analysis:
    nb = new_notebook(*sources, tags=tags)
    return analyse(parse_notebook(nbformat.writes(nb), "poc.ipynb"))
