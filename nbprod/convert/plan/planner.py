"""The planner: facts of every cell in, a :class:`Plan` out."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import replace

from nbprod.convert.analysis import CellFacts
from nbprod.convert.analysis.clones import Clone
from nbprod.convert.analysis.normalise import SKIP, NormalCell
from nbprod.convert.plan.cells import (
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
from nbprod.convert.plan.model import CellPlan, Plan, StagePlan
from nbprod.convert.plan.names import package_name, unique_name
from nbprod.convert.plan.params import config_class, lift_params, used_params
from nbprod.convert.plan.serving import SERVE_FUNCTION, choose_predictor, serving_path
from nbprod.convert.plan.serving_parts import plan_serving_parts
from nbprod.convert.plan.signatures import serving_with_bundles, with_inputs_bundle
from nbprod.convert.plan.steps import plan_steps
from nbprod.redact import SecretLiteral
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
    imports = {imp.bound: imp.qualified for f in facts for imp in f.imports}
    helper_facts = {h.name: (h, f.number) for f in facts for h in f.helpers}
    warnings: list[str] = []
    pkg = package or package_name(
        notebook_name, {q.split(".")[0] for q in imports.values()}
    )

    parameter_literals = parameters_cell_literals(cells, facts)
    parameter_names = {lit.name for lits in parameter_literals.values() for lit in lits}
    data_names = {n for f in facts for n in (*f.defines, *f.mutates)} | parameter_names
    data_names -= set(helper_facts)

    helper_params = helper_data_params(helper_facts, data_names)

    work: list[WorkCell] = []
    plans: dict[int, CellPlan] = {}
    for normal, f in zip(cells, facts, strict=True):
        c = WorkCell(with_called_signals(f, helper_facts), normal)
        excluded = exclusion(normal, f, parameter_literals.get(f.number, ()))
        if excluded:
            plans[f.number] = CellPlan(
                f.number,
                None,
                excluded,
                explicit=normal.explicit == SKIP,
                section=sections.get(f.number, ""),
                dropped=_dropped(normal, f),
            )
            continue
        c.reads, c.writes = effective_io(f, helper_facts, helper_params, imports)
        c.reads -= set(imports)
        c.writes -= set(imports)
        if f.number in parameter_literals:
            c.writes -= parameter_names
        work.append(c)

    link_dependencies(work)
    assign_stages(work, sections)
    keep_unsaveable_in_stage(work)
    timings = clock_names(work)
    for c in work:
        plans[c.facts.number] = CellPlan(
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

    helpers = place_helpers(work, helper_facts, helper_params, warnings)
    stage_io, producer = stage_inputs_outputs(
        work, parameter_names, helper_params, warnings
    )
    params = lift_params(
        work,
        parameter_literals,
        existing_paths,
        notebook_dir,
        stage_io,
        helpers,
        data_paths or {},
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
                params=used_params(params, numbers, stage)
                + tuple(("parameters", i) for i in inputs if i in parameter_names),
                outputs=outputs,
                helpers=stage_helpers,
            )
        )

    estimators = tuple(dict.fromkeys(e for c in work for e in c.facts.estimators))
    deps = tuple(dict.fromkeys(d for n in cells for d in n.dependencies))
    predictor, predictor_reason = choose_predictor(work, stages)
    imported = set(imports) | set(helper_facts)
    serving, serving_reason = serving_path(
        ordered_statements(work, helper_facts, helper_params),
        params,
        producer,
        parameter_names,
        imported,
    )
    if serving is not None:
        # The stage calls the serving function only when what its steps bind on
        # the way is no stage's output (what they change in place, the caller
        # sees changed).
        returned = {n for sp in stages for n in sp.outputs} - {serving.served}
        made = {
            n
            for c in work
            for st in c.facts.statements
            if (c.facts.number, st.index) in set(serving.steps)
            for n in st.writes
        }
        if made & returned:
            serving = replace(serving, called_by_stage=False)
        # What predict needs is saved by the stage that makes it last.
        needed = [(name, producer[name]) for name in serving.inputs]
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
    taken = taken | {figures_argument, figure_saver}
    stages = [
        replace(
            sp,
            steps=plan_steps(
                sp,
                [c for c in work if c.stage == sp.stage],
                params,
                sections,
                title=title,
                taken=taken,
            ),
        )
        for sp in stages
    ]
    stages = [returned_after(sp, work) for sp in stages]
    returned = {n for sp in stages for n in sp.outputs}
    factored = plan_clones(
        clones,
        work,
        stages,
        params,
        secrets,
        serving,
        helper_params,
        sections,
        imported=imported,
        taken=taken | {step.name for sp in stages for step in sp.steps},
    )
    if serving is not None:
        serving = replace(
            serving,
            parts=plan_serving_parts(
                serving,
                ordered_statements(work, helper_facts, helper_params),
                stages,
                params,
                secrets,
                factored,
                not_inputs=imported,
                taken=taken
                | {step.name for sp in stages for step in sp.steps}
                | {c.name for c in factored},
            ),
        )
    figures = plan_figures(
        work, stages, data_names, drawing_helpers(helper_facts, imports)
    )
    inputs_argument = unique_name("inputs", taken)
    named = (
        taken
        | {inputs_argument}
        | {n for sp in stages for step in sp.steps for n in (step.name, step.result)}
    )
    drawn = {f.cell for f in figures}
    stages = [
        share_experiments(
            sp, [c for c in work if c.stage == sp.stage], helpers, drawn, named
        )
        for sp in stages
    ]
    stages = [
        with_inputs_bundle(
            sp,
            drawn,
            unique_name(f"{str(sp.stage).capitalize()}Inputs", named),
        )
        for sp in stages
    ]
    if serving is not None:
        serving = serving_with_bundles(
            serving,
            lambda function: unique_name(
                "".join(w.capitalize() for w in function.split("_")) + "Inputs",
                named | {sp.bundle for sp in stages},
            ),
        )
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
        raw_inputs=raw_inputs(work),
        timings=timings,
        paths_read=literal_paths(facts, write=False),
        paths_written=literal_paths(facts, write=True),
        unreturned=unreturned(facts, work, returned, set(helper_facts)),
        config_argument=config_argument,
        inputs_argument=inputs_argument,
        clones=factored,
        figures=figures,
        figures_argument=figures_argument,
        figure_saver=figure_saver,
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
