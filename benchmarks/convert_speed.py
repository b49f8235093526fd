"""How fast ``nbprod convert`` is, and how its cost grows with the notebook's size.

What it measures
----------------
1. The whole command ``python -m nbprod convert NB -o OUT --no-validate --force``
   as a subprocess (interpreter start-up and imports included), over every notebook
   in ``examples/notebooks/*.ipynb`` and over synthetic notebooks of 100, 1,000 and
   5,000 code cells that look like proof-of-concept code (pandas, numpy and
   scikit-learn cells, helpers, markdown headings between blocks). The synthetic
   notebooks are deterministic and built with nbformat in a temporary folder.
2. ``jupyter nbconvert --to script NB --output-dir TMP`` on the same notebooks, with
   the same repeats, as a reference for "a tool that only reads a notebook".
3. The pure core in-process, without the start-up of a new interpreter:
   ``read_notebook`` + ``analyse`` + ``build_files`` from ``nbprod.convert.build``, timed
   with ``time.perf_counter`` for each synthetic size. ``build_files`` still runs
   ruff as a subprocess over the generated files (``nbprod.convert.format``), so that cost
   stays in.

It prints a table (median and min-max seconds, ratio nbprod/nbconvert), the
scaling figures time(1000)/time(100) and time(5000)/time(1000) against the ratio of
cell counts, and PASS/FAIL for two targets:

* "100-cell notebook converts in under 1 s" (the whole command);
* "10x cells costs at most 12x time", that is a scaling exponent
  log(t2/t1)/log(n2/n1) of at most log10(12) ~ 1.08, checked for every pair of
  consecutive sizes, for the whole command and for the in-process core.

A benchmark only reports: it never fails or exits non-zero on a missed target.

How to run it
-------------
From the repository root, with the project's environment::

    python benchmarks/convert_speed.py                 # sizes 100,1000,5000, 5 repeats
    python benchmarks/convert_speed.py --repeat 3
    python benchmarks/convert_speed.py --sizes 100,1000
    python benchmarks/convert_speed.py --quick         # smoke run: sizes 100,300, 2 repeats
    python benchmarks/convert_speed.py --profile 1000  # also cProfile the core on 1,000 cells

It needs only the standard library and nbformat, plus nbprod and nbconvert installed
in the running interpreter's environment.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import math
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import fmt_table, last_line, load_average, progress, verdict  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "notebooks"
DEFAULT_SIZES = (100, 1000, 5000)
QUICK_SIZES = (100, 300)
# "10x cells costs at most 12x time", as a power law: t ~ n**k with k <= log10(12).
MAX_EXPONENT = math.log(12) / math.log(10)
FAST_TARGET_CELLS = 100
FAST_TARGET_SECONDS = 1.0

IMPORTS = """\
import pandas as pd
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score"""

# One block of proof-of-concept code; blocks repeat with i = 0, 1, 2, ...
BLOCK = (
    'df_{i} = pd.DataFrame({{"a": np.arange(10) + {i}, "b": np.arange(10) * 2}})',
    'df_{i}["c"] = df_{i}["a"] * 2',
    "df_{i} = df_{i}.fillna(0)",
    "df_{i}.head()",
    "def f_{i}(x):\n    return x + {i}",
    (
        "X_tr_{i}, X_te_{i}, y_tr_{i}, y_te_{i} = train_test_split("
        'df_{i}[["a", "c"]], df_{i}["b"] > 5, test_size=0.25, random_state={i})'
    ),
    "m_{i} = LogisticRegression(C=1.0, max_iter=100).fit(X_tr_{i}, y_tr_{i})",
    "acc_{i} = accuracy_score(y_te_{i}, m_{i}.predict(X_te_{i}))",
)


@dataclass
class Timing:
    """Wall-clock seconds of repeated runs of one command on one notebook."""

    runs: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None

    def span(self) -> str:
        """``median (min-max)``, or the error."""
        if self.error is not None:
            return f"FAILED: {self.error}"
        if not self.runs:
            return "-"
        return f"{self.median:.3f} ({min(self.runs):.3f}-{max(self.runs):.3f})"


@dataclass
class Case:
    """One notebook to convert, with its timings."""

    label: str
    path: Path
    code_cells: int
    all_cells: int
    synthetic_size: int | None = None
    nbprod: Timing = field(default_factory=Timing)
    nbconvert: Timing = field(default_factory=Timing)


@dataclass
class CoreTiming:
    """In-process seconds of the core steps for one synthetic notebook."""

    size: int
    read: list[float] = field(default_factory=list)
    analyse: list[float] = field(default_factory=list)
    build: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def totals(self) -> list[float]:
        return [
            r + a + b
            for r, a, b in zip(self.read, self.analyse, self.build, strict=False)
        ]


def synthetic_notebook(code_cells: int) -> nbformat.NotebookNode:
    """A deterministic PoC-like notebook with exactly ``code_cells`` code cells."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        },
        "language_info": {"name": "python"},
    }
    cells = [nbformat.v4.new_markdown_cell("# Synthetic proof of concept")]
    cells.append(nbformat.v4.new_code_cell(IMPORTS))
    made = 1
    block = 0
    while made < code_cells:
        cells.append(nbformat.v4.new_markdown_cell(f"## Experiment {block}"))
        for template in BLOCK:
            if made >= code_cells:
                break
            cells.append(nbformat.v4.new_code_cell(template.format(i=block)))
            made += 1
        block += 1
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number:05d}"  # nbformat's default ids are random
    nb.cells = cells
    return nb


