"""The convert pipeline: load -> normalise -> analyse -> plan -> generate -> render ->
format -> write. I/O happens here (:func:`convert`, which also gathers the
environment once) and in ``notebook``/``write``; the steps between are pure: the
installed versions, the date and the notebook's hash come in as values."""

from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from nbprod.convert.analysis import (
    CellFacts,
    ParsedCell,
    analyse_notebook,
    collect_imports,
)
from nbprod.convert.analysis.clones import find_clones
from nbprod.convert.analysis.normalise import normalise_cell
from nbprod.convert.data import DEFAULT_LIMIT, DataMode, input_data
from nbprod.convert.environment import DEV_TOOLS, Environment, dependencies, gather
from nbprod.convert.format import format_sources
from nbprod.convert.generate import generate_modules
from nbprod.convert.picture import svg
from nbprod.convert.plan import Plan, StagePlan, build_plan
from nbprod.convert.plan.params import config_class, written_paths
from nbprod.convert.plan.serving import SERVE_FUNCTION
from nbprod.convert.plan.signatures import stage_keywords
from nbprod.convert.render import copied_files, render, render_project
from nbprod.convert.write import check_target, scratch_copy, write_tree
from nbprod.errors import CellError, NotebookError
from nbprod.export import Orchestrator
from nbprod.export.files import orchestration_files
from nbprod.globs import split_pattern
from nbprod.notebook import Notebook, read_notebook
from nbprod.redact import SecretLiteral, contains, find_secret_literals, redact
from nbprod.stages import STAGES, Stage
from nbprod.validate.card import card_facts
from nbprod.validate.characterize import characterization_files, dump_value
from nbprod.validate.compare import Verdict
from nbprod.validate.execute import DEFAULT_TIMEOUT
from nbprod.validate.progress import Progress
from nbprod.validate.proof import (
    REPORT_SCHEMA,
    ROWS,
    Validation,
    load_values,
    named,
    project_classes,
    refuse_predict,
    validate_project,
)

ARTIFACTS_DIR = "artifacts"
# Where the figures the notebook draws are saved: the default of config.yaml's
# figures_dir, relative to the project like every path there.
FIGURES_DIR = "reports/figures"
# The plan as a picture (SVG), which the README shows.
PIPELINE_PICTURE = "docs/pipeline.svg"
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_TITLE = re.compile(r"^\s{0,3}#\s")


@dataclass(frozen=True)
class Analysis:
    """Everything known about a notebook before any file is written."""

    notebook: Notebook
    plan: Plan
    facts: list[CellFacts]
    parsed: list[ParsedCell]
    # Environment variable -> the secret the notebook's code held: kept in memory
    # to run the pipeline during validation, never written.
    secret_values: dict[str, str] = field(default_factory=dict, repr=False)
    # The input files copied into the project, by their path in it.
    data: dict[str, bytes] = field(default_factory=dict, repr=False)


def sections(nb: Notebook) -> dict[int, str]:
    """The last markdown heading above each code cell."""
    current = ""
    found: dict[int, str] = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            headings = _HEADING.findall(cell.source)
            if headings:
                current = headings[-1].strip()
        elif cell.cell_type == "code":
            found[cell.number] = current
    return found


