"""What ``nbprod validate`` costs on top of running the notebook and its pipeline.

What it measures
----------------
The examples folder ``examples/notebooks`` (with its ``data/``) is copied to a
temporary folder first, and every notebook there is converted once, untimed, with
``python -m nbprod convert NB -o TMP/proj --no-validate --force``. Then, for each
notebook, as subprocesses timed by wall clock (interpreter start-up included):

A. The notebook's own papermill run:
   ``python -m papermill NB OUT.ipynb --cwd NOTEBOOK_DIR --no-progress-bar --kernel python3``.
B. The pipeline's own run, with ``PYTHONPATH=TMP/proj/src`` and the project as the
   working folder (as ``nbprod validate`` runs it):
   ``python -m PKG run --config TMP/proj/config.yaml --artifacts TMPDIR``.
V. ``python -m nbprod validate NB TMP/proj``, which runs the notebook with
   papermill and the pipeline side by side (a kernel and a subprocess), then
   compares their values.

Every subprocess gets ``MPLBACKEND=Agg``. The notebooks write ``results/`` and
``cache/`` next to themselves, and the pipelines next to their ``config.yaml``: before
every run, everything that was not in the notebook folder after the copy, or in the
project after the conversion, is deleted, so every run does the same work (a file
the notebook only rewrites in place is not restored). The runs are interleaved
(A, B, V, then A, B, V again, ...) so that a change in the machine's load hits the
three alike; each figure is the median of ``--repeat`` runs.

It prints a table per notebook of A, B, max(A, B), A + B, V, the overhead of V over
max(A, B) and over A + B in seconds, and V / (A + B); then the spread (min-max) of
every measurement, and the target:

* "validation adds under 3 s to the longer of the two runs": the median of V minus
  max(median A, median B), for every notebook: PASS/FAIL. The overhead over A + B
  is reported next to it: on 2 cores the two runs side by side compete for the CPU,
  so V lies between max(A, B) and A + B plus what validation itself adds.

A failed run is reported (command and the end of its stderr), never worked around.
A benchmark only reports: it never fails or exits non-zero on a missed target.

How to run it
-------------
From the repository root, with the project's environment::

    python benchmarks/validate_overhead.py              # every example, 3 repeats
    python benchmarks/validate_overhead.py --repeat 5
    python benchmarks/validate_overhead.py --quick      # smoke run: 2 examples, 1 repeat

It needs only the standard library and nbformat, plus nbprod and papermill (with
the ``python3`` Jupyter kernel) installed in the running interpreter's environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import fmt_table, last_line, load_average, progress, verdict  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "notebooks"
TARGET_SECONDS = 3.0
QUICK_NOTEBOOKS = 2
STDERR_LINES = 30


@dataclass
class Failure:
    """A command that failed, with what it said."""

    step: str
    command: list[str]
    message: str
    stderr: str


@dataclass
class Timing:
    """Wall-clock seconds of repeated runs of one command on one notebook."""

    runs: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def median(self) -> float | None:
        if self.error is not None or not self.runs:
            return None
        return statistics.median(self.runs)

    def span(self) -> str:
        """``min-max``, or the error."""
        if self.error is not None:
            return f"FAILED ({self.error})"
        if not self.runs:
            return "-"
        return f"{min(self.runs):.2f}-{max(self.runs):.2f}"


@dataclass
class Case:
    """One example notebook, its converted project and its timings."""

    label: str
    notebook: Path
    project: Path
    code_cells: int
    package: str | None = None
    papermill: Timing = field(default_factory=Timing)
    pipeline: Timing = field(default_factory=Timing)
    validate: Timing = field(default_factory=Timing)

    def medians(self) -> tuple[float, float, float] | None:
        """(A, B, V) medians, or None when a step failed."""
        a, b, v = self.papermill.median, self.pipeline.median, self.validate.median
        if a is None or b is None or v is None:
            return None
        return a, b, v


def count_code_cells(path: Path) -> int:
    """The number of code cells in the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    return sum(1 for c in nb.cells if c.cell_type == "code")


