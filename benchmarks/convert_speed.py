"""How fast ``nbprod convert`` is next to jupytext and nbconvert, on real notebooks and
on synthetic ones, and how its cost grows with the notebook's size.

What it measures
----------------
Four commands, each run as a whole process (interpreter start-up and imports
included) by the running interpreter (``sys.executable``):

1. ``python -m nbprod convert NB -o TMP/project --no-validate --force``, its caches
   (black's output and the compiled templates, in the user's cache folder) filled
   by the untimed first run: a notebook converted again, as a user iterating on it
   converts it;
2. ``python -m jupytext --to py NB -o TMP/x.py``: the reference for "a tool that
   turns a notebook into a script";
3. ``python -m nbconvert --to script NB --output-dir TMP`` (``jupyter nbconvert``);
4. the first command again with empty caches (``XDG_CACHE_HOME`` a new folder for
   every run): a first conversion on a new machine.

Each run is timed twice: wall clock (``time.perf_counter``) and CPU, the user + system
seconds of the child and of the processes it waited for (the difference of
``resource.getrusage(RUSAGE_CHILDREN)`` before and after the run; runs are one at a
time, so that is the run's own). CPU time includes ruff, which nbprod runs over the
files it generates, and moves less than wall time when other work loads the machine.
On each notebook the four commands take turns (nbprod, jupytext, nbconvert, nbprod
with empty caches, then again), ``--repeat`` times, so a change in the machine's
load hits them alike; one untimed run of each comes first, to fill the file cache,
and nbprod's modules are compiled to bytecode first, as pip compiles an installed
wheel. Every figure is a median of the repeats.

They run on two kinds of notebook:

* Real notebooks: every ``*.ipynb`` in each ``--notebooks`` folder (or file), by
  default ``examples/notebooks``. The targets also name the dev corpus, the 12
  notebooks ``bash ../shared/corpus/build_dev_corpus.sh`` writes to
  ``.dev-corpus/notebooks``. ``--no-validate`` never runs a notebook, so the packages
  it imports need not be installed; but the dependency pins nbprod writes are read
  from the distributions installed beside the interpreter, which the report names.
  A notebook nbprod refuses (exit 2: a non-Python kernel, a magic it cannot convert)
  is listed as refused with nbprod's message, and left out of the ratios.
* Synthetic notebooks of 100, 500, 1,000 and 5,000 code cells that look like
  proof-of-concept code (pandas, numpy and scikit-learn cells, helpers, markdown
  headings between blocks), deterministic, built with nbformat in a temporary folder.

Then the pure core in-process, without the start-up of a new interpreter:
``read_notebook`` + ``analyse`` + ``build_files`` from ``nbprod.commands.convert``, timed
with ``time.perf_counter`` for each synthetic size. ``build_files`` still runs ruff as
a subprocess over the generated files (``nbprod.convert.format``), so that cost stays in.

What it prints
--------------
A table per folder of real notebooks and one of the synthetic notebooks (cells;
nbprod wall median and min-max, CPU median; jupytext CPU; nbconvert wall and CPU; the
ratios nbprod/jupytext and nbprod/nbconvert of the CPU medians), the in-process core,
the scaling figures, and PASS/FAIL for the targets:

* real notebooks: the median, over the notebooks, of the per-notebook ratio
  nbprod CPU / jupytext CPU is at most 1.5x (the goal is 1.0x or less), for each
  folder and for all of them together;
* "100-cell notebook converts in under 1 s" (synthetic, wall, the whole command);
* 5,000 cells cost at most 10x the time of 500 cells (linear), by CPU and by wall;
* 5,000 cells cost at most 5x what nbconvert takes on them, by CPU and by wall;
* "10x cells costs at most 12x time", that is a scaling exponent
  log(t2/t1)/log(n2/n1) of at most log10(12) ~ 1.08, checked for every pair of
  consecutive sizes, for the whole command and for the in-process core.

All the figures come from the same run. A benchmark only reports: it never fails or
exits non-zero on a missed target.

How to run it
-------------
From the repository root, with the project's environment and the ``bench`` extra
(``pip install -e '.[bench]'``: jupytext and nbconvert)::

    python benchmarks/convert_speed.py                 # examples; sizes 100,500,1000,5000; 5 repeats
    python benchmarks/convert_speed.py --notebooks examples/notebooks --notebooks .dev-corpus/notebooks
    python benchmarks/convert_speed.py --notebooks .dev-corpus/notebooks --no-synthetic
    python benchmarks/convert_speed.py --repeat 3 --sizes 100,500
    python benchmarks/convert_speed.py --quick         # smoke run: examples, sizes 100,300, 2 repeats
    python benchmarks/convert_speed.py --profile 1000  # also cProfile the core on 1,000 cells

It needs a POSIX system (``resource``), the standard library and nbformat, plus nbprod,
jupytext and nbconvert installed in the running interpreter's environment.
"""

