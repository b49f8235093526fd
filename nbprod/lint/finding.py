"""A finding, and the settings the rules read: what the rules, ruff's bridge, the
cache and the report share. Kept apart from the rules so that a run answered from
the cache imports none of them."""

from __future__ import annotations

from dataclasses import dataclass, field


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
