"""Assign every code cell a stage (or an exclusion) with the reason, and work out
each stage's inputs, outputs and config values.

Pure: facts in, a :class:`Plan` out. The rules are DESIGN.md's "Stage assignment".
"""

from __future__ import annotations

import dataclasses
import enum
import keyword
import posixpath
import re
import sys
import types
import typing
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import Any

from nbprod.convert.analysis import CellFacts, Literal, NameCall, Statement
from nbprod.convert.normalise import SKIP, NormalCell
from nbprod.errors import CellError
from nbprod.redact import SecretLiteral
from nbprod.stages import STAGES, Stage


@dataclass(frozen=True)
class Param:
    """One config value lifted out of the code."""

    key: str
    group: str  # a stage, or "parameters" for a papermill parameters cell
    value: object
    kind: str  # int | float | str | bool | list | tuple | dict | path
    cell: int
    line: int
    column: int
    source: str  # what it was in the notebook, for comments and the report
    also_at: tuple[
        tuple[int, int, int], ...
    ] = ()  # the same setting repeated: (cell, line, column)


@dataclass(frozen=True)
class CellPlan:
    """Where one code cell went and why."""

    number: int
    stage: Stage | None
    reason: str
    explicit: bool = False
    section: str = ""
    dropped: tuple[str, ...] = ()
    depends_on: tuple[int, ...] = ()
    # How validation compares what the cell prints: "all" (every statement is in
    # the pipeline: line for line), "kept" (displays were left out, and they may
    # print: the pipeline's lines must be among the notebook's), or "" (not at all:
    # not in the pipeline, or a magic like %timeit prints differently).
    printed: str = ""
    timing: bool = False  # it uses what is computed from the clock


@dataclass(frozen=True)
class HelperPlan:
    """A notebook ``def``/``class`` and the module it moves to."""

    name: str
    kind: str
    cell: int
    stage: Stage
    data_params: tuple[str, ...]
    # The notebook's name when it defines ``original`` more than once: this is
    # a later definition, kept under its own name (``featurize_2``).
    original: str = ""


@dataclass(frozen=True)
class StagePlan:
    """One pipeline stage: a module with one function."""

    stage: Stage
    function: str
    cells: tuple[int, ...]
    inputs: tuple[str, ...]
    params: tuple[tuple[str, str], ...]  # (group, key) of config.yaml it reads
    outputs: tuple[str, ...]
    helpers: tuple[str, ...]


@dataclass(frozen=True)
class Serving:
    """How ``predict`` scores new rows as the notebook scored its own.

    New rows arrive in the form ``rows`` had right after the statement at
    ``source`` made it (read a file, split off held-out rows); the notebook's own
    ``steps`` between that and ``model.predict(argument)`` at ``call`` turn them
    into what the model takes, with the fitted state in ``inputs`` (scalers,
    encoders, column lists) loaded from the artifacts of the stages that made it.
    Validation captures ``rows`` at ``source`` and the predictions at ``call`` in
    the notebook, and runs the generated ``predict`` on those rows.
    """

    model: str
    rows: str
    argument: str
    source: tuple[int, int]  # (cell, last line) of the statement that makes rows
    made_by: str  # how: "reader" (a file), "split" (held-out rows), "literal" (code)
    call: tuple[int, int]  # (cell, first line) of the statement that predicts
    steps: tuple[tuple[int, int], ...]  # (cell, statement index), in notebook order
    inputs: tuple[str, ...]  # saved by the stages
    params: tuple[tuple[str, str], ...]  # (group, key) of config.yaml
    stage: Stage  # the module the function goes in: the stage that predicts

    @property
    def cells(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(cell for cell, _ in self.steps))

    @property
    def transforms(self) -> bool:
        """Whether rows go through steps before the model; else it takes them as given."""
        return bool(self.steps) or self.argument != self.rows


