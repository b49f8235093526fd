"""The equivalence proof: run the notebook and the generated pipeline, compare what
both computed, name by name, and say where they differ and why."""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nbprod.compare import (
    DIFFERENT,
    EQUAL,
    NONE,
    NOT_COMPARABLE,
    Comparison,
    compare,
    prediction_inputs,
)
from nbprod.errors import NbprodError
from nbprod.execute import (
    DEFAULT_TIMEOUT,
    Capture,
    ExecutionError,
    PipelineRun,
    run_notebook,
)
from nbprod.generate import MODULE_OF_STAGE as MODULES

REPORT = "nbprod-report.json"


@dataclass(frozen=True)
class Validation:
    """The outcome of one validation run."""

    status: str  # equal | different | unproven | error
    comparisons: tuple[Comparison, ...] = ()
    error: str = ""
    unseeded: tuple[str, ...] = ()
    notebook_seconds: float = 0.0
    pipeline_seconds: float = 0.0
    notebook_values: Path | None = field(default=None, compare=False)

    @property
    def passed(self) -> bool:
        return self.status == EQUAL

    @property
    def reason(self) -> str:
        """Why it did not pass, in one line."""
        if self.error:
            return self.error
        if self.status == "unproven" and any(c.model for c in self.comparisons):
            return "no model could be compared: what it learned is not proven equal"
        if self.status == "unproven":
            return (
                "nothing could be compared: no stage returns a value the notebook "
                "also holds (results only printed or plotted prove nothing)"
            )
        return "the pipeline does not reproduce the notebook"

    def to_dict(self) -> dict[str, Any]:
        """The JSON kept in nbprod-report.json (no timings: output stays deterministic)."""
        data = asdict(self)
        for key in ("notebook_values", "notebook_seconds", "pipeline_seconds"):
            data.pop(key)
        data["compared"] = len(self.comparisons)
        return data


def read_report(project: Path) -> dict[str, Any]:
    """The plan a conversion left in ``project``."""
    path = project / REPORT
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NbprodError(
            f"no {REPORT}: not a project made by nbprod convert", where=str(project)
        ) from None
    except json.JSONDecodeError as exc:
        raise NbprodError(
            f"{REPORT} is not valid JSON ({exc.msg})", where=str(project)
        ) from None


def observed_names(plan: dict[str, Any]) -> list[str]:
    """Every value a stage returns: what validation compares."""
    names: dict[str, None] = {}
    for stage in plan["stages"]:
        names.update(dict.fromkeys(stage["outputs"]))
    return list(names)


def notebook_parameters(project: Path, plan: dict[str, Any]) -> dict[str, Any]:
    """The papermill parameters cell's values, as config.yaml now holds them.

    Paths are given to the notebook only when config.yaml changed them (then
    resolved, since the notebook runs in its own folder); otherwise the notebook
    keeps its own, which name the same files from there.
    """
    declared = {p["key"]: p for p in plan["params"] if p["group"] == "parameters"}
    if not declared:
        return {}
    config = yaml.safe_load((project / "config.yaml").read_text(encoding="utf-8")) or {}
    values = dict(config.get("parameters") or {})
    injected = {}
    for key, param in declared.items():
        if key not in values:
            continue
        value = values[key]
        if param["kind"] == "path":
            if value == param["value"]:
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
def project_classes(project: Path, plan: dict[str, Any]) -> Iterator[None]:
    """Make both runs' values loadable here: the project's package importable, and
    the notebook's own classes and functions (pickled as ``__main__.NAME`` by the
    kernel) resolved to the ones the project moved them to."""
    main = sys.modules["__main__"]
    src = str((project / "src").resolve())
    sys.path.insert(0, src)
    added = []
    try:
        for helper in plan["helpers"]:
            module = importlib.import_module(
                f"{plan['package']}.{MODULES[helper['stage']]}"
            )
            if not hasattr(main, helper["name"]):
                setattr(main, helper["name"], getattr(module, helper["name"]))
                added.append(helper["name"])
        yield
    finally:
        for name in added:
            delattr(main, name)
        sys.path.remove(src)
        package = plan["package"]
        for name in [
            m for m in sys.modules if m == package or m.startswith(package + ".")
        ]:
            del sys.modules[name]


def load_values(folder: Path, names: list[str]) -> dict[str, Any]:
    """The captured values that load here, by name."""
    loaded = {name: _load(folder, name) for name in names}
    return {name: value for name, (ok, value) in loaded.items() if ok}


