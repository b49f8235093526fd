"""The command line. It only parses and dispatches; errors become one line here."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nbprod import __version__
from nbprod.convert.data import DATA_MODES, DEFAULT_LIMIT, DataMode
from nbprod.errors import NbprodError
from nbprod.export import ORCHESTRATORS, Orchestrator

if TYPE_CHECKING:
    from nbprod.plan import Plan
    from nbprod.validate.progress import Progress
    from nbprod.validate.proof import Validation

NOTEBOOK = click.argument("notebook", type=click.Path(path_type=Path, dir_okay=False))
QUIET = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress line while validation runs (there is none when standard "
    "error is not a terminal).",
)
TIMEOUT = click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    help="Seconds each run (the notebook, the pipeline) may take.",
)


class ValidationFailed(Exception):
    """The project is not proven to compute what the notebook did (exit 1)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nbprod")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def cli(debug: bool) -> None:
    """Turn a proof-of-concept notebook into a production-shaped project."""


@cli.command()
@NOTEBOOK
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    help="Project folder (default: NAME beside the notebook).",
)
@click.option("--name", help="Package name (default: from the notebook's file name).")
@click.option(
    "--force", is_flag=True, help="Replace an existing, non-empty output folder."
)
@click.option(
    "--no-validate",
    is_flag=True,
    help="Skip running the notebook and the pipeline to compare them.",
)
@click.option(
    "--data",
    "data",
    type=click.Choice(DATA_MODES),
    default="copy",
    show_default=True,
    help="Copy the input files the notebook reads into the project's data/ "
    f"(when they total at most {DEFAULT_LIMIT // 1024 // 1024} MB), or reference "
    "them where they are.",
)
@click.option(
    "--orchestrator",
    "orchestrators",
    type=click.Choice(ORCHESTRATORS),
    multiple=True,
    help="Also write what runs the stages under this engine (orchestration/); "
    "repeatable. `nbprod export` adds it to a project later.",
)
@TIMEOUT
@QUIET
def convert(
    notebook: Path,
    output: Path | None,
    name: str | None,
    force: bool,
    no_validate: bool,
    data: DataMode,
    orchestrators: tuple[Orchestrator, ...],
    timeout: float,
    quiet: bool,
) -> None:
    """Convert NOTEBOOK into a tested Python project, and prove it equivalent."""
    from nbprod.commands.convert import convert as run_convert
    from nbprod.convert.plan import package_name, safe_identifier
    from nbprod.validate.proof import format_table

    if name is not None and safe_identifier(name) != name:
        raise click.BadParameter(
            f"{name!r} is not a valid package name (try {safe_identifier(name)!r})",
            param_hint="--name",
        )
    target = (
        output
        if output is not None
        else notebook.parent / package_name(notebook.stem, set())
    )
    a, validation = run_convert(
        notebook,
        target,
        package=name,
        force=force,
        validate=not no_validate,
        timeout=timeout,
        data=data,
        orchestrators=orchestrators,
        progress=_progress(quiet),
    )
    plan = a.plan
    kept = sum(1 for c in plan.cells if c.stage)
    click.echo(f"{notebook} -> {target}")
    click.echo(f"  package {plan.package}: {', '.join(s.stage for s in plan.stages)}")
    click.echo(f"  {_predict_summary(plan, validation)}")
    click.echo(
        f"  {kept} of {len(plan.cells)} code cells in the pipeline; "
        f"{len(plan.params)} values in config.yaml"
    )
    steps = sum(len(s.steps) for s in plan.stages)
    if steps:
        click.echo(
            f"  {steps} named steps in the stage modules (nbprod plan lists them)"
        )
    copied = [d for d in plan.data if d.copied]
    if copied:
        size = sum(d.size for d in copied) / 1024 / 1024
        click.echo(f"  {len(copied)} input files copied into data/ ({size:.1f} MB)")
    elif plan.data:
        click.echo(
            f"  {len(plan.data)} input files referenced, not copied "
            f"({plan.data_referenced}): README.md says where they must be"
        )
    if plan.steps_reverted:
        click.echo(f"  one function per stage: {plan.steps_reverted}")
    for warning in plan.warnings:
        click.echo(f"  warning: {warning}", err=True)
    if validation is not None:
        click.echo(format_table(validation))
    click.echo(
        f"  next: cd {target} && pip install -e '.[dev]' && python -m {plan.package} run && pytest"
    )
    if validation is not None and not validation.passed:
        raise ValidationFailed(validation.reason)


