"""The equivalence proof: run the notebook and the generated pipeline, compare what
both computed, name by name, and say where they differ and why."""

from __future__ import annotations

import contextlib
import importlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from nbprod.convert.contract import Usage
from nbprod.convert.generate import cell_lines
from nbprod.errors import NbprodError
from nbprod.plan import Plan, Serving
from nbprod.stages import STAGES
from nbprod.validate.compare import (
    Comparison,
    How,
    Verdict,
    Word,
    compare,
    prediction_inputs,
)
from nbprod.validate.execute import (
    DEFAULT_TIMEOUT,
    NOT_INPUTS,
    STEPS_FOLDER,
    Capture,
    ExecutionError,
    KeptStep,
    PipelineError,
    PipelineRun,
    Probe,
    run_notebook,
)
from nbprod.validate.printed import compare_printed
from nbprod.validate.progress import Progress

REPORT = "nbprod-report.json"
# The shape of nbprod-report.json and of the plan in it: bump it when either changes,
# so a report another nbprod made is refused rather than misread.
REPORT_SCHEMA = 7


class Outcome(Word):
    """What one validation run concluded: the pipeline reproduces the notebook, it
    does not, nothing could be compared, or the run failed."""

    EQUAL = "equal"
    DIFFERENT = "different"
    UNPROVEN = "unproven"
    ERROR = "error"


# What the notebook computed where it predicts (see plan.Serving), captured in its run.
ROWS, PREDICTIONS, HELD_OUT = "__rows__", "__predictions__", "__held_out__"
# The generated predict refused to score new rows after validation showed it cannot
# reproduce the notebook's predictions.
REFUSED: Literal["refused"] = "refused"


@dataclass(frozen=True)
class PredictCheck:
    """``predict`` run on the rows the notebook predicted on, against the
    notebook's own predictions."""

    status: Verdict | Literal["refused"]
    rows: int = 0
    detail: str = ""
    # How the serving path uses each column of the rows (a frame): column ->
    # "values", "presence" or "unused".
    usage: tuple[tuple[str, Usage], ...] = ()

    @property
    def proven(self) -> bool:
        return self.status in {Verdict.EQUAL, Verdict.CLOSE}

    def line(self) -> str:
        """``predict: proven on N rows`` or why not, in one line."""
        if self.proven:
            return f"predict: proven on {self.rows} rows" + (
                f" ({self.detail})" if self.detail else ""
            )
        return f"predict: not proven: {self.detail}"


@dataclass(frozen=True)
class Validation:
    """The outcome of one validation run."""

    status: Outcome
    comparisons: tuple[Comparison, ...] = ()
    error: str = ""
    unseeded: tuple[str, ...] = ()
    # what each cell of the pipeline printed, compared with the notebook's cell
    outputs: tuple[Comparison, ...] = ()
    predict: PredictCheck | None = None
    # what the notebook computed that was not compared, and why
    uncompared: tuple[tuple[str, str], ...] = ()
    why_unproven: str = ""
    notebook_seconds: float = 0.0
    pipeline_seconds: float = 0.0
    notebook_values: Path | None = field(default=None, compare=False)
    # the error was the generated pipeline's (its run failed), not the notebook's
    pipeline_failed: bool = False

    @property
    def passed(self) -> bool:
        return self.status == Outcome.EQUAL

    @property
    def blames_the_code(self) -> bool:
        """The notebook ran and the generated code did not reproduce it: another
        form of the same code may."""
        return self.status == Outcome.DIFFERENT or self.pipeline_failed

    @property
    def reason(self) -> str:
        """Why it did not pass, in one line."""
        if self.error:
            return self.error
        if self.status == Outcome.UNPROVEN:
            return f"not proven: {self.why_unproven}"
        return "the pipeline does not reproduce the notebook"

    def to_dict(self) -> dict[str, Any]:
        """The JSON kept in nbprod-report.json (no timings: output stays deterministic)."""
        data = asdict(self)
        for key in ("notebook_values", "notebook_seconds", "pipeline_seconds"):
            data.pop(key)
        data["compared"] = len(self.comparisons)
        data["predict_line"] = self.predict.line() if self.predict else ""
        return data


