"""Where each code cell goes and why: exclusions, the dependencies between
cells, the stage rules of DESIGN.md's "Stage assignment", and the module each
notebook ``def``/``class`` moves to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from nbprod.convert.analysis import CellFacts, Helper, Literal, NameCall, Signal
from nbprod.convert.analysis.normalise import SKIP, NormalCell
from nbprod.errors import CellError
from nbprod.plan import HelperPlan, Printed
from nbprod.stages import Stage

# Each notebook def/class: its facts and the cell that defines it.
HelperFacts = dict[str, tuple[Helper, int]]
# The notebook globals each helper reads (its data parameters).
HelperParams = dict[str, tuple[str, ...]]


@dataclass
class WorkCell:
    """A code cell while it is planned: what it reads and writes, the cells it
    depends on and why, and the stage it is given (filled in step by step, then
    frozen into a CellPlan)."""

    facts: CellFacts
    normal: NormalCell
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    preds: dict[int, str] = field(default_factory=dict)  # cell -> why
    flows: dict[int, set[str]] = field(default_factory=dict)  # cell -> names read
    # assign_stages places every cell, in notebook order; what a cell depends on
    # is placed before it.
    stage: Stage = Stage.PREPROCESSING
    reason: str = ""
    explicit: bool = False


def parameters_cell_literals(
    cells: list[NormalCell], facts: list[CellFacts]
) -> dict[int, tuple[Literal, ...]]:
    """Literal assignments of papermill ``parameters`` cells, by cell."""
    return {
        f.number: tuple(lit for lit in f.literals if lit.kind == "parameter")
        for normal, f in zip(cells, facts, strict=True)
        if normal.is_parameters
    }


def exclusion(
    normal: NormalCell, f: CellFacts, parameters: tuple[Literal, ...]
) -> str | None:
    if normal.explicit == SKIP:
        return f"excluded by {normal.explicit_source}"
    if normal.display_magic:
        return f"excluded: %%{normal.display_magic} cell only renders output"
    if not normal.code.strip() or (
        not f.has_code and not f.imports and not f.helpers and not f.dropped
    ):
        return "excluded: no code"
    if parameters and not _has_other_code(f, parameters):
        return f"parameters cell: {', '.join(p.name for p in parameters)} lifted to config.yaml"
    if not f.has_code:
        parts = []
        if f.imports:
            parts.append("imports hoisted to the modules that use them")
        if f.helpers:
            parts.append(
                "definitions of "
                + ", ".join(f"{h.name}()" for h in f.helpers)
                + " moved to module level"
            )
        if parts:
            return "; ".join(parts)
        kinds = sorted({d.kind for d in f.dropped})
        return f"excluded: {' and '.join(kinds)} only, nothing later depends on it"
    if set(f.effects) & {"print"} and not f.signals and not f.defines and not f.mutates:
        return "excluded: prints only, nothing later depends on it"
    return None


def _has_other_code(f: CellFacts, parameters: tuple[Literal, ...]) -> bool:
    lifted = {p.name for p in parameters}
    return bool(set(f.defines) - lifted) or bool(f.mutates) or bool(f.signals)


def helper_data_params(
    helper_facts: HelperFacts, data_names: set[str]
) -> dict[str, tuple[str, ...]]:
    """Notebook globals each helper reads, directly or through other helpers."""
    params = {
        name: {n for n in h.free_names if n in data_names}
        for name, (h, _) in helper_facts.items()
    }
    changed = True
    while changed:
        changed = False
        for name, (h, _) in helper_facts.items():
            for other in h.free_names:
                if (
                    other in params
                    and other != name
                    and not params[other] <= params[name]
                ):
                    params[name] |= params[other]
                    changed = True
    order = {n: i for i, n in enumerate(sorted(data_names))}
    return {k: tuple(sorted(v, key=order.__getitem__)) for k, v in params.items()}


def effective_io(
    f: CellFacts,
    helper_facts: HelperFacts,
    helper_params: HelperParams,
    imports: dict[str, str],
) -> tuple[set[str], set[str]]:
    reads = set(f.reads) | set(f.mutates) | set(f.deletes)
    reads |= {n for n in f.string_reads if n not in imports}
    writes = set(f.defines) | set(f.mutates) | set(f.deletes)
    for name in (*f.reads, *f.names_used):
        if name in helper_facts:
            reads |= set(helper_params.get(name, ()))
    arguments, notebook_globals = helper_changes(f.name_calls, helper_facts)
    writes |= arguments | notebook_globals
    reads |= notebook_globals
    reads -= set(helper_facts)
    writes -= set(helper_facts)
    writes.discard("_")
    reads.discard("_")
    return reads, writes


def helper_changes(
    calls: tuple[NameCall, ...], helper_facts: HelperFacts
) -> tuple[set[str], set[str]]:
    """What the helpers ``calls`` call change in place: the arguments they mutate,
    and the notebook globals they change."""
    arguments: set[str] = set()
    notebook_globals: set[str] = set()
    for call in calls:
        if call.name not in helper_facts:
            continue
        helper, _ = helper_facts[call.name]
        arguments.update(
            arg
            for index in helper.mutated_params
            if index < len(call.args) and (arg := call.args[index])
        )
        notebook_globals.update(helper.mutated_globals)
    return arguments, notebook_globals


def link_dependencies(work: list[WorkCell]) -> None:
    """Flow, anti and output dependencies, linear in cells times names.

    A new figure bound to a name (``fig, ax = plt.subplots()``) changes no other
    cell's figure: binding it orders no cells, reading it does."""
    last_writer: dict[str, int] = {}
    readers: dict[str, list[int]] = {}
    for c in work:
        n = c.facts.number
        for name in sorted(c.reads):
            if name in last_writer:
                c.preds.setdefault(last_writer[name], f"uses {name}")
                c.flows.setdefault(last_writer[name], set()).add(name)
        for name in sorted(c.writes - set(c.facts.figures)):
            for r in readers.get(name, ()):
                if r != n:
                    c.preds.setdefault(r, f"changes {name} after it is used")
            if name in last_writer and last_writer[name] != n:
                c.preds.setdefault(last_writer[name], f"changes {name}")
        for name in c.reads:
            readers.setdefault(name, []).append(n)
        for name in c.writes:
            last_writer[name] = n
            readers[name] = []


