"""How fast a generated project's drift report (``python -m PKG monitor``) is, and
how much memory it takes, as the new rows grow from 1,000 to 100,000.

What it measures
----------------
The titanic example is converted and validated (so that its data contract and
monitor's reference are there) into a temporary folder, its pipeline run
(``python -m PKG run``), and its modules compiled to bytecode, as pip compiles an
installed package. Then, per size (``--sizes``, 1,000, 10,000 and 100,000 rows),
two files of new rows are written, each drawn with replacement from the
project's ``data/passengers_train.csv`` without its label (``Survived``), with a
fixed seed, so every row keeps the data contract and every run does the same work:

* ``same``: the rows as drawn. monitor must find no drift and exit 0;
* ``shifted``: the same rows with every passenger ``SHIFT`` years older (capped at
  the oldest age the notebook saw, so the rows still keep the contract). monitor
  must find ``Age`` drifted, exit 1 and draw its picture in report.html: the
  drift path, matplotlib included, is measured too.

Three commands are timed per size, each as a whole process (interpreter start-up
and imports included), run by this interpreter with ``PYTHONPATH=PROJECT/src`` in
the project's folder, as a user runs them:

1. ``python -m PKG monitor --input same.csv``;
2. ``python -m PKG monitor --input shifted.csv``;
3. ``python -m PKG predict --input same.csv --output OUT.csv``: the reference,
   reading, checking and scoring the same rows without comparing them.

Each run gives three figures: wall seconds (``time.perf_counter``), CPU seconds
(user + system) and peak memory, the child's maximum resident set size. The last
two come from the child's own resource usage as ``os.wait4`` returns it when the
child ends: the POSIX ``struct rusage`` of that one process (Linux and macOS
alike; its ``ru_maxrss`` is in KiB on Linux, bytes on macOS). It is used rather
than ``resource.getrusage(RUSAGE_CHILDREN)``, whose ``ru_maxrss`` is the largest
child so far, not this run's, and rather than ``/usr/bin/time -v``, which only GNU
time has. The commands take turns (all three on every size, then again),
``--repeat`` times, after one untimed run of each on the smallest size (file
cache, first imports); every figure is the median of the repeats, but peak memory
is the largest. Each run's exit code, summary.json (rows, drifted columns, rows not
scored) and, for the shifted rows, report.html's picture are checked: a run that
measured something else stops the benchmark, saying why.

What it prints
--------------
A table of the runs (rows, command, wall median and min-max, CPU median, peak
MiB, microseconds per row), then the ratios, all from this run: monitor's time
against predict's on the same rows, the shifted rows against the same rows
(what the pictures cost), and time(10x rows) / time(rows); the fixed cost and the
cost per row (a line through the smallest and largest sizes); and the limits:

* monitor on 100,000 rows takes under 30 s (wall, the whole command);
* its peak memory stays under 1.5 GiB.

A benchmark only reports: it never fails or exits non-zero on a missed limit.

How to run it
-------------
From the repository root, with the project's environment (the generated
project's dependencies and its ``monitor`` extra: scipy, matplotlib)::

    python benchmarks/monitor_speed.py                  # 1,000, 10,000, 100,000 rows; 5 repeats
    python benchmarks/monitor_speed.py --quick          # smoke run: 1,000 and 10,000 rows, 2 repeats
    python benchmarks/monitor_speed.py --profile        # also cProfile monitor on the largest shifted rows

It needs a POSIX system (``os.wait4``).
"""

from __future__ import annotations

import argparse
import compileall
import io
import itertools
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import converted, package_of, project_env, run_ok  # noqa: E402
from _report import fmt_table, last_line, load_average, progress, verdict  # noqa: E402

SOURCE = "data/passengers_train.csv"  # in the project, as the notebook's data
LABEL = "Survived"
SEED = 0
SHIFTED = "Age"
SHIFT = 8.0  # years
DEFAULT_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
LIMIT_ROWS = 100_000
LIMIT_SECONDS = 30.0
LIMIT_BYTES = 1.5 * 2**30
# monitor's exit codes: no drift, drift (anything else is an error).
NO_DRIFT, DRIFT = 0, 1
COMMANDS = ("monitor same", "monitor shifted", "predict same")


@dataclass
class Timing:
    """Repeated runs of one command on one size."""

    rows: int
    command: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak: list[int] = field(default_factory=list)  # bytes

    def add(self, wall: float, cpu: float, peak: int) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)
        self.peak.append(peak)

    @property
    def median(self) -> float:
        """Median wall seconds."""
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        """Median CPU seconds."""
        return statistics.median(self.cpu)


def _ratios(top: Timing, bottom: Timing) -> str:
    """``1.23x / 1.10x``: ``top`` over ``bottom``, wall then CPU medians."""
    return (
        f"{top.median / bottom.median:.2f}x / {top.cpu_median / bottom.cpu_median:.2f}x"
    )


