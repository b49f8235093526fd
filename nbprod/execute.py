"""Run the notebook (papermill, a real kernel) and the generated pipeline (a
subprocess), each capturing the same names to a folder of joblib files.

The notebook is executed from a temporary copy with a capture cell appended; the
user's file is only read. Success is judged from the execution's exception, never
from the executed notebook's metadata.
"""

from __future__ import annotations

import contextlib
import json
import keyword
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat

from nbprod.errors import NbprodError

DEFAULT_TIMEOUT = 600.0
MANIFEST = "manifest.json"

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
del _nbprod_capture
"""


class ExecutionError(NbprodError):
    """A run that validation needs did not complete."""

    exit_code = 1


@dataclass(frozen=True)
class Capture:
    """Where one run left its values, and what it could not capture."""

    folder: Path
    missing: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0


def _manifest(folder: Path) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    path = folder / MANIFEST
    if not path.is_file():
        return (), ()
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(data.get("missing", ())), tuple(sorted(data.get("failed", {}).items()))


def run_notebook(
    notebook: Path,
    names: list[str],
    folder: Path,
    *,
    parameters: dict | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    kernel_name: str | None = None,
) -> Capture:
    """Execute a copy of ``notebook`` in its own folder and capture ``names`` into ``folder``."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    # papermill pastes parameter names into code verbatim, and captured names
    # become file names: only identifiers may reach either.
    for name in [*names, *(parameters or {})]:
        if not (isinstance(name, str) and name.isidentifier()) or keyword.iskeyword(
            name
        ):
            raise ExecutionError(
                f"refusing to run: {name!r} is not a Python identifier",
                where=str(notebook),
                hint="nbprod-report.json or config.yaml was edited by hand",
            )
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":  # the run makes its own; saved ones can be huge
            cell.outputs, cell.execution_count = [], None
    count = len(nb.cells)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            _CAPTURE.format(names=list(names), folder=str(folder))
        )
    )
    tagged = [
        i
        for i, c in enumerate(nb.cells)
        if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    has_parameters = bool(tagged)
    # papermill inserts its injected-parameters cell after the tagged one.
    injected_at = tagged[0] + 1 if tagged and parameters else None
    deadline = time.monotonic() + timeout
    kernel = kernel_name or _kernel_for(nb)
    with tempfile.TemporaryDirectory(prefix="nbprod-run-") as tmp:
        source, executed = Path(tmp) / "input.ipynb", Path(tmp) / "executed.ipynb"
        nbformat.write(nb, str(source))
        start = time.monotonic()
        logging.getLogger("papermill").setLevel(logging.ERROR)
        try:
            with _kernel_stderr(Path(tmp) / "kernel.log"):
                papermill.execute_notebook(
                    str(source),
                    str(executed),
                    parameters=parameters if has_parameters else None,
                    kernel_name=kernel,
                    cwd=str(notebook.resolve().parent),
                    progress_bar=False,
                    log_output=False,
                    # Saving after every cell makes time grow with the square of the cells.
                    request_save_on_cell_execute=False,
                    start_timeout=min(60.0, timeout),
                    # The whole run shares one budget: each cell gets what is left of it.
                    timeout_func=lambda cell: max(1.0, deadline - time.monotonic()),
                )
        except PapermillExecutionError as exc:
            index = exc.cell_index
            if injected_at is not None and index >= injected_at:
                index -= 1
            if injected_at is not None and exc.cell_index == injected_at:
                where = "the parameters injected from config.yaml"
            elif index >= count:
                where = "the capture cell added by nbprod"
            else:
                where = f"notebook cell {index + 1}"
            raise ExecutionError(
                f"{where} raised {exc.ename}: {_one_line(exc.evalue)}",
                where=str(notebook),
            ) from None
        except (
            Exception
        ) as exc:  # noqa: BLE001 - nbclient and jupyter_client raise many types
            raise ExecutionError(_describe(exc, timeout), where=str(notebook)) from None
        seconds = time.monotonic() - start
    missing, failed = _manifest(folder)
    return Capture(folder, missing, failed, seconds)


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


class PipelineRun:
    """The generated pipeline, running in a subprocess while the notebook runs."""

    def __init__(
        self,
        project: Path,
        package: str,
        folder: Path,
        environment: dict[str, str] | None = None,
    ) -> None:
        project = project.resolve()
        paths = [str(project / "src"), os.environ.get("PYTHONPATH")]
        # ``environment``: the secrets the generated code reads, as the notebook held them.
        env = {
            **os.environ,
            **(environment or {}),
            "PYTHONPATH": os.pathsep.join(filter(None, paths)),
        }
        env.setdefault("MPLBACKEND", "Agg")
        self.project, self.folder = project, folder
        self.start = time.monotonic()
        self.log = tempfile.TemporaryFile()
        command = [
            sys.executable,
            "-m",
            package,
            "run",
            "--config",
            str(project / "config.yaml"),
        ]
        self.process = subprocess.Popen(
            [*command, "--artifacts", str(folder)],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def stop(self) -> None:
        """End it early (the notebook side failed)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.log.close()

    def wait(self, timeout: float) -> Capture:
        """Wait for it to finish and say what it left."""
        try:
            code = self.process.wait(timeout=max(1.0, timeout))
        except subprocess.TimeoutExpired:
            self.stop()
            raise ExecutionError(
                f"the generated pipeline did not finish within {timeout:g} s",
                where=str(self.project),
            ) from None
        self.log.seek(0)
        stderr = self.log.read().decode("utf-8", "replace")
        self.log.close()
        if code != 0:
            raise ExecutionError(
                f"the generated pipeline failed: {_last_error(stderr)}",
                where=str(self.project),
            )
        return Capture(self.folder, seconds=time.monotonic() - self.start)


def _last_error(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return _one_line(lines[-1]) if lines else "no error message"
