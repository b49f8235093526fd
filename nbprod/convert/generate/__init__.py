"""Stage modules as libcst trees: the notebook's own code as functions.

Pure: the plan and the parsed cells in, :class:`Generated` out: ``{module name:
source}`` (unformatted; ``format`` runs black and ruff over it), the top-level
modules they import, and which of the package's modules each imports from. By what they make: ``rewrite`` (the
notebook's code with its config values, secrets and helpers' globals),
``stages`` (step and entry functions) and ``statements`` (their bodies, with the
cell ``labels``), ``clones``, ``serving`` and ``serving_calls`` (the serving
function, its shared parts and the calls that use them), ``definitions`` (what a
module holds before its stage functions), ``functions`` (the shapes: functions,
named tuples, calls) and ``imports`` (a module's head).
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from nbprod.convert.analysis import CellFacts, Import, ParsedCell
from nbprod.convert.generate.definitions import stage_definitions
from nbprod.convert.generate.imports import defining_modules, module_source, used_names
from nbprod.convert.generate.labels import cell_lines
from nbprod.convert.generate.rewrite import base_context
from nbprod.convert.generate.serving import serving_definitions
from nbprod.convert.generate.stages import stage_functions
from nbprod.plan import Plan

__all__ = ["Generated", "cell_lines", "generate_modules"]


@dataclasses.dataclass(frozen=True)
class Generated:
    """The stage modules, and what they import, as generation decided it."""

    modules: dict[str, str]  # module name -> source, unformatted
    roots: set[str]  # the top-level modules they import (the dependencies)
    # module name -> the package's other modules it imports from (config aside):
    # what a stage's code depends on, as dvc.yaml declares it
    imports_from: dict[str, tuple[str, ...]]


def generate_modules(
    plan: Plan, parsed: list[ParsedCell], facts: list[CellFacts], imports: list[Import]
) -> Generated:
    """Every stage module, and what each imports."""
    roots: set[str] = set()
    by_cell = {pc.cell.number: pc for pc in parsed}
    facts_by_cell = {f.number: f for f in facts}
    params_by_key = {(p.group, p.key): p for p in plan.params}
    base = base_context(plan, facts)
    defined_in = defining_modules(plan)
    used_anywhere = used_names(facts)
    parameter_lines = {(p.cell, p.line) for p in plan.params if p.group == "parameters"}

    sources: dict[str, str] = {}
    imports_from: dict[str, tuple[str, ...]] = {}
    for stage in plan.stages:
        ctx = dataclasses.replace(base, section=str(stage.stage))
        body, needs_partial = stage_definitions(ctx, stage, by_cell, facts_by_cell)
        string_names: set[str] = set()
        if stage.cells:
            functions, used = stage_functions(
                ctx, stage, by_cell, facts_by_cell, params_by_key, parameter_lines
            )
            needs_partial |= used
            body += functions
            for n in stage.cells:
                string_names |= set(facts_by_cell[n].string_reads)
        # The serving function goes by no stage's config section.
        served, used = serving_definitions(
            base, stage, by_cell, facts_by_cell, params_by_key
        )
        needs_partial |= used
        body += served
        module = stage.stage.module
        sources[module], imports_from[module] = module_source(
            plan,
            stage,
            cst.Module(body=body),
            needs_partial=needs_partial,
            string_names=string_names,
            imports=imports,
            used_anywhere=used_anywhere,
            defined_in=defined_in,
            roots=roots,
        )
    return Generated(sources, roots, imports_from)