def environment(pythonpath: Path | None = None) -> dict[str, str]:
    """This process's environment with ``MPLBACKEND=Agg`` (and ``PYTHONPATH`` first)."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(pythonpath), os.environ.get("PYTHONPATH")])
        )
    return env


def convert_command(notebook: Path, project: Path) -> list[str]:
    """Setup: ``nbprod convert`` without validation."""
    return [
        sys.executable,
        "-m",
        "nbprod",
        "convert",
        str(notebook),
        "-o",
        str(project),
        "--no-validate",
        "--force",
    ]


def papermill_command(notebook: Path, out: Path) -> list[str]:
    """A: the notebook's own papermill run, in its own folder."""
    return [
        sys.executable,
        "-m",
        "papermill",
        str(notebook),
        str(out),
        "--cwd",
        str(notebook.parent),
        "--no-progress-bar",
        "--kernel",
        "python3",
    ]


def pipeline_command(project: Path, package: str, artifacts: Path) -> list[str]:
    """B: the generated pipeline's own run."""
    return [
        sys.executable,
        "-m",
        package,
        "run",
        "--config",
        str(project / "config.yaml"),
        "--artifacts",
        str(artifacts),
    ]


def validate_command(notebook: Path, project: Path) -> list[str]:
    """V: ``nbprod validate``, which runs A's and B's work and compares."""
    return [sys.executable, "-m", "nbprod", "validate", str(notebook), str(project)]


def snapshot(folder: Path) -> set[Path]:
    """Every file and folder under ``folder``, relative to it."""
    return {path.relative_to(folder) for path in folder.rglob("*")}


def clean(folder: Path, keep: set[Path]) -> None:
    """Delete what is under ``folder`` but not in ``keep`` (results/, cache/, ...)."""
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts)):
        if path.relative_to(folder) in keep or not os.path.lexists(path):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def tail(text: str, lines: int = STDERR_LINES) -> str:
    """The last ``lines`` non-empty lines of ``text``."""
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:]) if kept else "(no output)"


def run_once(
    step: str,
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    timeout: float,
    failures: list[Failure],
) -> float | str:
    """Seconds the command took, or a short error (the full one goes to ``failures``)."""
    start = time.perf_counter()
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        message = f"timed out after {timeout:.0f} s"
        stderr = exc.stderr if isinstance(exc.stderr, str) else ""
        failures.append(Failure(step, command, message, stderr))
        return message
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        output = result.stderr or result.stdout
        message = f"exit {result.returncode}: {last_line(output)}"
        # validate prints its comparison table on stdout: keep both.
        both = "\n".join(filter(None, [result.stdout.strip(), result.stderr.strip()]))
        failures.append(Failure(step, command, message, both))
        return message
    return elapsed


def package_of(project: Path) -> str:
    """The package's folder name under ``project/src``."""
    packages = sorted(
        p.name
        for p in (project / "src").iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    )
    if len(packages) != 1:
        raise RuntimeError(f"expected one package in {project / 'src'}: {packages}")
    return packages[0]


def setup(case: Case, timeout: float, failures: list[Failure], notebooks: Path) -> bool:
    """Convert the notebook once (untimed); False when that failed."""
    env = environment()
    outcome = run_once(
        "convert",
        convert_command(case.notebook, case.project),
        env,
        notebooks.parent,
        timeout,
        failures,
    )
    if isinstance(outcome, str):
        for timing in (case.papermill, case.pipeline, case.validate):
            timing.error = f"convert failed: {outcome}"
        return False
    try:
        case.package = package_of(case.project)
    except (OSError, RuntimeError) as exc:
        for timing in (case.papermill, case.pipeline, case.validate):
            timing.error = f"no package: {exc}"
        return False
    return True


