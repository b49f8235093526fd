"""A stage's steps: runs of its cells that become small named functions.

A step is the stage's cells under one markdown heading (or one cell, when that
run is long, hands on many values, or has no heading); it takes what it reads of the names the stage has bound so far and
returns what a later step, or the stage's caller, uses. The stage's entry
function calls the steps in order, so its namespace at each step boundary is the
one the plain stage function had there: the code runs in the same order, on the
same objects. A boundary is kept only where that holds: every name a step
returns must be surely bound when it returns (not bound only inside an ``if``,
a loop or a ``try``); where it is not, the two steps are one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from nbprod.convert.analysis import Statement
from nbprod.convert.plan.cells import WorkCell
from nbprod.convert.plan.names import safe_identifier, unique_name
from nbprod.plan import Param, StagePlan, StepPlan
from nbprod.stages import Stage

# A run of cells under one heading longer than this (in notebook lines; the
# generated code is longer: black wraps, config values are spelled out) becomes a
# step per cell.
MAX_STEP_LINES = 25
# A run under one heading that returns more values than this is a step per cell.
MAX_OUTPUTS = 4
# Words kept of a heading or comment in a name: "clean_the_raw_passenger_data".
MAX_NAME_WORDS = 5
# Comments that are markers, not descriptions of the code under them.
_NOT_A_NAME = re.compile(r"^(nbprod:|noqa|type:|%%|In\s*\[|todo|fixme|xxx)", re.I)


@dataclass(frozen=True)
class _Run:
    """Cells of one step, with what they read and write of the stage's names."""

    cells: tuple[WorkCell, ...]

    @property
    def numbers(self) -> tuple[int, ...]:
        return tuple(c.facts.number for c in self.cells)

    @property
    def lines(self) -> int:
        return sum(
            st.end_line - st.line + 1 for c in self.cells for st in c.facts.statements
        )


def plan_steps(
    stage: StagePlan,
    members: Sequence[WorkCell],
    params: Sequence[Param],
    sections: dict[int, str],
    *,
    title: str,
    taken: AbstractSet[str],
) -> tuple[StepPlan, ...]:
    """The steps of ``stage`` (its cells ``members``, in order), or ``()`` when
    the stage is one step and its entry function holds the code itself.

    ``title`` is the notebook's title heading (never a step's name); ``taken`` are
    names a step function must not shadow or be shadowed by."""
    keys = tuple(dict.fromkeys(key for _, key in stage.params))
    uses = _config_uses(stage, params)
    runs = _runs(members, sections)
    # A run under one heading that hands on more than a few values, or whose cells
    # each make something else (fit two models), does several things: a step per
    # cell.
    runs = [
        part
        for run, (_, _, outputs) in _interfaces(stage, runs, keys, uses)
        for part in (
            [_Run((c,)) for c in run.cells]
            if len(outputs) > MAX_OUTPUTS or _makes_several(run)
            else [run]
        )
    ]
    while True:
        steps = _interfaces(stage, runs, keys, uses)
        # A step that would hand on a name not surely bound is one with the next
        # (the last step's names are the stage's results: nothing to merge with).
        unsafe = {
            i
            for i, (run, step) in enumerate(steps[:-1])
            if not _surely_bound(run, step)
        }
        if not unsafe:
            break
        merged: list[_Run] = []
        for i, run in enumerate(runs):
            if i - 1 in unsafe:
                merged[-1] = _Run(merged[-1].cells + run.cells)
            else:
                merged.append(run)
        runs = merged
    if len(runs) < 2:
        return ()
    dedicated = _dedicated_headings(runs, sections)
    names: set[str] = set(taken)
    planned = []
    for run, (inputs, used_keys, outputs) in steps:
        name, origin = _name(run, sections, dedicated, title, outputs, names)
        name = _unique(name, names)
        names.add(name)
        result = ""
        if len(outputs) > MAX_OUTPUTS and not any(n.startswith("_") for n in outputs):
            # a named tuple's fields cannot start with "_": those stay a tuple
            camel = "".join(w.capitalize() for w in name.split("_"))
            result = unique_name(camel, names)
            names.add(result)
        planned.append(
            StepPlan(name, origin, run.numbers, inputs, used_keys, outputs, result)
        )
    return tuple(planned)


def _runs(members: Sequence[WorkCell], sections: dict[int, str]) -> list[_Run]:
    """Consecutive cells under the same heading; a long run, or cells under no
    heading, a cell each."""
    runs: list[_Run] = []
    group: list[WorkCell] = []
    current = ""
    for c in members:
        heading = sections.get(c.facts.number, "")
        if group and heading != current:
            runs += _split_long(_Run(tuple(group)), current)
            group = []
        current = heading
        group.append(c)
    if group:
        runs += _split_long(_Run(tuple(group)), current)
    return runs


