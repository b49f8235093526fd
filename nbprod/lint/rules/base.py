"""What the rule modules share: a rule's code, name and summary, a finding, the
thresholds rules read, and a family (the rules one module checks, and its check)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbprod.lint.rules.walk import Notebook


@dataclass(frozen=True)
class Rule:
    """A lint rule: its code, its name (the docs page's title) and what it catches."""

    code: str
    name: str
    summary: str


@dataclass(frozen=True)
class Settings:
    """The thresholds rules use; ``[tool.nbprod.lint]`` sets them."""

    max_cell_lines: int = 50
    max_output_kb: int = 500


@dataclass(frozen=True, order=True)
class Finding:
    """One finding. ``cell`` is 0 for the notebook's metadata; ``whole_cell`` findings
    are about a cell rather than a line, and a noqa comment anywhere in it applies."""

    cell: int
    line: int
    col: int
    code: str
    message: str
    whole_cell: bool = field(default=False, compare=False)


def about_cell(number: int, code: str, message: str) -> Finding:
    """A finding about a whole cell (its outputs, its length, its execution count)."""
    return Finding(number, 1, 1, code, message, whole_cell=True)


Check = Callable[["Notebook", Settings], Iterable[Finding]]


@dataclass(frozen=True)
class Family:
    """The rules of one module and its check: one function over the parsed notebook
    finds them all (NBP007 and NBP008 read the same outputs, for example)."""

    rules: tuple[Rule, ...]
    check: Check
