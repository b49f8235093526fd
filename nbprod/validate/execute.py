"""Run the notebook (papermill, a real kernel) and the generated pipeline (a
subprocess), each capturing the same names to a folder of joblib files, and what
each printed, cell by cell.

The notebook runs in a sandbox: a copy of its folder (and of the inputs it reads
from outside it) in a temporary directory, so nothing it writes lands beside the
user's files. Both runs start from the same random state: the same
``PYTHONHASHSEED`` and the same seeds of Python's and numpy's global generators.
Success is judged from the execution's exception, never from the executed
notebook's metadata.
"""

from __future__ import annotations

import contextlib
import json
import keyword
import logging
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING

from nbprod.errors import NbprodError
from nbprod.validate.driver import REFUSED_EXIT

if TYPE_CHECKING:
    import nbformat

DEFAULT_TIMEOUT = 600.0
MANIFEST = "manifest.json"
# What the pipeline's cells printed, written by nbprod.validate.driver when its run is done.
PRINTED = "_nbprod_printed.json"
# The state both runs start from: the notebook's kernel and the pipeline's process.
SEED = 0
HASH_SEED = "0"
# Folders of a notebook's folder that are not its inputs (and can be huge).
NOT_INPUTS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".ipynb_checkpoints",
        ".nbprod_cache",
        ".ruff_cache",
        ".mypy_cache",
        ".pytest_cache",
    }
)
# Files this large are linked into the sandbox, not copied: read, they cost nothing.
LINK_BYTES = 256 * 1024 * 1024
# Spare folder levels above the sandboxed notebook: a ``../../out.csv`` it writes
# still lands inside the temporary directory.
SPARE_LEVELS = 4

_SETUP = """\
# Added by nbprod validate: the random state the pipeline's run starts from, and a
# way to keep values where the notebook computes them.
def _nbprod_keep(name, make):
    import pathlib
    import pickle

    folder = pathlib.Path({folder!r})
    target = folder / (name + ".joblib")
    try:
        value = make()
        try:
            import joblib
        except ImportError:
            with open(target, "wb") as fh:
                pickle.dump(value, fh)
        else:
            joblib.dump(value, target)
    except Exception as exc:
        target.unlink(missing_ok=True)
        (folder / (name + ".failed")).write_text(f"{{type(exc).__name__}}: {{exc}}")


import random as _nbprod_random

_nbprod_random.seed({seed})
del _nbprod_random
try:
    import numpy as _nbprod_numpy
except ImportError:
    pass
else:
    _nbprod_numpy.random.seed({seed})
    del _nbprod_numpy
"""

_CAPTURE = """\
# Added by nbprod validate: save the values the pipeline declares as outputs.
def _nbprod_capture(names, folder):
    import json, pathlib, pickle
    try:
        import joblib
        dump = joblib.dump
    except ImportError:
        def dump(value, path):
            with open(path, "wb") as fh:
                pickle.dump(value, fh)
    folder = pathlib.Path(folder)
    missing, failed = [], {{}}
    for name in names:
        if name not in globals():
            missing.append(name)
            continue
        target = folder / (name + ".joblib")
        try:
            dump(globals()[name], target)
        except Exception as exc:
            target.unlink(missing_ok=True)
            failed[name] = f"{{type(exc).__name__}}: {{exc}}"
    (folder / "manifest.json").write_text(json.dumps({{"missing": missing, "failed": failed}}))
_nbprod_capture({names!r}, {folder!r})
del _nbprod_capture, _nbprod_keep
"""


class ExecutionError(NbprodError):
    """A run that validation needs did not complete."""

    exit_code = 1


class PipelineError(ExecutionError):
    """The generated pipeline's run failed or did not finish: the project's code is
    at fault, not the notebook."""


@dataclass(frozen=True)
class Probe:
    """A value kept in the middle of the notebook's run, where it is computed:
    ``expression`` is saved as ``name`` just after (or before) ``line`` of ``cell``,
    or, with no line, right after the cell in a cell of its own (the cell's last
    expression is still displayed, and a cell magic's body stays its own)."""

    name: str
    cell: int
    line: int | None
    after: bool
    expression: str


@dataclass(frozen=True)
class Capture:
    """Where one run left its values, what it could not capture, and what it
    printed, by notebook cell."""

    folder: Path
    missing: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    printed: dict[int, str] = field(default_factory=dict)


def _manifest(folder: Path) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    path = folder / MANIFEST
    if not path.is_file():
        return (), ()
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(data.get("missing", ())), tuple(sorted(data.get("failed", {}).items()))