def _signal_stage(f: CellFacts) -> tuple[Stage, str] | None:
    by_stage: dict[Stage, str] = {}
    for s in f.signals:
        by_stage.setdefault(s.stage, s.api)
    for stage in (
        Stage.TRAINING,
        Stage.EVALUATION,
        Stage.INFERENCE,
        Stage.PREPROCESSING,
    ):
        if stage in by_stage:
            return stage, by_stage[stage]
    return None


def keep_unsaveable_in_stage(work: list[WorkCell]) -> None:
    """A value no pickle can save (an xgboost ``DMatrix``) never crosses stages:
    a cell of a later stage that reads one joins the stage that makes it, when
    nothing else it depends on comes from a later stage than that."""
    by_number = {c.facts.number: c for c in work}
    made: dict[str, WorkCell] = {}
    for c in sorted(work, key=lambda c: c.facts.number):
        for name in sorted(set(c.facts.reads) & made.keys()):
            maker = made[name]
            if (
                not c.explicit
                and c.stage.order > maker.stage.order
                and all(
                    by_number[d].stage.order <= maker.stage.order
                    for d in c.preds
                    if d in by_number
                )
            ):
                c.stage = maker.stage
                c.reason = (
                    f"reads {name} from cell {maker.facts.number}, which cannot be "
                    "saved between stages"
                )
        for name in c.writes:
            made.pop(name, None)
        for name in c.facts.unsaveable:
            made[name] = c


def with_called_signals(f: CellFacts, helper_facts: HelperFacts) -> CellFacts:
    """``f`` with the stage signals of the notebook's functions it calls: a cell
    that calls ``train(df_train, y_train)``, whose body fits a model, trains."""
    called = tuple(
        Signal(s.stage, f"{call.name}(), which calls {s.api}", call.line, call.name)
        for call in f.name_calls
        if call.name in helper_facts
        for s in helper_facts[call.name][0].signals
    )
    return replace(f, signals=f.signals + called) if called else f


