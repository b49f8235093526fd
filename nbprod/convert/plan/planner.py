"""The planner: facts of every cell in, a :class:`Plan` out."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from nbprod.convert.analysis import CellFacts, Literal
from nbprod.convert.analysis.clones import Clone
from nbprod.convert.analysis.normalise import SKIP, NormalCell
from nbprod.convert.plan.cells import (
    HelperFacts,
    HelperParams,
    WorkCell,
    assign_stages,
    effective_io,
    exclusion,
    helper_data_params,
    keep_unsaveable_in_stage,
    link_dependencies,
    parameters_cell_literals,
    place_helpers,
    printed_mode,
    with_called_signals,
)
from nbprod.convert.plan.clones import plan_clones
from nbprod.convert.plan.dataflow import (
    StageIO,
    clock_names,
    literal_paths,
    ordered_statements,
    raw_inputs,
    returned_after,
    stage_inputs_outputs,
    unreturned,
)
from nbprod.convert.plan.experiments import share_experiments
from nbprod.convert.plan.figures import drawing_helpers, plan_figures
from nbprod.convert.plan.names import package_name, unique_name
from nbprod.convert.plan.params import config_class, lift_params, used_params
from nbprod.convert.plan.serving import SERVE_FUNCTION, choose_predictor, serving_path
from nbprod.convert.plan.serving_parts import plan_serving_parts
from nbprod.convert.plan.signatures import serving_with_bundles, with_inputs_bundle
from nbprod.convert.plan.steps import plan_steps
from nbprod.plan import (
    CellPlan,
    ClonePlan,
    HelperPlan,
    Param,
    Plan,
    SecretLiteral,
    Serving,
    StagePlan,
)
from nbprod.stages import STAGES


def build_plan(
    notebook_name: str,
    cells: list[NormalCell],
    facts: list[CellFacts],
    sections: dict[int, str],
    *,
    existing_paths: frozenset[str] = frozenset(),
    notebook_dir: str = ".",
    data_paths: Mapping[str, str] | None = None,
    package: str | None = None,
    title: str = "",
    clones: Sequence[Clone] = (),
    secrets: Sequence[SecretLiteral] = (),
) -> Plan:
    """Plan the conversion.

    ``existing_paths`` are the relative path literals that exist beside the notebook
    (inputs); ``notebook_dir`` is the notebook's folder relative to the project, so
    those inputs keep working from the generated project, unless ``data_paths``
    maps them (as the notebook names them) to their copies in the project; ``title`` is the
    notebook's title heading, which names no step; ``clones`` the copies of
    statements the analysis found, factored where they may be; ``secrets`` the
    literals the code will read from the environment instead.
    """
    nb = _notebook(cells, facts, sections, secrets)
    warnings: list[str] = []
    pkg = package or package_name(
        notebook_name, {q.split(".")[0] for q in nb.imports.values()}
    )
    work, plans, timings = _kept_cells(cells, facts, nb)
    helpers, params, stages, producer = _staged(
        work, nb, warnings, existing_paths, notebook_dir, data_paths or {}
    )
    predictor, predictor_reason = choose_predictor(work, stages)
    serving, serving_reason, stages = _plan_serving(work, stages, params, producer, nb)
    reserved = _reserved_names(nb.names, stages, params)
    stages = _with_steps(stages, work, params, nb.sections, title, reserved.taken)
    returned = {n for sp in stages for n in sp.outputs}
    factored, serving = _factored(
        clones, work, stages, params, serving, nb, reserved.taken
    )
    figures = plan_figures(
        work, stages, nb.data_names, drawing_helpers(nb.helper_facts, nb.imports)
    )
    inputs_argument = unique_name("inputs", reserved.taken)
    named = reserved.taken | {inputs_argument} | _step_names(stages)
    stages = _bundled(stages, work, helpers, {f.cell for f in figures}, named)
    if serving is not None:
        serving = _serving_bundled(serving, stages, named)
    return Plan(
        notebook=notebook_name,
        package=pkg,
        cells=tuple(plans[n] for n in sorted(plans)),
        stages=tuple(stages),
        params=tuple(params),
        helpers=tuple(helpers),
        dependencies=tuple(dict.fromkeys(d for n in cells for d in n.dependencies)),
        warnings=tuple(warnings),
        estimators=tuple(dict.fromkeys(e for c in work for e in c.facts.estimators)),
        predictor=predictor,
        predictor_reason=predictor_reason,
        serving=serving,
        serving_reason=serving_reason,
        raw_inputs=raw_inputs(work),
        timings=timings,
        paths_read=literal_paths(facts, write=False),
        paths_written=literal_paths(facts, write=True),
        unreturned=unreturned(facts, work, returned, set(nb.helper_facts)),
        config_argument=reserved.config_argument,
        inputs_argument=inputs_argument,
        clones=factored,
        figures=figures,
        figures_argument=reserved.figures_argument,
        figure_saver=reserved.figure_saver,
    )


@dataclass(frozen=True)
class _Notebook:
    """What the planner keeps asking of the notebook as a whole: what it imports,
    its helper functions and the data they read, its parameters, its names, its
    sections and its secrets."""

    imports: dict[str, str]  # bound name -> qualified name
    helper_facts: HelperFacts
    helper_params: HelperParams
    parameter_literals: dict[int, tuple[Literal, ...]]
    parameter_names: set[str]
    data_names: set[str]  # names bound to values, parameters included
    imported: set[str]  # names bound by imports or helper definitions
    names: set[str]  # every name the notebook's code binds or uses
    sections: dict[int, str]  # cell -> the heading it is under
    secrets: Sequence[SecretLiteral]


def _notebook(
    cells: list[NormalCell],
    facts: list[CellFacts],
    sections: dict[int, str],
    secrets: Sequence[SecretLiteral],
) -> _Notebook:
    """The notebook's imports, helpers, parameters and names, over all its cells."""
    imports = {imp.bound: imp.qualified for f in facts for imp in f.imports}
    helper_facts = {h.name: (h, f.number) for f in facts for h in f.helpers}
    parameter_literals = parameters_cell_literals(cells, facts)
    parameter_names = {lit.name for lits in parameter_literals.values() for lit in lits}
    data_names = {n for f in facts for n in (*f.defines, *f.mutates)} | parameter_names
    data_names -= set(helper_facts)
    return _Notebook(
        imports=imports,
        helper_facts=helper_facts,
        helper_params=helper_data_params(helper_facts, data_names),
        parameter_literals=parameter_literals,
        parameter_names=parameter_names,
        data_names=data_names,
        imported=set(imports) | set(helper_facts),
        names=set(imports)
        | set(helper_facts)
        | {n for f in facts for n in (*f.defines, *f.names_seen)},
        sections=sections,
        secrets=secrets,
    )


