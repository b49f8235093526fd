"""What the templates are rendered with: one frozen value, built from the plan and
the environment in one place (:func:`project_facts`), and handed whole to every
template (``templates/project/``) as its variables.

Lists stay lists where a template prints them (``| python`` shows a list as a
list); what templates only read is typed here once, so a template that names a
fact this module does not make fails in nbprod's tests, not in a user's project.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from nbprod.convert.contract import NOT_INFERRED, Contract
from nbprod.convert.environment import DEV_TOOLS, Environment, dependencies
from nbprod.convert.plan.metrics import MonitoredMetric
from nbprod.convert.plan.names import cells_text
from nbprod.convert.plan.params import config_class
from nbprod.convert.plan.serving import SERVE_FUNCTION
from nbprod.convert.plan.signatures import ANNOTATION, Keyword, stage_keywords
from nbprod.plan import DataFile, Plan, SecretLiteral, StagePlan
from nbprod.stages import STAGES, Stage

ARTIFACTS_DIR = "artifacts"
# Where the figures the notebook draws are saved: the default of config.yaml's
# figures_dir, relative to the project like every path there.
FIGURES_DIR = "reports/figures"
# The plan as a picture (SVG), which the README shows.
PIPELINE_PICTURE = "docs/pipeline.svg"


@dataclass(frozen=True)
class ParamFacts:
    """A lifted config value, as config.py and config.yaml declare it."""

    key: str
    value: Any
    kind: str
    source: str
    annotation: str


@dataclass(frozen=True)
class GroupFacts:
    """A config group that has values: its class and its values, in order."""

    name: str
    class_name: str
    params: list[ParamFacts]


@dataclass(frozen=True)
class StageFacts:
    """What the templates say of one stage: its command, module and function,
    its cells, what it takes and returns, and what its runner passes for each
    keyword parameter (the signature decided in ``plan/signatures``)."""

    command: str
    module: str
    function: str
    title: str
    cells: list[int]
    cells_text: str
    inputs: list[str]
    bundle: str | None  # the named tuple the inputs come in, when they are many
    outputs: list[str]
    keywords: tuple[Keyword, ...]


@dataclass(frozen=True)
class DvcStage:
    """What ``dvc.yaml`` says of one stage."""

    command: str
    deps: list[str]
    params: list[str]
    metrics: bool


@dataclass(frozen=True)
class FirstParam:
    """The first config value, and a value of the wrong kind for it: what the
    generated config test sets it to, to see a wrong value refused."""

    group: str
    key: str
    wrong: str


@dataclass(frozen=True)
class FigureFacts:
    file: str
    cell: int


@dataclass(frozen=True)
class ServingCall:
    """How ``predict`` scores new rows: the serving function and what it reads."""

    module: str
    function: str
    rows: str
    what: str
    inputs: list[str]
    bundle: str | None
    params: list[dict[str, str]]
    # monitor's reference: the rows the model learned from, saved in the form
    # new rows come in (None: read from the input files), and the input files
    # that were scored rather than learned from.
    learned: str | None
    scored_files: list[str]
    # The stage that saves the rows as the notebook predicted on them: the one
    # whose cell made them (None: no stage saves them).
    rows_stage: str | None


@dataclass(frozen=True)
class ServingFacts:
    """What the templates say of ``predict``: how new rows are scored, or why not."""

    serving: ServingCall | None
    serving_reason: str | None
    serving_form: str
    predict_refused: str | None
    rows_form: str
    contract: Contract = NOT_INFERRED


@dataclass(frozen=True)
class ProjectFacts:
    """Every variable of the project templates, typed."""

    package: str
    distribution: str
    notebook_file: str
    nbprod_version: str
    python_minor: str
    ruff_version: str
    black_version: str
    dependencies: list[str]
    dev_dependencies: list[str]
    artifacts_dir: str
    written_paths: list[str]
    groups: list[GroupFacts]
    stages: list[StageFacts]
    pipeline_picture: str
    config_argument: str
    secrets: list[SecretLiteral]
    first_param: FirstParam | None
    notebook_sha256: str
    generated_at: str
    card: Mapping[str, Any]  # validate.card's, made by the command
    predictor: str | None
    predictor_reason: str
    data: tuple[DataFile, ...]
    data_referenced: str | None
    data_keys: dict[str, list[str]]
    data_key_of: dict[str, str]
    dvc_stages: list[DvcStage]
    metrics_stage: str | None  # evaluation writes the metrics; none without it
    timings: list[str]
    figures_dir: str
    figures_argument: str
    figures: list[FigureFacts]
    # The notebook's own metrics ``monitor`` recomputes on new labelled rows
    # (``plan.metrics.MonitoredMetric``'s fields, by name), in notebook order.
    monitored_metrics: list[dict[str, Any]]
    predict: ServingFacts

    def variables(self) -> dict[str, Any]:
        """The templates' variables: each field by name, and ``predict``'s
        (``serving``, ``predict_refused``, ...) among them."""
        found = {f.name: getattr(self, f.name) for f in fields(self)}
        del found["predict"]
        return found | {
            f.name: getattr(self.predict, f.name) for f in fields(self.predict)
        }

    def with_serving(self, predict: ServingFacts) -> ProjectFacts:
        """These facts, with what ``predict`` does decided again (after validation)."""
        return replace(self, predict=predict)


def project_facts(
    plan: Plan,
    *,
    notebook_file: str,
    notebook_sha256: str,
    imports_from: Mapping[str, tuple[str, ...]],
    roots: set[str],
    env: Environment,
    card: Mapping[str, Any],
    monitored: Sequence[MonitoredMetric],
) -> ProjectFacts:
    """What the templates are rendered with: the plan's facts and ``env``'s, and
    the metrics ``monitor`` recomputes (``plan.metrics.monitored_metrics``)."""
    keys = plan.data_keys()  # an input file's path -> its config key
    return ProjectFacts(
        package=plan.package,
        distribution=plan.package.replace("_", "-"),
        notebook_file=notebook_file,
        nbprod_version=env.nbprod,
        python_minor=env.python,
        # Hook revisions: the oldest releases nbprod supports when not installed.
        ruff_version=env.versions.get("ruff", "0.4.0"),
        black_version=env.versions.get("black", "24.1.0"),
        dependencies=dependencies(roots, plan.dependencies, env),
        dev_dependencies=[env.pinned(d) for d in DEV_TOOLS],
        artifacts_dir=ARTIFACTS_DIR,
        written_paths=_written_paths(plan, keys),
        groups=_config_groups(plan),
        stages=[_stage_facts(plan, s) for s in plan.stages],
        pipeline_picture=PIPELINE_PICTURE,
        config_argument=plan.config_argument,
        secrets=list(dict((s.env, s) for s in plan.secrets).values()),
        first_param=_first_param(plan),
        notebook_sha256=notebook_sha256,
        generated_at=env.generated_at,
        card=card,
        predictor=plan.predictor,
        predictor_reason=plan.predictor_reason,
        data=plan.data,
        data_referenced=plan.data_referenced,
        data_keys=_stage_data_keys(plan, keys),
        data_key_of=keys,
        dvc_stages=_dvc_stages(plan, keys, imports_from),
        metrics_stage=(
            Stage.EVALUATION.command if plan.stage(Stage.EVALUATION) else None
        ),
        timings=list(plan.timings),
        figures_dir=FIGURES_DIR,
        figures_argument=plan.figures_argument,
        figures=[FigureFacts(f"{f.name}.png", f.cell) for f in plan.figures],
        monitored_metrics=[asdict(m) for m in monitored],
        predict=serving_facts(plan),
    )


def serving_facts(
    plan: Plan,
    refused: str | None = None,
    rows_form: str = "frame",
    contract: Contract = NOT_INFERRED,
) -> ServingFacts:
    """What the templates say of ``predict``: how new rows are scored, or why not
    (``refused``: validation's reason, when it could not prove it), and the data
    contract new rows are checked against (validation infers it)."""
    serving = plan.serving
    if serving is None:
        return ServingFacts(
            serving=None,
            serving_reason=plan.serving_reason,
            serving_form="the notebook never showed",
            predict_refused=plan.serving_reason,
            rows_form="frame",
            contract=Contract(
                reason=f"predict does not score new rows: {plan.serving_reason}"
            ),
        )
    cell, _ = serving.source
    return ServingFacts(
        serving=ServingCall(
            module=serving.stage.module,
            function=SERVE_FUNCTION,
            rows=serving.rows,
            what=serving.what,
            inputs=list(serving.inputs),
            bundle=serving.bundle,
            params=[{"group": g, "key": k} for g, k in serving.params],
            learned=(
                serving.learned
                if any(serving.learned in s.outputs for s in plan.stages)
                else None
            ),
            scored_files=list(plan.scored_keys()),
            rows_stage=next(
                (
                    s.stage.command
                    for s in plan.stages
                    if cell in s.cells and serving.rows in s.outputs
                ),
                None,
            ),
        ),
        serving_reason=plan.serving_reason,
        serving_form=f"of ``{serving.rows}`` right after notebook cell {cell} made it",
        predict_refused=refused,
        rows_form=rows_form,
        contract=contract,
    )


def _config_groups(plan: Plan) -> list[GroupFacts]:
    groups = []
    for group in ("parameters", *STAGES):
        params = [p for p in plan.params if p.group == group]
        if params:
            groups.append(
                GroupFacts(
                    name=group,
                    class_name=config_class(group),
                    params=[
                        ParamFacts(
                            key=p.key,
                            value=p.value,
                            kind=p.kind,
                            source=p.source,
                            annotation=ANNOTATION[p.kind],
                        )
                        for p in params
                    ],
                )
            )
    return groups


def _stage_facts(plan: Plan, s: StagePlan) -> StageFacts:
    return StageFacts(
        command=s.stage.command,
        module=s.stage.module,
        function=s.function,
        title=s.stage.capitalize(),
        cells=list(s.cells),
        cells_text=cells_text(s.cells) if s.cells else "helpers only",
        inputs=list(s.inputs),
        bundle=s.bundle,
        outputs=list(s.outputs),
        keywords=stage_keywords(plan, s),
    )


def _first_param(plan: Plan) -> FirstParam | None:
    first = plan.params[0] if plan.params else None
    if first is None:
        return None
    wrong = "12345" if first.kind in {"str", "path"} else repr("not a " + first.kind)
    return FirstParam(first.group, first.key, wrong)


def _written_paths(plan: Plan, keys: Mapping[str, str]) -> list[str]:
    """The paths inside the project the pipeline writes to, each by its top folder
    (``data/``) or file: what the generated .gitignore leaves out."""
    # What the pipeline writes inside the project; the input files copied into it
    # are the project's own, kept in its repository.
    inputs = set(keys.values())
    return sorted(
        {
            str(p.value).split("/", 1)[0] + ("/" if "/" in str(p.value) else "")
            for p in plan.params
            if p.kind == "path"
            and not str(p.value).startswith((".", "/"))
            and f"{p.group}.{p.key}" not in inputs
        }
    )


def _dvc_stages(
    plan: Plan, keys: Mapping[str, str], imports_from: Mapping[str, tuple[str, ...]]
) -> list[DvcStage]:
    """What ``dvc.yaml`` says of each stage: what it depends on (its module and
    the modules it imports from the package, its input files inside the project,
    the folders of the stages whose outputs it loads) and the config sections it
    reads. Evaluation writes the metrics."""
    package_dir = posixpath.join("src", plan.package)
    loads_from = plan.loads_from()
    out = []
    for s in plan.stages:
        code = [s.stage.module, *imports_from[s.stage.module]]
        read = {f"{g}.{k}" for g, k in s.params}
        data = [
            d.path
            for d in plan.data
            if keys.get(d.path) in read and not d.path.startswith("..")
        ]
        out.append(
            DvcStage(
                command=s.stage.command,
                deps=[
                    *(posixpath.join(package_dir, f"{m}.py") for m in code),
                    *data,
                    *(f"{ARTIFACTS_DIR}/{u.command}" for u in loads_from[s.stage]),
                ],
                params=list(dict.fromkeys(g for g, _ in s.params)),
                metrics=s.stage == Stage.EVALUATION,
            )
        )
    return out


def _stage_data_keys(plan: Plan, keys: Mapping[str, str]) -> dict[str, list[str]]:
    """Per stage command, the config keys of the input files it reads."""
    inputs = set(keys.values())
    return {
        s.stage.command: [f"{g}.{k}" for g, k in s.params if f"{g}.{k}" in inputs]
        for s in plan.stages
        if any(f"{g}.{k}" in inputs for g, k in s.params)
    }