def assign_stages(work: list[WorkCell], sections: dict[int, str] | None = None) -> None:
    """Give every cell its stage and the reason: an explicit mark, else its own
    signal unless it depends on a later stage, else the stage of what it depends on;
    then cells that only evaluate a fitted model under an evaluation heading
    (``sections``: the heading above each cell) move to evaluation."""
    by_number = {c.facts.number: c for c in work}
    floating: list[WorkCell] = []
    for c in work:
        # The dependency in the latest stage (the first such, in dependency order).
        dep = max(c.preds, key=lambda p: by_number[p].stage.order, default=None)
        dep_stage = by_number[dep].stage if dep is not None else None
        depends = f"cell {dep} ({dep_stage}: {c.preds[dep]})" if dep is not None else ""
        explicit = c.normal.explicit
        if isinstance(explicit, Stage):
            if dep_stage and dep_stage.order > explicit.order:
                raise CellError(
                    f"is marked {explicit} by {c.normal.explicit_source} but depends on "
                    + depends,
                    where=f"cell {c.facts.number}",
                    hint="mark it a later stage, or move what it uses earlier",
                )
            c.stage, c.reason, c.explicit = (
                explicit,
                f"explicit: {c.normal.explicit_source}",
                True,
            )
            continue
        signal = _signal_stage(c.facts)
        if signal and (dep_stage is None or signal[0].order >= dep_stage.order):
            c.stage, c.reason = signal[0], f"calls {signal[1]}"
        elif dep_stage:
            why = f"depends on {depends}"
            c.stage = dep_stage
            c.reason = (
                f"{why}; its own signal {signal[1]} is earlier" if signal else why
            )
        else:
            c.stage, c.reason = Stage.PREPROCESSING, ""
            floating.append(c)
    # Before the constants below are placed: they join the stage of their first
    # user, which may be evaluation now.
    move_to_evaluation(work, sections or {})
    # Cells with no signal and no dependencies (constants, set-up) join the earliest
    # stage that needs them; later cells have been placed already.
    for c in reversed(floating):
        users = [d for d in work if c.facts.number in d.preds]
        if users:
            first = min(users, key=lambda d: d.stage.order)
            c.stage = first.stage
            c.reason = (
                f"no signal; joins cell {first.facts.number}, the first that needs it"
            )
        else:
            c.reason = "no signal and nothing depends on it; runs with the first stage"


# The words of a markdown heading that say the cells under it evaluate a model
# ("## Evaluate", "## Metrics", "## Results", "## Feature importances"): the
# stage's own name and command, and these. "score" is left out: a heading uses it
# as a verb as often as a noun ("## Score new customers" predicts: inference);
# "scores" is the noun.
EVALUATION_WORDS = frozenset(
    {
        Stage.EVALUATION.value,
        Stage.EVALUATION.command,
        "evaluating",
        "metric",
        "metrics",
        "result",
        "results",
        "performance",
        "importance",
        "importances",
        "scores",
        "report",
        "reports",
    }
)


def evaluation_heading(heading: str) -> bool:
    """Whether a heading's words say its cells evaluate a model (EVALUATION_WORDS)."""
    return not EVALUATION_WORDS.isdisjoint(re.findall(r"[a-z]+", heading.lower()))


def fitted_names(work: list[WorkCell]) -> set[str]:
    """Names that hold a fitted model or its predictions: what a cell calls
    ``.predict``/``.predict_proba`` on, what a statement calling a training API
    makes or fits (a model, a search, cross-validation scores), and what a
    statement assigns from a prediction."""
    found: set[str] = set()
    for c in work:
        found.update(c.facts.predictors)
        training = [s.line for s in c.facts.signals if s.stage == Stage.TRAINING]
        for st in c.facts.statements:
            if st.predicts:
                found.update(st.writes)
            if any(st.line <= line <= st.end_line for line in training):
                found.update(st.writes, st.mutates)
    return found


