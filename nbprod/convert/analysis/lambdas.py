"""Functions the notebook writes as lambdas: ``rmse = lambda y, p: ...`` is a
``def``, moved to module level as every notebook function is.

A lambda bound to a name is a function the notebook defines; left in a stage
function it is a value like any other, and one that no pickle can save: handed
to a later stage, the stage run on its own (as DVC or an orchestrator runs it)
would not find it. As a definition it is imported where it is used. The
rewrite keeps every line where it was (PEP 8 would write it the same way):

    cell 2  scale = lambda s: (s - s.mean()) / s.std()
      ->    def scale(s): return (s - s.mean()) / s.std()

Only a name bound by such statements alone is rewritten: a name also bound
otherwise stays a value (a project keeps definitions apart from the code that
binds names).
"""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import GlobalScope

from nbprod.convert.analysis.edits import Edit
from nbprod.convert.analysis.facts import ParsedCell

_E731 = re.compile(r"#\s*noqa:\s*E731\s*")


def lambda_edits(parsed: list[ParsedCell]) -> dict[int, list[Edit]]:
    """Edits, by cell index, that make each top-level ``name = lambda ...:`` a
    one-line ``def name(...): return ...``."""
    found: dict[int, list[tuple[str, Edit]]] = {}
    for k, pc in enumerate(parsed):
        for stmt in pc.module.body:
            edit = _as_def(pc, stmt)
            if edit is not None:
                found.setdefault(k, []).append(edit)
                assert isinstance(stmt, cst.SimpleStatementLine)
                comment = stmt.trailing_whitespace.comment
                # The exemption from "do not assign a lambda" no longer applies.
                if comment is not None and _E731.fullmatch(comment.value):
                    at = pc.positions[comment].start
                    found[k].append(
                        (edit[0], Edit(at.line, at.column, len(comment.value), ""))
                    )
    if not found:
        return {}
    other = _bound_otherwise(parsed, found)
    return {
        k: [edit for name, edit in edits if name not in other]
        for k, edits in found.items()
        if any(name not in other for name, _ in edits)
    }


def _as_def(pc: ParsedCell, stmt: cst.CSTNode) -> tuple[str, Edit] | None:
    """(name, the edit) for ``name = lambda params: body`` on one line up to
    the body, else None."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return None
    assign = stmt.body[0]
    if not (
        isinstance(assign, cst.Assign)
        and len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
        and isinstance(assign.value, cst.Lambda)
        # ``(lambda x: ...)``: its closing parenthesis would be left behind.
        and not assign.value.lpar
    ):
        return None
    name = assign.targets[0].target.value
    start = pc.positions[assign].start
    body = pc.positions[assign.value.body].start
    if body.line != start.line:
        return None
    params = cst.Module([]).code_for_node(assign.value.params)
    text = f"def {name}({params}): return "
    return name, Edit(start.line, start.column, body.column - start.column, text)


def _bound_otherwise(
    parsed: list[ParsedCell], found: dict[int, list[tuple[str, Edit]]]
) -> set[str]:
    """The names the lambdas are bound to that something else binds too."""
    names = {name for edits in found.values() for name, _ in edits}
    counted: dict[str, int] = {}
    for pc in parsed:
        for scope in pc.scopes.values():
            if isinstance(scope, GlobalScope):
                for assignment in scope.assignments:
                    if assignment.name in names:
                        counted[assignment.name] = counted.get(assignment.name, 0) + 1
                break
    lambdas: dict[str, int] = {}
    for edits in found.values():
        for name, edit in edits:
            if edit.text:
                lambdas[name] = lambdas.get(name, 0) + 1
    return {name for name in names if counted.get(name, 0) != lambdas[name]}
