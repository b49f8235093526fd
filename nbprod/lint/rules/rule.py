"""What the rule modules share: a rule's code, name and summary, and a family (the
rules one module checks, and its check)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

from nbprod.lint.finding import Finding, Settings

if TYPE_CHECKING:
    from nbprod.lint.rules.walk import Notebook

# Rule and Family are named tuples, not dataclasses: each dataclass costs a lint
# run about 0.4 ms to create at import, and these are constants.


class Rule(NamedTuple):
    """A lint rule: its code, its name (the docs page's title) and what it catches."""

    code: str
    name: str
    summary: str


def about_cell(number: int, code: str, message: str) -> Finding:
    """A finding about a whole cell (its outputs, its length, its execution count)."""
    return Finding(number, 1, 1, code, message, whole_cell=True)


class Family(NamedTuple):
    """The rules of one module and its check: one function over the parsed notebook
    finds them all (NBP007 and NBP008 read the same outputs, for example)."""

    rules: tuple[Rule, ...]
    check: Callable[[Notebook, Settings], Iterable[Finding]]
