"""NBP009 pip-install: packages installed from inside the notebook."""

from __future__ import annotations

import re
from collections.abc import Iterator

from nbprod.lint.finding import Finding, Settings
from nbprod.lint.rules.rule import Rule
from nbprod.lint.rules.walk import Notebook

NBP009 = Rule("NBP009", "pip-install", "packages installed from inside the notebook")

# On the text, magics included: `%pip`, `!pip`, `!python -m pip`, conda, mamba, uv,
# and what IPython turns `!pip` into.
_PIP_INSTALL = re.compile(
    r"^\s*(?:[!%]\s*|.*get_ipython\(\)\.system\(['\"])"
    r"(?:python3?\s+-m\s+)?(?:pip3?|conda|mamba|uv\s+pip)\s+install\b",
    re.M,
)


def check(nb: Notebook, settings: Settings) -> Iterator[Finding]:
    """Each line of a code cell that installs packages."""
    for c in nb.code:
        source = c.source
        for m in _PIP_INSTALL.finditer(source):
            line = source.count("\n", 0, m.start()) + 1
            yield Finding(
                c.number,
                line,
                len(m.group(0)) - len(m.group(0).lstrip()) + 1,
                NBP009.code,
                "packages installed from inside the notebook: declare them in "
                "requirements.txt or pyproject.toml instead",
            )