class _Cells(NamedTuple):
    """The cells the pipeline keeps, each in its stage; the plan of every cell;
    the names computed from the clock."""

    work: list[WorkCell]
    plans: dict[int, CellPlan]
    timings: tuple[str, ...]


def _kept_cells(
    cells: list[NormalCell], facts: list[CellFacts], nb: _Notebook
) -> _Cells:
    """Which cells the pipeline keeps and in which stage, and each cell's plan."""
    work, plans = _split_cells(cells, facts, nb)
    link_dependencies(work)
    assign_stages(work, nb.sections)
    keep_unsaveable_in_stage(work)
    timings = clock_names(work)
    for c in work:
        plans[c.facts.number] = _kept_cell_plan(c, nb.sections, timings)
    return _Cells(work, plans, timings)


class _Split(NamedTuple):
    """The cells the pipeline keeps, and the plans of those it leaves out."""

    work: list[WorkCell]
    excluded: dict[int, CellPlan]


def _split_cells(
    cells: list[NormalCell], facts: list[CellFacts], nb: _Notebook
) -> _Split:
    """Which cells the pipeline keeps, each with what it reads and writes (past
    the helpers it calls), and why it leaves out the others."""
    work: list[WorkCell] = []
    excluded: dict[int, CellPlan] = {}
    for normal, f in zip(cells, facts, strict=True):
        c = WorkCell(with_called_signals(f, nb.helper_facts), normal)
        reason = exclusion(normal, f, nb.parameter_literals.get(f.number, ()))
        if reason:
            excluded[f.number] = CellPlan(
                f.number,
                None,
                reason,
                explicit=normal.explicit == SKIP,
                section=nb.sections.get(f.number, ""),
                dropped=_dropped(normal, f),
            )
            continue
        c.reads, c.writes = effective_io(
            f, nb.helper_facts, nb.helper_params, nb.imports
        )
        c.reads -= set(nb.imports)
        c.writes -= set(nb.imports)
        # The parameters cell's values are config, which no stage makes.
        if f.number in nb.parameter_literals:
            c.writes -= nb.parameter_names
        work.append(c)
    return _Split(work, excluded)