def run_case(
    case: Case,
    repeat: int,
    timeout: float,
    scratch: Path,
    notebooks: Path,
    notebooks_keep: set[Path],
    failures: list[Failure],
) -> None:
    """Time A, B and V on one converted notebook, interleaved, ``repeat`` times."""
    assert case.package is not None
    project_keep = snapshot(case.project)
    out = scratch / "papermill-out.ipynb"
    artifacts = scratch / "artifacts"
    steps = [
        (
            "papermill",
            case.papermill,
            papermill_command(case.notebook, out),
            environment(),
            notebooks,
        ),
        (
            "pipeline",
            case.pipeline,
            pipeline_command(case.project, case.package, artifacts),
            environment(case.project / "src"),
            case.project,
        ),
        (
            "validate",
            case.validate,
            validate_command(case.notebook, case.project),
            environment(),
            notebooks.parent,
        ),
    ]
    for number in range(1, repeat + 1):
        for name, timing, command, env, cwd in steps:
            if timing.error is not None:
                continue
            clean(notebooks, notebooks_keep)
            clean(case.project, project_keep)
            out.unlink(missing_ok=True)
            shutil.rmtree(artifacts, ignore_errors=True)
            artifacts.mkdir(parents=True)
            progress(f"  {case.label:<30} run {number}/{repeat} {name} ...")
            outcome = run_once(
                f"{name} ({case.label})", command, env, cwd, timeout, failures
            )
            if isinstance(outcome, str):
                timing.error = outcome
            else:
                timing.runs.append(outcome)
    clean(notebooks, notebooks_keep)
    clean(case.project, project_keep)


def main_rows(cases: Sequence[Case]) -> list[list[str]]:
    """The main table: medians, seconds."""
    rows = [
        [
            "notebook",
            "papermill s (A)",
            "pipeline s (B)",
            "max(A,B)",
            "sum(A+B)",
            "validate s (V)",
            "V-max(A,B) s",
            "V-(A+B) s",
            "V/(A+B)",
        ]
    ]
    for case in cases:
        medians = case.medians()
        if medians is None:
            cells = [
                f"{t.median:.2f}" if t.median is not None else "FAILED"
                for t in (case.papermill, case.pipeline)
            ]
            v = case.validate.median
            rows.append(
                [
                    case.label,
                    *cells,
                    "-",
                    "-",
                    f"{v:.2f}" if v is not None else "FAILED",
                ]
                + ["-"] * 3
            )
            continue
        a, b, v = medians
        rows.append(
            [
                case.label,
                f"{a:.2f}",
                f"{b:.2f}",
                f"{max(a, b):.2f}",
                f"{a + b:.2f}",
                f"{v:.2f}",
                f"{v - max(a, b):+.2f}",
                f"{v - (a + b):+.2f}",
                f"{v / (a + b):.2f}x",
            ]
        )
    return rows


def spread_rows(cases: Sequence[Case]) -> list[list[str]]:
    """Min-max of each measurement, seconds."""
    rows = [["notebook", "code cells", "papermill", "pipeline", "validate"]]
    for case in cases:
        rows.append(
            [
                case.label,
                str(case.code_cells),
                case.papermill.span(),
                case.pipeline.span(),
                case.validate.span(),
            ]
        )
    return rows