def count_cells(path: Path) -> tuple[int, int]:
    """(code cells, all cells) of the notebook at ``path``."""
    nb = nbformat.read(path, as_version=4)
    return sum(1 for c in nb.cells if c.cell_type == "code"), len(nb.cells)


def nbprod_command(notebook: Path, out: Path) -> list[str]:
    """The whole ``nbprod convert`` command, on this interpreter."""
    return [
        sys.executable,
        "-m",
        "nbprod",
        "convert",
        str(notebook),
        "-o",
        str(out),
        "--no-validate",
        "--force",
    ]


def nbconvert_command(notebook: Path, out_dir: Path) -> list[str]:
    """``jupyter nbconvert --to script``, from this interpreter's environment."""
    jupyter = Path(sys.executable).parent / "jupyter"
    prefix = (
        [str(jupyter), "nbconvert"]
        if jupyter.exists()
        else [sys.executable, "-m", "nbconvert"]
    )
    return [*prefix, "--to", "script", str(notebook), "--output-dir", str(out_dir)]


def time_command(command: list[str], repeat: int, timeout: float) -> Timing:
    """Run ``command`` ``repeat`` times; stop at the first failure or timeout."""
    timing = Timing()
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            timing.error = f"timed out after {timeout:.0f} s"
            return timing
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            timing.error = (
                f"exit {result.returncode}: {last_line(result.stderr or result.stdout)}"
            )
            return timing
        timing.runs.append(elapsed)
    return timing


def time_core(notebook: Path, size: int, repeat: int) -> CoreTiming:
    """Time ``read_notebook``, ``analyse`` and ``build_files`` in this process."""
    from nbprod.convert.build import analyse, build_files, import_roots, read_notebook
    from nbprod.convert.environment import gather

    validation = {"status": "not run", "reason": "benchmark"}
    core = CoreTiming(size)
    project = notebook.parent / f"core-out-{size}"
    for _ in range(repeat):
        try:
            t0 = time.perf_counter()
            nb = read_notebook(notebook)
            t1 = time.perf_counter()
            analysis = analyse(nb, project, None)
            t2 = time.perf_counter()
            # The environment is gathered at the edge; timed with the build, as before.
            build_files(analysis, validation, gather(import_roots(analysis)))
            t3 = time.perf_counter()
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
            core.error = f"{exc.__class__.__name__}: {exc}"
            return core
        core.read.append(t1 - t0)
        core.analyse.append(t2 - t1)
        core.build.append(t3 - t2)
    return core


def profile_core(notebook: Path, top: int = 15) -> str:
    """cProfile of the core on ``notebook``: the ``top`` nbprod entries by cumulative time."""
    from nbprod.convert.build import analyse, build_files, import_roots, read_notebook
    from nbprod.convert.environment import gather

    profiler = cProfile.Profile()
    profiler.enable()
    analysis = analyse(read_notebook(notebook), notebook.parent / "profile-out", None)
    env = gather(import_roots(analysis))
    build_files(analysis, {"status": "not run", "reason": "benchmark"}, env)
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    stats.sort_stats("cumulative").print_stats(r"[/\\]nbprod[/\\]", top)
    return buffer.getvalue()


def exponent(t1: float, t2: float, n1: int, n2: int) -> float:
    """k in t ~ n**k between two measurements."""
    return math.log(t2 / t1) / math.log(n2 / n1)