def _kept_cell_plan(
    c: WorkCell, sections: dict[int, str], timings: tuple[str, ...]
) -> CellPlan:
    """The plan of a cell the pipeline keeps, once it has its stage."""
    return CellPlan(
        c.facts.number,
        c.stage,
        c.reason,
        explicit=c.explicit,
        section=sections.get(c.facts.number, ""),
        dropped=_dropped(c.normal, c.facts),
        depends_on=tuple(sorted(c.preds)),
        reads_from=tuple(
            (cell, tuple(sorted(names))) for cell, names in sorted(c.flows.items())
        ),
        printed=printed_mode(c),
        timing=any(
            st.clock or set(st.reads) & set(timings) for st in c.facts.statements
        ),
    )


def _members(work: list[WorkCell], stage: str) -> list[WorkCell]:
    """The kept cells of ``stage``, in notebook order."""
    return [c for c in work if c.stage == stage]


def _stage_plans(
    work: list[WorkCell],
    helpers: list[HelperPlan],
    stage_io: StageIO,
    params: list[Param],
    nb: _Notebook,
) -> list[StagePlan]:
    """A plan for each stage that has cells or helpers: its function, inputs,
    config values and outputs (its steps come later)."""
    stages = []
    for stage in STAGES:
        members = _members(work, stage)
        function = stage.command
        # The notebook's own name keeps its meaning inside the stage's module.
        if function in nb.names:
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
                inputs=tuple(i for i in inputs if i not in nb.parameter_names),
                params=used_params(params, numbers, stage)
                + tuple(("parameters", i) for i in inputs if i in nb.parameter_names),
                outputs=outputs,
                helpers=stage_helpers,
            )
        )
    return stages


class _Staged(NamedTuple):
    """Each stage's helpers, config values and plan, and the stage that makes
    each name last (``"config"`` for the parameters)."""

    helpers: list[HelperPlan]
    params: list[Param]
    stages: list[StagePlan]
    producer: dict[str, str]


def _staged(
    work: list[WorkCell],
    nb: _Notebook,
    warnings: list[str],
    existing_paths: frozenset[str],
    notebook_dir: str,
    data_paths: Mapping[str, str],
) -> _Staged:
    """Where the helpers go, what flows between the stages, which literals become
    config values, and a plan for each stage (see :func:`build_plan`)."""
    helpers = place_helpers(work, nb.helper_facts, nb.helper_params, warnings)
    stage_io, producer = stage_inputs_outputs(
        work, nb.parameter_names, nb.helper_params, warnings
    )
    params = lift_params(
        work,
        nb.parameter_literals,
        existing_paths,
        notebook_dir,
        stage_io,
        helpers,
        data_paths,
    )
    stages = _stage_plans(work, helpers, stage_io, params, nb)
    return _Staged(helpers, params, stages, producer)


class _ServingPlan(NamedTuple):
    """The notebook's serving path, or why there is none; and the stages, saving
    what it needs."""

    serving: Serving | None
    reason: str
    stages: list[StagePlan]


def _plan_serving(
    work: list[WorkCell],
    stages: list[StagePlan],
    params: list[Param],
    producer: dict[str, str],
    nb: _Notebook,
) -> _ServingPlan:
    """What predict serves and how, and the stages that save what it needs."""
    serving, reason = serving_path(
        ordered_statements(work, nb.helper_facts, nb.helper_params),
        params,
        producer,
        nb.parameter_names,
        nb.imported,
    )
    if serving is not None:
        serving = _called_by_stage(serving, stages, work)
        stages = _saving_serving_inputs(stages, serving, producer)
    return _ServingPlan(serving, reason, stages)


def _called_by_stage(
    serving: Serving, stages: list[StagePlan], work: list[WorkCell]
) -> Serving:
    """``serving``, no longer called by its stage when its steps bind on the way
    a name that a stage returns."""
    # The stage calls the serving function only when what its steps bind on
    # the way is no stage's output (what they change in place, the caller
    # sees changed).
    returned = {n for sp in stages for n in sp.outputs} - {serving.served}
    steps = set(serving.steps)
    made = {
        n
        for c in work
        for st in c.facts.statements
        if (c.facts.number, st.index) in steps
        for n in st.writes
    }
    if made & returned:
        return replace(serving, called_by_stage=False)
    return serving


def _saving_serving_inputs(
    stages: list[StagePlan], serving: Serving, producer: dict[str, str]
) -> list[StagePlan]:
    """The stages, each also returning what predict needs of what it makes
    last, so that it is saved."""
    needed = [(name, producer[name]) for name in serving.inputs]
    return [
        replace(
            sp,
            outputs=tuple(
                dict.fromkeys((*sp.outputs, *(n for n, st in needed if st == sp.stage)))
            ),
        )
        for sp in stages
    ]


class _Reserved(NamedTuple):
    """The names of the generated code's own parameters and functions, and every
    name a step function must not take."""

    config_argument: str
    figures_argument: str
    figure_saver: str
    taken: set[str]


