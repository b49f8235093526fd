"""What the notebook serves: the value it finally makes of its models'
predictions for the rows it predicts on (decoded labels, prices after ``expm1``,
a threshold over probabilities, a blend of several models), followed forwards
from the predictions through the code's row flow (``analysis.rows``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from nbprod.convert.analysis import Flow, Statement
from nbprod.convert.plan.cells import WorkCell
from nbprod.stages import Stage

# Which stage's prediction is the one served, when nothing else tells.
_RANK = {
    Stage.INFERENCE: 0,
    Stage.EVALUATION: 1,
    Stage.TRAINING: 2,
    Stage.PREPROCESSING: 3,
}

# Every kept statement with its cell, in notebook order (dataflow.ordered_statements).
Flat = list[tuple[WorkCell, Statement]]


@dataclass(frozen=True)
class ServedValue:
    """One value made from predictions, row by row: a candidate for what the
    notebook serves."""

    at: int  # index in the flat statements of the statement that makes it
    name: str  # the name bound, or the frame a column of it was put in
    code: str  # how to get it right after that statement: ``tiers``, ``sub["y"]``
    models: tuple[str, ...]
    written: bool = False  # the notebook writes it to a file


def served_value(flat: Flat) -> ServedValue | str:
    """The value the notebook serves (see :func:`_choose`), or why there is none."""
    candidates = list(_candidates(flat))
    # Row flow is followed through simple statements only (analysis.rows).
    nested = next(((c, s) for c, s in flat if s.predicts and not s.simple), None)
    if not candidates and nested is not None:
        c, s = nested
        return (
            f"cell {c.facts.number}, line {s.line}: the prediction is inside a "
            "block (if, for, with)"
        )
    if not candidates:
        return (
            "the notebook never makes a value from a model's predictions row by "
            "row (predict, predict_proba or decision_function of a named model)"
        )
    return _choose(flat, candidates)


def flows(st: Statement) -> Iterator[Flow]:
    """The statement's flows, and for every name it changes in place without
    one, a flow that keeps its rows."""
    flowing = {f.name for f in st.rows.flows}
    yield from st.rows.flows
    for name in st.mutates:
        if name not in flowing:
            yield Flow(name, (name,))


def _candidates(flat: Flat) -> Iterator[ServedValue]:
    """Every value made from predictions row by row that nothing later makes
    more of (the ends of the prediction's row flow), in notebook order; a value
    put into a frame as a column is served as it is, and marked written when the
    frame is written to a file."""
    derived: dict[str, ServedValue] = {}
    used_later: set[tuple[int, str]] = set()
    found: list[ServedValue] = []
    packed: dict[str, list[tuple[int, str]]] = {}  # frame -> served values in it
    written: set[tuple[int, str]] = set()
    for k, (_, st) in enumerate(flat):
        for f in flows(st):
            if f.packs:
                # The frame only carries the values; each column made from
                # predictions is served as it is.
                held = packed.get(f.name, []) if f.name in f.carriers else []
                for col in f.columns:
                    inside = [derived[n] for n in col.carriers if n in derived]
                    if not inside and not col.models:
                        continue
                    if col.code in derived:
                        held.append((derived[col.code].at, col.code))
                        continue
                    models = tuple(
                        dict.fromkeys(
                            (*(m for s in inside for m in s.models), *col.models)
                        )
                    )
                    column = ServedValue(k, f.name, f'{f.name}["{col.key}"]', models)
                    found.append(column)
                    held.append((k, column.code))
                packed[f.name] = held
                derived.pop(f.name, None)
                continue
            sources = [derived[n] for n in f.carriers if n in derived]
            used_later.update((s.at, s.name) for s in sources)
            models = tuple(
                dict.fromkeys((*(m for s in sources for m in s.models), *f.models))
            )
            packed.pop(f.name, None)
            if models:
                derived[f.name] = ServedValue(k, f.name, f.name, models)
                found.append(derived[f.name])
            else:
                derived.pop(f.name, None)
        for name in set(st.writes) - {f.name for f in st.rows.flows}:
            derived.pop(name, None)
            packed.pop(name, None)
        for name in st.rows.written:
            if name in derived:
                written.add((derived[name].at, name))
            written.update(packed.get(name, ()))
        for col in st.rows.written_columns:
            if col.code in derived:
                written.add((derived[col.code].at, col.code))
    for s in found:
        if (s.at, s.name) in used_later and s.code == s.name:
            continue
        yield ServedValue(s.at, s.name, s.code, s.models, (s.at, s.code) in written)


def _choose(flat: Flat, candidates: list[ServedValue]) -> ServedValue | str:
    """The candidate the notebook serves: one it writes to a file, else one no
    later candidate is computed from (a threshold tuned on validation
    predictions feeds the test predictions) and no later one replaces under its
    name, preferring the stage that scores new data, then the last; its models
    must not change after it."""
    feeding = set()
    for later in candidates:
        needed = _read_closure(flat, later.at, {later.name})
        for earlier in candidates:
            if earlier.at < later.at and (earlier.at, earlier.name) in needed:
                feeding.add(earlier)
    stable = [c for c in candidates if changed_after(flat, c.at, set(c.models)) is None]
    if not stable:
        last = candidates[-1]
        name, number = changed_after(flat, last.at, set(last.models)) or ("", 0)
        fits = any(
            s.stage == Stage.TRAINING
            for c, _ in flat
            if c.facts.number == number
            for s in c.facts.signals
        )
        # (Loaded back from a file the notebook wrote, it is bound again: the
        # same model, maybe, but nothing here can tell.)
        again = "fitted again" if fits else "bound again"
        return f"{name} is {again} in cell {number}, after its last prediction"
    # Predictions the notebook replaced with others under the same name (its
    # class predictions, then the same with a tuned threshold).
    replaced = {
        c for c in candidates for o in candidates if o.at > c.at and o.name == c.name
    }
    return min(
        stable,
        key=lambda c: (
            not c.written,
            c in feeding,
            c in replaced,
            _RANK[flat[c.at][0].stage or Stage.PREPROCESSING],
            -c.at,
        ),
    )


def _read_closure(flat: Flat, at: int, names: set[str]) -> set[tuple[int, str]]:
    """The (statement, name) bindings the value of ``names`` right after
    statement ``at`` is computed from, following every read."""
    found = set()
    frontier = set(names)
    for k in range(at, -1, -1):
        _, st = flat[k]
        hit = frontier & (set(st.writes) | set(st.mutates))
        if not hit:
            continue
        found |= {(k, n) for n in hit}
        frontier -= set(st.writes) - set(st.mutates)
        frontier |= set(st.reads)
    return found


def changed_after(flat: Flat, at: int, names: set[str]) -> tuple[str, int] | None:
    """The first of ``names`` a statement after ``at`` binds or changes, and
    that statement's cell."""
    for c, st in flat[at + 1 :]:
        hit = names & (set(st.writes) | set(st.mutates))
        if hit:
            return sorted(hit)[0], c.facts.number
    return None
