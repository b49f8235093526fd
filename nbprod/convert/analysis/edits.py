"""Edits of a cell's source at libcst positions, for the rewrites that run before
the final analysis (``versions``, ``history``).

Rewriting the source, not the tree, keeps every later step unchanged: the cell is
parsed again and analysed as if the notebook had been written that way. An edit
never adds or removes a line, so errors still name the notebook's own lines.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Edit:
    """Replace ``length`` characters at (``line``, ``column``) with ``text``."""

    line: int  # 1-based, as libcst's PositionProvider counts
    column: int  # 0-based, in characters
    length: int
    text: str


def apply_edits(code: str, edits: list[Edit]) -> str:
    """``code`` with ``edits`` applied (right to left, so positions stay valid).

    Before: ``featurize(X)`` with ``Edit(1, 0, 9, "featurize_2")``
    After:  ``featurize_2(X)``
    """
    lines = code.split("\n")
    # At one place, the replacement is made before the insertion that prefixes it.
    for edit in sorted(set(edits), key=lambda e: (-e.line, -e.column, -e.length)):
        assert "\n" not in edit.text, "an edit never adds a line"
        row = lines[edit.line - 1]
        lines[edit.line - 1] = (
            row[: edit.column] + edit.text + row[edit.column + edit.length :]
        )
    return "\n".join(lines)