def _makes_several(run: _Run) -> bool:
    made = {
        named[0] for c in run.cells if (named := _made(_Run((c,)), ())[0]) is not None
    }
    return len(made) > 1


def _split_long(run: _Run, heading: str) -> list[_Run]:
    """Without a heading, a cell is the only step the notebook marks."""
    if heading and (run.lines <= MAX_STEP_LINES or len(run.cells) == 1):
        return [run]
    return [_Run((c,)) for c in run.cells]


def _config_uses(stage: StagePlan, params: Sequence[Param]) -> dict[str, set[int]]:
    """Each of the stage's config keys -> the cells whose code holds its value."""
    wanted = set(stage.params)
    return {
        p.key: {p.cell, *(cell for cell, _, _ in p.also_at)}
        for p in params
        if (p.group, p.key) in wanted
    }


# (inputs, config keys, outputs) of a step
_Interface = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _interfaces(
    stage: StagePlan,
    runs: list[_Run],
    keys: tuple[str, ...],
    uses: dict[str, set[int]],
) -> list[tuple[_Run, _Interface]]:
    """What each step takes and returns, walking the steps in order.

    The stage's own config values are no names of the stage (the code reads them
    as ``config.KEY``): a step takes them, as the config section, where its cells
    hold them. Values of other groups (papermill parameters, a path another stage
    writes) are names, given by keyword until a step rebinds them."""
    own = {k for g, k in stage.params if g == stage.stage}
    reads: list[dict[str, None]] = []
    writes: list[set[str]] = []
    held: list[set[str]] = []
    for run in runs:
        numbers = set(run.numbers)
        read: dict[str, None] = {}
        written: set[str] = set()
        for c in run.cells:
            # Names a cell reads that an earlier cell of the step made are local.
            read.update(dict.fromkeys(sorted(c.reads - written)))
            written |= c.writes
        held.append({k for k, cells in uses.items() if cells & numbers})
        reads.append(read)
        writes.append(written)
    # The stage's names in the order they were made: its inputs, then what each
    # step returns; a step takes its inputs in that order.
    made = dict.fromkeys(stage.inputs)
    result = []
    for i, run in enumerate(runs):
        inputs = tuple(n for n in made if n in reads[i])
        used_keys = tuple(
            k
            for k in keys
            if (k in own and k in held[i])
            or (k not in own and k not in made and (k in reads[i] or k in held[i]))
        )
        outputs = tuple(
            n
            for n in sorted(writes[i], key=_order(stage, reads, i))
            if _needed_later(n, i, reads, writes, stage.outputs)
        )
        made.update(dict.fromkeys(outputs))
        result.append((run, (inputs, used_keys, outputs)))
    return result


def _order(
    stage: StagePlan, reads: list[dict[str, None]], i: int
) -> Callable[[str], tuple[int, str]]:
    """Outputs in the order the stage returns them, then as later steps read them."""
    rank = {n: k for k, n in enumerate(stage.outputs)}
    base = len(rank)
    later = dict.fromkeys(n for r in reads[i + 1 :] for n in r if n not in rank)
    rank.update((n, base + k) for k, n in enumerate(later))
    return lambda n: (rank.get(n, len(rank)), n)


def _needed_later(
    name: str,
    i: int,
    reads: list[dict[str, None]],
    writes: list[set[str]],
    stage_outputs: tuple[str, ...],
) -> bool:
    """Whether the value of ``name`` step ``i`` leaves is used: by the first later
    step that touches it (a step that only rebinds it does not), or by the stage's
    caller when no later step touches it."""
    for read, written in zip(reads[i + 1 :], writes[i + 1 :], strict=True):
        if name in read:
            return True
        if name in written:
            return False
    return name in stage_outputs


def _surely_bound(run: _Run, step: _Interface) -> bool:
    """Every name the step returns is bound whenever it returns: taken as an input,
    or bound or changed by a top-level statement that always runs."""
    inputs, used_keys, outputs = step
    bound = set(inputs) | set(used_keys)
    for c in run.cells:
        bound |= set(c.facts.assigned) | set(c.facts.mutated_top)
    return set(outputs) <= bound


def _dedicated_headings(runs: list[_Run], sections: dict[int, str]) -> set[str]:
    """Headings whose cells in the stage form exactly one step."""
    count: dict[str, int] = {}
    for run in runs:
        for heading in {sections.get(n, "") for n in run.numbers}:
            count[heading] = count.get(heading, 0) + 1
    return {
        h
        for h, n in count.items()
        if h
        and n == 1
        and all(
            {sections.get(m, "") for m in r.numbers} == {h}
            for r in runs
            if h in {sections.get(m, "") for m in r.numbers}
        )
    }


