"""The comments that say where a generated statement came from (``# Notebook cell
N: Heading.``, ``# displayed by the notebook``): written with the code, read back by
validation to tell which cell printed what.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

import libcst as cst

# After a statement that prints a value the notebook displayed; above the
# statements a cell became.
SHOWN = "# displayed by the notebook"
LABEL = re.compile(r"^# Notebook cell (\d+)\b")


def cell_label(number: int, section: str) -> str:
    """``# Notebook cell 3: Clean the data.``: the comment above the statements
    that cell ``number`` (under the heading ``section``, if any) became."""
    return f"# Notebook cell {number}" + (f": {section}" if section else "") + "."


def cell_lines(source: str) -> dict[int, int]:
    """Each line of a generated module's statements copied from a notebook cell ->
    that cell (-1 for a value the notebook displayed and the pipeline prints): how
    validation tells which cell printed what."""
    comments = {
        token.start[0]: token.string
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    labels = {
        line: int(match.group(1))
        for line, text in comments.items()
        if (match := LABEL.match(text))
    }
    found: dict[int, int] = {}
    for function in ast.parse(source).body:
        if not isinstance(function, ast.FunctionDef):
            continue
        cell, after = None, function.lineno
        for stmt in function.body:
            for line in range(after, stmt.lineno):
                cell = labels.get(line, cell)
            after = (stmt.end_lineno or stmt.lineno) + 1
            if cell is None:
                continue
            shown = comments.get(after - 1) == SHOWN
            for line in range(stmt.lineno, after):
                found[line] = -1 if shown else cell
    return found


def relabelled(
    statements: list[cst.BaseStatement], label: str
) -> list[cst.BaseStatement]:
    """``statements`` with each ``# Notebook cell N`` comment above them
    replaced by ``label``."""
    out: list[cst.BaseStatement] = []
    for stmt in statements:
        assert isinstance(stmt, cst.SimpleStatementLine | cst.BaseCompoundStatement)
        lines = [
            (
                line.with_changes(comment=cst.Comment(label))
                if line.comment is not None and LABEL.match(line.comment.value)
                else line
            )
            for line in stmt.leading_lines
        ]
        out.append(stmt.with_changes(leading_lines=lines))
    return out