def title(nb: Notebook) -> str:
    """The notebook's title: its first heading, when that is a level-1 heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = _HEADING.search(cell.source)
            if match:
                return match.group(1).strip() if _TITLE.match(match.group(0)) else ""
    return ""


@contextmanager
def _naming_the_notebook(nb: Notebook) -> Iterator[None]:
    """Cell errors know the cell; the message also names the notebook."""
    try:
        yield
    except CellError as exc:
        exc.where = f"{nb.path}: {exc.where}" if exc.where else nb.path
        raise


def analyse(
    nb: Notebook,
    project_dir: Path | None = None,
    package: str | None = None,
    *,
    data: DataMode = "copy",
    data_limit: int = DEFAULT_LIMIT,
) -> Analysis:
    """Normalise, analyse and plan ``nb`` as if converted into ``project_dir``,
    its input files copied into the project or referenced (``data``, see
    :mod:`nbprod.convert.data`)."""
    with _naming_the_notebook(nb):
        cells = [normalise_cell(c) for c in nb.code_cells]
        # What CPython skips as whitespace: a cell of U+00A0 or U+000B is a syntax error.
        if not any(c.code.strip(" \t\n\r\f") for c in cells):
            raise NotebookError(
                "nothing to convert: the notebook has no code", where=nb.path
            )
        facts, parsed = analyse_notebook(cells)
        secrets, secret_values = find_secret_literals(parsed)
    nb_dir = Path(nb.path).resolve().parent
    literals = {
        lit.value
        for f in facts
        for lit in f.literals
        if (lit.kind == "path" or lit.direction == "path")
        and isinstance(lit.value, str)
    }
    existing = frozenset(
        v for v in literals if not os.path.isabs(v) and (nb_dir / v).exists()
    )
    rel = (
        "."
        if project_dir is None
        else Path(os.path.relpath(nb_dir, project_dir.resolve())).as_posix()
    )
    written = written_paths(facts)
    inputs = input_data(
        nb_dir,
        (
            lit.value
            for f in facts
            for lit in f.literals
            if lit.direction == "read"
            and not lit.glob
            and isinstance(lit.value, str)
            and lit.value in existing
            and posixpath.normpath(lit.value) not in written
        ),
        patterns=_patterns_read(facts, written),
        mode=data,
        limit=data_limit,
        relative_dir=rel,
    )
    if secrets:
        facts = _without_secret_literals(facts, secrets, secret_values)
    with _naming_the_notebook(nb):
        plan = build_plan(
            nb.name,
            cells,
            facts,
            sections(nb),
            existing_paths=existing,
            notebook_dir=rel,
            data_paths=inputs.targets,
            package=package,
            title=title(nb),
            clones=find_clones(parsed, facts),
            secrets=secrets,
        )
    if not plan.stages:
        raise NotebookError(
            "nothing to convert: no code cell computes anything "
            "(only imports, displays, plots and magics)",
            where=nb.path,
        )
    plan = replace(
        plan, secrets=secrets, data=inputs.files, data_referenced=inputs.referenced
    )
    return Analysis(nb, plan, facts, parsed, secret_values, inputs.contents)


def _patterns_read(facts: list[CellFacts], written: set[str]) -> list[tuple[str, str]]:
    """(path, pattern) of each glob the notebook finds input files by. Not where
    it also writes in the folder the pattern matches in: there the pipeline must
    find the files it writes itself, not copies of an earlier run's."""
    found = []
    for f in facts:
        for lit in f.literals:
            if not lit.glob or not isinstance(lit.value, str):
                continue
            folder = split_pattern(lit.glob)[0]
            if os.path.isabs(folder) or any(
                _nested(folder, posixpath.normpath(w)) for w in written
            ):
                continue
            found.append((lit.value, lit.glob))
    return found


def _nested(a: str, b: str) -> bool:
    # "." is the notebook's folder: everything it writes is in it.
    return "." in (a, b) or a == b or a.startswith(f"{b}/") or b.startswith(f"{a}/")


def _without_secret_literals(
    facts: list[CellFacts],
    secrets: tuple[SecretLiteral, ...],
    values: dict[str, str],
) -> list[CellFacts]:
    """Facts whose literals holding a secret (alone or inside a container) are not
    candidates for config.yaml: they move to environment variables instead."""
    at = {(s.cell, s.line, s.column) for s in secrets}
    return [
        replace(
            f,
            literals=tuple(
                lit
                for lit in f.literals
                if (f.number, lit.line, lit.column) not in at
                and not contains(repr(lit.value), values)
            ),
        )
        for f in facts
    ]


