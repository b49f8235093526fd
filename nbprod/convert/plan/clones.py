"""One cleaning path: copies of the same statements on two frames become one
function, called for both (and by ``predict``, when the second copy is on the
way to the model's predictions).

Which copies the notebook holds is analysis (``analysis/clones.py``); here is
where they may be factored: both copies in the pipeline, each inside one step, the
function's module importable from the second copy's, and no lifted config value
or secret inside the shared statements (each copy's value would differ)."""

from __future__ import annotations

import builtins
import os
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from nbprod.convert.analysis import CellFacts
from nbprod.convert.analysis.clones import Clone
from nbprod.convert.plan.cells import HelperParams, WorkCell
from nbprod.convert.plan.names import cells_text, safe_identifier, unique_name
from nbprod.plan import (
    ClonePlan,
    CloneUse,
    Param,
    SecretLiteral,
    Serving,
    StagePlan,
    Where,
)
from nbprod.stages import Stage

# Heading words that say what the shared statements do; anything else "prepare".
_VERBS = ("clean", "prepare", "transform", "encode", "featurize")


def plan_clones(
    clones: Sequence[Clone],
    work: Sequence[WorkCell],
    stages: Sequence[StagePlan],
    params: Sequence[Param],
    secrets: Sequence[SecretLiteral],
    serving: Serving | None,
    helper_params: HelperParams,
    sections: dict[int, str],
    *,
    imported: AbstractSet[str],
    taken: AbstractSet[str],
) -> tuple[ClonePlan, ...]:
    """The copies to factor, each with its function's name and parameters."""
    by_cell = {c.facts.number: c for c in work}
    planned: list[ClonePlan] = []
    names = set(taken)
    for clone in clones:
        first, second = clone.first, clone.second
        where = [*first.statements, *first.hoisted, *second.statements]
        if any(cell not in by_cell for cell, _ in where):
            continue
        stage_first = _stage_of(first, by_cell)
        stage_second = _stage_of(second, by_cell)
        if stage_first is None or stage_second is None:
            continue
        if stage_first.order > stage_second.order:
            continue  # a module never imports from a later stage's
        if not (
            _in_one_step(first, stages, stage_first)
            and _in_one_step(second, stages, stage_second)
        ):
            continue
        spans = _spans(by_cell, (*first.statements, *second.statements))
        if holds_a_lifted_value(spans, params, secrets):
            continue
        facts = [by_cell[cell].facts for cell, _ in first.statements]
        reads = _reads(facts, first, helper_params)
        reads -= {first.frame, second.frame} | set(imported) | set(dir(builtins))
        noun = _noun(first.frame, second.frame, by_cell)
        verb = _verb(sections.get(first.statements[0][0], ""))
        name = unique_name(safe_identifier(f"{verb}_{noun}", fallback="rows"), names)
        names.add(name)
        frame = noun if noun not in reads | names | {name} else "frame"
        cells_first = sorted({cell for cell, _ in first.statements})
        cells_second = sorted({cell for cell, _ in second.statements})
        planned.append(
            ClonePlan(
                name=name,
                stage=stage_first,
                frame=frame,
                params=tuple(sorted(reads)),
                first=first,
                second=second,
                serving=serving is not None
                and set(second.statements) <= set(serving.steps),
                origin=(
                    f"{cells_text(cells_first)} and {cells_text(cells_second)} {verb} "
                    f"{first.frame} and {second.frame} the same way"
                ),
            )
        )
    return tuple(planned)


def _stage_of(use: CloneUse, by_cell: dict[int, WorkCell]) -> Stage | None:
    stages = {by_cell[cell].stage for cell, _ in (*use.statements, *use.hoisted)}
    return stages.pop() if len(stages) == 1 else None


def _in_one_step(use: CloneUse, stages: Sequence[StagePlan], stage: Stage) -> bool:
    plan = next(s for s in stages if s.stage == stage)
    cells = {cell for cell, _ in (*use.statements, *use.hoisted)}
    return not plan.steps or any(cells <= set(step.cells) for step in plan.steps)


def _spans(
    by_cell: dict[int, WorkCell], where: Sequence[Where]
) -> list[tuple[int, int, int]]:
    """(cell, first line, last line) of each statement."""
    spans = []
    for cell, index in where:
        st = next(s for s in by_cell[cell].facts.statements if s.index == index)
        spans.append((cell, st.line, st.end_line))
    return spans


def holds_a_lifted_value(
    spans: list[tuple[int, int, int]],
    params: Sequence[Param],
    secrets: Sequence[SecretLiteral],
) -> bool:
    """Whether a config value or secret was lifted from within the (cell, first
    line, last line) ``spans``: code shared by two places would read one value."""
    places = [
        (cell, line)
        for p in params
        if p.group != "parameters"
        for cell, line, _ in ((p.cell, p.line, p.column), *p.also_at)
    ] + [(s.cell, s.line) for s in secrets]
    return any(
        cell == c and first <= line <= last
        for cell, line in places
        for c, first, last in spans
    )


def _reads(
    facts: list[CellFacts], use: CloneUse, helper_params: HelperParams
) -> set[str]:
    """What the shared statements read, the globals of the helpers they call too."""
    wanted = set(use.statements)
    reads: set[str] = set()
    for f in facts:
        for st in f.statements:
            if (f.number, st.index) in wanted:
                reads.update(st.reads)
                for call in st.name_calls:
                    reads.update(helper_params.get(call.name, ()))
                reads -= {call.name for call in st.name_calls}
    return reads


def _noun(x: str, y: str, by_cell: dict[int, WorkCell]) -> str:
    """What the frames are: the common part of the files they were read from
    (passengers_train.csv, passengers_test.csv: passengers), else of their names
    (train_df, test_df: df), else rows."""
    stems = [_read_from(name, by_cell) for name in (x, y)]
    for a, b in (stems, (x, y)):
        common = _common(a, b)
        if common:
            return common
    return "rows"


def _read_from(name: str, by_cell: dict[int, WorkCell]) -> str:
    for c in by_cell.values():
        for st in c.facts.statements:
            if st.source == "reader" and name in st.writes:
                for lit in c.facts.literals:
                    if (
                        lit.kind == "path"
                        and st.line <= lit.line <= st.end_line
                        and isinstance(lit.value, str)
                    ):
                        return os.path.splitext(os.path.basename(lit.value))[0]
    return ""


def _common(a: str, b: str) -> str:
    """The longest run of whole words (split at ``_``, ``-``, ``.``) both share."""
    wa = [w for w in re.split(r"[_\-.\s]+", a.lower()) if w]
    wb = set(w for w in re.split(r"[_\-.\s]+", b.lower()) if w)
    shared = [w for w in wa if w in wb and w not in {"train", "test", "val"}]
    return "_".join(shared)


def _verb(heading: str) -> str:
    words = re.findall(r"[a-z]+", heading.lower())
    return next((w for w in words if w in _VERBS), "prepare")
