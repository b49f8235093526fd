"""Assign every code cell a stage (or an exclusion) with the reason, and work out
each stage's inputs, outputs and config values.

Pure: facts in, a :class:`Plan` out. The rules are DESIGN.md's "Stage assignment".
"""

from __future__ import annotations

import keyword
import posixpath
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass, field, replace

from nbprod import known_apis as apis
from nbprod.analyse import STAGE_ORDER, CellFacts, Literal
from nbprod.errors import CellError
from nbprod.normalise import STAGES, NormalCell
from nbprod.redact import SecretLiteral

STAGE_FUNCTIONS = {
    apis.PRE: "preprocess",
    apis.TRAIN: "train",
    apis.INFER: "predict",
    apis.EVAL: "evaluate",
}


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
    stage: str | None
    reason: str
    explicit: bool = False
    section: str = ""
    dropped: tuple[str, ...] = ()
    depends_on: tuple[int, ...] = ()


@dataclass(frozen=True)
class HelperPlan:
    """A notebook ``def``/``class`` and the module it moves to."""

    name: str
    kind: str
    cell: int
    stage: str
    data_params: tuple[str, ...]
    # The notebook's name when it defines ``original`` more than once: this is
    # a later definition, kept under its own name (``featurize_2``).
    original: str = ""


@dataclass(frozen=True)
class StagePlan:
    """One pipeline stage: a module with one function."""

    stage: str
    function: str
    cells: tuple[int, ...]
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    outputs: tuple[str, ...]
    helpers: tuple[str, ...]


@dataclass(frozen=True)
class Preparation:
    """How new raw rows become what the model predicts on: the notebook's own
    cells between reading a file into ``rows`` and ``model.predict(rows)``."""

    rows: str
    stage: str  # the module the function goes in: the stage that predicts
    cells: tuple[int, ...]
    inputs: tuple[str, ...]  # saved by earlier stages
    params: tuple[tuple[str, str], ...]  # (group, key) from config.yaml
    reader_cell: int


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
    preparation: Preparation | None = None
    preparation_reason: str = ""
    # String literals holding likely secrets: read from these environment
    # variables in the generated code (the values are never written).
    secrets: tuple[SecretLiteral, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    def stage(self, name: str) -> StagePlan | None:
        return next((s for s in self.stages if s.stage == name), None)


@dataclass
class _Cell:
    facts: CellFacts
    normal: NormalCell
    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    preds: dict[int, str] = field(default_factory=dict)  # cell -> why
    stage: str | None = None
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
                explicit=normal.explicit == "skip",
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
        )

    helpers = _place_helpers(work, helper_facts, helper_params, warnings)
    stage_io = _stage_io(work, parameter_names, warnings)
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
        function = STAGE_FUNCTIONS[stage]
        if function in notebook_names:
            function = f"{function}_stage"
        stage_helpers = tuple(h.name for h in helpers if h.stage == stage)
        if not members and not stage_helpers:
            continue
        inputs, outputs = stage_io.get(stage, ((), ()))
        stages.append(
            StagePlan(
                stage=stage,
                function=function,
                cells=tuple(c.facts.number for c in members),
                inputs=tuple(i for i in inputs if i not in parameter_names),
                params=tuple(p.key for p in params if p.group == stage)
                + tuple(i for i in inputs if i in parameter_names),
                outputs=outputs,
                helpers=stage_helpers,
            )
        )

    estimators = tuple(dict.fromkeys(e for c in work for e in c.facts.estimators))
    deps = tuple(dict.fromkeys(d for n in cells for d in n.dependencies))
    predictor, predictor_reason = _predictor(work, stages)
    preparation, preparation_reason = _preparation(work, stages, params, predictor)
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
        preparation=preparation,
        preparation_reason=preparation_reason,
    )


def _preparation(
    work: list[_Cell],
    stages: list[StagePlan],
    params: list[Param],
    predictor: str | None,
) -> tuple[Preparation | None, str]:
    """The cells that turn raw rows into model input, when the notebook shows them:
    a file read into a frame, cleaned by later cells, then given to the model."""
    if predictor is None:
        return None, "no model to predict with"
    call = next(
        (
            (c, rows)
            for c in work
            for model, rows in c.facts.predict_args
            if model == predictor
        ),
        None,
    )
    if call is None:
        return None, f"{predictor}.predict is not given a named frame"
    predict_cell, rows = call
    readers = [
        c
        for c in work
        if c.facts.number < predict_cell.facts.number and rows in c.facts.loaded
    ]
    if not readers:
        return (
            None,
            f"{rows} is not read from a file: new rows must be given in the form the model takes",
        )
    reader = readers[-1]
    if set(reader.writes) - {rows} or rows in predict_cell.writes:
        return None, f"cell {reader.facts.number} does more than read {rows}"
    cells = [
        c
        for c in work
        if reader.facts.number < c.facts.number < predict_cell.facts.number
        and rows in c.writes
    ]
    saved = {n for s in stages for n in s.outputs}
    made: set[str] = {rows}
    inputs: dict[str, None] = {}
    for c in cells:
        for name in sorted(c.reads - made):
            if name not in saved:
                return None, f"cell {c.facts.number} needs {name}, which no stage saves"
            inputs[name] = None
        made |= c.writes
    numbers = {c.facts.number for c in cells}
    used = [
        (p.group, p.key)
        for p in params
        if p.group != "parameters" and ({p.cell} | {w[0] for w in p.also_at}) & numbers
    ]
    if len({k for _, k in used}) != len(used):
        return None, "two config values of the cleaning cells share a name"
    return (
        Preparation(
            rows,
            predict_cell.stage or apis.INFER,
            tuple(sorted(numbers)),
            tuple(inputs),
            tuple(used),
            reader.facts.number,
        ),
        f"cells {', '.join(map(str, sorted(numbers))) or 'none'} clean {rows} after cell "
        f"{reader.facts.number} reads it",
    )


