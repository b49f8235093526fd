"""The shape of the code base, checked: each stage spelled once, analysis and
planning in small modules and classes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from nbprod.stages import STAGES

PACKAGE = Path(__file__).resolve().parent.parent / "nbprod"
SOURCES = sorted(PACKAGE.rglob("*.py"))
# The words only nbprod/stages.py may spell: a stage's name or its command.
STAGE_WORDS = {s.value for s in STAGES} | {s.command for s in STAGES}
# Commands that are also words with another meaning: ``model.predict(...)``, the
# ``train`` split of a dataset.
METHODS = {"predict", "train"}


def _string_constants(tree: ast.AST) -> list[ast.Constant]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_sources_found() -> None:
    assert len(SOURCES) > 40
    assert PACKAGE / "stages.py" in SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_stage_spelled_outside_the_vocabulary(path: Path) -> None:
    if path.name == "stages.py" and path.parent == PACKAGE:
        return
    spelled = [
        f"line {node.lineno}: {node.value!r}"
        for node in _string_constants(ast.parse(path.read_text(encoding="utf-8")))
        if node.value in STAGE_WORDS - METHODS
    ]
    assert not spelled, "use nbprod.stages.Stage: " + "; ".join(spelled)


def test_the_check_sees_a_spelled_stage() -> None:
    tree = ast.parse('"""Training."""\nif stage == "training":\n    pass\n')
    assert [c.value for c in _string_constants(tree)] == ["training"]


SMALL = sorted((PACKAGE / "convert" / "analysis").rglob("*.py")) + sorted(
    (PACKAGE / "convert" / "plan").rglob("*.py")
)


@pytest.mark.parametrize("path", SMALL, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_analysis_and_planning_stay_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= 600, f"{path.name}: split it by question"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= 150, f"{path.name}: class {node.name} is {length} lines"