def read_report(project: Path) -> dict[str, Any]:
    """The report a conversion left in ``project``, as JSON; NbprodError when there
    is none, or another nbprod made it."""
    path = project / REPORT
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NbprodError(
            f"no {REPORT}: not a project made by nbprod convert", where=str(project)
        ) from None
    except json.JSONDecodeError as exc:
        raise NbprodError(
            f"{REPORT} is not valid JSON ({exc.msg})", where=str(project)
        ) from None
    schema = report.get("schema") if isinstance(report, dict) else None
    if not isinstance(report, dict) or schema != REPORT_SCHEMA:
        found = "no schema" if schema is None else f"schema {schema!r}"
        raise NbprodError(
            f"{REPORT} was made by another nbprod ({found}; this one reads schema "
            f"{REPORT_SCHEMA}); convert again",
            where=str(project),
        )
    return report


def read_plan(project: Path) -> Plan:
    """The plan a conversion left in ``project``'s report."""
    report = read_report(project)
    try:
        return Plan.from_dict(report.get("plan"))
    except ValueError as exc:
        raise NbprodError(
            f"{REPORT} holds no plan nbprod can read ({exc}); convert again",
            where=str(project),
        ) from None


@dataclass(frozen=True)
class Version:
    """A value a stage or one of its steps returns, as both runs keep it: the
    pipeline in ``folder`` of its artifacts, the notebook right after the cell
    where it holds the same value (at its end, for a plan that does not say)."""

    name: str  # as the notebook names it
    by: str  # the stage or step that returns it
    folder: str  # where the pipeline's run keeps it, under its artifacts
    cell: int | None
    last: bool  # the value the run ends with: no later stage returns the name

    @property
    def key(self) -> str:
        """The notebook's file: the name, for the version the run ends with."""
        return self.name if self.last else f"{self.name}__{self.by}"

    @property
    def label(self) -> str:
        """The name in the report: which stage or step returns this version."""
        return self.name if self.last else f"{self.name} ({self.by})"


def named(label: str) -> str:
    """The notebook's name in a comparison's label (``model (fit_model)``)."""
    return label.partition(" ")[0]


def observed_versions(plan: Plan) -> list[Version]:
    """Every value a stage returns, and every value a step returns that is not
    its stage's (a model the next step fits again, a frame only the next step
    reads): what validation compares, each as it was returned."""
    last = {name: s.stage for s in plan.stages for name in s.outputs}
    found = []
    for s in plan.stages:
        # The last step that returns a name the stage returns returns its value.
        final = {n: step.name for step in s.steps for n in step.outputs}
        for step in s.steps if len(s.steps) > 1 else ():
            found += [
                Version(name, step.name, f"{STEPS_FOLDER}/{step.name}", cell, False)
                for name, cell in step.returned_after
                if not (name in s.outputs and final[name] == step.name)
            ]
        after = dict(s.returned_after)
        found += [
            Version(
                name,
                s.stage.value,
                s.stage.command,
                after.get(name),
                last[name] == s.stage,
            )
            for name in s.outputs
        ]
    return found


def kept_steps(plan: Plan, versions: list[Version]) -> list[KeptStep]:
    """(module, step function, the names it returns, in order, and for each call
    of it, the step whose values it keeps, or None) of each step function with a
    step whose values are compared: the pipeline's run keeps what they return.
    Steps that run the same code with other helpers call one function."""
    compared = {v.folder for v in versions}
    found: dict[tuple[str, str], tuple[list[str], list[str | None]]] = {}
    for s in plan.stages:
        for step in s.steps:
            shared = step.shared
            function = shared.function if shared else step.name
            returns = list(shared.returns if shared else step.outputs)
            _, calls = found.setdefault((s.stage.module, function), (returns, []))
            kept = f"{STEPS_FOLDER}/{step.name}" in compared
            calls.append(step.name if kept else None)
    return [
        (module, function, returns, calls)
        for (module, function), (returns, calls) in found.items()
        if any(calls)
    ]


