"""NBP003 used-before-defined: a name read above the first cell that binds it works
only in a kernel where the later cell already ran."""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator

from nbprod.lint.finding import Finding, Settings
from nbprod.lint.rules.rule import Rule
from nbprod.lint.rules.walk import Notebook

NBP003 = Rule(
    "NBP003", "used-before-defined", "a name is used above the cell defining it"
)

_BUILTINS = frozenset(dir(builtins)) | {
    "__file__",
    "__name__",
    "get_ipython",
    "display",
}
# %run and %store bind names nobody can see: no finding from there on.
_RUN_MAGIC = re.compile(r"^\s*%(?:run|store)\b", re.M)


def check(nb: Notebook, settings: Settings) -> Iterator[Finding]:
    """Each name a cell reads before any cell above it (or itself) binds it, when a
    cell below binds it."""
    first_bound: dict[str, int] = {}
    for c in nb.code:
        if c.facts is not None:
            for name in c.facts.bound:
                first_bound.setdefault(name, c.number)
    defined: set[str] = set()
    for c in nb.code:
        if _RUN_MAGIC.search(c.source):
            return
        if c.facts is None:
            continue
        if c.facts.star_imports:
            return  # a star import may bind anything below it
        for name, (line, col) in sorted(c.facts.used.items(), key=lambda kv: kv[1]):
            later = first_bound.get(name, 0)
            if (
                name not in defined
                and name not in c.facts.bound
                and name not in _BUILTINS
                and later > c.number
            ):
                yield c.at(
                    line,
                    col,
                    NBP003.code,
                    f"`{name}` is used here but first defined in cell {later}: this "
                    "cell only works after running a cell below it",
                )
        defined |= c.facts.bound