def _check_identifiers(names: Iterable[object], notebook: Path) -> None:
    # papermill pastes parameter names into code verbatim, and captured names
    # become file names: only identifiers may reach either.
    for name in names:
        if not (isinstance(name, str) and name.isidentifier()) or keyword.iskeyword(
            name
        ):
            raise ExecutionError(
                f"refusing to run: {name!r} is not a Python identifier",
                where=str(notebook),
                hint="nbprod-report.json or config.yaml was edited by hand",
            )


def sandbox(
    notebook: Path, root: Path, reads: Iterable[str] = (), exclude: Iterable[Path] = ()
) -> Path:
    """A copy of ``notebook``'s folder under ``root`` (with the inputs it reads
    from outside that folder, ``reads`` being relative paths), where it can run
    without touching the user's files. Returns the copy of the folder."""
    folder = notebook.resolve().parent
    outside = []
    ups = 0
    for path in reads:
        if posixpath.isabs(path) or path.startswith("~"):
            continue
        normal = posixpath.normpath(path)
        parts = normal.split("/")
        up = next((i for i, part in enumerate(parts) if part != ".."), len(parts))
        if up:
            outside.append(normal)
            ups = max(ups, up)
    ups = min(ups, len(folder.parents))
    anchor = folder.parents[ups - 1] if ups else folder
    base = root.joinpath(*(f"up{i}" for i in range(SPARE_LEVELS)))
    copy = base / folder.relative_to(anchor) if ups else base / "notebook"
    excluded = {p.resolve() for p in exclude}
    _copy_tree(folder, copy, excluded)
    for path in outside:
        source = (folder / path).resolve()
        # (A folder holding the notebook's own is not copied again, whole.)
        if (
            not source.exists()
            or not source.is_relative_to(anchor)
            or folder.is_relative_to(source)
        ):
            continue
        target = base / source.relative_to(anchor)
        if source.is_dir():
            _copy_tree(source, target, excluded)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy_file(source, target)
    return copy


