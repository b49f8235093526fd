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
from dataclasses import dataclass, field, replace
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
from nbprod.convert.contract import (
    Contract,
    filled_columns,
    infer_contract,
    unseen_handled,
)
from nbprod.convert.data import DEFAULT_LIMIT, DataMode, input_data
from nbprod.convert.environment import Environment, gather
from nbprod.convert.format import format_sources
from nbprod.convert.generate import generate_modules
from nbprod.convert.picture import svg
from nbprod.convert.plan import build_plan
from nbprod.convert.plan.metrics import monitored_metrics
from nbprod.convert.plan.params import written_paths
from nbprod.convert.project_facts import (
    PIPELINE_PICTURE,
    ProjectFacts,
    project_facts,
    serving_facts,
)
from nbprod.convert.render import copied_files, render, render_project
from nbprod.convert.write import check_target, scratch_copy, write_tree
from nbprod.errors import CellError, NotebookError
from nbprod.export import Orchestrator
from nbprod.export.files import orchestration_files
from nbprod.globs import split_pattern
from nbprod.notebook import Notebook, read_notebook
from nbprod.plan import Plan, SecretLiteral
from nbprod.redact import contains, find_secret_literals, redact
from nbprod.validate.card import card_facts
from nbprod.validate.characterize import characterization_files, dump_value
from nbprod.validate.compare import Verdict
from nbprod.validate.execute import DEFAULT_TIMEOUT
from nbprod.validate.progress import Progress
from nbprod.validate.proof import (
    REPORT_SCHEMA,
    ROWS,
    PredictCheck,
    Validation,
    load_values,
    named,
    project_classes,
    refuse_predict,
    validate_project,
)

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
) -> tuple[dict[str, str], ProjectFacts]:
    """Every file of the generated project, formatted, keyed by relative path; and
    the facts the templates were rendered with. ``env`` must cover
    :func:`import_roots`."""
    imports = collect_imports(a.parsed)
    generated = generate_modules(a.plan, a.parsed, a.facts, imports)
    facts = project_facts(
        a.plan,
        notebook_file=Path(a.notebook.path).name,
        notebook_sha256=a.notebook.sha256,
        imports_from=generated.imports_from,
        roots=generated.roots,
        env=env,
        card=card_facts(a.plan),
        monitored=monitored_metrics(a.plan, a.facts),
    )
    files = render_project(facts.variables())
    pkg = a.plan.package
    for name, source in generated.modules.items():
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
    facts: ProjectFacts,
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
            validation = _settle_predict(
                a, validation, Path(values), facts, files, output
            )
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
                    render(
                        "project/MODEL_CARD.md.j2",
                        replace(facts, card=card).variables(),
                    ),
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
    facts: ProjectFacts,
    files: dict[str, str | bytes],
    output: Path,
) -> Validation:
    """The generated ``predict`` as validation found it: it refuses to score new
    rows when it did not reproduce the notebook's predictions, turns a file of
    rows into the form the notebook predicted on (an array, one column), and
    checks them against the data contract inferred from the notebook's rows.
    Rewrites pipeline.py, contract.py and the README in ``files``."""
    check = validation.predict
    if a.plan.serving is None:
        return validation
    refused = None
    if check is None:
        refused = "validation did not get as far as predict"
    elif not check.proven:
        refused = (
            f"validation ran it on the notebook's own rows: {check.detail}"
            if check.status != Verdict.NOT_COMPARABLE
            else f"validation could not check it: {check.detail}"
        )
        validation = refuse_predict(validation, a.plan)
    rows = load_values(values, [ROWS]).get(ROWS)
    form = {"ndarray": "array", "Series": "series"}.get(type(rows).__name__, "frame")
    contract = _contract(a, rows, check, refused, output)
    variables = facts.with_serving(
        serving_facts(a.plan, refused, form, contract)
    ).variables()
    src = posixpath.join("src", a.plan.package)
    rendered = {
        posixpath.join(src, "contract.py"): render(
            "project/src/contract.py.j2", variables
        ),
        "README.md": render("project/README.md.j2", variables),
    }
    if refused is not None or form != "frame":
        rendered[posixpath.join(src, "pipeline.py")] = render(
            "project/src/pipeline.py.j2", variables
        )
    formatted = format_sources(
        {**rendered, "pyproject.toml": str(files["pyproject.toml"])}
    )
    for path in rendered:
        files[path] = redact(formatted[path], a.secret_values)
    return validation


def _contract(
    a: Analysis,
    rows: Any,
    check: PredictCheck | None,
    refused: str | None,
    output: Path,
) -> Contract:
    """The data contract of the rows ``predict`` scores, inferred from the rows
    the notebook predicted on and the input files that hold their columns; or
    why there is none."""
    serving = a.plan.serving
    assert serving is not None
    if refused is not None or check is None:
        return Contract(reason=f"predict does not score new rows: {refused}")
    if not check.usage or not hasattr(rows, "columns"):
        return Contract(
            reason=f"which columns of {serving.rows} the serving path reads is not "
            "known: they are not a table of named columns, or running it without "
            "each one took too long"
        )
    files = {}
    for d in a.plan.data:
        # Only a key that names the file itself: the pipeline checks that file.
        key = next(
            (
                f"{p.group}.{p.key}"
                for p in a.plan.params
                if p.kind == "path" and p.value == d.path
            ),
            None,
        )
        if key is None or posixpath.splitext(d.path)[1] not in (".csv", ".parquet"):
            continue
        content = a.data.get(d.path) if d.copied else (output / d.path).read_bytes()
        frame = _table(d.path, content)
        if frame is not None:
            files[key] = frame
    cell, _ = serving.source
    cells = [(c.cell.number, c.cell.code) for c in a.parsed]
    return infer_contract(
        rows,
        dict(check.usage),
        files,
        sources=(
            f"the {len(rows)} rows of {serving.rows} the notebook predicted on "
            f"(cell {cell})",
            *(f"the rows of {k}" for k in sorted(files)),
        ),
        fills=filled_columns(cells),
        unseen_by=unseen_handled(cells),
    )


def _table(path: str, content: bytes | None) -> Any:
    """The rows of an input file, read as pandas reads it by default (None when
    it cannot be read so)."""
    if content is None:
        return None
    import io

    import pandas as pd

    try:
        if path.endswith(".parquet"):
            return pd.read_parquet(io.BytesIO(content))
        return pd.read_csv(io.BytesIO(content))
    except (
        Exception
    ):  # noqa: BLE001 - a file pandas cannot read alone holds no contract
        return None


def unseeded_calls(a: Analysis) -> tuple[str, ...]:
    """Random draws without a seed, named by cell and line."""
    return tuple(f"cell {f.number}, {u}" for f in a.facts for u in f.unseeded)