def case_rows(cases: Sequence[Case]) -> list[list[str]]:
    """The main table's rows."""
    rows = [
        [
            "notebook",
            "code cells",
            "all cells",
            "nbprod median s (min-max)",
            "nbconvert median s (min-max)",
            "nbprod/nbconvert",
        ]
    ]
    for case in cases:
        a, b = case.nbprod.median, case.nbconvert.median
        ratio = f"{a / b:.1f}x" if a is not None and b else "-"
        rows.append(
            [
                case.label,
                str(case.code_cells),
                str(case.all_cells),
                case.nbprod.span(),
                case.nbconvert.span(),
                ratio,
            ]
        )
    return rows


def core_rows(cores: Sequence[CoreTiming]) -> list[list[str]]:
    """The in-process table's rows (medians, seconds)."""
    rows = [
        [
            "code cells",
            "read_notebook",
            "analyse",
            "build_files",
            "total median (min-max)",
        ]
    ]
    for core in cores:
        if core.error is not None:
            rows.append([str(core.size), "-", "-", "-", f"FAILED: {core.error}"])
            continue
        totals = core.totals
        rows.append(
            [
                str(core.size),
                f"{statistics.median(core.read):.3f}",
                f"{statistics.median(core.analyse):.3f}",
                f"{statistics.median(core.build):.3f}",
                f"{statistics.median(totals):.3f} ({min(totals):.3f}-{max(totals):.3f})",
            ]
        )
    return rows


def scaling_lines(
    label: str, points: Sequence[tuple[int, Sequence[float]]]
) -> list[str]:
    """time(n2)/time(n1) of the medians for consecutive sizes, with the 12x-per-10x
    verdict; the ratio of the fastest runs is shown too, as it is less noisy."""
    lines = [f"Scaling, {label}:"]
    for (n1, runs1), (n2, runs2) in itertools.pairwise(points):
        if not runs1 or not runs2:
            lines.append(f"  time({n2})/time({n1}): not measured (a run failed)")
            continue
        t1, t2 = statistics.median(runs1), statistics.median(runs2)
        k = exponent(t1, t2, n1, n2)
        allowed = (n2 / n1) ** MAX_EXPONENT
        lines.append(
            f"  time({n2})/time({n1}) = {t2 / t1:.2f}x for {n2 / n1:.0f}x cells"
            f" (exponent {k:.2f}; target allows {allowed:.2f}x;"
            f" fastest runs {min(runs2) / min(runs1):.2f}x): "
            f"10x cells costs at most 12x time: {verdict(k <= MAX_EXPONENT)}"
        )
    return lines