from __future__ import annotations

import argparse
import compileall
import cProfile
import importlib.util
import io
import itertools
import math
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import fmt_table, last_line, load_average, progress, verdict  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "notebooks"
DEV_CORPUS = REPO / ".dev-corpus" / "notebooks"
DEFAULT_SIZES = (100, 500, 1000, 5000)
QUICK_SIZES = (100, 300)
# "10x cells costs at most 12x time", as a power law: t ~ n**k with k <= log10(12).
MAX_EXPONENT = math.log(12) / math.log(10)
FAST_TARGET_CELLS = 100
FAST_TARGET_SECONDS = 1.0
# Real notebooks: median over notebooks of nbprod CPU / jupytext CPU.
JUPYTEXT_TARGET = 1.5
JUPYTEXT_GOAL = 1.0
# Synthetic: time(5000) <= 10 x time(500), and 5000 cells <= 5 x nbconvert.
LINEAR_CELLS = (500, 5000)
LINEAR_TARGET = 10.0
NBCONVERT_CELLS = 5000
NBCONVERT_TARGET = 5.0
# nbprod's exit status when it refuses a notebook (kernel, unconvertible magic, ...).
REFUSED = 2

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
    """Wall-clock and CPU seconds of repeated runs of one command on one notebook."""

    runs: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    error: str | None = None
    refused: str | None = None

    @property
    def median(self) -> float | None:
        """Median wall-clock seconds."""
        return statistics.median(self.runs) if self.runs else None

    @property
    def cpu_median(self) -> float | None:
        """Median CPU seconds (user + system, the child and what it waited for)."""
        return statistics.median(self.cpu) if self.cpu else None

    @property
    def stopped(self) -> bool:
        """A run failed or was refused: the command is not run again."""
        return self.error is not None or self.refused is not None

    def span(self) -> str:
        """Wall ``median (min-max)``, or why there is none."""
        if self.refused is not None:
            return "refused"
        if self.error is not None:
            return "FAILED"
        if not self.runs:
            return "-"
        return f"{self.median:.3f} ({min(self.runs):.3f}-{max(self.runs):.3f})"

    def wall_text(self) -> str:
        """Wall median, or why there is none."""
        if self.refused is not None:
            return "refused"
        if self.error is not None:
            return "FAILED"
        return "-" if self.median is None else f"{self.median:.3f}"

    def cpu_text(self) -> str:
        """CPU median, or why there is none."""
        if self.refused is not None:
            return "refused"
        if self.error is not None:
            return "FAILED"
        return "-" if self.cpu_median is None else f"{self.cpu_median:.3f}"


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing."""
    return a / b if a is not None and b else None


def plural(count: int, word: str) -> str:
    """``1 notebook``, ``2 notebooks``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def times(value: float | None) -> str:
    """``2.34x`` or ``-``."""
    return "-" if value is None else f"{value:.2f}x"


@dataclass
class Case:
    """One notebook to convert, with the timings of the four commands."""

    label: str
    path: Path
    code_cells: int
    all_cells: int
    group: str = "synthetic"
    synthetic_size: int | None = None
    nbprod: Timing = field(default_factory=Timing)
    jupytext: Timing = field(default_factory=Timing)
    nbconvert: Timing = field(default_factory=Timing)
    nbprod_cold: Timing = field(default_factory=Timing)

    @property
    def vs_jupytext(self) -> float | None:
        """nbprod CPU / jupytext CPU, medians."""
        return ratio(self.nbprod.cpu_median, self.jupytext.cpu_median)

    @property
    def cold_vs_jupytext(self) -> float | None:
        """nbprod CPU with empty caches / jupytext CPU, medians."""
        return ratio(self.nbprod_cold.cpu_median, self.jupytext.cpu_median)

    @property
    def vs_nbconvert(self) -> float | None:
        """nbprod CPU / nbconvert CPU, medians."""
        return ratio(self.nbprod.cpu_median, self.nbconvert.cpu_median)


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


def shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside, else as it is."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def real_notebooks(sources: Sequence[Path]) -> tuple[list[Case], list[str]]:
    """A case per ``*.ipynb`` of each folder (or notebook file) in ``sources``, and
    notes on what was left out."""
    cases: list[Case] = []
    notes: list[str] = []
    for source in sources:
        group = shown(source)
        if source.is_dir():
            paths = sorted(source.glob("*.ipynb"))
        else:
            paths = [source] if source.is_file() else []
        if not paths:
            hint = ""
            if source.resolve() == DEV_CORPUS:
                hint = (
                    " (built by bash ../shared/corpus/build_dev_corpus.sh;"
                    " it may still be building)"
                )
            notes.append(f"no notebooks in {group}{hint}")
        for path in paths:
            try:
                code, total = count_cells(path)
            except (
                Exception
            ) as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
                notes.append(
                    f"left out {shown(path)}: nbformat cannot read it"
                    f" ({exc.__class__.__name__}: {last_line(str(exc))})"
                )
                continue
            cases.append(Case(path.stem, path, code, total, group=group))
    return cases, notes


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


def jupytext_command(notebook: Path, script: Path) -> list[str]:
    """``jupytext --to py``, on this interpreter."""
    return [
        sys.executable,
        "-m",
        "jupytext",
        "--to",
        "py",
        str(notebook),
        "-o",
        str(script),
    ]


def nbconvert_command(notebook: Path, out_dir: Path) -> list[str]:
    """``jupyter nbconvert --to script``, on this interpreter."""
    return [
        sys.executable,
        "-m",
        "nbconvert",
        "--to",
        "script",
        str(notebook),
        "--output-dir",
        str(out_dir),
    ]


def cold_command(notebook: Path, out: Path) -> list[str]:
    """``nbprod convert`` with caches of its own that are empty (``XDG_CACHE_HOME``
    a new folder): a first conversion on a new machine. ``env`` replaces itself
    with python, so the CPU counted is nbprod's."""
    cache = tempfile.mkdtemp(prefix="cache-", dir=out)
    return [
        "env",
        f"XDG_CACHE_HOME={cache}",
        *nbprod_command(notebook, out / "project"),
    ]


# name -> the command on a notebook, given a scratch folder of its own. nbprod
# keeps black's output and the compiled templates in the user's cache folder,
# so "nbprod" (after the untimed warm-up run) is a conversion run again, as a
# user iterating on a notebook runs it; "nbprod_cold" starts from empty caches.
COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "nbprod": lambda nb, out: nbprod_command(nb, out / "project"),
    "jupytext": lambda nb, out: jupytext_command(nb, out / "x.py"),
    "nbconvert": nbconvert_command,
    "nbprod_cold": cold_command,
}


