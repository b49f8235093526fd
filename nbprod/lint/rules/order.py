"""NBP001 execution-order and NBP002 unexecuted-cell: the saved execution counts
are the record of hidden kernel state."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from nbprod.lint.finding import Finding, Settings
from nbprod.lint.rules.rule import Rule, about_cell
from nbprod.lint.rules.walk import Notebook

NBP001 = Rule("NBP001", "execution-order", "cells were run out of order or re-run")
NBP002 = Rule("NBP002", "unexecuted-cell", "a cell was skipped while later ones ran")


def check(nb: Notebook, settings: Settings) -> Iterator[Finding]:
    """Cells run out of turn, runs missing between two cells, and cells skipped
    between cells that ran."""
    code = [
        (c.number, c.data.get("execution_count")) for c in nb.code if c.source.strip()
    ]
    ran: list[tuple[int, int]] = [(n, count) for n, count in code if count is not None]
    if not ran:
        return
    counts = [count for _, count in ran]
    in_order = _in_order(counts)
    previous = 0
    for i, (number, count) in enumerate(ran):
        if i not in in_order:
            if count < previous:
                where = f"lower than the cell above it ({previous})"
            else:
                after = next(ran[j][1] for j in range(i + 1, len(ran)) if j in in_order)
                where = f"higher than the cell below it ({after})"
            yield about_cell(
                number,
                NBP001.code,
                f"cell ran out of order: its execution count {count} is {where} "
                "(restart the kernel and run all)",
            )
            continue
        # Runs between the two that a cell out of order accounts for are not lost.
        missing = count - previous - 1 - sum(previous < c < count for c in counts)
        if missing > 0:
            what = (
                f"execution count jumps from {previous} to {count}"
                if previous
                else f"the first execution count is {count}"
            )
            yield about_cell(
                number,
                NBP001.code,
                f"{what}: {missing} earlier run(s) are not in the "
                "notebook (restart the kernel and run all)",
            )
        previous = count
    first, last = ran[0][0], ran[-1][0]
    for number, maybe in code:
        if maybe is None and first < number < last:
            yield about_cell(
                number,
                NBP002.code,
                "cell was never run, but cells below it were (run all, or delete it)",
            )


def _in_order(counts: list[int]) -> set[int]:
    """Indexes of a longest strictly increasing run of ``counts``: the cells that
    ran in order. The others were run out of turn, so only they are flagged."""
    tails: list[int] = []  # index of the last count of the best run of each length
    values: list[int] = []  # the counts at those indexes, increasing
    before: list[int] = [-1] * len(counts)
    for i, count in enumerate(counts):
        length = bisect_left(values, count)
        before[i] = tails[length - 1] if length else -1
        tails[length : length + 1] = [i]
        values[length : length + 1] = [count]
    kept: set[int] = set()
    i = tails[-1] if tails else -1
    while i != -1:
        kept.add(i)
        i = before[i]
    return kept