def _predictor(work: list[_Cell], stages: list[StagePlan]) -> tuple[str | None, str]:
    """The saved model new rows are scored with: the one the inference stage
    predicts with, else evaluation's, else training's."""
    saved = {n: s.stage for s in stages for n in s.outputs}
    for stage in (apis.INFER, apis.EVAL, apis.TRAIN):
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
    if normal.explicit == "skip":
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
    for call in f.name_calls:
        if call.name not in helper_facts:
            continue
        helper, _ = helper_facts[call.name]
        for index in helper.mutated_params:
            if index < len(call.args) and call.args[index]:
                writes.add(call.args[index])
        writes |= set(helper.mutated_globals)
        reads |= set(helper.mutated_globals)
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


def _signal_stage(f: CellFacts) -> tuple[str, str] | None:
    by_stage: dict[str, str] = {}
    for s in f.signals:
        by_stage.setdefault(s.stage, s.api)
    for stage in (apis.TRAIN, apis.EVAL, apis.INFER, apis.PRE):
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
            if s and (dep_stage is None or STAGE_ORDER[s] > STAGE_ORDER[dep_stage]):
                dep_stage, dep_cell = s, p
        explicit = c.normal.explicit
        if explicit in STAGES:
            if dep_stage and STAGE_ORDER[dep_stage] > STAGE_ORDER[explicit]:
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
        if signal and (
            dep_stage is None or STAGE_ORDER[signal[0]] >= STAGE_ORDER[dep_stage]
        ):
            c.stage, c.reason = signal[0], f"calls {signal[1]}"
        elif dep_stage:
            why = f"depends on cell {dep_cell} ({dep_stage}: {c.preds[dep_cell]})"
            c.stage = dep_stage
            c.reason = (
                f"{why}; its own signal {signal[1]} is earlier" if signal else why
            )
        else:
            c.stage, c.reason = apis.PRE, ""
            floating.append(c)
    # Cells with no signal and no dependencies (constants, set-up) join the earliest
    # stage that needs them; later cells have been placed already.
    for c in reversed(floating):
        users = [d for d in work if c.facts.number in d.preds]
        if users:
            first = min(users, key=lambda d: STAGE_ORDER[d.stage or apis.PRE])
            c.stage = first.stage
            c.reason = (
                f"no signal; joins cell {first.facts.number}, the first that needs it"
            )
        else:
            c.reason = "no signal and nothing depends on it; runs with the first stage"


def _place_helpers(
    work: list[_Cell], helper_facts: dict, helper_params: dict, warnings: list[str]
) -> list[HelperPlan]:
    stage_of: dict[str, str] = {}
    for c in work:
        for name in (*c.facts.reads, *c.facts.names_used):
            if name in helper_facts:
                cur = stage_of.get(name)
                if cur is None or STAGE_ORDER[c.stage] < STAGE_ORDER[cur]:
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
                    if cur is None or STAGE_ORDER[stage_of[name]] < STAGE_ORDER[cur]:
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
    work: list[_Cell], parameter_names: set[str], warnings: list[str]
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Inputs and outputs of each stage, walking cells in pipeline order."""
    producer: dict[str, str] = {n: "config" for n in parameter_names}
    inputs: dict[str, dict[str, None]] = {s: {} for s in STAGES}
    outputs: dict[str, dict[str, None]] = {s: {} for s in STAGES}
    ordered = sorted(work, key=lambda c: (STAGE_ORDER[c.stage], c.facts.number))
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
    only_preprocessing = all(c.stage == apis.PRE for c in work)
    for c in ordered:
        if c.stage == apis.PRE and not only_preprocessing:
            continue
        extra = (*c.facts.assigned, *c.facts.mutated_top) if c.stage != apis.PRE else ()
        for name in (*c.facts.results, *(n for n in extra if not n.startswith("_"))):
            if producer.get(name) == c.stage:
                outputs[c.stage][name] = None
    first_seen: dict[str, tuple[int, int]] = {}
    for c in sorted(work, key=lambda c: c.facts.number):
        for i, name in enumerate((*c.facts.defines, *c.facts.mutates)):
            first_seen.setdefault(name, (c.facts.number, i))
    key = lambda n: (first_seen.get(n, (0, 0)), n)  # noqa: E731
    return {
        s: (tuple(sorted(inputs[s], key=key)), tuple(sorted(outputs[s], key=key)))
        for s in STAGES
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

    written = {n for c in work for n in c.facts.written}

    def rebased(lit: Literal, is_path: bool) -> object:
        # Inputs found beside the notebook are found from the project too; what the
        # notebook writes, the project writes in its own folder.
        value = lit.value
        if (
            is_path
            and isinstance(value, str)
            and not posixpath.isabs(value)
            and value in existing_paths
            and lit.direction != "write"
            and lit.name not in written
        ):
            return posixpath.normpath(posixpath.join(notebook_dir, value))
        return value

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
        taken |= {h.name for h in helpers} | {STAGE_FUNCTIONS[stage]}
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
                if lit.kind == "kwarg" and same in shared:
                    i = shared[same]
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