def _predict_summary(plan: Plan, validation: Validation | None) -> str:
    """What the project's ``predict`` does with new rows, in one line: said up
    front, since a predict that cannot be proven refuses them."""
    refuses = "the project's predict refuses new rows"
    if plan.serving is None:
        return f"predict: not proven ({plan.serving_reason}); {refuses}"
    if validation is None:
        return f"predict: serves {plan.serving.what}; not validated (--no-validate)"
    check = validation.predict
    if check is not None and check.proven:
        return f"{check.line()}; served: {plan.serving.what}"
    why = check.detail if check is not None else validation.reason
    return f"predict: not proven ({why.removesuffix('; the generated predict refuses to score new rows')}); {refuses}"


@cli.command()
@NOTEBOOK
@click.argument("project", type=click.Path(path_type=Path, file_okay=False))
@TIMEOUT
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the result as JSON to this file.",
)
@QUIET
def validate(
    notebook: Path,
    project: Path,
    timeout: float,
    report_path: Path | None,
    quiet: bool,
) -> None:
    """Run NOTEBOOK and the PROJECT made from it; compare what both computed."""
    from nbprod.commands.convert import analyse, unseeded_calls
    from nbprod.notebook import read_notebook
    from nbprod.redact import redact
    from nbprod.validate.proof import (
        format_table,
        fresh_copy,
        read_plan,
        update_report,
        validate_project,
    )

    if not project.is_dir():
        raise NbprodError("no such project folder", where=str(project))
    nb = read_notebook(notebook)
    # A report another nbprod made is refused here, before any kernel starts.
    plan = read_plan(project)
    # The secrets the generated code reads from the environment, from the notebook.
    secrets = analyse(nb, project).secret_values if plan.secrets else {}
    # The pipeline runs in a copy: the project gets its report, and nothing else.
    with fresh_copy(project, plan) as scratch:
        validation = validate_project(
            notebook,
            scratch,
            timeout=timeout,
            environment=secrets,
            # Analysed only if values differ, to name the random draws without a seed.
            unseeded=lambda: unseeded_calls(analyse(nb, project)),
            exclude=(project,),
            progress=_progress(quiet),
        )
    click.echo(redact(format_table(validation), secrets))
    update_report(project, validation, secrets)
    if report_path is not None:
        text = json.dumps(validation.to_dict(), indent=2, default=str) + "\n"
        report_path.write_text(redact(text, secrets), encoding="utf-8")
    if not validation.passed:
        raise ValidationFailed(redact(validation.reason, secrets))


@cli.command()
@click.argument("name")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    help="Project folder (default: NAME in the current folder).",
)
@click.option(
    "--force", is_flag=True, help="Replace an existing, non-empty output folder."
)
def init(name: str, output: Path | None, force: bool) -> None:
    """Start a new project NAME: a small working pipeline on a built-in dataset."""
    from nbprod.init import init_project

    target = output if output is not None else Path(name)
    init_project(name, target, force=force)
    click.echo(f"{name}: new project in {target}")
    click.echo(
        f"  next: cd {target} && pip install -e '.[dev]' && python -m {name} run && pytest"
    )