def _copy_tree(source: Path, target: Path, excluded: set[Path]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        if entry.name in NOT_INPUTS or entry.resolve() in excluded:
            continue
        if entry.name.startswith(".") and ".nbprod-" in entry.name:
            continue  # nbprod's own staging folders of a project written here
        if entry.is_dir():
            _copy_tree(entry, target / entry.name, excluded)
        elif entry.is_file():
            _copy_file(entry, target / entry.name)


def _copy_file(source: Path, target: Path) -> None:
    if source.stat().st_size >= LINK_BYTES:
        # A large input is only ever read by a notebook that runs here; a link
        # saves copying gigabytes.
        target.symlink_to(source.resolve())
    else:
        shutil.copy2(source, target)


def _with_probes(source: str, probes: list[Probe]) -> str:
    """The cell's source with each probe's line inserted at its place."""
    lines = source.split("\n")
    for probe in sorted(probes, key=lambda p: (p.line or 0, p.after), reverse=True):
        line = probe.line or 0
        lines.insert(line if probe.after else line - 1, _keep(probe))
    return "\n".join(lines)


def _keep(probe: Probe) -> str:
    return f"_nbprod_keep({probe.name!r}, lambda: {probe.expression})"


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    """``values`` in this process's environment while a kernel starts from it."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_notebook(
    notebook: Path,
    names: list[str],
    folder: Path,
    *,
    parameters: dict[str, object] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    kernel_name: str | None = None,
    probes: tuple[Probe, ...] = (),
    reads: Iterable[str] = (),
    exclude: Iterable[Path] = (),
    on_cell: Callable[[int, int], None] | None = None,
) -> Capture:
    """Execute a copy of ``notebook`` in a sandbox copy of its folder; capture
    ``names`` at its end and ``probes`` where they are computed into ``folder``.
    ``on_cell`` is told the number of each of the notebook's cells as it starts,
    and how many cells it has."""
    # Imported here: convert imports this module, and needs neither unless it validates.
    import nbformat

    _check_identifiers(
        [*names, *(parameters or {}), *(p.name for p in probes)], notebook
    )
    nb = nbformat.read(str(notebook), as_version=4)
    roles, tagged = _instrument(nb, names, folder, probes, bool(parameters))
    run = _Run(
        notebook,
        roles,
        parameters if tagged else None,
        kernel_name or _kernel_for(nb),
        timeout,
        on_cell,
    )
    with tempfile.TemporaryDirectory(prefix="nbprod-run-") as tmp:
        here = sandbox(notebook, Path(tmp) / "sandbox", reads, exclude)
        seconds, printed = _execute(nb, here, Path(tmp), run)
    missing, failed = _manifest(folder)
    failed += tuple(
        (p.stem, p.read_text(encoding="utf-8", errors="replace"))
        for p in sorted(folder.glob("*.failed"))
    )
    return Capture(folder, missing, failed, seconds, printed)


def _instrument(
    nb: nbformat.NotebookNode,
    names: list[str],
    folder: Path,
    probes: tuple[Probe, ...],
    injected: bool,
) -> tuple[list[dict[str, object]], bool]:
    """``nb`` with its saved outputs cleared, the probes in (or after) their
    cells, a setup cell first and a capture cell last; returns the role of each
    cell as it will run (papermill's injected parameters included, when
    ``injected``), and whether a cell is tagged ``parameters``."""
    import nbformat

    inside: dict[int, list[Probe]] = {}
    after: dict[int, list[Probe]] = {}
    for probe in probes:
        (inside if probe.line else after).setdefault(probe.cell, []).append(probe)
    cells = []
    for number, cell in enumerate(nb.cells, start=1):
        cell.metadata["nbprod"] = {"cell": number}
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None  # saved ones can be huge
        if number in inside:
            cell.source = _with_probes(cell.source, inside[number])
        if number in after:
            kept = nbformat.v4.new_code_cell("\n".join(_keep(p) for p in after[number]))
            kept.metadata["nbprod"] = {"role": "probe"}
            cells.append(kept)
    setup = nbformat.v4.new_code_cell(_SETUP.format(folder=str(folder), seed=SEED))
    setup.metadata["nbprod"] = {"role": "setup"}
    capture = nbformat.v4.new_code_cell(
        _CAPTURE.format(names=list(names), folder=str(folder))
    )
    capture.metadata["nbprod"] = {"role": "capture"}
    nb.cells = [setup, *cells, capture]
    roles = [dict(c.metadata["nbprod"]) for c in nb.cells]
    tagged = [
        i
        for i, c in enumerate(nb.cells)
        if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if tagged and injected:
        # papermill inserts its cell of injected parameters after the tagged one.
        roles.insert(tagged[0] + 1, {"role": "parameters"})
    return roles, bool(tagged)


@dataclass(frozen=True)
class _Run:
    """How an instrumented notebook is run."""

    notebook: Path  # the user's, for messages
    roles: list[dict[str, object]]
    parameters: dict[str, object] | None
    kernel: str
    timeout: float
    on_cell: Callable[[int, int], None] | None


def _execute(
    nb: nbformat.NotebookNode, here: Path, tmp: Path, run: _Run
) -> tuple[float, dict[int, str]]:
    """Run ``nb`` with papermill in the sandbox folder ``here``; the seconds it
    took and what its cells printed. ExecutionError names the cell that failed."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = here / f".nbprod-run-{run.notebook.name}"
    executed = tmp / "executed.ipynb"
    nbformat.write(nb, str(source))
    deadline = time.monotonic() + run.timeout
    start = time.monotonic()
    logging.getLogger("papermill").setLevel(logging.ERROR)
    try:
        with _kernel_stderr(tmp / "kernel.log"), _environ(PYTHONHASHSEED=HASH_SEED):
            papermill.execute_notebook(
                str(source),
                str(executed),
                engine_name=_reporting_engine(),
                on_cell=_cells_of(run.roles, run.on_cell),
                parameters=run.parameters,
                kernel_name=run.kernel,
                cwd=str(here),
                progress_bar=False,
                log_output=False,
                # Saving after every cell makes time grow with the square of the cells.
                request_save_on_cell_execute=False,
                start_timeout=min(60.0, run.timeout),
                # The whole run shares one budget: each cell gets what is left of it.
                timeout_func=lambda cell: max(1.0, deadline - time.monotonic()),
            )
    except PapermillExecutionError as exc:
        raise ExecutionError(
            f"{_where(run.roles, exc.cell_index)} raised {exc.ename}: "
            f"{_one_line(exc.evalue)}",
            where=str(run.notebook),
        ) from None
    except (
        Exception
    ) as exc:  # noqa: BLE001 - nbclient and jupyter_client raise many types
        raise ExecutionError(
            _describe(exc, run.timeout), where=str(run.notebook)
        ) from None
    seconds = time.monotonic() - start
    return seconds, _printed(nbformat.read(str(executed), as_version=4))


def _cells_of(
    roles: list[dict[str, object]], on_cell: Callable[[int, int], None] | None
) -> Callable[[int], None] | None:
    """``on_cell`` told notebook cell numbers, not indexes in the run's copy
    (which has cells of its own: set-up, parameters, capture)."""
    if on_cell is None:
        return None
    report = on_cell
    total = sum(1 for role in roles if "cell" in role)

    def started(index: int) -> None:
        number = roles[index].get("cell") if 0 <= index < len(roles) else None
        if isinstance(number, int):
            report(number, total)

    return started


@cache
def _reporting_engine() -> str:
    """papermill's nbclient engine, which also says when each cell starts: an
    engine is papermill's own way to change how cells run. Registered once, by
    name, as papermill's engines are."""
    from papermill.engines import NBClientEngine, papermill_engines

    class Reporting(NBClientEngine):  # type: ignore[misc]
        @classmethod
        def execute_managed_notebook(  # type: ignore[no-untyped-def]
            cls, nb_man, kernel_name, **kwargs
        ):
            on_cell = kwargs.pop("on_cell", None)
            if on_cell is not None:
                start = nb_man.cell_start

                def cell_start(cell, cell_index=None, **more):  # type: ignore[no-untyped-def]
                    on_cell(cell_index)
                    return start(cell, cell_index, **more)

                nb_man.cell_start = cell_start
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register("nbprod", Reporting)
    return "nbprod"


def _where(roles: list[dict[str, object]], index: int) -> str:
    """Which cell the executed notebook's cell ``index`` is, as the user counts."""
    role = roles[index] if 0 <= index < len(roles) else {}
    if "cell" in role:
        return f"notebook cell {role['cell']}"
    if role.get("role") == "capture":
        return "the capture cell added by nbprod"
    if role.get("role") == "probe":
        return "a cell added by nbprod to keep values"
    if role.get("role") == "setup":
        return "the set-up cell added by nbprod"
    return "the parameters injected from config.yaml"


def _printed(nb: nbformat.NotebookNode) -> dict[int, str]:
    """What each of the notebook's own cells printed to standard output."""
    printed = {}
    for cell in nb.cells:
        number = cell.metadata.get("nbprod", {}).get("cell")
        if number is None or cell.cell_type != "code":
            continue
        text = "".join(
            o.get("text", "")
            for o in cell.get("outputs", [])
            if o.get("output_type") == "stream" and o.get("name") == "stdout"
        )
        if text:
            printed[number] = text
    return printed


@contextlib.contextmanager
def _kernel_stderr(log: Path) -> Iterator[None]:
    """Send what the kernel process prints on stderr (start-up warnings, its
    shutdown) to ``log``: the kernel inherits file descriptor 2 when it starts."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log, "wb") as fh:
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _kernel_for(nb: nbformat.NotebookNode) -> str:
    """The notebook's own kernel where this machine has it, else this interpreter's."""
    from jupyter_client.kernelspec import KernelSpecManager

    wanted = (nb.metadata.get("kernelspec") or {}).get("name")
    try:
        available = KernelSpecManager().find_kernel_specs()
    except Exception:  # noqa: BLE001 - a broken Jupyter config falls back to python3
        available = {}
    return wanted if wanted in available else "python3"


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line[:300]


def _describe(exc: BaseException, timeout: float) -> str:
    name = type(exc).__name__
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return f"the notebook did not finish within {timeout:g} s (raise it with --timeout)"
    if "DeadKernel" in name:
        return "the notebook's kernel died while running it"
    if "NoSuchKernel" in name:
        return f"no Jupyter kernel to run it ({_one_line(str(exc))}); install ipykernel"
    if "RuntimeError" in name and (
        "Kernel didn't respond" in str(exc) or "Kernel died before" in str(exc)
    ):
        return "the notebook's kernel did not start (it exited or did not answer)"
    return f"running the notebook failed: {name}: {_one_line(str(exc))}"


# Where the pipeline's run keeps what the steps validation asks for return, one
# folder per step, under its artifacts.
STEPS_FOLDER = ".steps"
# A step function whose returns the run keeps: (module, function, the names it
# returns, and for each of its calls the step whose folder keeps them, or None).
KeptStep = tuple[str, str, list[str], list[str | None]]


class PipelineRun:
    """The generated pipeline, running in a subprocess while the notebook runs,
    through ``nbprod.validate.driver`` (same random state, printed output kept by cell).

    The process stays up after the run, so that ``predict`` on the rows the
    notebook predicted on costs no second start and import of the project: it
    writes what its cells printed (which says it ran), then reads one request on
    its standard input.
    """

    def __init__(
        self,
        project: Path,
        package: str,
        folder: Path,
        environment: dict[str, str] | None = None,
        lines: dict[str, dict[int, int]] | None = None,
        stages: tuple[str, ...] = (),
        steps: list[KeptStep] | None = None,
    ) -> None:
        project = project.resolve()
        self.project, self.folder = project, folder
        self.start = time.monotonic()
        self.log = tempfile.TemporaryFile()
        self.stage_file = folder.parent / f"{folder.name}-stage"
        self.finished = False
        self.refused: str | None = None  # why predict refuses, when it does
        self.stages = stages
        spec = {
            "project": str(project),
            "package": package,
            "artifacts": str(folder),
            "stage": str(self.stage_file),
            "seed": SEED,
            "lines": lines or {},
            "printed": str(folder / PRINTED),
            "steps": steps or [],
            "steps_folder": str(folder / STEPS_FOLDER),
        }
        self.process = _driver(spec, project, environment, stderr=self.log)

    def stage(self) -> str:
        """The stage running now, for the progress line (``stages``: all of them,
        in order); "done" once the run is over."""
        if self.finished or self.process.poll() is not None:
            return "done"
        try:
            stage = self.stage_file.read_text(encoding="utf-8")
        except OSError:
            return "starting"
        if stage in self.stages:
            return f"{stage} ({self.stages.index(stage) + 1} of {len(self.stages)})"
        return stage

    def stop(self) -> None:
        """End it (the notebook side failed, or nothing more is asked of it)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.log.close()

    def _error(self) -> str:
        self.log.seek(0)
        return _last_error(self.log.read().decode("utf-8", "replace"))

    def wait(self, timeout: float) -> Capture:
        """Wait for the run to finish and say what it left."""
        printed_file = self.folder / PRINTED
        deadline = time.monotonic() + max(1.0, timeout)
        while not printed_file.is_file():
            if self.process.poll() is not None:
                error = self._error()
                self.stop()
                raise PipelineError(
                    f"the generated pipeline failed: {error}", where=str(self.project)
                )
            if time.monotonic() > deadline:
                self.stop()
                raise PipelineError(
                    f"the generated pipeline did not finish within {timeout:g} s",
                    where=str(self.project),
                )
            time.sleep(0.05)
        printed = {
            int(k): v
            for k, v in json.loads(printed_file.read_text(encoding="utf-8")).items()
        }
        printed_file.unlink()
        self.finished = True
        return Capture(
            self.folder, seconds=time.monotonic() - self.start, printed=printed
        )

    def predict(
        self,
        runs: list[tuple[Path, Path]],
        timeout: float,
        probe: tuple[Path, Path] | None = None,
    ) -> str | None:
        """Run the generated ``predict`` on the rows saved in each file of
        ``runs``, with the artifacts the run left; what it serves goes to the
        run's target. Returns the error, if one failed; when the project's
        predict refuses by design (``PREDICT_REFUSED``), None, and ``refused``
        says why. ``probe``: the rows whose columns the serving path is run
        without, one by one, and where how it uses them goes (JSON). The process
        ends either way."""
        assert self.process.stdin is not None
        request = json.dumps(
            {
                "runs": [[str(r), str(t)] for r, t in runs],
                "probe": [str(p) for p in probe] if probe else None,
            }
        )
        try:
            self.process.stdin.write(request.encode() + b"\n")
            self.process.stdin.close()
            code = self.process.wait(timeout=max(1.0, timeout))
        except subprocess.TimeoutExpired:
            return f"did not finish within {timeout:g} s"
        except OSError:  # it had ended already
            code = self.process.wait()
        finally:
            error = self._error()
            self.stop()
        if code == REFUSED_EXIT:
            self.refused = error
            return None
        return None if code == 0 else error


def _driver(
    spec: dict[str, object],
    project: Path,
    environment: dict[str, str] | None,
    stderr: IO[bytes],
) -> subprocess.Popen[bytes]:
    paths = [str(project / "src"), os.environ.get("PYTHONPATH")]
    # ``environment``: the secrets the generated code reads, as the notebook held them.
    env = {
        **os.environ,
        **(environment or {}),
        "PYTHONPATH": os.pathsep.join(filter(None, paths)),
        "PYTHONHASHSEED": HASH_SEED,
    }
    env.setdefault("MPLBACKEND", "Agg")
    return subprocess.Popen(
        [sys.executable, "-m", "nbprod.validate.driver", json.dumps(spec)],
        cwd=project,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def _last_error(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return _one_line(lines[-1]) if lines else "no error message"
