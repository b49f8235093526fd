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
the targets "faster than nbqa" and "within 3x of ruff alone". It never fails on
a missed target.

How to run it
-------------
From the repository root, with nbprod's test dependencies and nbqa installed::

    pip install nbqa
    python benchmarks/lint_speed.py              # 200 notebooks, 5 repeats
    python benchmarks/lint_speed.py --repeat 3 --corpus .dev-corpus
    python benchmarks/lint_speed.py --quick      # 40 notebooks, 2 repeats
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import fmt_table, load_average, progress, verdict

ROOT = Path(__file__).resolve().parents[1]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.count, args.repeat = 40, 2
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
