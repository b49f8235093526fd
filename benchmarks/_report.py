"""Helpers the benchmarks share: progress lines, tables, verdicts, machine load."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def fmt_table(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, the first row being the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def last_line(text: str) -> str:
    """The last non-empty line of ``text``: where CLIs put their error."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def load_average() -> str:
    """The 1-minute load average, or "n/a" where the platform has none."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "n/a"


def progress(message: str) -> None:
    """A progress note on stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"
