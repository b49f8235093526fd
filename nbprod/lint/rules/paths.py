"""NBP004 absolute-path: a path that exists on one machine only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import cast

from nbprod.lint.finding import Finding, Settings
from nbprod.lint.rules.rule import Rule
from nbprod.lint.rules.walk import Notebook

NBP004 = Rule("NBP004", "absolute-path", "an absolute or user-specific path")

_ABSOLUTE_PATH = re.compile(r"""(?x)^(?:file://)?(?:
        [A-Za-z]:[\\/]                     # C:\\ or D:/
      | \\\\[^\\]+\\                       # \\\\server\\share
      | ~[\\/]                             # ~/data
      | /(?:home|Users|root|mnt|media|content|kaggle|Volumes|tmp|var|opt|srv|data|
            workspace|dbfs|gpfs|scratch|net)(?:/|$)
    )""")


def check(nb: Notebook, settings: Settings) -> Iterator[Finding]:
    """Each one-line string constant that is an absolute or home-relative path."""
    for c in nb.code:
        if c.facts is None:
            continue
        for node in c.facts.strings:
            value = cast(str, node.value)  # the walk keeps str constants only
            if _ABSOLUTE_PATH.match(value) and "\n" not in value:
                shown = value if len(value) <= 60 else value[:57] + "..."
                yield c.at(
                    node.lineno,
                    node.col_offset,
                    NBP004.code,
                    f"absolute path {shown!r} exists on one machine only: use a path "
                    "relative to the project, or a setting",
                )
