"""``# nbprod: noqa [CODES]`` comments, and whether one covers a finding (nbprod's or
ruff's)."""

from __future__ import annotations

import re

from nbprod.lint.finding import Finding

_NOQA = re.compile(r"#\s*nbprod:\s*noqa\b:?(.*)$", re.I)
_RULE_CODE = re.compile(r"\b[A-Z]+[0-9]+\b")


def noqa_codes(lines: list[str]) -> dict[int, frozenset[str] | None]:
    """Line number -> codes its ``# nbprod: noqa`` comment names (None: every code)."""
    found: dict[int, frozenset[str] | None] = {}
    for i, line in enumerate(lines, start=1):
        if "nbprod" not in line:
            continue
        m = _NOQA.search(line)
        if m:
            codes = frozenset(_RULE_CODE.findall(m.group(1).upper()))
            found[i] = codes or None
    return found


def suppressed(finding: Finding, noqa: dict[int, frozenset[str] | None]) -> bool:
    """Whether a noqa comment covers ``finding`` (anywhere in the cell for a
    whole-cell finding, on its line otherwise)."""
    lines = noqa.values() if finding.whole_cell else [noqa.get(finding.line, ())]
    return any(codes is None or finding.code in codes for codes in lines)