def _may_evaluate(c: WorkCell, heading: str, fitted: set[str]) -> bool:
    """Whether cell ``c`` looks like evaluation code where the notebook put it: not
    marked, not already placed later, under an evaluation heading, calling no
    training API and changing no fitted model or prediction."""
    return (
        not c.explicit
        and c.stage in (Stage.PREPROCESSING, Stage.TRAINING)
        and evaluation_heading(heading)
        and not any(s.stage == Stage.TRAINING for s in c.facts.signals)
        and fitted.isdisjoint(c.facts.mutates)
    )


def move_to_evaluation(work: list[WorkCell], sections: dict[int, str]) -> None:
    """Cells under an evaluation heading that only compute and report from a
    fitted model (metrics, importances, plots) go to evaluation, where the
    notebook's author put them, instead of the stage of what they read.

    A cell moves only when that is safe: it reads a fitted model or predictions
    (or what another cell that moves makes from them), and every cell that
    depends on it is in evaluation or moves too; a cell of an earlier stage that
    depends on it would run before it. The cells that may move are narrowed until
    both hold for each, so a run of such cells moves together or not at all."""
    fitted = fitted_names(work)
    dependents: dict[int, list[WorkCell]] = {}
    for c in work:
        for p in c.preds:
            dependents.setdefault(p, []).append(c)
    moving = {
        c.facts.number: c
        for c in work
        if _may_evaluate(c, sections.get(c.facts.number, ""), fitted)
    }
    read: dict[int, list[str]] = {}
    changed = True
    while changed:
        changed = False
        made = {w for c in moving.values() for w in c.writes}
        for n, c in list(moving.items()):
            read[n] = [r for r in c.facts.reads if r in fitted or r in made - c.writes]
            blocked = any(
                d.stage != Stage.EVALUATION and d.facts.number not in moving
                for d in dependents.get(n, ())
            )
            if blocked or not read[n]:
                del moving[n]
                changed = True
    for n, c in moving.items():
        c.stage = Stage.EVALUATION
        c.reason = (
            f"under heading {sections[n]!r} and computes from a fitted model only "
            f"({', '.join(read[n])}): {Stage.EVALUATION}"
        )


def printed_mode(c: WorkCell) -> Printed:
    """How validation can compare what cell ``c`` prints (see CellPlan.printed)."""
    for magic in c.normal.magics:
        if magic.action == "unwrapped" and not re.match(r"%%?time\b(?!it)", magic.text):
            return ""  # %timeit repeats, %%capture hides, %prun reports
    # Displays left out, and magics (``%env`` says what it set), may have printed.
    return "kept" if c.facts.dropped or c.normal.magics else "all"


def place_helpers(
    work: list[WorkCell],
    helper_facts: HelperFacts,
    helper_params: HelperParams,
    warnings: list[str],
) -> list[HelperPlan]:
    stage_of: dict[str, Stage] = {}
    for c in work:
        for name in (*c.facts.reads, *c.facts.names_used):
            if name in helper_facts:
                cur = stage_of.get(name)
                if cur is None or c.stage.order < cur.order:
                    stage_of[name] = c.stage
    changed = True
    while changed:
        changed = False
        for name, (h, _) in helper_facts.items():
            if name not in stage_of:
                continue
            for other in h.free_names:
                if other in helper_facts and other != name:
                    cur = stage_of.get(other)
                    if cur is None or stage_of[name].order < cur.order:
                        stage_of[other] = stage_of[name]
                        changed = True
    placed = []
    for name, (h, cell) in helper_facts.items():
        if name not in stage_of:
            warnings.append(
                f"cell {cell}: {name}() is not used by any pipeline cell; left out"
            )
            continue
        if h.kind == "class" and helper_params.get(name):
            # A function gets the globals it reads as parameters; a class's methods
            # cannot, and in the project the notebook's variables live in a stage.
            raise CellError(
                f"class {name} reads the notebook's variables "
                f"{', '.join(helper_params[name])}, which its module does not have",
                where=f"cell {cell}, line {h.line}",
                hint="pass them to it explicitly, e.g. as arguments of __init__",
            )
        placed.append(
            HelperPlan(
                name,
                h.kind,
                cell,
                stage_of[name],
                helper_params.get(name, ()) if h.kind == "function" else (),
                h.original,
            )
        )
    return placed