def _render_facts(
    a: Analysis, modules: dict[str, str], roots: set[str], env: Environment
) -> dict[str, Any]:
    """What the templates are rendered with: the plan's facts and ``env``'s."""
    plan = a.plan
    groups = _config_groups(plan)
    stages = [_stage_facts(plan, s) for s in plan.stages]
    first_param = _first_param(plan)
    written = _written_paths(plan)
    return {
        "package": plan.package,
        "distribution": plan.package.replace("_", "-"),
        "notebook_file": Path(a.notebook.path).name,
        "nbprod_version": env.nbprod,
        "python_minor": env.python,
        # Hook revisions: the oldest releases nbprod supports when not installed.
        "ruff_version": env.versions.get("ruff", "0.4.0"),
        "black_version": env.versions.get("black", "24.1.0"),
        "dependencies": dependencies(roots, plan.dependencies, env),
        "dev_dependencies": [env.pinned(d) for d in DEV_TOOLS],
        "artifacts_dir": ARTIFACTS_DIR,
        "written_paths": written,
        "groups": groups,
        "stages": stages,
        "pipeline_picture": PIPELINE_PICTURE,
        "config_argument": plan.config_argument,
        "secrets": [
            {"env": s.env, "cell": s.cell, "line": s.line, "kind": s.kind}
            for s in dict((s.env, s) for s in plan.secrets).values()
        ],
        "first_param": first_param,
        "notebook_sha256": a.notebook.sha256,
        "generated_at": env.generated_at,
        "card": card_facts(plan),
        "predictor": plan.predictor,
        "predictor_reason": plan.predictor_reason,
        "data": [asdict(d) for d in plan.data],
        "data_referenced": plan.data_referenced,
        "data_keys": stage_data_keys(plan),
        "data_key_of": plan.data_keys(),
        "dvc_stages": dvc_stages(plan, modules),
        # Evaluation writes the metrics; a pipeline without it writes none.
        "metrics_stage": (
            Stage.EVALUATION.command if plan.stage(Stage.EVALUATION) else None
        ),
        "timings": list(plan.timings),
        "figures_dir": FIGURES_DIR,
        "figures_argument": plan.figures_argument,
        "figures": [{"file": f"{f.name}.png", "cell": f.cell} for f in plan.figures],
        **serving_facts(plan),
    }


def _config_groups(plan: Plan) -> list[dict[str, Any]]:
    """What config.py and config.yaml say of each config group that has values:
    its class and its values, in the order of the groups."""
    groups = []
    for group in ("parameters", *STAGES):
        params = [p for p in plan.params if p.group == group]
        if params:
            groups.append(
                {
                    "name": group,
                    "class_name": config_class(group),
                    "params": [
                        {
                            "key": p.key,
                            "value": p.value,
                            "kind": p.kind,
                            "source": p.source,
                            "annotation": {"path": "str"}.get(p.kind, p.kind),
                        }
                        for p in params
                    ],
                }
            )
    return groups


def _stage_facts(plan: Plan, s: StagePlan) -> dict[str, Any]:
    """What the templates say of stage ``s``: its command, module and function,
    its cells, what it takes and returns, and the config it reads."""
    return {
        "command": s.stage.command,
        "module": s.stage.module,
        "function": s.function,
        "title": s.stage.capitalize(),
        "cells": list(s.cells),
        "cells_text": (
            ("cell " if len(s.cells) == 1 else "cells ") + ", ".join(map(str, s.cells))
            if s.cells
            else "helpers only"
        ),
        "inputs": list(s.inputs),
        # the named tuple the inputs come in, when they are many
        "bundle": s.bundle,
        "outputs": list(s.outputs),
        # what its runner passes for each keyword parameter (the config)
        "keywords": [
            {"name": k.name, "value": k.value} for k in stage_keywords(plan, s)
        ],
    }


def _first_param(plan: Plan) -> dict[str, str] | None:
    """The first config value, and a value of the wrong kind for it: what the
    generated config test sets it to, to see a wrong value refused."""
    first = plan.params[0] if plan.params else None
    if first is None:
        return None
    wrong = "12345" if first.kind in {"str", "path"} else repr("not a " + first.kind)
    return {"group": first.group, "key": first.key, "wrong": wrong}