def children_cpu() -> float:
    """User + system seconds of the children this process has waited for, so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(
    timing: Timing, command: list[str], timeout: float, may_refuse: bool
) -> None:
    """Run ``command`` once, adding its wall and CPU seconds to ``timing``, or
    recording why it failed. With ``may_refuse``, exit 2 is a refusal (nbprod's)."""
    cpu_before = children_cpu()
    start = time.perf_counter()
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        timing.error = f"timed out after {timeout:.0f} s"
        return
    wall = time.perf_counter() - start
    cpu = children_cpu() - cpu_before
    if result.returncode == 0:
        timing.runs.append(wall)
        timing.cpu.append(cpu)
        return
    message = last_line(result.stderr or result.stdout)
    if may_refuse and result.returncode == REFUSED:
        timing.refused = message
    else:
        timing.error = f"exit {result.returncode}: {message}"


def compile_nbprod() -> None:
    """nbprod's modules compiled to bytecode, as pip compiles a wheel it installs
    (jupytext's and nbconvert's were, when pip installed them): an editable
    checkout under PYTHONDONTWRITEBYTECODE would otherwise compile every module
    on every run, a cost no installed nbprod pays."""
    spec = importlib.util.find_spec("nbprod")
    assert spec is not None and spec.origin is not None
    compileall.compile_dir(Path(spec.origin).parent, quiet=1)


def warm_up(notebook: Path, timeout: float, scratch: Path) -> None:
    """One untimed run of each command: file cache, bytecode, first imports."""
    for name, make in COMMANDS.items():
        out = scratch / f"warm-{name}"
        out.mkdir(parents=True, exist_ok=True)
        time_once(Timing(), make(notebook, out), timeout, may_refuse=True)
        shutil.rmtree(out, ignore_errors=True)


def run_cases(
    cases: Sequence[Case], repeat: int, timeout: float, scratch: Path
) -> None:
    """Time the four commands on every case, taking turns, filling in the timings.
    Once nbprod refuses a notebook, nothing more runs on it."""
    for number, case in enumerate(cases, start=1):
        progress(
            f"  [{number}/{len(cases)}] {case.group}/{case.label}"
            f" ({case.code_cells} code cells) x{repeat} ..."
        )
        outs = {name: scratch / f"{number:03d}-{name}" for name in COMMANDS}
        for out in outs.values():
            out.mkdir(parents=True, exist_ok=True)
        for _ in range(repeat):
            for name, make in COMMANDS.items():
                timing: Timing = getattr(case, name)
                if case.nbprod.refused is not None or timing.stopped:
                    continue
                command = make(case.path, outs[name])
                time_once(timing, command, timeout, may_refuse=name == "nbprod")
        for out in outs.values():
            shutil.rmtree(out, ignore_errors=True)


def time_core(notebook: Path, size: int, repeat: int) -> CoreTiming:
    """Time ``read_notebook``, ``analyse`` and ``build_files`` in this process."""
    from nbprod.commands.convert import (
        analyse,
        build_files,
        import_roots,
        read_notebook,
    )
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
    from nbprod.commands.convert import (
        analyse,
        build_files,
        import_roots,
        read_notebook,
    )
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
    """A table's rows: seconds are medians of the repeats."""
    rows = [
        [
            "notebook",
            "code/all cells",
            "nbprod wall s (min-max)",
            "nbprod CPU s",
            "jupytext CPU s",
            "nbconvert wall s",
            "nbconvert CPU s",
            "nbprod/jupytext CPU",
            "nbprod/nbconvert CPU",
            "nbprod cold CPU s",
            "cold/jupytext CPU",
        ]
    ]
    for case in cases:
        rows.append(
            [
                case.label,
                f"{case.code_cells}/{case.all_cells}",
                case.nbprod.span(),
                case.nbprod.cpu_text(),
                case.jupytext.cpu_text(),
                case.nbconvert.wall_text(),
                case.nbconvert.cpu_text(),
                times(case.vs_jupytext),
                times(case.vs_nbconvert),
                case.nbprod_cold.cpu_text(),
                times(case.cold_vs_jupytext),
            ]
        )
    return rows


def problem_lines(cases: Sequence[Case]) -> list[str]:
    """What was refused or failed, one line each, with the tool's own message."""
    lines = []
    for case in cases:
        if case.nbprod.refused is not None:
            lines.append(
                f"  {case.label}: refused by nbprod (exit {REFUSED}): {case.nbprod.refused}"
            )
        for name in COMMANDS:
            error = getattr(case, name).error
            if error is not None:
                lines.append(f"  {case.label}: {name} FAILED: {error}")
    return lines


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


def jupytext_target(label: str, cases: Sequence[Case]) -> list[str]:
    """Median over notebooks of nbprod CPU / jupytext CPU against 1.5x (goal 1.0x),
    with what was left out and the wall times of nbprod beside it."""
    refused = [c for c in cases if c.nbprod.refused is not None]
    ratios = [c.vs_jupytext for c in cases if c.vs_jupytext is not None]
    failed = len(cases) - len(refused) - len(ratios)
    left_out = (
        f"{len(refused)} refused by nbprod and {failed} with a failed run left out"
    )
    name = (
        f"median nbprod/jupytext CPU <= {JUPYTEXT_TARGET}x"
        f" (goal <= {JUPYTEXT_GOAL}x), {label}"
    )
    if not ratios:
        return [f"  {name}: not measured ({len(cases)} notebooks; {left_out})"]
    median = statistics.median(ratios)
    goal = "goal met" if median <= JUPYTEXT_GOAL else "goal not met"
    lines = [
        f"  {name}: {median:.2f}x over {plural(len(ratios), 'notebook')}"
        f" (per notebook {min(ratios):.2f}x-{max(ratios):.2f}x; {left_out}):"
        f" {verdict(median <= JUPYTEXT_TARGET)}, {goal}"
    ]
    cold = [c.cold_vs_jupytext for c in cases if c.cold_vs_jupytext is not None]
    if cold:
        lines.append(
            f"    with empty caches (a first conversion): median nbprod/jupytext CPU"
            f" {statistics.median(cold):.2f}x (per notebook {min(cold):.2f}x-{max(cold):.2f}x)"
        )
    vs_nbconvert = [c.vs_nbconvert for c in cases if c.vs_nbconvert is not None]
    walls = [(c.nbprod.median, c) for c in cases if c.nbprod.median is not None]
    if vs_nbconvert and walls:
        slowest, case = max(walls, key=lambda pair: pair[0])
        lines.append(
            f"    for reference: median nbprod/nbconvert CPU {statistics.median(vs_nbconvert):.2f}x;"
            f" nbprod wall median {statistics.median(w for w, _ in walls):.3f} s,"
            f" slowest {slowest:.3f} s ({case.label}, {case.code_cells} code cells)"
        )
    return lines


def synthetic_targets(synthetic: Sequence[Case]) -> list[str]:
    """time(5000)/time(500) <= 10x and nbprod/nbconvert at 5000 cells <= 5x, each
    by CPU and by wall."""
    by_size = {c.synthetic_size: c for c in synthetic}
    small_n, big_n = LINEAR_CELLS
    lines = []
    linear = (
        f"{big_n} cells at most {LINEAR_TARGET:.0f}x the time of {small_n} (linear)"
    )
    small, big = by_size.get(small_n), by_size.get(big_n)
    if small is None or big is None:
        lines.append(f"  {linear}: not measured (needs sizes {small_n} and {big_n})")
    else:
        lines += _ratio_lines(
            linear,
            [
                ("CPU", big.nbprod.cpu_median, small.nbprod.cpu_median),
                ("wall", big.nbprod.median, small.nbprod.median),
            ],
            LINEAR_TARGET,
            f"{small_n} cells",
            f"{big_n} cells",
        )
    versus = f"{NBCONVERT_CELLS} cells at most {NBCONVERT_TARGET:.0f}x nbconvert"
    case = by_size.get(NBCONVERT_CELLS)
    if case is None:
        lines.append(f"  {versus}: not measured (needs size {NBCONVERT_CELLS})")
        return lines
    return lines + _ratio_lines(
        versus,
        [
            ("CPU", case.nbprod.cpu_median, case.nbconvert.cpu_median),
            ("wall", case.nbprod.median, case.nbconvert.median),
        ],
        NBCONVERT_TARGET,
        "nbconvert",
        "nbprod",
    )


def _ratio_lines(
    label: str,
    pairs: Sequence[tuple[str, float | None, float | None]],
    target: float,
    below: str,
    above: str,
) -> list[str]:
    """One target line per (kind, numerator, denominator): the ratio, the two
    medians it comes from, and PASS or FAIL against ``target``."""
    lines = []
    for kind, top, bottom in pairs:
        r = ratio(top, bottom)
        if r is None or top is None or bottom is None:
            lines.append(f"  {label}, {kind}: not measured (a run failed)")
        else:
            lines.append(
                f"  {label}, {kind}: {r:.2f}x ({above} {top:.3f} s, {below} "
                f"{bottom:.3f} s): {verdict(r <= target)}"
            )
    return lines


def version(distribution: str) -> str:
    """The installed version of ``distribution``, or "not installed"."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


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
        "--notebooks",
        type=Path,
        action="append",
        metavar="DIR",
        default=None,
        help=(
            "a folder of real notebooks (its *.ipynb) or one notebook; repeatable"
            " (default: examples/notebooks), e.g. .dev-corpus/notebooks"
        ),
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=None,
        help="synthetic code-cell counts (100,500,1000,5000)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: sizes 100,300, repeat 2",
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
        "--no-examples",
        action="store_true",
        help="without --notebooks: no real notebooks, only the synthetic ones",
    )
    parser.add_argument(
        "--no-synthetic",
        action="store_true",
        help="only the real notebooks: no synthetic sizes, no in-process core",
    )
    args = parser.parse_args(argv)
    if args.notebooks is None:
        args.notebooks = [] if args.no_examples else [EXAMPLES]
    if args.sizes is None:
        args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.no_synthetic:
        args.sizes = ()
    if args.repeat is None:
        args.repeat = 2 if args.quick else 5
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


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
        real, notes = real_notebooks(args.notebooks)
        synthetic: list[Case] = []
        for size in args.sizes:
            path = notebooks / f"synthetic_{size}.ipynb"
            nbformat.write(synthetic_notebook(size), path)
            code, total = count_cells(path)
            synthetic.append(Case(path.stem, path, code, total, synthetic_size=size))
        cases = [*real, *synthetic]

        if cases:
            compile_nbprod()
            progress("Warming up (one untimed run of each command) ...")
            warm_up(cases[0].path, args.timeout, scratch)
        progress(f"Timing {len(cases)} notebooks, {args.repeat} runs each ...")
        run_cases(cases, args.repeat, args.timeout, scratch)

        cores = []
        if synthetic:
            progress("Timing the in-process core ...")
            from nbprod.commands.convert import analyse, read_notebook

            analyse(read_notebook(synthetic[0].path))  # warm imports before timing
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

    print(
        f"nbprod {version('nbprod')}, jupytext {version('jupytext')},"
        f" nbconvert {version('nbconvert')}, nbformat {nbformat.__version__},"
        f" Python {sys.version.split()[0]} on {sys.platform}; repeat {args.repeat};"
        f" sizes {','.join(map(str, args.sizes)) or 'none'}"
    )
    print(
        f"Interpreter {sys.executable} (nbprod pins the dependencies it writes from the"
        " distributions installed here; --no-validate runs no notebook)"
    )
    print(
        f"{os.cpu_count()} CPUs; load average {load_before} at start, {load_average()} at end"
        " (other work on the machine makes the timings noisier; CPU time less so)"
    )
    for note in notes:
        print(f"Note: {note}")
    groups = list(dict.fromkeys(case.group for case in real))
    for group in groups:
        members = [c for c in real if c.group == group]
        print()
        print(
            f"Real notebooks in {group}: whole commands, median seconds of {plural(args.repeat, 'run')}"
            " (CPU = user + system of the process and its children):"
        )
        print(fmt_table(case_rows(members)))
        problems = problem_lines(members)
        if problems:
            print(f"Refused or failed ({len(problems)}), left out of the ratios:")
            for line in problems:
                print(line)
    if synthetic:
        print()
        print(
            f"Synthetic notebooks: whole commands, median seconds of {plural(args.repeat, 'run')}:"
        )
        print(fmt_table(case_rows(synthetic)))
        for line in problem_lines(synthetic):
            print(line)
        print()
        print(
            "In-process core (read_notebook + analyse + build_files), median seconds:"
        )
        print(fmt_table(core_rows(cores)))
        print()
        for label, points in (
            (
                "whole command, wall (nbprod convert)",
                [(c.code_cells, c.nbprod.runs) for c in synthetic],
            ),
            (
                "whole command, CPU (nbprod convert)",
                [(c.code_cells, c.nbprod.cpu) for c in synthetic],
            ),
            ("in-process core", [(c.size, c.totals) for c in cores]),
            (
                "reference, wall (jupyter nbconvert --to script)",
                [(c.code_cells, c.nbconvert.runs) for c in synthetic],
            ),
        ):
            for line in scaling_lines(label, points):
                print(line)
    print()
    print("Targets:")
    if real:
        for group in groups:
            members = [c for c in real if c.group == group]
            for line in jupytext_target(group, members):
                print(line)
        if len(groups) > 1:
            for line in jupytext_target("all real notebooks", real):
                print(line)
    else:
        print("  median nbprod/jupytext CPU on real notebooks: not measured (none)")
    if synthetic:
        small = [c for c in synthetic if c.code_cells == FAST_TARGET_CELLS]
        if small and small[0].nbprod.median is not None:
            t = small[0].nbprod.median
            print(
                f"  {FAST_TARGET_CELLS}-cell notebook converts in under"
                f" {FAST_TARGET_SECONDS:.0f} s: {verdict(t < FAST_TARGET_SECONDS)}"
                f" ({t:.3f} s median wall, whole command)"
            )
        else:
            print(
                f"  {FAST_TARGET_CELLS}-cell notebook converts in under"
                f" {FAST_TARGET_SECONDS:.0f} s: not measured"
            )
        for line in synthetic_targets(synthetic):
            print(line)
        print(
            scaling_target(
                "whole command, wall",
                [(c.code_cells, c.nbprod.median) for c in synthetic],
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
