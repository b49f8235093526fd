"""How fast ``nbprod lint`` is next to ``ruff check`` and ``nbqa ruff``.

What it measures
----------------
Each command runs as a whole process (interpreter start-up and imports included)
over the same 200 notebooks, passed as file names the way pre-commit passes them:

1. ``nbprod lint FILES``: nbprod's rules and ruff's findings (ruff runs inside);
2. ``nbprod lint --select NBP FILES``: nbprod's rules alone;
3. ``ruff check FILES``: ruff alone, which reads notebooks natively;
4. ``nbqa ruff FILES``: ruff through nbqa, which converts every notebook to a
   temporary script first.

Cold: ruff's cache is off (``RUFF_NO_CACHE``) and nbprod runs with ``--no-cache``,
so every run does the whole work. Cached: both keep their caches (``.ruff_cache/``,
``.nbprod_cache/``) filled by a first run, as when a hook runs on a second commit. The 200 notebooks are real ones: the example notebooks of this
repository (6-80 KB each, outputs included), copied round-robin under distinct
names into a temporary folder; ``--corpus DIR`` adds the notebooks of a folder
built by ``../shared/corpus/build_dev_corpus.sh`` to the pool.

It prints median and min-max seconds per command, the ratios, and PASS/FAIL for
the targets "faster than nbqa" and "within 3x of ruff alone".

Then one folder as it is, ``--folder DIR`` (default ``examples/notebooks``; the
targets name the 12 notebooks of the dev corpus, ``.dev-corpus/notebooks``): its
``*.ipynb`` are copied into a temporary folder ``notebooks/`` beside a
``pyproject.toml`` that sets nothing, and, cold (``RUFF_NO_CACHE`` for both, as
``nbprod lint`` runs ruff inside), the two commands take turns ``--repeat`` times
after one untimed run each:

5. ``nbprod lint --no-cache notebooks``;
6. ``ruff check notebooks``, ruff's own executable (``python -m ruff`` would add an
   interpreter start-up to ruff's time);
7. for each notebook alone, ``nbprod lint --no-cache notebooks/NB.ipynb`` (and
   ``ruff check`` on it, for reference).

Each run is timed by wall clock and by CPU: the user + system seconds of the child
and of the processes it waited for (``resource.getrusage(RUSAGE_CHILDREN)`` before
and after it). It prints the medians, the ratios nbprod/ruff, and PASS/FAIL for
"within 5x of ruff check on the same folder" (wall and CPU) and "one notebook in
under 0.3 s wall" (the median over the folder's notebooks, and the slowest one).

All the figures come from the same run. It never fails on a missed target.

How to run it
-------------
From the repository root, with nbprod's test dependencies and nbqa installed::

    pip install nbqa
    python benchmarks/lint_speed.py              # 200 notebooks, 5 repeats; examples folder
    python benchmarks/lint_speed.py --repeat 3 --corpus .dev-corpus
    python benchmarks/lint_speed.py --quick      # 40 notebooks, 2 repeats
    python benchmarks/lint_speed.py --folder .dev-corpus/notebooks --folder-only
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _report import fmt_table, last_line, load_average, progress, verdict

ROOT = Path(__file__).resolve().parents[1]
FOLDER_TARGET = 5.0  # nbprod lint --no-cache DIR within 5x of ruff check DIR
ONE_NOTEBOOK_TARGET = 0.3  # seconds, wall, nbprod lint --no-cache NB


def build(folder: Path, count: int, corpus: Path | None) -> list[Path]:
    """``count`` notebooks copied round-robin from the examples (and corpus)."""
    pool = sorted((ROOT / "examples" / "notebooks").glob("*.ipynb"))
    if corpus is not None:
        pool += sorted(corpus.rglob("*.ipynb"))
    files = []
    for i, source in zip(range(count), itertools.cycle(pool)):
        target = folder / f"nb_{i:03d}_{source.name}"
        shutil.copyfile(source, target)
        files.append(target)
    # No tool settings: every linter runs with its defaults.
    (folder / "pyproject.toml").write_text('[project]\nname = "bench"\n')
    return files


def timed(command: list[str], cwd: Path, repeat: int, cold: bool) -> list[float]:
    env = dict(os.environ)
    if cold:
        env["RUFF_NO_CACHE"] = "true"
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return times


def children_cpu() -> float:
    """User + system seconds of the children this process has waited for, so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Runs:
    """Wall-clock and CPU seconds of one command's runs, and how the last one ended."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    failure: str | None = None

    def run(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        """Run ``command`` once and add its times; exit 2 or more is a failure (both
        tools exit 1 on findings), noted but still timed."""
        before = children_cpu()
        start = time.perf_counter()
        result = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        self.wall.append(time.perf_counter() - start)
        self.cpu.append(children_cpu() - before)
        if result.returncode >= 2:
            self.failure = (
                f"exit {result.returncode}: {last_line(result.stderr or result.stdout)}"
            )


def med(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


def ruff_executable() -> list[str]:
    """``ruff`` as a user runs it: its own executable, beside this interpreter first."""
    bindir = Path(sys.executable).parent
    found = shutil.which("ruff", path=str(bindir)) or shutil.which("ruff")
    return [found] if found else [sys.executable, "-m", "ruff"]


def run_folder(source: Path, repeat: int) -> None:
    """``nbprod lint --no-cache`` against ``ruff check`` on one folder's notebooks,
    whole and one notebook at a time; prints the table and the targets."""
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        print(f"\nFolder {source}: no notebooks, not measured")
        return
    ruff = ruff_executable()
    lint = [sys.executable, "-m", "nbprod", "lint", "--no-cache"]
    env = dict(os.environ, RUFF_NO_CACHE="true")
    with tempfile.TemporaryDirectory(prefix="nbprod-lint-folder-") as tmp:
        cwd = Path(tmp)
        folder = cwd / "notebooks"
        folder.mkdir()
        for path in notebooks:
            shutil.copyfile(path, folder / path.name)
        (cwd / "pyproject.toml").write_text('[project]\nname = "bench"\n')
        whole = {
            "nbprod lint --no-cache notebooks": [*lint, "notebooks"],
            "ruff check notebooks": [*ruff, "check", "notebooks"],
        }
        progress(f"folder {source}: {len(notebooks)} notebooks, {repeat} runs each")
        results = {name: Runs() for name in whole}
        for command in whole.values():
            Runs().run(command, cwd, env)  # untimed: file cache, bytecode
        for _ in range(repeat):
            for name, command in whole.items():
                results[name].run(command, cwd, env)
        single: dict[str, tuple[Runs, Runs]] = {}
        for path in notebooks:
            progress(f"  one notebook: {path.name}")
            target = f"notebooks/{path.name}"
            pair = (Runs(), Runs())
            for _ in range(repeat):
                pair[0].run([*lint, target], cwd, env)
                pair[1].run([*ruff, "check", target], cwd, env)
            single[path.name] = pair
    size = sum(p.stat().st_size for p in notebooks)
    try:
        shown = source.resolve().relative_to(ROOT)
    except ValueError:
        shown = source
    print()
    print(
        f"Folder {shown}: {len(notebooks)} notebooks, {size / 1e6:.1f} MB, cold"
        f" (--no-cache, RUFF_NO_CACHE), {repeat} runs each, taking turns; ruff is {ruff[0]}"
    )
    ours, theirs = list(results.values())
    rows = [
        [
            "command",
            "wall median s",
            "wall min-max s",
            "CPU median s",
            "vs ruff wall",
            "vs ruff CPU",
        ]
    ]
    for name, runs in results.items():
        rows.append(
            [
                name,
                f"{med(runs.wall):.3f}",
                f"{min(runs.wall):.3f}-{max(runs.wall):.3f}",
                f"{med(runs.cpu):.3f}",
                f"{med(runs.wall) / med(theirs.wall):.2f}x",
                f"{med(runs.cpu) / med(theirs.cpu):.2f}x",
            ]
        )
    print(fmt_table(rows))
    rows = [["notebook", "nbprod wall s", "nbprod CPU s", "ruff wall s"]]
    for name, (nbprod_runs, ruff_runs) in single.items():
        rows.append(
            [
                name,
                f"{med(nbprod_runs.wall):.3f}",
                f"{med(nbprod_runs.cpu):.3f}",
                f"{med(ruff_runs.wall):.3f}",
            ]
        )
    print("One notebook at a time, medians:")
    print(fmt_table(rows))
    for name, runs in [
        *results.items(),
        *((f"{n} (one notebook)", r) for n, pair in single.items() for r in pair),
    ]:
        if runs.failure is not None:
            print(f"note: {name}: a run failed ({runs.failure}); it is timed anyway")
    for kind, a, b in (
        ("wall", med(ours.wall), med(theirs.wall)),
        ("CPU", med(ours.cpu), med(theirs.cpu)),
    ):
        print(
            f"target nbprod lint --no-cache within {FOLDER_TARGET:.0f}x of ruff check,"
            f" same folder, {kind}: {a / b:.2f}x  {verdict(a / b <= FOLDER_TARGET)}"
        )
    walls = {name: med(pair[0].wall) for name, pair in single.items()}
    typical = statistics.median(walls.values())
    slowest = max(walls, key=walls.__getitem__)
    print(
        f"target one notebook under {ONE_NOTEBOOK_TARGET} s wall, median over"
        f" {len(walls)} notebooks: {typical:.3f} s  {verdict(typical < ONE_NOTEBOOK_TARGET)}"
    )
    print(
        f"target one notebook under {ONE_NOTEBOOK_TARGET} s wall, slowest ({slowest}):"
        f" {walls[slowest]:.3f} s  {verdict(walls[slowest] < ONE_NOTEBOOK_TARGET)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--folder",
        type=Path,
        default=ROOT / "examples" / "notebooks",
        help="also lint this folder's notebooks as they are, whole and one at a time"
        " (default: examples/notebooks), e.g. .dev-corpus/notebooks",
    )
    parser.add_argument(
        "--folder-only",
        action="store_true",
        help="only the --folder part: not the 200 copies, not nbqa",
    )
    args = parser.parse_args()
    if args.quick:
        args.count, args.repeat = 40, 2
    print(
        f"Interpreter {sys.executable}; load average {load_average()}, {os.cpu_count()} cores"
    )
    if not args.folder_only:
        run_pool(args)
    run_folder(args.folder, args.repeat)


def run_pool(args: argparse.Namespace) -> None:
    """The 200 copies: nbprod lint, its rules alone, ruff and nbqa, cold and cached."""
    bindir = Path(sys.executable).parent
    nbqa = shutil.which("nbqa", path=str(bindir)) or shutil.which("nbqa")
    ruff = [sys.executable, "-m", "ruff"]
    with tempfile.TemporaryDirectory(prefix="nbprod-lint-bench-") as tmp:
        folder = Path(tmp)
        files = build(folder, args.count, args.corpus)
        names = [f.name for f in files]
        size = sum(f.stat().st_size for f in files)
        lint = [sys.executable, "-m", "nbprod", "lint"]
        commands = {
            "nbprod lint": [*lint, "--no-cache", *names],
            "nbprod lint --select NBP": [
                *lint,
                "--no-cache",
                "--select",
                "NBP",
                *names,
            ],
            "ruff check": [*ruff, "check", *names],
        }
        if nbqa:
            commands["nbqa ruff"] = [nbqa, "ruff", *names]
        else:
            progress("nbqa is not installed (pip install nbqa): skipping it")
        # Warm: both tools' caches filled by a first run, as on a second commit.
        warm = {
            "nbprod lint (cached)": [*lint, *names],
            "ruff check (cached)": [*ruff, "check", *names],
        }
        results: dict[str, list[float]] = {}
        for name, command in [*commands.items(), *warm.items()]:
            progress(f"{name}: {args.repeat} runs")
            cold = name in commands
            timed(command, folder, 1, cold)  # warms the OS file cache (and tool caches)
            results[name] = timed(command, folder, args.repeat, cold)
    med = {name: statistics.median(t) for name, t in results.items()}
    rows = [["command", "median s", "min-max s", "vs ruff"]]
    for name, times in results.items():
        ruff_name = "ruff check (cached)" if "cached" in name else "ruff check"
        rows.append(
            [
                name,
                f"{med[name]:.3f}",
                f"{min(times):.3f}-{max(times):.3f}",
                f"{med[name] / med[ruff_name]:.2f}x",
            ]
        )
    print(
        f"{len(files)} notebooks, {size / 1e6:.1f} MB, {args.repeat} runs each, "
        f"load average {load_average()}, {os.cpu_count()} cores"
    )
    print(fmt_table(rows))
    for label, ours, theirs in (
        ("cold", "nbprod lint", "ruff check"),
        ("cached", "nbprod lint (cached)", "ruff check (cached)"),
    ):
        within = med[ours] / med[theirs]
        print(
            f"target within 3x of ruff alone, {label}: {within:.2f}x  {verdict(within <= 3)}"
        )
    if "nbqa ruff" in med:
        faster = med["nbqa ruff"] / med["nbprod lint"]
        print(
            f"target faster than nbqa ruff (cold): {faster:.2f}x faster  {verdict(faster > 1)}"
        )


if __name__ == "__main__":
    main()
