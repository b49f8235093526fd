"""The whole notebook: every code cell analysed in order, the state each leaves
threaded to the next, and the source rewrites the analysis calls for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from nbprod.convert.analysis.cell import State, analyse_cell
from nbprod.convert.analysis.edits import apply_edits
from nbprod.convert.analysis.facts import CellFacts, Import, ParsedCell
from nbprod.convert.analysis.history import history_edits
from nbprod.convert.analysis.imports import collect_imports
from nbprod.convert.analysis.lambdas import lambda_edits
from nbprod.convert.analysis.normalise import NormalCell
from nbprod.convert.analysis.parse import parse_cell
from nbprod.convert.analysis.refuse import refuse_dynamic_names
from nbprod.convert.analysis.resolve import Resolver
from nbprod.convert.analysis.versions import versioned_definitions


def analyse_notebook(
    cells: list[NormalCell],
) -> tuple[list[CellFacts], list[ParsedCell]]:
    """Facts for every code cell, in order, and the parsed cells for generation.

    Rewrites of the source run first, when the notebook needs them: a lambda
    bound to a name becomes a ``def`` (``lambdas``), later definitions of a name
    get names of their own (``versions``), and IPython's ``_`` becomes the value
    it names (``history``). The rewritten cells are then analysed as if the
    notebook had been written that way."""
    parsed = [parse_cell(c) for c in cells]
    defs = lambda_edits(parsed)
    parsed = [
        (
            parse_cell(replace(pc.cell, code=apply_edits(pc.cell.code, defs[k])))
            if k in defs
            else pc
        )
        for k, pc in enumerate(parsed)
    ]
    edits, originals = versioned_definitions(parsed)
    facts = _analyse_parsed(parsed, {})
    imports = {imp.bound: imp.qualified for imp in collect_imports(parsed)}
    for k, more in history_edits(parsed, facts, imports).items():
        edits.setdefault(k, []).extend(more)
    if edits:
        parsed = [
            (
                parse_cell(replace(pc.cell, code=apply_edits(pc.cell.code, edits[k])))
                if k in edits
                else pc
            )
            for k, pc in enumerate(parsed)
        ]
        facts = _analyse_parsed(parsed, originals)
    refuse_dynamic_names(parsed, facts)
    return facts, parsed


def _analyse_parsed(
    parsed: list[ParsedCell], originals: Mapping[str, str]
) -> list[CellFacts]:
    imports = collect_imports(parsed)
    facts = _analyse_all(parsed, imports, frozenset(), originals)
    # A plot or display statement is dropped only while no kept code reads what it
    # binds (``fig, axs = plt.subplots()`` then a kept loop over ``axs``).
    needed = _needed_bindings(facts)
    if needed:
        facts = _analyse_all(parsed, imports, needed, originals)
    return facts


def _analyse_all(
    parsed: list[ParsedCell],
    imports: list[Import],
    keep: frozenset[str],
    originals: Mapping[str, str],
) -> list[CellFacts]:
    resolver = Resolver({imp.bound: imp.qualified for imp in imports})
    state = State()
    facts = []
    for pc in parsed:
        cell_facts, state = analyse_cell(pc, resolver, state, keep, originals)
        facts.append(cell_facts)
    return facts


def _needed_bindings(facts: list[CellFacts]) -> frozenset[str]:
    """Names bound only by dropped statements that a later cell's kept code reads."""
    needed: set[str] = set()
    bound_by_drop: set[str] = set()
    for f in facts:
        needed |= bound_by_drop & set(f.reads)
        defined = set(f.defines)
        bound_by_drop = (bound_by_drop - defined) | {
            n for d in f.dropped for n in d.binds
        }
    return frozenset(needed)
