"""NBP010 star-import: ``from module import *`` hides where names come from."""

from __future__ import annotations

from collections.abc import Iterator

from nbprod.lint.finding import Finding, Settings
from nbprod.lint.rules.rule import Rule
from nbprod.lint.rules.walk import Notebook

NBP010 = Rule("NBP010", "star-import", "from module import *")


def check(nb: Notebook, settings: Settings) -> Iterator[Finding]:
    """Each ``from ... import *`` of a code cell."""
    for c in nb.code:
        if c.facts is None:
            continue
        for node in c.facts.star_imports:
            yield c.at(
                node.lineno,
                node.col_offset,
                NBP010.code,
                f"`from {node.module or '.'} import *` hides where names come from: "
                "import the names you use",
            )