def _kept(versions: list[Version]) -> tuple[Probe, ...]:
    """The notebook's values, each kept right after the cell where it holds the
    version a stage or step returns."""
    return tuple(
        Probe(v.key, v.cell, None, True, v.name) for v in versions if v.cell is not None
    )


def notebook_parameters(project: Path, plan: Plan) -> dict[str, Any]:
    """The papermill parameters cell's values, as config.yaml now holds them.

    Paths are given to the notebook only when config.yaml changed them (then
    resolved, since the notebook runs in its own folder); otherwise the notebook
    keeps its own, which name the same files from there.
    """
    declared = {p.key: p for p in plan.params if p.group == "parameters"}
    if not declared:
        return {}
    config = yaml.safe_load((project / "config.yaml").read_text(encoding="utf-8")) or {}
    values = dict(config.get("parameters") or {})
    injected = {}
    for key, param in declared.items():
        if key not in values:
            continue
        value = values[key]
        if param.kind == "path":
            if value == param.value:
                continue
            if isinstance(value, str) and not Path(value).is_absolute():
                value = str((project / value).resolve())
        injected[key] = value
    return injected


def _load(folder: Path, name: str) -> tuple[bool, Any]:
    import joblib

    path = folder / f"{name}.joblib"
    if not path.is_file():
        return False, None
    try:
        return True, joblib.load(path)
    except (
        Exception
    ):  # noqa: BLE001 - a value saved but not loadable here is not compared
        return False, None


@contextlib.contextmanager
def project_classes(project: Path, plan: Plan) -> Iterator[None]:
    """Make both runs' values loadable here: the project's package importable, and
    the notebook's own classes and functions (pickled as ``__main__.NAME`` by the
    kernel) resolved to the ones the project moved them to."""
    main = sys.modules["__main__"]
    src = str((project / "src").resolve())
    sys.path.insert(0, src)
    added: list[str] = []
    try:
        # In notebook order: a name defined twice is, in the kernel, its last
        # definition (``featurize_2`` in the project).
        for helper in plan.helpers:
            module = importlib.import_module(f"{plan.package}.{helper.stage.module}")
            name = helper.original or helper.name
            if name in added or not hasattr(main, name):
                setattr(main, name, getattr(module, helper.name))
                if name not in added:
                    added.append(name)
        yield
    finally:
        for name in added:
            delattr(main, name)
        sys.path.remove(src)
        package = plan.package
        for name in [
            m for m in sys.modules if m == package or m.startswith(package + ".")
        ]:
            del sys.modules[name]


def load_values(folder: Path, names: list[str]) -> dict[str, Any]:
    """The captured values that load here, by name."""
    loaded = {name: _load(folder, name) for name in names}
    return {name: value for name, (ok, value) in loaded.items() if ok}


