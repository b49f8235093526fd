"""The shape of the code base, checked: each stage spelled once, analysis and
planning in small modules and classes, imports down the layers and never round,
no function over eighty lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from nbprod.stages import STAGES
from tests.helpers.paths import ROOT

PACKAGE = ROOT / "nbprod"
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


# The layers of nbprod, lowest first. A module may import from its own package
# and from the layers below its own; the packages of one layer never import each
# other. A package's modules are all in its layer, but for those of its
# subpackages that have a layer of their own.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("nbprod", "nbprod.errors", "nbprod.stages", "nbprod.globs", "nbprod.cache"),
    ("nbprod.plan",),
    ("nbprod.secrets", "nbprod.notebook", "nbprod.known_apis"),
    ("nbprod.convert.analysis",),
    ("nbprod.redact",),
    ("nbprod.convert.plan",),
    ("nbprod.convert",),
    ("nbprod.validate", "nbprod.export", "nbprod.lint"),
    ("nbprod.commands",),
    ("nbprod.init",),
    ("nbprod.cli",),
    ("nbprod.__main__",),
)
# No function longer than this, docstring included: split it by what it does.
LONGEST_FUNCTION = 80


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The entry of LAYERS that ``module`` belongs to: itself, or the longest
    package above it ("nbprod" only for itself)."""
    units = [u for layer in LAYERS for u in layer]
    found = [
        u
        for u in units
        if module == u or (u != "nbprod" and module.startswith(u + "."))
    ]
    assert found, f"{module} is in no layer: add it to LAYERS"
    return max(found, key=len)


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """The nbprod modules ``tree`` imports (a name imported from a package is
    that package, unless it is a module of it)."""
    found = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module -> the nbprod modules it imports, from ``{module: source}``."""
    modules = set(sources)
    return {m: _imports(ast.parse(text), modules) - {m} for m, text in sources.items()}


def layering_problems(graph: dict[str, set[str]]) -> list[str]:
    """Each import that goes up or sideways in LAYERS, and each import cycle."""
    layer_of = {u: k for k, layer in enumerate(LAYERS) for u in layer}
    problems = []
    for module, targets in sorted(graph.items()):
        unit = _unit(module)
        for target in sorted(targets):
            other = _unit(target)
            if other != unit and layer_of[other] >= layer_of[unit]:
                problems.append(
                    f"{module} imports {target}: {other} is not below {unit}"
                )
    problems += [f"import cycle: {' -> '.join(c)}" for c in _cycles(graph)]
    return problems


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def long_functions(sources: dict[str, str]) -> list[str]:
    return [
        f"{module}.{node.name}: {length} lines"
        for module, text in sorted(sources.items())
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1)
        > LONGEST_FUNCTION
    ]


SOURCE_TEXTS = {_module_name(p): p.read_text(encoding="utf-8") for p in SOURCES}


def test_imports_go_down_the_layers_and_never_round() -> None:
    assert layering_problems(import_graph(SOURCE_TEXTS)) == []


def test_no_function_is_longer_than_eighty_lines() -> None:
    assert long_functions(SOURCE_TEXTS) == []


def test_the_layering_check_sees_an_upward_import_and_a_cycle() -> None:
    planted = dict(SOURCE_TEXTS)
    planted["nbprod.plan"] += "\nfrom nbprod.validate import proof\n"
    planted["nbprod.stages"] += "\nfrom nbprod import errors\n"
    planted["nbprod.errors"] += "\nimport nbprod.stages\n"
    problems = layering_problems(import_graph(planted))
    assert any(
        p.startswith("nbprod.plan imports nbprod.validate.proof") for p in problems
    ), problems
    assert "import cycle: nbprod.errors -> nbprod.stages" in problems, problems


def test_the_length_check_sees_a_long_function() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(100))
    assert long_functions({"nbprod.planted": f"def long():\n{body}"}) == [
        "nbprod.planted.long: 101 lines"
    ]
