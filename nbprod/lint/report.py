"""What ``nbprod lint`` reports: each finding in its file, nbprod's or ruff's, and
the result as text (ruff-like lines and a summary) or as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nbprod.lint.finding import Finding

DOCS = "docs/lint"


@dataclass(frozen=True, order=True)
class Reported:
    """A finding in a file, from nbprod's rules or from ruff."""

    path: str
    finding: Finding
    tool: str = field(default="nbprod", compare=False)

    def text(self) -> str:
        f = self.finding
        where = f"cell {f.cell}:" if f.cell else ""
        return f"{self.path}:{where}{f.line}:{f.col}: {f.code} {f.message}"

    def to_dict(self) -> dict[str, Any]:
        from nbprod.lint.rules import RULES  # only JSON needs the registry

        f = self.finding
        rule = RULES.get(f.code)
        return {
            "path": self.path,
            "cell": f.cell or None,
            "line": f.line,
            "col": f.col,
            "code": f.code,
            "message": f.message,
            "tool": self.tool,
            "rule": rule.name if rule else None,
            "docs": f"{DOCS}/{f.code}.md" if rule else None,
        }


@dataclass
class LintResult:
    """Every finding, sorted, and one line per file that could not be read."""

    findings: list[Reported]
    errors: list[str]
    files: int

    @property
    def exit_code(self) -> int:
        return 2 if self.errors else 1 if self.findings else 0


def format_text(result: LintResult) -> str:
    """ruff-like lines, then a one-line summary."""
    lines = [r.text() for r in result.findings]
    n = len(result.findings)
    if n:
        lines.append(
            f"Found {n} finding{'s' * (n != 1)} in {result.files} notebook"
            f"{'s' * (result.files != 1)}."
        )
    return "\n".join(lines)


def format_json(result: LintResult) -> str:
    """The findings as a JSON list, one object per finding."""
    return json.dumps([r.to_dict() for r in result.findings], indent=2)