def compare_captures(
    versions: list[Version], ours: Capture, theirs: Capture, plan: Plan | None = None
) -> list[Comparison]:
    """Compare every value both runs captured; say why for the others. A value
    computed from the clock (``plan.timings``) that differs is not comparable."""
    timings = set(plan.timings if plan is not None else ())
    notebook_inputs = []
    loaded: dict[str, tuple[tuple[bool, Any], tuple[bool, Any]]] = {}
    for v in versions:
        loaded[v.label] = (
            _load(ours.folder / v.folder, v.name),
            _load(theirs.folder, v.key),
        )
        ok, value = loaded[v.label][1]
        if ok:
            notebook_inputs += prediction_inputs([value])
    failed = dict(theirs.failed)
    results = []
    for v in versions:
        name = v.label
        (have_ours, ours_value), (have_theirs, theirs_value) = loaded[name]
        if not have_theirs:
            why = (
                "the notebook does not define it at its end"
                if v.key in theirs.missing
                else "the notebook's value cannot be saved "
                f"({failed.get(v.key, 'not captured')})"
            )
            results.append(Comparison(name, Verdict.NOT_COMPARABLE, why))
        elif not have_ours:
            results.append(
                Comparison(
                    name, Verdict.NOT_COMPARABLE, "the pipeline's value cannot be saved"
                )
            )
        else:
            verdict = compare(name, ours_value, theirs_value, notebook_inputs)
            if verdict.status == Verdict.DIFFERENT and name in timings:
                verdict = replace(
                    verdict,
                    status=Verdict.NOT_COMPARABLE,
                    detail=f"computed from the clock ({verdict.detail})",
                )
            results.append(verdict)
    return results


def _probes(plan: Plan) -> tuple[Probe, ...]:
    serving = plan.serving
    if serving is None:
        return ()
    (rows_cell, rows_line), (call_cell, call_line) = serving.source, serving.call
    held = serving.held_out
    return (
        Probe(ROWS, rows_cell, rows_line, True, serving.rows),
        Probe(PREDICTIONS, call_cell, call_line, True, serving.served),
        *(
            # Before the split: it may bind again the names it splits.
            (Probe(HELD_OUT, held.step[0], held.line, False, held.positions),)
            if held is not None
            else ()
        ),
    )


def printed_lines(project: Path, package: str) -> dict[str, dict[int, int]]:
    """For each generated stage module: line -> the notebook cell it came from."""
    lines = {}
    for module in sorted({s.module for s in STAGES}):
        path = project / "src" / package / f"{module}.py"
        if path.is_file():
            lines[str(path.resolve())] = cell_lines(path.read_text(encoding="utf-8"))
    return lines


def validate_project(
    notebook: Path,
    project: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    keep_values: Path | None = None,
    unseeded: Callable[[], tuple[str, ...]] = tuple,
    environment: dict[str, str] | None = None,
    exclude: tuple[Path, ...] = (),
    progress: Progress | None = None,
) -> Validation:
    """Run both sides and compare them. ``keep_values`` receives the notebook's
    values; ``environment`` is added to the pipeline's (the secrets it reads);
    ``exclude``: folders not copied with the notebook's (the output project)."""
    plan = read_plan(project)
    outside = [p for p in plan.paths_written if _outside(p)]
    if outside:
        return Validation(
            Outcome.ERROR,
            error=f"not run: the notebook writes to {outside[0]}, outside its folder "
            "(validation would change that file); make the path relative",
        )
    versions = observed_versions(plan)
    progress = progress or Progress(None)
    with tempfile.TemporaryDirectory(prefix="nbprod-validate-") as tmp:
        nb_folder = keep_values or Path(tmp) / "notebook"
        pipe_folder = Path(tmp) / "pipeline"
        nb_folder.mkdir(parents=True, exist_ok=True)
        pipe_folder.mkdir()
        # The two runs go side by side: the pipeline in a subprocess, the notebook
        # in a kernel; each writes only to its own folder.
        started = time.monotonic()
        pipeline = _pipeline_side(project, plan, versions, pipe_folder, environment)
        try:
            with progress.running("validating", pipeline.stage):
                theirs = _notebook_side(
                    notebook,
                    plan,
                    versions,
                    nb_folder,
                    timeout=timeout,
                    exclude=(project, *exclude),
                    progress=progress,
                    parameters=notebook_parameters(project, plan),
                )
                progress.notebook_done()
                ours = pipeline.wait(timeout - (time.monotonic() - started))
            with project_classes(project, plan):
                comparisons = tuple(compare_captures(versions, ours, theirs, plan))
                predict = check_predict(
                    plan,
                    pipeline,
                    theirs,
                    Path(tmp),
                    timeout - (time.monotonic() - started),
                )
        except ExecutionError as exc:
            return Validation(
                Outcome.ERROR,
                error=str(exc),
                pipeline_failed=isinstance(exc, PipelineError),
            )
        finally:
            pipeline.stop()
    outputs = tuple(compare_outputs(plan, ours, theirs))
    return judge(
        plan,
        comparisons,
        outputs,
        predict,
        unseeded=unseeded,
        notebook_seconds=theirs.seconds,
        pipeline_seconds=ours.seconds,
        notebook_values=keep_values,
    )