@cli.command()
@NOTEBOOK
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "mermaid", "svg", "html"]),
    default="text",
    show_default=True,
    help="text and json: every fact of the plan; mermaid: the cells as a graph "
    "coloured by stage, with the names each dependency carries; svg: that graph "
    "drawn; html: a page that shows it, with a table of the cells, and needs no "
    "network.",
)
def plan(notebook: Path, fmt: str) -> None:
    """Print where every code cell of NOTEBOOK would go, and why. Writes nothing."""
    from nbprod.commands.convert import analyse, unseeded_calls
    from nbprod.convert.describe import describe
    from nbprod.convert.picture import html_page, mermaid, svg
    from nbprod.notebook import read_notebook

    a = analyse(read_notebook(notebook))
    pictures = {"mermaid": mermaid, "svg": svg, "html": html_page}
    if fmt in pictures:
        click.echo(pictures[fmt](a.plan), nl=False)
        return
    # What validate reports as changing from run to run (NBP005's verdict too).
    unseeded = unseeded_calls(a)
    if fmt == "json":
        plan = {**a.plan.to_dict(), "unseeded": list(unseeded)}
        click.echo(json.dumps(plan, indent=2, default=str))
        return
    click.echo(f"{notebook}: package {a.plan.package}")
    for line in describe(a.plan):
        click.echo(line)
    for u in unseeded:
        click.echo(f"unseeded: {u}")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option("--select", help="Only these codes or prefixes (NBP003,F401,E).")
@click.option("--ignore", help="Not these codes or prefixes (added to the config's).")
@click.option("--no-cache", is_flag=True, help="Do not read or write .nbprod_cache/.")
def lint(
    paths: tuple[Path, ...],
    fmt: str,
    select: str | None,
    ignore: str | None,
    no_cache: bool,
) -> None:
    """Check notebooks (files or folders) for habits that block production.

    Rules and why each matters: docs/lint/. Settings: [tool.nbprod.lint] in
    pyproject.toml. Exit 0 clean, 1 findings, 2 a file could not be read.
    """
    from nbprod.lint.cache import FindingsCache
    from nbprod.lint.config import find_pyproject, load_config, with_options
    from nbprod.lint.report import format_json, format_text
    from nbprod.lint.run import lint as run_lint

    pyproject = find_pyproject(Path.cwd())
    config = with_options(load_config(pyproject), select, ignore)
    root = pyproject.parent if pyproject else Path.cwd()
    cache = None if no_cache else FindingsCache(root, config.settings)
    result = run_lint(paths, config, cache)
    for error in result.errors:
        click.echo(f"nbprod: error: {_printable(error)}", err=True)
    text = format_json(result) if fmt == "json" else format_text(result)
    if text:
        click.echo(text)
    if result.exit_code:
        sys.exit(result.exit_code)


def _progress(quiet: bool) -> Progress | None:
    """A progress line on standard error, when a person is watching it."""
    from nbprod.validate.progress import Progress

    if quiet or not sys.stderr.isatty():
        return None
    # A copy of the terminal's descriptor: while the notebook runs, descriptor 2
    # goes to the kernel's log (its start-up warnings), and the line must not.
    return Progress(os.fdopen(os.dup(sys.stderr.fileno()), "w", encoding="utf-8"))


def _printable(text: str) -> str:
    """``text`` with control characters escaped: messages quote the user's files,
    and an escape sequence from a notebook must not reach the terminal."""
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


@cli.command()
@click.argument("orchestrator", type=click.Choice(ORCHESTRATORS))
@click.argument(
    "project", type=click.Path(path_type=Path, file_okay=False, exists=True)
)
@click.option("--force", is_flag=True, help="Replace orchestration files that exist.")
def export(orchestrator: Orchestrator, project: Path, force: bool) -> None:
    """Add what runs PROJECT's stages under ORCHESTRATOR (no regeneration)."""
    from nbprod.export.write import export as run_export

    for path in run_export(project, [orchestrator], force=force):
        click.echo(f"wrote {project / path}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning errors into one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="nbprod", standalone_mode=False)
    except ValidationFailed as exc:
        click.echo(f"nbprod: validation failed: {_printable(exc.reason)}", err=True)
        sys.exit(1)
    except NbprodError as exc:
        if debug:
            raise
        click.echo(f"nbprod: error: {_printable(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("nbprod: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"nbprod: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - never a traceback without --debug
        if debug:
            raise
        message = _printable(f"{exc.__class__.__name__}: {exc}")
        click.echo(
            f"nbprod: internal error: {message} (rerun with --debug and report it)",
            err=True,
        )
        sys.exit(3)
    sys.exit(0)