@dataclass(frozen=True)
class Plan:
    """The whole conversion plan; dumps to JSON for ``nbprod plan`` and the report."""

    notebook: str
    package: str
    cells: tuple[CellPlan, ...]
    stages: tuple[StagePlan, ...]
    params: tuple[Param, ...]
    helpers: tuple[HelperPlan, ...]
    dependencies: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    estimators: tuple[str, ...] = ()
    # The fitted model that scores new data: a training output whose .predict the
    # inference stage calls, or None with the reason.
    predictor: str | None = None
    predictor_reason: str = ""
    serving: Serving | None = None
    serving_reason: str = ""
    # String literals holding likely secrets: read from these environment
    # variables in the generated code (the values are never written).
    secrets: tuple[SecretLiteral, ...] = ()
    # What the proof needs to know of the notebook's values: those read from
    # files and never changed (comparing them proves nothing was computed), those
    # computed from the clock (never evidence of a difference), and those the
    # notebook computed that no stage returns, with why.
    raw_inputs: tuple[str, ...] = ()
    timings: tuple[str, ...] = ()
    unreturned: tuple[tuple[str, str], ...] = ()
    # Paths the notebook reads and writes, as written in it (relative to its folder).
    paths_read: tuple[str, ...] = ()
    paths_written: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Plan:
        """The plan :meth:`to_dict` made, also after a JSON round trip (its lists
        become tuples again); ValueError naming the field when ``data`` is not one.
        A lifted value (``Param.value``) is kept as JSON holds it, as config.yaml does.
        """
        plan: Plan = _from_fields(cls, data, "plan")
        return plan

    def stage(self, name: str) -> StagePlan | None:
        return next((s for s in self.stages if s.stage == name), None)


@cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _from_fields(cls: type, data: Any, where: str) -> Any:
    """An instance of the dataclass ``cls`` from ``data``, a dict holding exactly
    its fields."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, not {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]
    missing = [n for n in names if n not in data]
    unknown = [k for k in data if k not in names]
    if missing or unknown:
        raise ValueError(
            f"{where}: "
            + "; ".join(
                ([f"missing {', '.join(missing)}"] if missing else [])
                + ([f"unknown {', '.join(map(str, unknown))}"] if unknown else [])
            )
        )
    hints = _field_types(cls)
    return cls(**{n: _typed(hints[n], data[n], f"{where}.{n}") for n in names})


def _typed(hint: Any, value: Any, where: str) -> Any:
    """``value``, as JSON or ``asdict`` holds it, as the type ``hint`` says."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _from_fields(hint, value, where)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _typed(inner, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list, not {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        elif len(args) != len(value):
            raise ValueError(f"{where}: expected {len(args)} items, not {len(value)}")
        return tuple(
            _typed(a, v, f"{where}[{i}]")
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if hint is object:
        return value
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise ValueError(f"{where}: not a {hint.__name__}: {value!r:.40}") from None
    if hint in (str, int, bool):
        # bool is an int to isinstance; not to a plan
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise ValueError(f"{where}: expected {hint.__name__}, not {value!r:.40}")
        return value
    raise TypeError(f"{where}: Plan.from_dict cannot read a {hint!r}")


@dataclass
class _Cell:
    facts: CellFacts
    normal: NormalCell
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    preds: dict[int, str] = field(default_factory=dict)  # cell -> why
    stage: Stage | None = None
    reason: str = ""
    explicit: bool = False


def safe_identifier(
    text: str, *, avoid: set[str] = frozenset(), fallback: str = "pipeline"
) -> str:
    """An ASCII snake_case identifier for ``text`` that is not a keyword or in ``avoid``."""
    # Accents go, letters stay: "Übersicht" -> "ubersicht", not "bersicht".
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    name = re.sub(r"_+", "_", name) or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or name in avoid:
        name = f"{name}_pipeline" if fallback == "pipeline" else f"{name}_{fallback}"
    return name


def package_name(notebook_name: str, imported: set[str]) -> str:
    """A package name from the notebook's name that shadows no module it imports."""
    avoid = set(sys.stdlib_module_names) | imported | {"test", "tests", "src", "config"}
    return safe_identifier(notebook_name, avoid=avoid)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _kind(value: object, is_path: bool) -> str:
    if is_path:
        return "path"
    for t in (bool, int, float, str, list, tuple, dict):
        if isinstance(value, t):
            return t.__name__
    return "str"


def build_plan(
    notebook_name: str,
    cells: list[NormalCell],
    facts: list[CellFacts],
    sections: dict[int, str],
    *,
    existing_paths: frozenset[str] = frozenset(),
    notebook_dir: str = ".",
    package: str | None = None,
) -> Plan:
    """Plan the conversion.

    ``existing_paths`` are the relative path literals that exist beside the notebook
    (inputs); ``notebook_dir`` is the notebook's folder relative to the project, so
    those inputs keep working from the generated project.
    """
    imports = {imp.bound: imp.qualified for f in facts for imp in f.imports}
    helper_facts = {h.name: (h, f.number) for f in facts for h in f.helpers}
    warnings: list[str] = []
    pkg = package or package_name(
        notebook_name, {q.split(".")[0] for q in imports.values()}
    )

    parameter_literals = _parameter_literals(cells, facts)
    parameter_names = {lit.name for lits in parameter_literals.values() for lit in lits}
    data_names = {n for f in facts for n in (*f.defines, *f.mutates)} | parameter_names
    data_names -= set(helper_facts)

    helper_params = _helper_data_params(helper_facts, data_names)

    work: list[_Cell] = []
    plans: dict[int, CellPlan] = {}
    for normal, f in zip(cells, facts, strict=True):
        c = _Cell(f, normal)
        excluded = _exclusion(normal, f, parameter_literals.get(f.number, ()))
        if excluded:
            plans[f.number] = CellPlan(
                f.number,
                None,
                excluded,
                explicit=normal.explicit == SKIP,
                section=sections.get(f.number, ""),
                dropped=tuple(f"line {d.line}: {d.text} ({d.kind})" for d in f.dropped),
            )
            continue
        c.reads, c.writes = _effective_io(f, helper_facts, helper_params, imports)
        c.reads -= set(imports)
        c.writes -= set(imports)
        if f.number in parameter_literals:
            c.writes -= parameter_names
        work.append(c)

    _dependencies(work)
    _assign_stages(work)
    timings = _timings(work)
    for c in work:
        plans[c.facts.number] = CellPlan(
            c.facts.number,
            c.stage,
            c.reason,
            explicit=c.explicit,
            section=sections.get(c.facts.number, ""),
            dropped=tuple(
                f"line {d.line}: {d.text} ({d.kind})" for d in c.facts.dropped
            ),
            depends_on=tuple(sorted(c.preds)),
            printed=_printed(c),
            timing=any(
                st.clock or set(st.reads) & set(timings) for st in c.facts.statements
            ),
        )

    helpers = _place_helpers(work, helper_facts, helper_params, warnings)
    stage_io, producer = _stage_io(work, parameter_names, helper_params, warnings)
    params = _params(
        work, parameter_literals, existing_paths, notebook_dir, stage_io, helpers
    )

    notebook_names = (
        set(imports)
        | set(helper_facts)
        | {n for f in facts for n in (*f.defines, *f.names_seen)}
    )
    stages = []
    for stage in STAGES:
        members = [c for c in work if c.stage == stage]
        function = stage.command
        if function in notebook_names:
            function = f"{function}_stage"
        stage_helpers = tuple(h.name for h in helpers if h.stage == stage)
        if not members and not stage_helpers:
            continue
        inputs, outputs = stage_io.get(stage, ((), ()))
        numbers = {c.facts.number for c in members}
        stages.append(
            StagePlan(
                stage=stage,
                function=function,
                cells=tuple(sorted(numbers)),
                inputs=tuple(i for i in inputs if i not in parameter_names),
                params=_used_params(params, numbers, stage)
                + tuple(("parameters", i) for i in inputs if i in parameter_names),
                outputs=outputs,
                helpers=stage_helpers,
            )
        )

    estimators = tuple(dict.fromkeys(e for c in work for e in c.facts.estimators))
    deps = tuple(dict.fromkeys(d for n in cells for d in n.dependencies))
    predictor, predictor_reason = _predictor(work, stages)
    imported = set(imports) | set(helper_facts)
    serving, serving_reason = _serving(
        _ordered_statements(work, helper_facts, helper_params),
        params,
        predictor,
        predictor_reason,
        producer,
        parameter_names,
        imported,
    )
    if serving is not None:
        # What predict needs is saved by the stage that makes it last.
        needed = [(serving.model, producer[serving.model])] + [
            (name, producer[name]) for name in serving.inputs
        ]
        stages = [
            replace(
                sp,
                outputs=tuple(
                    dict.fromkeys(
                        (*sp.outputs, *(n for n, st in needed if st == sp.stage))
                    )
                ),
            )
            for sp in stages
        ]
    returned = {n for sp in stages for n in sp.outputs}
    return Plan(
        notebook=notebook_name,
        package=pkg,
        cells=tuple(plans[n] for n in sorted(plans)),
        stages=tuple(stages),
        params=tuple(params),
        helpers=tuple(helpers),
        dependencies=deps,
        warnings=tuple(warnings),
        estimators=estimators,
        predictor=predictor,
        predictor_reason=predictor_reason,
        serving=serving,
        serving_reason=serving_reason,
        raw_inputs=_raw_inputs(work),
        timings=timings,
        paths_read=_paths(facts, write=False),
        paths_written=_paths(facts, write=True),
        unreturned=_unreturned(facts, work, returned, set(helper_facts)),
    )


def _used_params(
    params: list[Param], cells: set[int], stage: str
) -> tuple[tuple[str, str], ...]:
    """(group, key) of the config values the stage's cells use: its own group's,
    and a file path another stage writes that this one reads back."""
    return tuple(
        (p.group, p.key)
        for p in params
        if p.group != "parameters"
        and (p.group == stage or ({w[0] for w in p.also_at} & cells))
        and ({p.cell} | {w[0] for w in p.also_at}) & cells
    )


def _ordered_statements(
    work: list[_Cell],
    helper_facts: dict | None = None,
    helper_params: dict | None = None,
) -> list[tuple[_Cell, Statement]]:
    """Every kept statement in notebook order; with the helpers, what each one
    reads and changes through the helpers it calls (as ``_effective_io`` for cells)."""
    flat = []
    for c in sorted(work, key=lambda c: c.facts.number):
        for st in c.facts.statements:
            if helper_facts:
                st = _through_helpers(st, helper_facts, helper_params or {})
            flat.append((c, st))
    return flat


def _through_helpers(
    st: Statement, helper_facts: dict, helper_params: dict
) -> Statement:
    reads = dict.fromkeys(st.reads)
    mutates = dict.fromkeys(st.mutates)
    for name in st.reads:
        reads.update(dict.fromkeys(helper_params.get(name, ())))
    arguments, notebook_globals = _helper_changes(st.name_calls, helper_facts)
    mutates.update(dict.fromkeys(sorted(arguments | notebook_globals)))
    reads.update(dict.fromkeys(sorted(notebook_globals)))
    return replace(st, reads=tuple(reads), mutates=tuple(mutates))


def _helper_changes(
    calls: tuple[NameCall, ...], helper_facts: dict
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


def _serving(
    flat: list[tuple[_Cell, Statement]],
    params: list[Param],
    predictor: str | None,
    predictor_reason: str,
    producer: dict[str, str],
    parameter_names: set[str],
    imported: set[str],
) -> tuple[Serving | None, str]:
    """The notebook's own path from rows to the model's predictions (see Serving),
    or why new rows cannot be scored as the notebook scored its own."""
    if predictor is None:
        return None, predictor_reason
    calls = [
        i
        for i, (_, st) in enumerate(flat)
        if any(p.model == predictor for p in st.predicts)
    ]
    if not calls:
        return None, f"{predictor}.predict is never given a named frame or array"

    def changed_after(i: int, names: set[str]) -> tuple[str, int] | None:
        for c, st in flat[i + 1 :]:
            hit = names & (set(st.writes) | set(st.mutates))
            if hit:
                return sorted(hit)[0], c.facts.number
        return None

    # The last prediction after which the model no longer changes, preferring the
    # stage that scores new data.
    stable = [i for i in calls if changed_after(i, {predictor}) is None]
    if not stable:
        _, cell = changed_after(calls[-1], {predictor}) or ("", 0)
        return (
            None,
            f"{predictor} is fitted again in cell {cell}, after its last prediction",
        )
    rank = {
        Stage.INFERENCE: 0,
        Stage.EVALUATION: 1,
        Stage.TRAINING: 2,
        Stage.PREPROCESSING: 3,
    }
    at = min(stable, key=lambda i: (rank[flat[i][0].stage or Stage.PREPROCESSING], -i))
    call_cell, call = flat[at]
    where = f"cell {call_cell.facts.number}, line {call.line}"
    if not call.simple:
        return None, f"{where}: the prediction is inside a block (if, for, with)"
    prediction = next(p for p in call.predicts if p.model == predictor)
    argument = set(prediction.names) - imported

    found = _rows_source(flat, at, argument, imported)
    if found is None:
        return (
            None,
            f"{where}: {prediction.argument} is not made from rows read from a file, "
            "split off or written in the code",
        )
    source, rows, tainted = found
    source_cell, source_stmt = flat[source]
    if not source_stmt.simple:
        return (
            None,
            f"cell {source_cell.facts.number}, line {source_stmt.line}: "
            f"{rows} is made in a statement that does more on the same line",
        )
    # Walk back from the prediction: statements derived from the rows are steps;
    # what else they read is state the stages made before (or config).
    frontier, steps, state = set(argument), [], set()
    for k in range(at - 1, source, -1):
        _, st = flat[k]
        touched = frontier & (set(st.writes) | set(st.mutates))
        if not touched:
            continue
        if tainted[k]:
            steps.append(k)
            frontier -= set(st.writes) - set(st.mutates)
            frontier |= set(st.reads) | set(st.mutates)
        else:
            state |= touched
            frontier -= touched
    state |= frontier - {rows}
    state -= imported
    config = sorted(state & parameter_names)
    state -= parameter_names
    unknown = sorted(n for n in state if n not in producer)
    if unknown:
        return None, f"the steps before {where} need {unknown[0]}, which no stage makes"
    changed = changed_after(at, state)
    if changed is not None:
        name, cell = changed
        return None, f"{name} changes in cell {cell}, after {where} predicts with it"
    ordered = sorted(steps)
    step_lines = {
        (flat[k][0].facts.number, line)
        for k in ordered
        for line in range(flat[k][1].line, flat[k][1].end_line + 1)
    }
    used = [
        (p.group, p.key)
        for p in params
        if p.group != "parameters"
        and any(w[:2] in step_lines for w in ((p.cell, p.line), *p.also_at))
    ] + [("parameters", name) for name in config]
    if len({k for _, k in used}) != len(used):
        return None, "two config values of the steps before the prediction share a name"
    steps_at = tuple((flat[k][0].facts.number, flat[k][1].index) for k in ordered)
    cells_text = ", ".join(str(c) for c in dict.fromkeys(c for c, _ in steps_at))
    return (
        Serving(
            model=predictor,
            rows=rows,
            argument=prediction.argument,
            source=(source_cell.facts.number, source_stmt.end_line),
            made_by=source_stmt.source,
            call=(call_cell.facts.number, call.line),
            steps=steps_at,
            inputs=tuple(sorted(state)),
            params=tuple(used),
            stage=call_cell.stage or Stage.INFERENCE,
        ),
        f"{where} predicts with {predictor} on {prediction.argument}, made from {rows} "
        f"(cell {source_cell.facts.number})"
        + (f" by cells {cells_text}" if steps_at else ""),
    )


def _rows_source(
    flat: list[tuple[_Cell, Statement]], at: int, argument: set[str], imported: set[str]
) -> tuple[int, str, list[bool]] | None:
    """The nearest statement before ``at`` that makes rows (a reader, a split, a
    frame written in the code) from which ``argument`` derives, the name it makes,
    and which statements between derive from those rows."""
    for j in range(at - 1, -1, -1):
        st = flat[j][1]
        if not st.source or (st.source == "literal" and set(st.reads) - imported):
            continue
        for rows in st.writes:
            tainted = [False] * len(flat)
            live = {rows}
            for k in range(j + 1, at):
                other = flat[k][1]
                if live & (set(other.reads) | set(other.mutates)):
                    tainted[k] = True
                    # What rows are assigned to derives from them; an object fitted
                    # on them (``scaler.fit(X_train)``) is state, not rows.
                    live |= set(other.writes) | (set(other.mutates) & live)
                else:
                    live -= set(other.writes)
            if argument & live:
                return j, rows, tainted
    return None


def _printed(c: _Cell) -> str:
    """How validation can compare what cell ``c`` prints (see CellPlan.printed)."""
    for magic in c.normal.magics:
        if magic.action == "unwrapped" and not re.match(r"%%?time\b(?!it)", magic.text):
            return ""  # %timeit repeats, %%capture hides, %prun reports
    # Displays left out, and magics (``%env`` says what it set), may have printed.
    return "kept" if c.facts.dropped or c.normal.magics else "all"


def _paths(facts: list[CellFacts], *, write: bool) -> tuple[str, ...]:
    """The notebook's literal paths it reads (or writes), as written in it."""
    written_names = {n for f in facts for n in f.written}
    found: dict[str, None] = {}
    for f in facts:
        for lit in f.literals:
            if lit.kind not in {"path", "parameter"} or not isinstance(lit.value, str):
                continue
            if lit.kind == "parameter" and lit.direction != "path":
                continue
            writes = lit.direction == "write" or lit.name in written_names
            if writes == write:
                found[lit.value] = None
    return tuple(found)


def _raw_inputs(work: list[_Cell]) -> tuple[str, ...]:
    """Names read from files and never changed afterwards: comparing them shows the
    same data was read, not that anything was computed alike."""
    flat = _ordered_statements(work)
    raw: dict[str, None] = {}
    for i, (_, st) in enumerate(flat):
        if st.source != "reader":
            continue
        for name in st.writes:
            if not any(
                name in other.writes or name in other.mutates
                for _, other in flat[i + 1 :]
            ):
                raw[name] = None
    return tuple(raw)


def _timings(work: list[_Cell]) -> tuple[str, ...]:
    """Names computed from the clock (``elapsed = time.time() - t0``), and what is
    computed or changed from them afterwards."""
    tainted: dict[str, None] = {}
    for _, st in _ordered_statements(work):
        if st.clock or tainted.keys() & set(st.reads):
            tainted.update(dict.fromkeys((*st.writes, *st.mutates)))
        else:
            for name in st.writes:
                tainted.pop(name, None)
    return tuple(tainted)


def _unreturned(
    facts: list[CellFacts], work: list[_Cell], returned: set[str], helpers: set[str]
) -> tuple[tuple[str, str], ...]:
    """What the notebook computed that no stage returns, and why: a value the proof
    cannot see is reported, never silently left out."""
    found: dict[str, str] = {}
    kept = {c.facts.number for c in work}
    for f in facts:
        if f.number in kept:
            for name in f.defines:
                if name not in returned and name not in helpers:
                    found.setdefault(
                        name, f"used only inside its stage (cell {f.number})"
                    )
        for d in f.dropped:
            for name in d.binds:
                found.setdefault(name, f"bound by a dropped {d.kind} (cell {f.number})")
    return tuple(sorted(found.items()))


def _predictor(work: list[_Cell], stages: list[StagePlan]) -> tuple[str | None, str]:
    """The saved model new rows are scored with: the one the inference stage
    predicts with, else evaluation's, else training's."""
    saved = {n: s.stage for s in stages for n in s.outputs}
    for stage in (Stage.INFERENCE, Stage.EVALUATION, Stage.TRAINING):
        for c in work:
            if c.stage != stage:
                continue
            for name in c.facts.predictors:
                if name in saved:
                    return (
                        name,
                        f"cell {c.facts.number} predicts with {name}, saved by {saved[name]}",
                    )
    return None, "no cell predicts with a model a stage saves"


def _parameter_literals(
    cells: list[NormalCell], facts: list[CellFacts]
) -> dict[int, tuple[Literal, ...]]:
    """Literal assignments of papermill ``parameters`` cells, by cell."""
    return {
        f.number: tuple(lit for lit in f.literals if lit.kind == "parameter")
        for normal, f in zip(cells, facts, strict=True)
        if normal.is_parameters
    }


def _exclusion(
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


def _helper_data_params(
    helper_facts: dict, data_names: set[str]
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
    return {k: tuple(sorted(v, key=order.get)) for k, v in params.items()}


def _effective_io(
    f: CellFacts, helper_facts: dict, helper_params: dict, imports: dict
) -> tuple[set[str], set[str]]:
    reads = set(f.reads) | set(f.mutates) | set(f.deletes)
    reads |= {n for n in f.string_reads if n not in imports}
    writes = set(f.defines) | set(f.mutates) | set(f.deletes)
    for name in (*f.reads, *f.names_used):
        if name in helper_facts:
            reads |= set(helper_params.get(name, ()))
    arguments, notebook_globals = _helper_changes(f.name_calls, helper_facts)
    writes |= arguments | notebook_globals
    reads |= notebook_globals
    reads -= set(helper_facts)
    writes -= set(helper_facts)
    writes.discard("_")
    reads.discard("_")
    return reads, writes


def _dependencies(work: list[_Cell]) -> None:
    """Flow, anti and output dependencies, linear in cells times names."""
    last_writer: dict[str, int] = {}
    readers: dict[str, list[int]] = {}
    for c in work:
        n = c.facts.number
        for name in sorted(c.reads):
            if name in last_writer:
                c.preds.setdefault(last_writer[name], f"uses {name}")
        for name in sorted(c.writes):
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


def _assign_stages(work: list[_Cell]) -> None:
    by_number = {c.facts.number: c for c in work}
    floating: list[_Cell] = []
    for c in work:
        dep_stage, dep_cell = None, None
        for p in c.preds:
            s = by_number[p].stage
            if s and (dep_stage is None or s.order > dep_stage.order):
                dep_stage, dep_cell = s, p
        explicit = c.normal.explicit
        if isinstance(explicit, Stage):
            if dep_stage and dep_stage.order > explicit.order:
                raise CellError(
                    f"is marked {explicit} by {c.normal.explicit_source} but depends on "
                    f"cell {dep_cell} ({dep_stage}: {c.preds[dep_cell]})",
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
            why = f"depends on cell {dep_cell} ({dep_stage}: {c.preds[dep_cell]})"
            c.stage = dep_stage
            c.reason = (
                f"{why}; its own signal {signal[1]} is earlier" if signal else why
            )
        else:
            c.stage, c.reason = Stage.PREPROCESSING, ""
            floating.append(c)
    # Cells with no signal and no dependencies (constants, set-up) join the earliest
    # stage that needs them; later cells have been placed already.
    for c in reversed(floating):
        users = [d for d in work if c.facts.number in d.preds]
        if users:
            first = min(users, key=lambda d: (d.stage or Stage.PREPROCESSING).order)
            c.stage = first.stage
            c.reason = (
                f"no signal; joins cell {first.facts.number}, the first that needs it"
            )
        else:
            c.reason = "no signal and nothing depends on it; runs with the first stage"


def _place_helpers(
    work: list[_Cell], helper_facts: dict, helper_params: dict, warnings: list[str]
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


def _stage_io(
    work: list[_Cell],
    parameter_names: set[str],
    helper_params: dict[str, tuple[str, ...]],
    warnings: list[str],
) -> tuple[dict[str, tuple[tuple[str, ...], tuple[str, ...]]], dict[str, str]]:
    """Inputs and outputs of each stage, walking cells in pipeline order; and the
    stage that makes each name last."""
    producer: dict[str, str] = {n: "config" for n in parameter_names}
    inputs: dict[str, dict[str, None]] = {s: {} for s in STAGES}
    outputs: dict[str, dict[str, None]] = {s: {} for s in STAGES}
    ordered = sorted(work, key=lambda c: (c.stage.order, c.facts.number))
    defined_in_stage: dict[str, set[str]] = {}
    for c in ordered:
        s = c.stage
        for name in sorted(c.reads, key=lambda n: (n not in c.facts.reads, n)):
            src = producer.get(name)
            if src is None:
                if (
                    name in c.facts.reads
                    and name not in c.facts.defines
                    and name not in defined_in_stage.get(s, set())
                ):
                    warnings.append(
                        f"cell {c.facts.number}: uses {name}, which no cell of the pipeline defines"
                    )
                continue
            if src == "config" or src != s:
                inputs[s][name] = None
                if src != "config":
                    outputs[src][name] = None
        for name in sorted(c.writes):
            producer[name] = s
            defined_in_stage.setdefault(s, set()).add(name)
        for name in c.facts.deletes:
            producer.pop(name, None)
    # What a stage computes with a known API (a fitted model, predictions, metrics)
    # is returned even when no later stage needs it: it is the stage's result.
    # Preprocessing's results are what later stages use, unless it is all there is.
    # Later stages also return what they assign at top level or change in place and
    # nobody uses after: their results (metrics, predictions, a grown log).
    only_preprocessing = all(c.stage == Stage.PREPROCESSING for c in work)
    for c in ordered:
        if c.stage == Stage.PREPROCESSING and not only_preprocessing:
            continue
        extra = (
            (*c.facts.assigned, *c.facts.mutated_top)
            if c.stage != Stage.PREPROCESSING
            else ()
        )
        for name in (*c.facts.results, *(n for n in extra if not n.startswith("_"))):
            if producer.get(name) == c.stage:
                outputs[c.stage][name] = None
    # A value a stage computes and nothing reads afterwards (a metric shown by a
    # dropped display, the weights of a loop) is its result too: as a local it
    # would be lost to the proof, and ruff's unused-variable fix would delete it.
    for stage, names in _unread(ordered, helper_params).items():
        for name in names:
            if producer.get(name) == stage:
                outputs[stage][name] = None
    first_seen: dict[str, tuple[int, int]] = {}
    for c in sorted(work, key=lambda c: c.facts.number):
        for i, name in enumerate((*c.facts.defines, *c.facts.mutates)):
            first_seen.setdefault(name, (c.facts.number, i))
    key = lambda n: (first_seen.get(n, (0, 0)), n)  # noqa: E731
    return {
        s: (tuple(sorted(inputs[s], key=key)), tuple(sorted(outputs[s], key=key)))
        for s in STAGES
    }, producer


def _unread(
    ordered: list[_Cell], helper_params: dict[str, tuple[str, ...]]
) -> dict[str, list[str]]:
    """Per stage, the names its cells surely bind that none of them reads."""
    read: dict[str, set[str]] = {}
    bound: dict[str, dict[str, None]] = {}
    for c in ordered:
        f = c.facts
        names = read.setdefault(c.stage or Stage.PREPROCESSING, set())
        names.update(f.names_used, f.string_reads, f.deletes)
        for call in f.name_calls:
            names.update(helper_params.get(call.name, ()))
        bound.setdefault(c.stage or Stage.PREPROCESSING, {}).update(
            dict.fromkeys(f.assigned)
        )
    return {
        stage: [n for n in names if n not in read[stage] and not n.startswith("_")]
        for stage, names in bound.items()
    }


def _params(
    work: list[_Cell],
    parameter_literals: dict[int, tuple[Literal, ...]],
    existing_paths: frozenset[str],
    notebook_dir: str,
    stage_io: dict,
    helpers: list[HelperPlan],
) -> list[Param]:
    params: list[Param] = []

    # Files the notebook writes are the pipeline's own, inside the project, even
    # where a later cell reads them back (and whether or not an earlier run of the
    # notebook left them beside it): they are dataflow, not inputs.
    written_names = {n for c in work for n in c.facts.written}
    written = {
        posixpath.normpath(lit.value)
        for c in work
        for lit in c.facts.literals
        if lit.kind in {"path", "parameter"}
        and isinstance(lit.value, str)
        and (lit.direction == "write" or lit.name in written_names)
    }

    def rebased(lit: Literal, is_path: bool) -> object:
        # Inputs found beside the notebook are found from the project too.
        value = lit.value
        if (
            is_path
            and isinstance(value, str)
            and not posixpath.isabs(value)
            and value in existing_paths
            and posixpath.normpath(value) not in written
        ):
            return posixpath.normpath(posixpath.join(notebook_dir, value))
        return value

    def same_file(lit: Literal) -> int | None:
        # A file one cell writes and another reads back is one config value.
        if lit.kind != "path" or not isinstance(lit.value, str):
            return None
        value = posixpath.normpath(lit.value)
        if value not in written:
            return None
        return next(
            (
                i
                for i, p in enumerate(params)
                if p.kind == "path"
                and p.group != "parameters"
                and isinstance(p.value, str)
                and posixpath.normpath(p.value) == value
            ),
            None,
        )

    for cell, lits in sorted(parameter_literals.items()):
        for lit in lits:
            is_path = lit.direction == "path"
            params.append(
                Param(
                    lit.name,
                    "parameters",
                    _plain(rebased(lit, is_path)),
                    _kind(lit.value, is_path),
                    cell,
                    lit.line,
                    lit.column,
                    f"parameters cell: {lit.name} = {lit.value!r}",
                )
            )
    for stage in STAGES:
        members = [c for c in work if c.stage == stage]
        taken = set(stage_io[stage][0]) | {
            n
            for c in members
            for n in (*c.facts.defines, *c.facts.reads, *c.facts.mutates)
        }
        taken |= {h.name for h in helpers} | {stage.command}
        keys: set[str] = set()
        shared: dict[tuple, int] = {}
        for c in members:
            if c.facts.number in parameter_literals:
                continue
            for lit in c.facts.literals:
                if lit.kind == "parameter":
                    continue
                # The same setting of the same call twice in a stage is one config value.
                same = (lit.kind, lit.callee, lit.name, repr(lit.value))
                i = shared[same] if lit.kind == "kwarg" and same in shared else None
                if i is None:
                    i = same_file(lit)
                    if i is not None and params[i].group != stage:
                        # Read back by this stage under the writer's key, unless
                        # the stage already has its own value of that name.
                        if params[i].key in keys:
                            i = None
                        else:
                            keys.add(params[i].key)
                if i is not None:
                    params[i] = replace(
                        params[i],
                        also_at=(
                            *params[i].also_at,
                            (c.facts.number, lit.line, lit.column),
                        ),
                    )
                    continue
                key = _param_key(lit, keys, taken)
                keys.add(key)
                shared[same] = len(params)
                is_path = lit.kind == "path"
                value = rebased(lit, is_path)
                what = (
                    f"{lit.callee.rsplit('.', 1)[-1]}({lit.name}=...)"
                    if lit.kind == "kwarg"
                    else (
                        f"{lit.name} = ..."
                        if lit.kind == "constant"
                        else f"path {lit.value!r}"
                    )
                )
                params.append(
                    Param(
                        key,
                        stage,
                        _plain(value),
                        _kind(lit.value, is_path),
                        c.facts.number,
                        lit.line,
                        lit.column,
                        f"cell {c.facts.number}, line {lit.line}: {what}",
                    )
                )
    return params


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _param_key(lit: Literal, keys: set[str], taken: set[str]) -> str:
    if lit.kind == "kwarg":
        candidates = [lit.name, f"{_snake(lit.callee.rsplit('.', 1)[-1])}_{lit.name}"]
    elif lit.kind == "constant":
        candidates = [lit.name.lower()]
    else:
        base = safe_identifier(lit.name, fallback="path")
        candidates = [
            (
                base
                if base.endswith(("path", "dir", "file", "folder", "root"))
                else f"{base}_path"
            )
        ]
    for cand in candidates:
        if not cand.isidentifier() or keyword.iskeyword(cand):
            cand = safe_identifier(cand, fallback="value")
        # A path assigned to a variable keeps the variable's name: ``params_path =
        # Path(params_path)`` reads the config value, then rebinds it as the notebook did.
        if cand not in keys and (
            cand not in taken or (lit.kind == "path" and cand == lit.name)
        ):
            return cand
    base = safe_identifier(candidates[-1], fallback="value")
    i = 2
    while f"{base}_{i}" in keys or f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"