def compare_captures(
    names: list[str], ours: Capture, theirs: Capture
) -> list[Comparison]:
    """Compare every name both runs captured; say why for the others."""
    notebook_inputs = []
    loaded: dict[str, tuple[tuple[bool, Any], tuple[bool, Any]]] = {}
    for name in names:
        loaded[name] = (_load(ours.folder, name), _load(theirs.folder, name))
        ok, value = loaded[name][1]
        if ok:
            notebook_inputs += prediction_inputs([value])
    failed = dict(theirs.failed)
    results = []
    for name in names:
        (have_ours, ours_value), (have_theirs, theirs_value) = loaded[name]
        if not have_theirs:
            why = (
                "the notebook does not define it at its end"
                if name in theirs.missing
                else f"the notebook's value cannot be saved ({failed.get(name, 'not captured')})"
            )
            results.append(Comparison(name, NOT_COMPARABLE, why))
        elif not have_ours:
            results.append(
                Comparison(name, NOT_COMPARABLE, "the pipeline's value cannot be saved")
            )
        else:
            results.append(compare(name, ours_value, theirs_value, notebook_inputs))
    return results


def validate_project(
    notebook: Path,
    project: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    keep_values: Path | None = None,
    unseeded: Callable[[], tuple[str, ...]] = tuple,
    environment: dict[str, str] | None = None,
) -> Validation:
    """Run both sides and compare them. ``keep_values`` receives the notebook's
    values; ``environment`` is added to the pipeline's (the secrets it reads)."""
    report = read_report(project)
    plan = report["plan"]
    names = observed_names(plan)
    with tempfile.TemporaryDirectory(prefix="nbprod-validate-") as tmp:
        nb_folder = keep_values or Path(tmp) / "notebook"
        pipe_folder = Path(tmp) / "pipeline"
        nb_folder.mkdir(parents=True, exist_ok=True)
        pipe_folder.mkdir()
        # The two runs go side by side: the pipeline in a subprocess, the notebook
        # in a kernel; each writes only to its own folder.
        started = time.monotonic()
        pipeline = PipelineRun(project, plan["package"], pipe_folder, environment)
        try:
            theirs = run_notebook(
                notebook,
                names,
                nb_folder,
                parameters=notebook_parameters(project, plan),
                timeout=timeout,
            )
            ours = pipeline.wait(timeout - (time.monotonic() - started))
        except ExecutionError as exc:
            pipeline.stop()
            return Validation("error", error=str(exc))
        with project_classes(project, plan):
            comparisons = tuple(compare_captures(names, ours, theirs))
    return Validation(
        proof_status(comparisons),
        comparisons,
        unseeded=unseeded(),
        notebook_seconds=theirs.seconds,
        pipeline_seconds=ours.seconds,
        notebook_values=keep_values,
    )


def proof_status(comparisons: tuple[Comparison, ...]) -> str:
    """equal, different or unproven, from the comparisons of every value."""
    models = [c for c in comparisons if c.model]
    proven = any(c.matches for c in comparisons) and (
        not models or any(c.matches for c in models)
    )
    # A value that cannot be compared is reported, not counted against the proof;
    # but nothing compared proves nothing, and when no model could be compared,
    # what the notebook learned is unproven.
    if any(c.status == DIFFERENT for c in comparisons):
        return DIFFERENT
    return EQUAL if proven else "unproven"


def format_table(validation: Validation) -> str:
    """A readable table for the terminal."""
    if validation.status == "error":
        return f"validation could not run: {validation.error}"
    rows = [
        (c.name, c.status, "-" if c.how == NONE else c.how, c.detail)
        for c in validation.comparisons
    ]
    width = max([len("name"), *(len(r[0]) for r in rows)])
    lines = [
        f"{'name':<{width}}  {'status':<14}  {'how':<13}  detail",
        f"{'-' * width}  {'-' * 14}  {'-' * 13}  {'-' * 6}",
    ]
    lines += [f"{n:<{width}}  {s:<14}  {h:<13}  {d}".rstrip() for n, s, h, d in rows]
    counts = {
        s: sum(1 for c in validation.comparisons if c.status == s)
        for s in (EQUAL, "close", DIFFERENT, NOT_COMPARABLE)
    }
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    lines.append(f"{len(rows)} values compared: {summary or 'none'}")
    if validation.unseeded:
        lead = (
            "values differ"
            if validation.status == DIFFERENT
            else "values match in this run"
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
