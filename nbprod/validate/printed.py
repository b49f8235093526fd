"""Compare what a notebook cell printed with what the pipeline's statements from
that cell printed: numbers with a tolerance, and what is known to vary from run to
run (timings, dates and clock times, memory addresses) left out."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

RTOL, ATOL = 1e-6, 1e-9
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Lines IPython's %time and %%time print.
_TIMING_LINE = re.compile(r"^\s*(CPU times:|Wall time:)")
_VOLATILE = (
    re.compile(r"\b0x[0-9a-fA-F]{4,}\b"),  # memory addresses
    re.compile(r"\b\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\b"),  # dates
    re.compile(
        r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} "
        r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b"
    ),  # dates as statsmodels' summaries print them
    re.compile(r"\b\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\b"),  # clock times, elapsed m:ss
    # durations: a number with a unit of time ("0.53s", "12 ms", "3ms/step"),
    # written as timings are, in lower case; a one-letter unit only right after
    # the number, so a value and a word ("27.5 S", a port's code) stay evidence
    re.compile(
        r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?(\s*(ns|us|µs|ms|sec|secs|seconds|min|mins|"
        r"minutes|hours)\b|[sh]\b)"
    ),
)
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf")


@dataclass(frozen=True)
class Verdict:
    """Whether two printed texts agree, and where not."""

    same: bool
    detail: str = ""


def normalise(text: str) -> list[str]:
    """The lines of ``text`` that are evidence: ANSI colours, timing lines and the
    parts that vary from run to run removed, trailing spaces and blank lines gone."""
    lines = []
    for line in _ANSI.sub("", text).splitlines():
        if _TIMING_LINE.match(line):
            continue
        for pattern in _VOLATILE:
            line = pattern.sub("<varies>", line)
        line = line.rstrip()
        if line:
            lines.append(line)
    return lines


def compare_printed(ours: str, theirs: str, *, all_kept: bool) -> Verdict:
    """Does what the pipeline printed (``ours``) match what the notebook cell
    printed (``theirs``)? With ``all_kept``, line for line; otherwise the cell also
    had statements the pipeline leaves out (displays), which may have printed too:
    the pipeline's lines must then appear among the notebook's, in order."""
    a, b = normalise(ours), normalise(theirs)
    if all_kept:
        if len(a) != len(b):
            return Verdict(
                False, f"{len(a)} lines printed, the notebook printed {len(b)}"
            )
        for i, (x, y) in enumerate(zip(a, b, strict=True), start=1):
            why = _line_differs(x, y)
            if why:
                return Verdict(False, f"line {i}: {why}")
        return Verdict(True)
    lines = iter(b)
    for i, x in enumerate(a, start=1):
        if not any(_line_differs(x, y) is None for y in lines):
            return Verdict(False, f"line {i} ({_short(x)}) is not among the notebook's")
    return Verdict(True)


def _line_differs(ours: str, theirs: str) -> str | None:
    if ours == theirs:
        return None
    ours = _same_places(ours, theirs)
    a, b = list(_split(ours)), list(_split(theirs))
    if len(a) != len(b) or [x for x, _ in a] != [x for x, _ in b]:
        return f"{_short(ours)} != {_short(theirs)}"
    for (_, x), (_, y) in zip(a, b, strict=True):
        if x is None or y is None:
            continue
        if not (
            (math.isnan(x) and math.isnan(y))
            or math.isclose(x, y, rel_tol=RTOL, abs_tol=ATOL)
        ):
            return f"{x!r} != {y!r} in {_short(theirs)}"
    return None


def _same_places(ours: str, theirs: str) -> str:
    """``ours`` with each absolute path that names the notebook's relative one
    written as the notebook wrote it: the pipeline resolves config.yaml's paths."""
    a, b = ours.split(" "), theirs.split(" ")
    if len(a) != len(b):
        return ours
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x != y and x.startswith("/") and y and not y.startswith("/"):
            parts = PurePosixPath(y.strip("'\"")).parts
            if PurePosixPath(x.strip("'\"")).parts[-len(parts) :] == parts:
                a[i] = y
    return " ".join(a)


def _split(line: str) -> Iterator[tuple[str, float | None]]:
    """The line as (text, number) parts: text between numbers must be equal."""
    at = 0
    for match in _NUMBER.finditer(line):
        yield line[at : match.start()], None
        yield "<number>", float(match.group())
        at = match.end()
    yield line[at:], None


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")