def _reserved_names(
    notebook_names: set[str], stages: list[StagePlan], params: list[Param]
) -> _Reserved:
    """Names for the config parameter, the figures' folder parameter and the
    function that saves figures that clash with nothing the code uses."""
    config_argument = unique_name("config", notebook_names)
    # A step function is a module-level name: it must not shadow, or be shadowed
    # by, anything the stage's code uses.
    taken = (
        notebook_names
        | {sp.function for sp in stages}
        | {p.key for p in params}
        | set(dir(builtins))
        | {s.command for s in STAGES}
        | {SERVE_FUNCTION, "functools", "os", config_argument}
        | {config_class(s) for s in STAGES}
    )
    # The figures' folder parameter and the function that saves them, likewise.
    figures_argument = unique_name("figures_dir", taken)
    figure_saver = unique_name("save_figures", taken | {figures_argument})
    return _Reserved(
        config_argument,
        figures_argument,
        figure_saver,
        taken | {figures_argument, figure_saver},
    )


def _with_steps(
    stages: list[StagePlan],
    work: list[WorkCell],
    params: list[Param],
    sections: dict[int, str],
    title: str,
    taken: set[str],
) -> list[StagePlan]:
    """The stages with their steps, each saying right after which cell the
    notebook holds each value it returns."""
    stages = [
        replace(
            sp,
            steps=plan_steps(
                sp,
                _members(work, sp.stage),
                params,
                sections,
                title=title,
                taken=taken,
            ),
        )
        for sp in stages
    ]
    return [returned_after(sp, work) for sp in stages]


def _step_names(stages: list[StagePlan]) -> set[str]:
    """The names of the stages' step functions and of what each returns."""
    return {n for sp in stages for step in sp.steps for n in (step.name, step.result)}


class _Factored(NamedTuple):
    """The copies of statements factored into functions, and the serving path
    with its runs of statements the stages share factored too."""

    clones: tuple[ClonePlan, ...]
    serving: Serving | None


def _factored(
    clones: Sequence[Clone],
    work: list[WorkCell],
    stages: list[StagePlan],
    params: list[Param],
    serving: Serving | None,
    nb: _Notebook,
    taken: set[str],
) -> _Factored:
    """Which copies of statements become shared functions, and which runs of
    the serving statements; their names clash with none in ``taken``, nor with
    the steps' functions."""
    taken = taken | {step.name for sp in stages for step in sp.steps}
    factored = plan_clones(
        clones,
        work,
        stages,
        params,
        nb.secrets,
        serving,
        nb.helper_params,
        nb.sections,
        imported=nb.imported,
        taken=taken,
    )
    if serving is None:
        return _Factored(factored, None)
    parts = plan_serving_parts(
        serving,
        ordered_statements(work, nb.helper_facts, nb.helper_params),
        stages,
        params,
        nb.secrets,
        factored,
        not_inputs=nb.imported,
        taken=taken | {c.name for c in factored},
    )
    return _Factored(factored, replace(serving, parts=parts))


def _bundled(
    stages: list[StagePlan],
    work: list[WorkCell],
    helpers: list[HelperPlan],
    drawn: set[int],
    named: set[str],
) -> list[StagePlan]:
    """The stages, the steps of each that run the same code as experiments
    sharing one function, and their inputs one named tuple where they are many."""
    stages = [
        share_experiments(sp, _members(work, sp.stage), helpers, drawn, named)
        for sp in stages
    ]
    return [
        with_inputs_bundle(
            sp,
            drawn,
            unique_name(f"{str(sp.stage).capitalize()}Inputs", named),
        )
        for sp in stages
    ]


def _serving_bundled(
    serving: Serving, stages: list[StagePlan], named: set[str]
) -> Serving:
    """``serving``, its functions taking their many inputs as named tuples whose
    classes clash with no name taken and no stage's own."""
    return serving_with_bundles(
        serving,
        lambda function: unique_name(
            "".join(w.capitalize() for w in function.split("_")) + "Inputs",
            named | {sp.bundle for sp in stages},
        ),
    )


def _dropped(normal: NormalCell, facts: CellFacts) -> tuple[str, ...]:
    """What the pipeline leaves out of a cell, by line: displays, plots, and
    magics and shell commands that only look or set up the session."""
    left = [(d.line, f"{d.text} ({d.kind})") for d in facts.dropped] + [
        (
            m.line,
            f"{m.text} ({'shell, only looks' if m.text.startswith('!') else 'magic'})",
        )
        for m in normal.magics
        if m.action == "dropped"
    ]
    return tuple(f"line {line}: {text}" for line, text in sorted(left))