def _pipeline_side(
    project: Path,
    plan: Plan,
    versions: list[Version],
    folder: Path,
    environment: dict[str, str] | None,
) -> PipelineRun:
    """The pipeline's run, started: it keeps what the steps validation compares
    return, and what each statement printed, by notebook cell."""
    return PipelineRun(
        project,
        plan.package,
        folder,
        environment,
        printed_lines(project, plan.package),
        stages=tuple(s.stage.command for s in plan.stages),
        steps=kept_steps(plan, versions),
    )


def _notebook_side(
    notebook: Path,
    plan: Plan,
    versions: list[Version],
    folder: Path,
    *,
    timeout: float,
    exclude: tuple[Path, ...],
    progress: Progress,
    parameters: dict[str, Any],
) -> Capture:
    """The notebook's run: its values where each version is held, into ``folder``."""
    return run_notebook(
        notebook,
        [v.name for v in versions if v.cell is None],
        folder,
        parameters=parameters,
        timeout=timeout,
        probes=_probes(plan) + _kept(versions),
        # The files a glob matched are inputs too, wherever they are.
        reads=(*plan.paths_read, *plan.paths_written, *(d.source for d in plan.data)),
        exclude=exclude,
        on_cell=progress.notebook_cell,
    )


# What a project folder gathers by being used, never part of what it computes
# from: the folders that are no notebook's inputs either, and DVC's, MLflow's and
# pip's own.
_NOT_THE_PROJECT = (*NOT_INPUTS, ".dvc", "mlruns", "mlflow.db", "*.egg-info")


@contextlib.contextmanager
def fresh_copy(project: Path, plan: Plan) -> Iterator[Path]:
    """``project`` as a run starts from it, in a scratch folder beside it (so that
    relative paths in its config resolve as they do from the project), removed
    after: without what its runs left (artifacts, metrics, the files the
    notebook's code writes, such as a cache a later run would read instead of
    computing), and so that validating writes nothing into the project."""
    config = yaml.safe_load((project / "config.yaml").read_text(encoding="utf-8"))
    left = {
        str(config.get(key, "")) if isinstance(config, dict) else ""
        for key in ("artifacts_dir", "metrics_file", "figures_dir")
    }
    left |= {p for p in plan.paths_written if not _outside(p)}
    left = {Path(p).as_posix().strip("/") for p in left if p and ".." not in p}

    def ignored(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).relative_to(project).as_posix()
        relative = {n: n if here == "." else f"{here}/{n}" for n in names}
        run_left = {n for n, rel in relative.items() if rel in left}
        return run_left | shutil.ignore_patterns(*_NOT_THE_PROJECT)(folder, names)

    scratch = Path(
        tempfile.mkdtemp(prefix=f".{project.name}.nbprod-check-", dir=project.parent)
    )
    try:
        shutil.copytree(project, scratch, ignore=ignored, dirs_exist_ok=True)
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _outside(path: str) -> bool:
    return Path(path).is_absolute() or path.startswith("~")