def scaling_target(label: str, points: Sequence[tuple[int, float | None]]) -> str:
    """The 12x-per-10x verdict on the worst step between consecutive sizes."""
    measured = [(n, t) for n, t in points if t is not None]
    steps = [
        (exponent(t1, t2, n1, n2), n1, n2)
        for (n1, t1), (n2, t2) in itertools.pairwise(measured)
    ]
    if not steps:
        return f"  10x cells costs at most 12x time: not measured ({label})"
    k, n1, n2 = max(steps)
    return (
        f"  10x cells costs at most 12x time: {verdict(k <= MAX_EXPONENT)} ({label}: "
        f"worst step {n1}->{n2} cells has exponent {k:.2f}; limit {MAX_EXPONENT:.2f})"
    )


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"100,1000"`` -> ``(100, 1000)``, sorted and de-duplicated."""
    sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(
            "sizes must be positive integers, e.g. 100,1000,5000"
        )
    return tuple(sizes)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per measurement (default 5)"
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=None,
        help="synthetic code-cell counts (100,1000,5000)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: sizes 100,300, repeat 2"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds before one run counts as failed",
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="CELLS",
        default=None,
        help="also print a cProfile of the in-process core on a synthetic notebook of CELLS cells",
    )
    parser.add_argument(
        "--no-examples", action="store_true", help="skip examples/notebooks"
    )
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.repeat is None:
        args.repeat = 2 if args.quick else 5
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def run_cases(
    cases: Sequence[Case], repeat: int, timeout: float, scratch: Path
) -> None:
    """Time nbprod and nbconvert on every case, filling in their timings."""
    steps: list[tuple[str, Callable[[Case, Path], list[str]], str]] = [
        ("nbprod", lambda c, out: nbprod_command(c.path, out / "project"), "nbprod"),
        ("nbconvert", lambda c, out: nbconvert_command(c.path, out), "nbconvert"),
    ]
    for case in cases:
        for name, make, attr in steps:
            out = scratch / f"{name}-{case.label}"
            out.mkdir(parents=True, exist_ok=True)
            progress(f"  {name:<9} {case.label} x{repeat} ...")
            setattr(case, attr, time_command(make(case, out), repeat, timeout))
            shutil.rmtree(out, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the notebooks, time everything, print the report. Always returns 0."""
    args = parse_args(argv)
    load_before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nbprod-bench-") as tmp:
        root = Path(tmp)
        notebooks = root / "notebooks"
        notebooks.mkdir()
        scratch = root / "out"
        cases: list[Case] = []
        if not args.no_examples:
            for path in sorted(EXAMPLES.glob("*.ipynb")):
                code, total = count_cells(path)
                cases.append(Case(path.stem, path, code, total))
        synthetic: list[Case] = []
        for size in args.sizes:
            path = notebooks / f"synthetic_{size}.ipynb"
            nbformat.write(synthetic_notebook(size), path)
            code, total = count_cells(path)
            synthetic.append(Case(path.stem, path, code, total, synthetic_size=size))
        cases.extend(synthetic)

        progress(f"Timing {len(cases)} notebooks, {args.repeat} runs each ...")
        run_cases(cases, args.repeat, args.timeout, scratch)

        progress("Timing the in-process core ...")
        from nbprod.convert.build import analyse, read_notebook

        analyse(read_notebook(synthetic[0].path))  # warm imports before timing
        cores = []
        for case in synthetic:
            progress(f"  core      {case.label} x{args.repeat} ...")
            cores.append(time_core(case.path, case.code_cells, args.repeat))

        profile_text = None
        if args.profile is not None:
            path = notebooks / f"synthetic_{args.profile}.ipynb"
            if not path.exists():
                nbformat.write(synthetic_notebook(args.profile), path)
            progress(f"Profiling the core on {args.profile} cells ...")
            profile_text = profile_core(path)
    elapsed = time.perf_counter() - started

    import nbprod

    print(
        f"nbprod {nbprod.__version__}, nbformat {nbformat.__version__}, "
        f"Python {sys.version.split()[0]} on {sys.platform}; repeat {args.repeat}; "
        f"sizes {','.join(map(str, args.sizes))}"
    )
    print(
        f"{os.cpu_count()} CPUs; load average {load_before} at start, {load_average()} at end"
        " (other work on the machine makes the timings noisier)"
    )
    print()
    print("Whole command, wall-clock seconds (subprocess, start-up included):")
    print(fmt_table(case_rows(cases)))
    print()
    print("In-process core (read_notebook + analyse + build_files), median seconds:")
    print(fmt_table(core_rows(cores)))
    print()
    for line in scaling_lines(
        "whole command (nbprod convert)",
        [(c.code_cells, c.nbprod.runs) for c in synthetic],
    ):
        print(line)
    for line in scaling_lines(
        "in-process core",
        [(c.size, c.totals) for c in cores],
    ):
        print(line)
    for line in scaling_lines(
        "reference (jupyter nbconvert --to script)",
        [(c.code_cells, c.nbconvert.runs) for c in synthetic],
    ):
        print(line)
    print()
    print("Targets:")
    small = [c for c in synthetic if c.code_cells == FAST_TARGET_CELLS]
    if small and small[0].nbprod.median is not None:
        t = small[0].nbprod.median
        print(
            f"  {FAST_TARGET_CELLS}-cell notebook converts in under {FAST_TARGET_SECONDS:.0f} s: "
            f"{verdict(t < FAST_TARGET_SECONDS)} ({t:.3f} s median, whole command)"
        )
    else:
        print(
            f"  {FAST_TARGET_CELLS}-cell notebook converts in under 1 s: not measured"
        )
    print(
        scaling_target(
            "whole command", [(c.code_cells, c.nbprod.median) for c in synthetic]
        )
    )
    print(
        scaling_target(
            "in-process core",
            [
                (c.size, statistics.median(c.totals) if c.totals else None)
                for c in cores
            ],
        )
    )
    if profile_text is not None:
        print()
        print(
            f"cProfile of the in-process core on {args.profile} cells (nbprod functions):"
        )
        print(profile_text.rstrip())
    print()
    print(f"Benchmark took {elapsed:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