def new_rows(source: pd.DataFrame, rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``rows`` rows drawn from ``source`` (seeded), and the same rows with
    ``SHIFTED`` moved by ``SHIFT``, capped at its largest value in ``source``."""
    same = source.drop(columns=[LABEL]).sample(rows, replace=True, random_state=SEED)
    same = same.reset_index(drop=True)
    shifted = same.copy()
    shifted[SHIFTED] = (shifted[SHIFTED] + SHIFT).clip(upper=source[SHIFTED].max())
    return same, shifted


def run_once(
    command: list[str], cwd: Path, env: dict[str, str], log: Path
) -> tuple[int, float, float, int]:
    """Run ``command``: its exit code, wall and CPU seconds, and peak RSS in bytes
    (the child's own rusage, from ``os.wait4``)."""
    with open(log, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes there, KiB here
    return (
        process.returncode,
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss * scale,
    )


def check_run(name: str, rows: int, code: int, project: Path, log: Path) -> None:
    """Stop unless the run did what is measured: monitor's verdict, summary and
    pictures, predict's rows."""
    said = last_line(log.read_text(errors="replace"))
    if name == "predict same":
        if code != 0:
            sys.exit(f"predict on {rows} rows exited {code}: {said}")
        return
    expected = DRIFT if name == "monitor shifted" else NO_DRIFT
    if code != expected:
        sys.exit(f"{name} on {rows} rows exited {code}, not {expected}: {said}")
    folder = project / "reports" / "monitoring"
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    if summary["rows"] != rows or summary["not_scored"]:
        sys.exit(f"{name} on {rows} rows: not every row scored: {summary}")
    if expected == NO_DRIFT and summary["drifted"]:
        sys.exit(f"{name} on {rows} rows: drift found in {summary['drifted']}: {said}")
    if expected == DRIFT:
        if SHIFTED not in summary["drifted"]:
            sys.exit(f"{name} on {rows} rows: {SHIFTED} not found drifted: {said}")
        if "data:image/png" not in (folder / "report.html").read_text(encoding="utf-8"):
            sys.exit(f"{name} on {rows} rows: report.html has no picture")


def command_for(
    name: str, package: str, files: dict[str, Path], scratch: Path
) -> list[str]:
    """The whole command ``name`` on the file ``files[...]``."""
    verb, which = name.split()
    command = [sys.executable, "-m", package, verb, "--input", str(files[which])]
    if verb == "predict":
        command += ["--output", str(scratch / "predicted.csv")]
    return command


def profile_monitor(project: Path, package: str, source: Path, scratch: Path) -> str:
    """cProfile of one monitor run: the project's own functions and the imports."""
    out = scratch / "monitor.prof"
    command = [
        sys.executable,
        "-m",
        "cProfile",
        "-o",
        str(out),
        "-m",
        package,
        "monitor",
        "--input",
        str(source),
    ]
    subprocess.run(
        command, cwd=project, env=project_env(project), capture_output=True, check=False
    )
    buffer = io.StringIO()
    stats = pstats.Stats(str(out), stream=buffer)
    stats.sort_stats("cumulative").print_stats(
        rf"(src/{package}/|_find_and_load\b)", 25
    )
    text = buffer.getvalue().replace(f"{project / 'src'}{os.sep}", "")
    return "\n".join(
        line
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("Ordered", "List reduced"))
    )


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"1000,10000"`` -> ``(1000, 10000)``, sorted and de-duplicated."""
    sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(
            "sizes must be positive integers, e.g. 1000,10000,100000"
        )
    return tuple(sizes)


def main(argv: Sequence[str] | None = None) -> int:
    """Convert, run, time, print. Always returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=None,
        help="rows per file (1000,10000,100000)",
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per measurement (default 5)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: sizes 1000,10000, repeat 2"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile monitor on the largest shifted rows",
    )
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    repeat = args.repeat or (2 if args.quick else 5)
    load_before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="monitor-speed-") as tmp:
        scratch = Path(tmp)
        project = converted(scratch)
        package = package_of(project)
        env = project_env(project)
        progress(f"running {package}'s pipeline ...")
        run_ok([sys.executable, "-m", package, "run"], project, env)
        compileall.compile_dir(project / "src", quiet=1)
        source = pd.read_csv(project / SOURCE)
        files: dict[int, dict[str, Path]] = {}
        for rows in sizes:
            same, shifted = new_rows(source, rows)
            files[rows] = {
                "same": scratch / f"same-{rows}.csv",
                "shifted": scratch / f"shifted-{rows}.csv",
            }
            same.to_csv(files[rows]["same"], index=False)
            shifted.to_csv(files[rows]["shifted"], index=False)
        log = scratch / "run.log"
        progress("warming up (one untimed run of each command) ...")
        for name in COMMANDS:
            code, *_ = run_once(
                command_for(name, package, files[sizes[0]], scratch), project, env, log
            )
            check_run(name, sizes[0], code, project, log)
        timings = {
            (rows, name): Timing(rows, name) for rows in sizes for name in COMMANDS
        }
        for turn in range(repeat):
            for rows in sizes:
                progress(f"run {turn + 1}/{repeat}: {rows} rows ...")
                for name in COMMANDS:
                    command = command_for(name, package, files[rows], scratch)
                    code, wall, cpu, peak = run_once(command, project, env, log)
                    check_run(name, rows, code, project, log)
                    timings[rows, name].add(wall, cpu, peak)
        profile_text = None
        if args.profile:
            progress(f"profiling monitor on {sizes[-1]} shifted rows ...")
            profile_text = profile_monitor(
                project, package, files[sizes[-1]]["shifted"], scratch
            )
    elapsed = time.perf_counter() - started
    report(timings, sizes, repeat, load_before)
    if profile_text is not None:
        print()
        print(
            f"cProfile of monitor on {sizes[-1]} shifted rows (imports and the project's functions; "
            "the profiler's overhead inflates every figure):"
        )
        print(profile_text)
    print()
    print(f"Benchmark took {elapsed:.0f} s.")
    return 0