def target_lines(cases: Sequence[Case]) -> list[str]:
    """The 3-s target over max(A, B), and the same figure over A + B."""
    measured = [(c.label, m) for c in cases if (m := c.medians()) is not None]
    missing = [c.label for c in cases if c.medians() is None]
    lines = ["Targets (medians of each notebook's runs):"]
    if not measured:
        lines.append(
            f"  validation adds under {TARGET_SECONDS:.0f} s to the longer of the two"
            " runs: not measured (every notebook failed)"
        )
        return lines
    over_max = [(v - max(a, b), label) for label, (a, b, v) in measured]
    over_sum = [(v - (a + b), label) for label, (a, b, v) in measured]
    ratios = [v / (a + b) for _, (a, b, v) in measured]
    worst_max, worst_max_label = max(over_max)
    worst_sum, worst_sum_label = max(over_sum)
    failing = [label for o, label in over_max if o >= TARGET_SECONDS]
    lines.append(
        f"  validation adds under {TARGET_SECONDS:.0f} s to the longer of the two runs:"
        f" {verdict(not failing)} over max(A,B): median across notebooks"
        f" {statistics.median(o for o, _ in over_max):+.2f} s, worst {worst_max:+.2f} s"
        f" ({worst_max_label}); {len(measured) - len(failing)}/{len(measured)}"
        " notebooks under the target"
        + (f"; over it: {', '.join(failing)}" if failing else "")
    )
    lines.append(
        f"  the same overhead over A+B (the two runs share the machine's cores):"
        f" median across notebooks {statistics.median(o for o, _ in over_sum):+.2f} s,"
        f" worst {worst_sum:+.2f} s ({worst_sum_label}); V/(A+B) median"
        f" {statistics.median(ratios):.2f}x; under {TARGET_SECONDS:.0f} s over A+B:"
        f" {sum(o < TARGET_SECONDS for o, _ in over_sum)}/{len(measured)} notebooks"
    )
    if missing:
        lines.append(f"  not measured (a step failed): {', '.join(missing)}")
    return lines


def failure_lines(failures: Sequence[Failure]) -> list[str]:
    """Each failed command with the end of its output."""
    lines = [f"Failures ({len(failures)}):"]
    for failure in failures:
        lines.append(f"  [{failure.step}] {failure.message}")
        lines.append(f"  command: {' '.join(failure.command)}")
        lines.append(f"  output (last {STDERR_LINES} lines):")
        lines.extend(f"    {line}" for line in tail(failure.stderr).splitlines())
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per measurement (default 3)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: the first {QUICK_NOTEBOOKS} examples, repeat 1",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds before one run counts as failed",
    )
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Copy the examples, convert them, time A, B and V, print the report. Returns 0."""
    args = parse_args(argv)
    load_before = load_average()
    started = time.perf_counter()
    failures: list[Failure] = []
    with tempfile.TemporaryDirectory(prefix="nbprod-validate-bench-") as tmp:
        root = Path(tmp)
        notebooks = root / "notebooks"
        shutil.copytree(EXAMPLES, notebooks)
        notebooks_keep = snapshot(notebooks)
        paths = sorted(notebooks.glob("*.ipynb"))
        if args.quick:
            paths = paths[:QUICK_NOTEBOOKS]
        cases = [
            Case(p.stem, p, root / "projects" / p.stem, count_code_cells(p))
            for p in paths
        ]
        progress(f"Converting {len(cases)} notebooks (setup, untimed) ...")
        ready = [c for c in cases if setup(c, args.timeout, failures, notebooks)]
        clean(notebooks, notebooks_keep)
        progress(
            f"Timing papermill, pipeline and validate, {args.repeat} runs each ..."
        )
        for case in ready:
            scratch = root / "scratch" / case.label
            scratch.mkdir(parents=True)
            run_case(
                case,
                args.repeat,
                args.timeout,
                scratch,
                notebooks,
                notebooks_keep,
                failures,
            )
    elapsed = time.perf_counter() - started

    import papermill

    import nbprod

    print(
        f"nbprod {nbprod.__version__}, papermill {papermill.__version__}, "
        f"nbformat {nbformat.__version__}, Python {sys.version.split()[0]} on "
        f"{sys.platform}; repeat {args.repeat}; MPLBACKEND=Agg"
    )
    print(
        f"{os.cpu_count()} CPUs; load average {load_before} at start, {load_average()} at end"
        " (other work on the machine makes the timings noisier)"
    )
    print()
    print("Wall-clock seconds, median of the runs (subprocesses, start-up included):")
    print(fmt_table(main_rows(cases)))
    print()
    print("Spread of the runs, min-max seconds:")
    print(fmt_table(spread_rows(cases)))
    print()
    for line in target_lines(cases):
        print(line)
    if failures:
        print()
        for line in failure_lines(failures):
            print(line)
    print()
    print(f"Benchmark took {elapsed:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