def judge(
    plan: Plan,
    comparisons: tuple[Comparison, ...],
    outputs: tuple[Comparison, ...],
    predict: PredictCheck | None,
    *,
    unseeded: Callable[[], tuple[str, ...]] = tuple,
    **timing: Any,
) -> Validation:
    """The verdict: different when anything compared differs; not proven when
    nothing the notebook computed beyond reading its data was shown equal."""
    compared = {named(c.name) for c in comparisons}
    uncompared = tuple(
        (name, why) for name, why in plan.unreturned if name not in compared
    ) + tuple(
        (c.name, f"not comparable: {c.detail}")
        for c in comparisons
        if c.status == Verdict.NOT_COMPARABLE
    )
    bad = [c for c in (*comparisons, *outputs) if c.status == Verdict.DIFFERENT]
    if predict is not None and predict.status == Verdict.DIFFERENT:
        bad.append(Comparison("predict", Verdict.DIFFERENT, predict.detail))
    raw = set(plan.raw_inputs)
    evidence = [c for c in comparisons if c.matches and named(c.name) not in raw]
    evidence += [c for c in outputs if c.matches]
    if predict is not None and predict.proven:
        evidence.append(Comparison("predict", Verdict.EQUAL))
    models = [c for c in comparisons if c.model]
    why = ""
    if models and not any(c.matches for c in models):
        # What the notebook learned is what a conversion must keep.
        evidence = []
        why = (
            f"no model could be compared ({', '.join(c.name for c in models)}): "
            "what the notebook learned is not proven equal"
        )
    elif not evidence:
        shown = [c.name for c in comparisons if c.matches]
        why = (
            f"only what the notebook read from files was compared ({', '.join(shown)}); "
            if shown
            else "nothing the notebook computed could be compared; "
        ) + "no model, metric, prediction or printed result was shown equal"
    status = (
        Outcome.DIFFERENT if bad else Outcome.EQUAL if evidence else Outcome.UNPROVEN
    )
    return Validation(
        status,
        comparisons,
        outputs=outputs,
        predict=predict,
        uncompared=uncompared,
        why_unproven=why,
        unseeded=unseeded(),
        **timing,
    )


def refuse_predict(validation: Validation, plan: Plan) -> Validation:
    """``validation`` once the generated predict refuses to score new rows (it did
    not reproduce the notebook's predictions): honestly refused, not a difference."""
    check = validation.predict
    assert check is not None
    refused = PredictCheck(
        REFUSED,
        check.rows,
        f"{check.detail}; the generated predict refuses to score new rows",
    )
    return judge(
        plan,
        validation.comparisons,
        validation.outputs,
        refused,
        unseeded=lambda: validation.unseeded,
        notebook_seconds=validation.notebook_seconds,
        pipeline_seconds=validation.pipeline_seconds,
        notebook_values=validation.notebook_values,
    )


def compare_outputs(plan: Plan, ours: Capture, theirs: Capture) -> list[Comparison]:
    """What each pipeline cell printed against what the notebook's cell printed."""
    results = []
    for cell in plan.cells:
        mode = cell.printed
        number = cell.number
        a, b = ours.printed.get(number, ""), theirs.printed.get(number, "")
        if not mode or not (a.strip() or b.strip()):
            continue
        verdict = compare_printed(a, b, all_kept=mode == "all")
        name = f"cell {number} output"
        if verdict.same:
            results.append(Comparison(name, Verdict.EQUAL, how=How.PRINTED))
        elif cell.timing:
            results.append(
                Comparison(
                    name,
                    Verdict.NOT_COMPARABLE,
                    f"prints what is computed from the clock ({verdict.detail})",
                    how=How.PRINTED,
                )
            )
        else:
            results.append(
                Comparison(name, Verdict.DIFFERENT, verdict.detail, how=How.PRINTED)
            )
    return results


def check_predict(
    plan: Plan,
    pipeline: PipelineRun,
    theirs: Capture,
    tmp: Path,
    timeout: float,
) -> PredictCheck:
    """The generated ``predict`` on the rows the notebook predicted on, against
    the notebook's predictions; proven, with how it uses each of their columns."""
    usage_file = tmp / "usage.json"
    check = _check_predict(plan, pipeline, theirs, tmp, timeout, usage_file)
    if not check.proven or not usage_file.is_file():
        return check
    found = json.loads(usage_file.read_text(encoding="utf-8"))
    usage = tuple((k, cast(Usage, v)) for k, v in sorted(found.items()))
    return replace(check, usage=usage)


