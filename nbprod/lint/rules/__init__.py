"""The notebook rules of ``nbprod lint``: pure functions from a notebook to findings.

Each module holds one rule or a family of rules that read the same things, with
its code, name and summary; the registry below lists them all. ``walk`` parses
each code cell once and walks it once for every rule (a pre-commit hook runs on
every commit).

To add a rule: a module here with its ``Rule`` and ``check``, a line in
``FAMILIES``, a page ``docs/lint/NBPnnn.md`` and a case in ``tests/lint/test_lint.py``.
"""

from __future__ import annotations

from typing import Any

from nbprod.lint.finding import Finding, Settings
from nbprod.lint.rules import (
    imports,
    installs,
    names,
    order,
    outputs,
    paths,
    secrets,
    seeds,
    size,
)
from nbprod.lint.rules.rule import Family, Rule
from nbprod.lint.rules.walk import parse

FAMILIES: tuple[Family, ...] = (
    Family((order.NBP001, order.NBP002), order.check),
    Family((names.NBP003,), names.check),
    Family((paths.NBP004,), paths.check),
    Family((seeds.NBP005,), seeds.check),
    Family((secrets.NBP006,), secrets.check),
    Family((outputs.NBP007, outputs.NBP008), outputs.check),
    Family((installs.NBP009,), installs.check),
    Family((imports.NBP010,), imports.check),
    Family((size.NBP011,), size.check),
)

RULES: dict[str, Rule] = {rule.code: rule for f in FAMILIES for rule in f.rules}
DEFAULTS = Settings()


def check_notebook(nb: dict[str, Any], settings: Settings = DEFAULTS) -> list[Finding]:
    """Every finding of every rule on one notebook (a validated v4 notebook dict);
    CellError for a cell no parser can take (nested thousands of levels deep)."""
    parsed = parse(nb)
    findings: set[Finding] = set()
    for family in FAMILIES:
        findings.update(family.check(parsed, settings))
    return sorted(findings)


__all__ = ["FAMILIES", "RULES", "Finding", "Rule", "Settings", "check_notebook"]