def _name(
    run: _Run,
    sections: dict[int, str],
    dedicated: set[str],
    title: str,
    outputs: tuple[str, ...],
    taken: AbstractSet[str],
) -> tuple[str, str]:
    """A name for the step and where it came from: its heading, else the comment
    a one-cell step starts with, else what it makes; a name already taken (a
    heading "Predict" where ``predict`` is a stage) is passed over."""
    heading = sections.get(run.numbers[0], "")
    if heading in dedicated and heading != title and _words(heading) not in taken:
        return _words(heading), f"heading {heading!r}"
    telling, weak = _made(run, outputs)
    if telling:
        return telling
    comment = _leading_comment(run.cells[0]) if len(run.cells) == 1 else ""
    if comment and _words(comment) not in taken:
        return _words(comment), f"comment '# {comment}'"
    if weak:
        return weak
    if heading and heading != title and _words(heading) not in taken:
        return _words(heading), f"heading {heading!r}"
    if outputs:
        return f"compute_{outputs[0]}", f"makes {outputs[0]}"
    if heading and heading != title:
        return _words(heading), f"heading {heading!r}"
    return "report", "computes nothing later steps use"


def _leading_comment(c: WorkCell) -> str:
    first = c.normal.code.lstrip("\n").split("\n", 1)[0].strip()
    if not first.startswith("#"):
        return ""
    text = first.lstrip("#").strip()
    if _NOT_A_NAME.match(text) or not re.search(r"[A-Za-z]{2}", text):
        return ""
    return text


_Named = tuple[str, str]  # (name, where it came from)


def _made(run: _Run, outputs: tuple[str, ...]) -> tuple[_Named | None, _Named | None]:
    """Names from what the step makes: a telling one (a search, a fitted model, a
    split, a file read, a fitted transformer), the last of the most telling kind,
    and a weaker one (metrics, cleaning, constants) for want of a comment."""
    statements = [(c, st) for c in run.cells for st in c.facts.statements]

    def made_at(line: int, cell: int) -> Statement | None:
        for c, st in statements:
            if c.facts.number == cell and st.line <= line <= st.end_line:
                return st
        return None

    found: list[tuple[int, str, str]] = []
    for c in run.cells:
        # A loop that fits a model per fold of a splitter (``KFold.split``).
        folds = any(
            "(data splitting)" in s.api and "train_test_split" not in s.api
            for s in c.facts.signals
        )
        for s in c.facts.signals:
            st = made_at(s.line, c.facts.number)
            names = (*st.writes, *st.mutates) if st else ()
            if "(hyperparameter search)" in s.api:
                found.append(
                    (0, "tune_hyperparameters", "makes a hyperparameter search")
                )
            elif s.api.endswith(".fit (estimator)") and st and not st.simple and folds:
                found.append((1, "cross_validate", "fits a model per fold"))
            elif names and (
                s.api.endswith(".fit (estimator)")
                or (s.via and s.stage == Stage.TRAINING)
            ):
                # ``dv, model = train(df, y)``: a function of the notebook's
                # returns what it fitted last, by the habit of its authors.
                made = names[-1] if s.via else names[0]
                found.append((1, f"fit_{made}", f"fits {made}"))
            elif "(transformer)" in s.api and names:
                found.append((4, f"fit_{names[0]}", f"fits {names[0]}"))
    for _, st in statements:
        if st.source == "split":
            found.append((2, "split_data", "splits the data"))
        elif st.source == "reader" and st.writes:
            found.append(
                (3, f"load_{st.writes[0]}", f"reads {st.writes[0]} from a file")
            )
    telling = None
    if found:
        best = min(rank for rank, _, _ in found)
        # The last of its kind: a step that fits a baseline, then the model.
        _, name, origin = [f for f in found if f[0] == best][-1]
        telling = (name, origin)
    apis = [s.api for c in run.cells for s in c.facts.signals]
    weak = None
    if any("(metric)" in api for api in apis):
        weak = ("compute_metrics", "computes metrics")
    elif apis and all("cleaning" in api for api in apis) and outputs:
        weak = (f"clean_{outputs[0]}", f"cleans {outputs[0]}")
    elif statements and all(not st.reads for _, st in statements):
        weak = ("set_constants", "only binds constants")
    return telling, weak


def _words(text: str) -> str:
    words = re.findall(r"[0-9A-Za-zÀ-ÿ]+", text)[:MAX_NAME_WORDS]
    return safe_identifier(" ".join(words), fallback="step")


def _unique(name: str, taken: set[str]) -> str:
    return unique_name(safe_identifier(name, fallback="step"), taken)