def _check_predict(
    plan: Plan,
    pipeline: PipelineRun,
    theirs: Capture,
    tmp: Path,
    timeout: float,
    usage_file: Path,
) -> PredictCheck:
    where = plan.serving
    if where is None:
        return PredictCheck(Verdict.NOT_COMPARABLE, detail=plan.serving_reason)
    found = _served_rows(where, theirs)
    if isinstance(found, PredictCheck):
        return found
    rows, expected, count = found
    import joblib

    given_rows, backwards = tmp / "rows.joblib", tmp / "rows-reversed.joblib"
    joblib.dump(rows, given_rows)
    joblib.dump(_reversed(rows), backwards)
    target, target_back = tmp / "predictions.joblib", tmp / "reversed.joblib"
    error = pipeline.predict(
        [(given_rows, target), (backwards, target_back)],
        timeout,
        probe=(given_rows, usage_file),
    )
    if pipeline.refused is not None:
        # as convert left it: not proven, and saying so is no difference
        return PredictCheck(
            REFUSED,
            count,
            f"the generated predict refuses to score new rows ({pipeline.refused})",
        )
    if error is not None:
        return PredictCheck(
            Verdict.DIFFERENT, count, f"the generated predict failed: {error}"
        )
    ok, got = _load(tmp, "predictions")
    ok_back, got_back = _load(tmp, "reversed")
    if not (ok and ok_back):
        return PredictCheck(
            Verdict.DIFFERENT, count, "the generated predict saved nothing"
        )
    return _served_alike(where, got, got_back, expected, count)


def _served_rows(
    where: Serving, theirs: Capture
) -> PredictCheck | tuple[Any, Any, int]:
    """The rows the notebook predicted on (those its split held out, when it
    split), what it served for them, and how many; or why they cannot be
    compared row for row."""
    failed = dict(theirs.failed)
    ok_rows, rows = _load(theirs.folder, ROWS)
    ok_pred, expected = _load(theirs.folder, PREDICTIONS)
    if not (ok_rows and ok_pred):
        missing = ROWS if not ok_rows else PREDICTIONS
        what = "the rows it predicted on" if missing == ROWS else "its predictions"
        return PredictCheck(
            Verdict.NOT_COMPARABLE,
            detail=f"the notebook's run did not keep {what} "
            f"({failed.get(missing, 'never reached')})",
        )
    count = _length(expected)
    given = _length(rows)
    if where.held_out is not None:
        ok_held, held = _load(theirs.folder, HELD_OUT)
        if not ok_held:
            return PredictCheck(
                Verdict.NOT_COMPARABLE,
                detail="the notebook's run did not show which rows its split held "
                f"out ({failed.get(HELD_OUT, 'never reached')})",
            )
        # The notebook predicted on the rows its split held out, in the
        # split's order: those rows, raw, are what predict gets. (Not all the
        # rows: a value computed over the rows given would then match.)
        rows = _taken(rows, held)
        given = _length(rows)
    if count is None or given is None or count != given:
        # Rows dropped, repeated or taken from elsewhere on the way: which
        # prediction belongs to which input row is not known.
        return PredictCheck(
            Verdict.NOT_COMPARABLE,
            detail=f"the notebook served {_count(count)} for {_count(given, 'row')} "
            f"of {where.rows}: they are not one value per input row",
        )
    return rows, expected, count