def report(
    timings: dict[tuple[int, str], Timing],
    sizes: Sequence[int],
    repeat: int,
    load_before: str,
) -> None:
    """The table, the ratios and the limits."""
    print(
        f"monitor speed: titanic (validated), Python {sys.version.split()[0]} on {sys.platform},"
        f" {os.cpu_count()} cores; load average {load_before} at start, {load_average()} at end"
    )
    print(
        f"Whole commands, median of {repeat} runs; peak = the child's max RSS (os.wait4), the largest"
        f" of the runs; shifted = {SHIFTED} + {SHIFT:g}, seed {SEED}"
    )
    table = [["rows", "command", "wall-s (min-max)", "cpu-s", "peak-MiB", "us/row"]]
    for rows in sizes:
        for name in COMMANDS:
            t = timings[rows, name]
            table.append(
                [
                    f"{rows:,}",
                    name,
                    f"{t.median:.2f} ({min(t.wall):.2f}-{max(t.wall):.2f})",
                    f"{t.cpu_median:.2f}",
                    f"{max(t.peak) / 2**20:.0f}",
                    f"{t.median / rows * 1e6:.1f}",
                ]
            )
    print(fmt_table(table))
    print()
    print(
        "Ratios, wall medians / CPU medians (CPU moves less when other work loads"
        " the machine):"
    )
    for rows in sizes:
        same, shifted, predict = (timings[rows, name] for name in COMMANDS)
        print(
            f"  {rows:,} rows: monitor/predict {_ratios(same, predict)},"
            f" shifted/same {_ratios(shifted, same)}"
            f" (the pictures: {shifted.median - same.median:+.2f} s wall,"
            f" {shifted.cpu_median - same.cpu_median:+.2f} s CPU)"
        )
    for small, big in itertools.pairwise(sizes):
        for name in COMMANDS[:2]:
            print(
                f"  {name}: time({big:,})/time({small:,}) ="
                f" {_ratios(timings[big, name], timings[small, name])}"
                f" for {big / small:.0f}x rows"
            )
    if len(sizes) > 1:
        small, big = sizes[0], sizes[-1]
        for name in COMMANDS[:2]:
            parts = []
            for kind, a, b in (
                ("wall", timings[small, name].median, timings[big, name].median),
                ("CPU", timings[small, name].cpu_median, timings[big, name].cpu_median),
            ):
                per_row = (b - a) / (big - small)
                parts.append(
                    f"{kind} {per_row * 1e6:.1f} us per row above a fixed"
                    f" {a - per_row * small:.2f} s"
                )
            print(
                f"  {name}: {'; '.join(parts)} (the fixed part: start-up, imports,"
                " the model and the reference loaded)"
            )
    print()
    print("Limits:")
    if LIMIT_ROWS not in sizes:
        print(
            f"  monitor on {LIMIT_ROWS:,} rows: not measured (sizes {','.join(map(str, sizes))})"
        )
        return
    for name in COMMANDS[:2]:
        t = timings[LIMIT_ROWS, name]
        peak = max(t.peak)
        print(
            f"  {name} on {LIMIT_ROWS:,} rows under {LIMIT_SECONDS:.0f} s: {verdict(t.median < LIMIT_SECONDS)}"
            f" ({t.median:.2f} s); peak under {LIMIT_BYTES / 2**30:.1f} GiB:"
            f" {verdict(peak < LIMIT_BYTES)} ({peak / 2**20:.0f} MiB)"
        )


if __name__ == "__main__":
    sys.exit(main())