def _written_paths(plan: Plan) -> list[str]:
    """The paths inside the project the pipeline writes to, each by its top folder
    (``data/``) or file: what the generated .gitignore leaves out."""
    # What the pipeline writes inside the project; the input files copied into it
    # are the project's own, kept in its repository.
    inputs = set(plan.data_keys().values())
    return sorted(
        {
            str(p.value).split("/", 1)[0] + ("/" if "/" in str(p.value) else "")
            for p in plan.params
            if p.kind == "path"
            and not str(p.value).startswith((".", "/"))
            and f"{p.group}.{p.key}" not in inputs
        }
    )


def dvc_stages(plan: Plan, modules: dict[str, str]) -> list[dict[str, Any]]:
    """What ``dvc.yaml`` says of each stage: what it depends on (its module and
    the modules it imports from the package, its input files inside the project,
    the folders of the stages whose outputs it loads) and the config sections it
    reads. Evaluation writes the metrics."""
    package_dir = posixpath.join("src", plan.package)
    keys = plan.data_keys()
    loads_from = plan.loads_from()
    out = []
    for s in plan.stages:
        imported = re.findall(r"^from \.(\w+) import", modules[s.stage.module], re.M)
        code = [s.stage.module, *sorted(set(imported) - {s.stage.module, "config"})]
        read = {f"{g}.{k}" for g, k in s.params}
        data = [
            d.path
            for d in plan.data
            if keys.get(d.path) in read and not d.path.startswith("..")
        ]
        out.append(
            {
                "command": s.stage.command,
                "deps": [
                    *(posixpath.join(package_dir, f"{m}.py") for m in code),
                    *data,
                    *(f"{ARTIFACTS_DIR}/{u.command}" for u in loads_from[s.stage]),
                ],
                "params": list(dict.fromkeys(g for g, _ in s.params)),
                "metrics": s.stage == Stage.EVALUATION,
            }
        )
    return out


def stage_data_keys(plan: Plan) -> dict[str, list[str]]:
    """Per stage command, the config keys of the input files it reads."""
    keys = set(plan.data_keys().values())
    return {
        s.stage.command: [f"{g}.{k}" for g, k in s.params if f"{g}.{k}" in keys]
        for s in plan.stages
        if any(f"{g}.{k}" in keys for g, k in s.params)
    }


def serving_facts(
    plan: Plan, refused: str | None = None, rows_form: str = "frame"
) -> dict[str, Any]:
    """What the templates say of ``predict``: how new rows are scored, or why not."""
    serving = plan.serving
    if serving is None:
        return {
            "serving": None,
            "serving_reason": plan.serving_reason,
            "serving_form": "the notebook never showed",
            "predict_refused": plan.serving_reason,
            "rows_form": "frame",
        }
    cell, _ = serving.source
    return {
        "serving": {
            "module": serving.stage.module,
            "function": SERVE_FUNCTION,
            "rows": serving.rows,
            "what": serving.what,
            "inputs": list(serving.inputs),
            "bundle": serving.bundle,
            "params": [{"group": g, "key": k} for g, k in serving.params],
        },
        "serving_reason": plan.serving_reason,
        "serving_form": f"of ``{serving.rows}`` right after notebook cell {cell} made it",
        "predict_refused": refused,
        "rows_form": rows_form,
    }


