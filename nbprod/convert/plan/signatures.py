"""How wide the stage and step functions are, and which take their stage's inputs
as one value, so that no generated function takes more than :data:`WIDEST`
parameters.

Course notebooks hand many values from cell to cell: a stage that reads thirteen
of them would take thirteen parameters. Such a stage takes them as one named
tuple (``inputs: EvaluationInputs``), built by its runner, as it takes its config
section as one typed value; a step that reads several of them takes that value
whole, as a step takes another config group whole ("preserve whole object").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

from nbprod.convert.plan.params import config_class
from nbprod.convert.plan.serving import SERVE_FUNCTION
from nbprod.plan import Plan, Serving, StagePlan, StepPlan

# The most parameters a generated stage or step function takes.
WIDEST = 7


def whole_groups(section: str, keys: tuple[tuple[str, str], ...]) -> set[str]:
    """The other config groups a step takes whole (``parameters_config``): those
    it reads several values of; one value it takes by its key."""
    count: dict[str, int] = {}
    for group, _ in keys:
        if group != section:
            count[group] = count.get(group, 0) + 1
    return {group for group, n in count.items() if n > 1}


# The Python type of a lifted config value of each kind, as a parameter declares it.
ANNOTATION = {
    "int": "int",
    "float": "float",
    "str": "str",
    "bool": "bool",
    "path": "str",
    "list": "list",
    "tuple": "tuple",
    "dict": "dict",
}


@dataclass(frozen=True)
class Keyword:
    """A keyword parameter of a stage's entry function, and what its runner in
    ``pipeline.py`` passes for it."""

    name: str  # ``config``, ``parameters_config``, ``seed``, ``figures_dir``
    annotation: str | None  # ``TrainingConfig``, ``int``; None: not known
    value: str  # an expression of the runner's ``config``: ``config.training``


def group_argument(group: str) -> str:
    """The parameter through which a stage that calls steps gets another config
    group whole (``parameters_config``): it hands the values on to its steps."""
    return f"{group}_config"


def function_keywords(
    section: str,
    keys: tuple[tuple[str, str], ...],
    *,
    config_argument: str,
    figures_argument: str,
    kinds: Mapping[tuple[str, str], str],
    draws: bool,
    whole: Sequence[str] = (),
) -> tuple[Keyword, ...]:
    """The keyword parameters of a generated function that reads the config
    ``keys``, in order: its stage's ``section`` as one typed value, each group of
    ``whole`` as one, each other value by its key (typed by ``kinds``, the lifted
    values' kinds), and the figures' folder when it ``draws``. The one place the
    keywords of stage, step and serving functions are decided."""
    found = []
    if any(g == section for g, _ in keys):
        found.append(
            Keyword(config_argument, config_class(section), f"config.{section}")
        )
    found += [Keyword(group_argument(g), config_class(g), f"config.{g}") for g in whole]
    found += [
        Keyword(
            k,
            ANNOTATION[kinds[(g, k)]] if (g, k) in kinds else None,
            f"config.{g}.{k}",
        )
        for g, k in keys
        if g != section and g not in whole
    ]
    if draws:
        found.append(Keyword(figures_argument, "str", "config.figures_dir"))
    return tuple(found)


def entry_keywords(
    stage: StagePlan,
    *,
    config_argument: str,
    figures_argument: str,
    kinds: Mapping[tuple[str, str], str],
    draws: bool,
) -> tuple[Keyword, ...]:
    """The keyword parameters of ``stage``'s entry function: as
    :func:`function_keywords`, with every other group it reads whole when it
    calls steps (they hand the values on). Its runner in ``pipeline.py`` passes
    each ``Keyword.value``."""
    section = str(stage.stage)
    groups = dict.fromkeys(g for g, _ in stage.params if g != section)
    return function_keywords(
        section,
        stage.params,
        config_argument=config_argument,
        figures_argument=figures_argument,
        kinds=kinds,
        draws=draws,
        whole=tuple(groups) if stage.steps else (),
    )


def stage_keywords(plan: Plan, stage: StagePlan) -> tuple[Keyword, ...]:
    """:func:`entry_keywords` of one of ``plan``'s stages."""
    return entry_keywords(
        stage,
        config_argument=plan.config_argument,
        figures_argument=plan.figures_argument,
        kinds={(p.group, p.key): p.kind for p in plan.params},
        draws=any(f.cell in stage.cells for f in plan.figures),
    )


def step_keyword_count(
    stage: StagePlan, step: StepPlan, drawn: AbstractSet[int]
) -> int:
    """How many keyword parameters a step function takes (``drawn``: the cells
    that draw figures)."""
    section, keys = str(stage.stage), step_keys(stage, step)
    return len(
        function_keywords(
            section,
            keys,
            config_argument="",
            figures_argument="",
            kinds={},
            draws=bool(drawn & set(step.cells)),
            whole=sorted(whole_groups(section, keys)),
        )
    )


def stage_keyword_count(stage: StagePlan, *, draws: bool) -> int:
    """How many keyword parameters ``stage``'s entry function takes."""
    return len(
        entry_keywords(
            stage, config_argument="", figures_argument="", kinds={}, draws=draws
        )
    )


def step_keys(stage: StagePlan, step: StepPlan) -> tuple[tuple[str, str], ...]:
    """The (group, key) pairs of config a step reads."""
    group_of = {key: group for group, key in stage.params}
    return tuple((group_of[k], k) for k in step.params)


def with_inputs_bundle(
    stage: StagePlan, drawn: AbstractSet[int], bundle: str
) -> StagePlan:
    """``stage``, taking its inputs as the named tuple ``bundle`` when its entry
    function, or a step that reads several of them, would otherwise take more than
    :data:`WIDEST` parameters; ``drawn`` are the cells that draw figures."""
    bound: set[str] = set()
    steps = []
    for step in stage.steps:
        width = len(step.inputs) + step_keyword_count(stage, step, drawn)
        # Values a step before it bound again are not the stage's inputs any more.
        fresh = tuple(n for n in step.inputs if n in stage.inputs and n not in bound)
        # A step that shares its function with others is as wide as it was made.
        wide = width > WIDEST and len(fresh) > 1 and step.shared is None
        steps.append(replace(step, bundled=fresh) if wide else step)
        bound.update(step.outputs)
    width = len(stage.inputs) + stage_keyword_count(
        stage, draws=bool(drawn & set(stage.cells))
    )
    if (width <= WIDEST and not any(step.bundled for step in steps)) or not _fields(
        stage.inputs
    ):
        return stage
    return replace(stage, steps=tuple(steps), bundle=bundle)


def serving_with_bundles(serving: Serving, bundle: Callable[[str], str]) -> Serving:
    """``serving``, its function taking the saved state, and each shared part
    its inputs, as one named tuple (``bundle(function)`` names its class) where
    they would otherwise take more than :data:`WIDEST` parameters."""
    parts = tuple(
        (
            replace(part, bundle=bundle(part.name))
            if len(part.inputs) > WIDEST and _fields(part.inputs)
            else part
        )
        for part in serving.parts
    )
    wide = 1 + len(serving.inputs) + len(serving.params) > WIDEST
    return replace(
        serving,
        parts=parts,
        bundle=bundle(SERVE_FUNCTION) if wide and _fields(serving.inputs) else "",
    )


def _fields(names: tuple[str, ...]) -> bool:
    """Whether ``names`` can be a named tuple's fields: none starts with "_"."""
    return not any(n.startswith("_") for n in names)
