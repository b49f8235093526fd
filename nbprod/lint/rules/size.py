"""NBP011 long-cell: a cell too long to read."""

from __future__ import annotations

from collections.abc import Iterator

from nbprod.lint.finding import Finding, Settings
from nbprod.lint.rules.rule import Rule, about_cell
from nbprod.lint.rules.walk import Notebook

NBP011 = Rule("NBP011", "long-cell", "a cell too long to read")


def check(nb: Notebook, settings: Settings) -> Iterator[Finding]:
    """Each code cell with more non-blank lines than ``max-cell-lines``."""
    for c in nb.code:
        length = sum(1 for line in c.lines if line.strip())
        if length > settings.max_cell_lines:
            yield about_cell(
                c.number,
                NBP011.code,
                f"cell has {length} lines (limit {settings.max_cell_lines}): split "
                "it into smaller cells or functions",
            )