def report(a: Analysis, validation: dict[str, Any] | None, env: Environment) -> str:
    """``nbprod-report.json``: where every cell went and why."""
    data = {
        "schema": REPORT_SCHEMA,
        "nbprod_version": env.nbprod,
        "notebook": Path(a.notebook.path).name,
        "notebook_sha256": a.notebook.sha256,
        "plan": a.plan.to_dict(),
        "validation": validation,
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def import_roots(a: Analysis) -> set[str]:
    """The top-level modules the notebook imports: what its environment is gathered for
    (the generated modules import some of them)."""
    return {
        imp.qualified.split(".")[0]
        for imp in collect_imports(a.parsed)
        if not imp.qualified.startswith(".")
    }


def build_files(
    a: Analysis, validation: dict[str, Any] | None, env: Environment
) -> tuple[dict[str, str], dict[str, Any]]:
    """Every file of the generated project, formatted, keyed by relative path; and
    the facts the templates were rendered with. ``env`` must cover
    :func:`import_roots`."""
    imports = collect_imports(a.parsed)
    modules, roots = generate_modules(a.plan, a.parsed, a.facts, imports)
    facts = _render_facts(a, modules, roots, env)
    files = render_project(facts)
    pkg = a.plan.package
    for name, source in modules.items():
        files[posixpath.join("src", pkg, f"{name}.py")] = source
    files = format_sources(files)
    # Already formatted, and shipped byte for byte as nbprod's tests check them.
    files.update(copied_files(pkg))
    # The README shows it as an image: drawn wherever the README is read, offline
    # too, where a Mermaid block needs a renderer that has the Mermaid library.
    files[PIPELINE_PICTURE] = svg(a.plan)
    files["nbprod-report.json"] = report(a, validation, env)
    # The code reads secrets from the environment; nothing else may hold them.
    files = {k: redact(v, a.secret_values) for k, v in files.items()}
    return files, facts


NOT_VALIDATED = {"status": "not run", "reason": "converted with --no-validate"}


def convert(
    notebook: Path,
    output: Path,
    *,
    package: str | None = None,
    force: bool = False,
    validate: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    extra_files: dict[str, str] | None = None,
    environment: Environment | None = None,
    data: DataMode = "copy",
    data_limit: int = DEFAULT_LIMIT,
    orchestrators: Sequence[Orchestrator] = (),
    progress: Progress | None = None,
) -> tuple[Analysis, Validation | None]:
    """Convert ``notebook`` into a project at ``output``; the notebook is only read.

    With ``validate``, the project is first run and compared with the notebook in a
    scratch copy; the result and characterization tests go into what is written.
    ``environment``: the versions and date to generate with (default: this
    machine's, gathered once here). ``progress`` shows validation running.
    """
    nb = read_notebook(notebook)
    check_target(output, force=force, inputs=[notebook])
    a = analyse(nb, output, package, data=data, data_limit=data_limit)
    env = environment if environment is not None else gather(import_roots(a))
    built, facts = build_files(a, NOT_VALIDATED, env)
    extra_files = {
        **orchestration_files(a.plan, orchestrators, env.python),
        **(extra_files or {}),
    }
    files: dict[str, str | bytes] = {**a.data, **built, **extra_files}
    validation = None
    if validate:
        validation = _validate(
            a, notebook, output, files, facts, env, timeout, progress
        )
        restructured = a.plan.clones or any(s.steps for s in a.plan.stages)
        if validation.blames_the_code and restructured:
            # Never wrong to look nicer: steps and shared functions are
            # restructurings; the code as the notebook ran it, one function per
            # stage, may be proven where they are not. What is written is always
            # what was validated.
            plain = replace(
                a,
                plan=replace(
                    a.plan,
                    stages=tuple(replace(s, steps=()) for s in a.plan.stages),
                    clones=(),
                    steps_reverted=(
                        f"with {_restructurings(a.plan)}, "
                        f"{_what_failed(validation)}; generated as one function "
                        "per stage and validated again"
                    ),
                ),
            )
            built, plain_facts = build_files(plain, NOT_VALIDATED, env)
            plain_files: dict[str, str | bytes] = {
                **a.data,
                **built,
                **orchestration_files(plain.plan, orchestrators, env.python),
                **(extra_files or {}),
            }
            again = _validate(
                plain,
                notebook,
                output,
                plain_files,
                plain_facts,
                env,
                timeout,
                progress,
            )
            if not again.blames_the_code:
                a, files, validation = plain, plain_files, again
    write_tree(output, files)
    return a, validation


def _restructurings(plan: Plan) -> str:
    done = [
        *(["step functions"] if any(s.steps for s in plan.stages) else []),
        *(["shared functions"] if plan.clones else []),
    ]
    return " and ".join(done)


def _what_failed(validation: Validation) -> str:
    """What went wrong, in words that name no temporary folder: the report must
    be the same on every run."""
    if validation.pipeline_failed:
        return "the generated pipeline failed: " + validation.error.rsplit(": ", 1)[-1]
    different = [
        c.name
        for c in (*validation.comparisons, *validation.outputs)
        if c.status == Verdict.DIFFERENT
    ]
    if not different:
        return validation.reason
    more = f" and {len(different) - 3} more" if len(different) > 3 else ""
    return f"{', '.join(different[:3])}{more} differed from the notebook"


def _validate(
    a: Analysis,
    notebook: Path,
    output: Path,
    files: dict[str, str | bytes],
    facts: dict[str, Any],
    env: Environment,
    timeout: float,
    progress: Progress | None,
) -> Validation:
    """Run the project ``files`` make beside ``notebook`` in a scratch copy and
    compare; the report, model card and characterization tests in ``files``
    become what the run found."""
    scratch = scratch_copy(output, files)
    try:
        with tempfile.TemporaryDirectory(prefix="nbprod-values-") as values:
            validation = validate_project(
                notebook,
                scratch,
                timeout=timeout,
                keep_values=Path(values),
                unseeded=lambda: unseeded_calls(a),
                environment=a.secret_values,
                exclude=(output,),
                progress=progress,
            )
            validation = _settle_predict(a, validation, Path(values), facts, files)
            files["nbprod-report.json"] = redact(
                report(a, validation.to_dict(), env), a.secret_values
            )
            # The notebook's own classes resolve to the project's while its
            # values are loaded, and pickled again as fixtures.
            with project_classes(scratch, a.plan):
                # Each name where its first version stands: the order in which
                # a model's summary looks for rows it predicts on.
                names = list(
                    dict.fromkeys(named(c.name) for c in validation.comparisons)
                )
                captured = load_values(Path(values), names)
                card = card_facts(a.plan, validation.comparisons, captured)
                files["MODEL_CARD.md"] = redact(
                    render("project/MODEL_CARD.md.j2", {**facts, "card": card}),
                    a.secret_values,
                )
                # Characterization tests of values that change from run to
                # run would fail at random: none then, and the report says why.
                if validation.passed and not validation.unseeded:
                    files.update(
                        characterization_files(
                            {
                                n: v
                                for n, v in captured.items()
                                if not contains(dump_value(v), a.secret_values)
                            },
                            validation.comparisons,
                            a.plan.package,
                        )
                    )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return validation


def _settle_predict(
    a: Analysis,
    validation: Validation,
    values: Path,
    facts: dict[str, Any],
    files: dict[str, str | bytes],
) -> Validation:
    """The generated ``predict`` as validation found it: it refuses to score new
    rows when it did not reproduce the notebook's predictions, and turns a file of
    rows into the form the notebook predicted on (an array, one column). Rewrites
    pipeline.py in ``files``."""
    check = validation.predict
    if a.plan.serving is None or check is None:
        return validation
    refused = None
    if not check.proven:
        refused = (
            f"validation ran it on the notebook's own rows: {check.detail}"
            if check.status != Verdict.NOT_COMPARABLE
            else f"validation could not check it: {check.detail}"
        )
        validation = refuse_predict(validation, a.plan)
    rows = load_values(values, [ROWS]).get(ROWS)
    form = {"ndarray": "array", "Series": "series"}.get(type(rows).__name__, "frame")
    if refused is None and form == "frame":
        return validation
    path = posixpath.join("src", a.plan.package, "pipeline.py")
    text = render(
        "project/src/pipeline.py.j2", {**facts, **serving_facts(a.plan, refused, form)}
    )
    formatted = format_sources(
        {path: text, "pyproject.toml": str(files["pyproject.toml"])}
    )
    files[path] = redact(formatted[path], a.secret_values)
    return validation


def unseeded_calls(a: Analysis) -> tuple[str, ...]:
    """Random draws without a seed, named by cell and line."""
    return tuple(f"cell {f.number}, {u}" for f in a.facts for u in f.unseeded)