def _served_alike(
    where: Serving, got: Any, got_back: Any, expected: Any, count: int
) -> PredictCheck:
    """The verdict on what predict served (``got``; ``got_back`` for the rows
    in reverse order) against what the notebook served."""
    detail = (
        f"the rows of {where.rows} as cell {where.source[0]} made them, "
        f"against what cell {where.call[0]} served: {where.what}"
    )
    if where.held_out is not None:
        detail = (
            f"the rows of {where.rows} as cell {where.source[0]} made them that "
            f"cell {where.held_out.step[0]}'s split held out, against what cell "
            f"{where.call[0]} served: {where.what}"
        )
    verdict = compare("predict", got, expected)
    if not verdict.matches:
        return PredictCheck(verdict.status, count, f"{verdict.detail}; {detail}")
    # The same rows in reverse order must get the same values in reverse order:
    # otherwise the order of the rows, or rows saved with the model, decide them.
    again = compare("predict", _reversed(got_back), got)
    if not again.matches:
        return PredictCheck(
            Verdict.DIFFERENT,
            count,
            f"given in reverse order, the rows got other values ({again.detail}): "
            f"their order, or rows saved by the stages, decide what is served; {detail}",
        )
    return PredictCheck(verdict.status, count, detail)


def _length(value: Any) -> int | None:
    try:
        return len(value)
    except TypeError:
        return None


def _count(n: int | None, noun: str = "value") -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}" if n is not None else f"no {noun}s"


def _taken(value: Any, positions: Any) -> Any:
    """The rows of ``value`` at ``positions``, in that order."""
    if hasattr(value, "iloc"):
        return value.iloc[list(positions)]
    if isinstance(value, list):
        return [value[i] for i in positions]
    return value[positions]


def _reversed(value: Any) -> Any:
    """``value``'s rows in reverse order (a frame's or series' keep their labels)."""
    if hasattr(value, "iloc"):
        return value.iloc[::-1]
    if isinstance(value, list):
        return value[::-1]
    return value[::-1]


def format_table(validation: Validation) -> str:
    """A readable table for the terminal."""
    if validation.status == Outcome.ERROR:
        return f"validation could not run: {validation.error}"
    compared = (*validation.comparisons, *validation.outputs)
    rows = [
        (c.name, c.status, "-" if c.how == How.NONE else c.how, c.detail)
        for c in compared
    ]
    width = max([len("name"), *(len(r[0]) for r in rows)])
    lines = [
        f"{'name':<{width}}  {'status':<14}  {'how':<14}  detail",
        f"{'-' * width}  {'-' * 14}  {'-' * 14}  {'-' * 6}",
    ]
    lines += [f"{n:<{width}}  {s:<14}  {h:<14}  {d}".rstrip() for n, s, h, d in rows]
    counts = {
        s: sum(1 for c in compared if c.status == s)
        for s in (
            Verdict.EQUAL,
            Verdict.CLOSE,
            Verdict.DIFFERENT,
            Verdict.NOT_COMPARABLE,
        )
    }
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    lines.append(f"{len(rows)} values compared: {summary or 'none'}")
    if validation.predict is not None:
        lines.append(validation.predict.line())
    never = [
        n for n, why in validation.uncompared if not why.startswith("not comparable")
    ]
    if never:
        shown = ", ".join(never[:8]) + (", ..." if len(never) > 8 else "")
        lines.append(
            f"not compared ({len(never)}; nbprod-report.json says why): {shown}"
        )
    if validation.status == Outcome.UNPROVEN:
        lines.append(f"not proven: {validation.why_unproven}")
    if validation.unseeded:
        lead = (
            "values differ"
            if validation.status == Outcome.DIFFERENT
            else "values match in this run (both started from the same seeds)"
        )
        lines.append(f"{lead}, but the notebook does what can change from run to run:")
        lines += [f"  {u}" for u in validation.unseeded]
    return "\n".join(lines)


def update_report(
    project: Path, validation: Validation, secrets: dict[str, str] | None = None
) -> None:
    """Keep the validation result in the project's nbprod-report.json (with any
    of the notebook's ``secrets`` a value's detail might show redacted)."""
    from nbprod.redact import redact

    report = read_report(project)
    report["validation"] = validation.to_dict()
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"
    (project / REPORT).write_text(redact(text, secrets or {}), encoding="utf-8")
