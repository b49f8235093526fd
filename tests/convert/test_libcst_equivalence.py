"""What nbprod does in libcst's place gives libcst's answers, node for node.

``expression_contexts`` stands in for libcst's ExpressionContextProvider,
``Scopes`` is libcst's ScopeProvider told those contexts, and ``walk`` is a
visit that does not rebuild the tree: each is compared with libcst's own on the
same nodes, over every code cell of the examples,
every golden project's modules, nbprod's analysis and a file of the constructs
each rule is about.
"""

from __future__ import annotations

import libcst as cst
import pytest
from libcst.metadata import (
    ExpressionContextProvider,
    MetadataWrapper,
    Scope,
    ScopeProvider,
)

from nbprod.convert.analysis.contexts import expression_contexts
from nbprod.convert.analysis.nodes import children, ordered_children, walk
from nbprod.convert.analysis.normalise import normalise_cell
from nbprod.convert.analysis.parse import Scopes
from nbprod.notebook import read_notebook
from tests.helpers.paths import GOLDEN, ROOT

# Each rule of the provider, and what falls between them.
CONSTRUCTS = """
import os.path as osp, sys
from collections import OrderedDict as OD
a, *rest = b[1:2, ::3] = c.d = [e, f] = g()
(h := i + 1)
j += k
l: int
m: "list[int]" = [n for n in range(3) if n for o in n]
del p, q.r, s[t], (u, v)
for w, (x, *y) in z:
    pass
else:
    w = {k2: v2 for k2, v2 in z if v2}


@decorate(arg=aa)
class C(Base, metaclass=Meta):
    attr: int = bb

    def method(self, p1: T = dflt, *args: A, kw=kwd, **kwargs) -> R:
        global gg
        nonlocal_free = lambda q1, q2=q3: q1 + q2 + self.attr
        with open(p1) as fh, ctx() as (c1, c2):
            pass
        try:
            pass
        except Exception as exc:
            del exc
        return (yield from gen)


async def coro(*, key):
    async for item in aiter_():
        await item
    async with lock as held:
        print(f"{held!r:>{width}}", key)


match command:
    case [first, *others] if first:
        pass
    case {"k": value, **more}:
        pass
    case Point(x=px, y=py) | Point(px, py) as point:
        pass
    case _:
        pass
"""


def sources() -> list[tuple[str, str]]:
    """(label, source) of every file the providers are compared on."""
    found = [("constructs", CONSTRUCTS)]
    for path in sorted((ROOT / "examples" / "notebooks").glob("*.ipynb")):
        nb = read_notebook(path)
        for cell in nb.code_cells:
            code = normalise_cell(cell).code
            found.append((f"{path.name} cell {cell.number}", code))
    for path in sorted(GOLDEN.glob("*/src/*/*.py")):
        if path.name != "runtime.py":  # the same in every project
            found.append(
                (str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
            )
    for path in sorted((ROOT / "nbprod" / "convert" / "analysis").glob("*.py")):
        found.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    return found


SOURCES = sources()


def test_the_sources_are_many() -> None:
    # The examples alone have over 90 code cells.
    assert len(SOURCES) > 150


@pytest.mark.parametrize("label,source", SOURCES, ids=[s[0] for s in SOURCES])
def test_contexts_and_scopes_are_libcsts(label: str, source: str) -> None:
    module = cst.parse_module(source)
    theirs = MetadataWrapper(module, unsafe_skip_copy=True)
    ours = MetadataWrapper(module, unsafe_skip_copy=True)

    expected = dict(theirs.resolve(ExpressionContextProvider))
    got = expression_contexts(module)
    assert got == expected, label

    assert _summary(module, ours.resolve(Scopes)) == _summary(
        module, theirs.resolve(ScopeProvider)
    ), label


@pytest.mark.parametrize("label,source", SOURCES, ids=[s[0] for s in SOURCES])
def test_walk_visits_as_libcst_does(label: str, source: str) -> None:
    module = cst.parse_module(source)
    theirs, ours = _Recorder(), _Recorder()
    module.visit(theirs)
    walk(module, ours)
    assert ours.events == theirs.events, label
    assert len(theirs.events) > 2


def test_children_are_libcsts() -> None:
    module = cst.parse_module(CONSTRUCTS)
    recorder = _Recorder()
    module.visit(recorder)
    for node in recorder.nodes.values():
        theirs = [id(c) for c in node.children]
        assert [id(c) for c in ordered_children(node)] == theirs
        assert sorted(id(c) for c in children(node)) == sorted(theirs)


def test_walk_refuses_attribute_hooks() -> None:
    class Hooked(cst.CSTVisitor):
        def visit_Call_func(self, node: cst.Call) -> None:
            pass

    with pytest.raises(TypeError, match="visit_Call_func"):
        walk(cst.parse_module("f(x)"), Hooked())


class _Recorder(cst.CSTVisitor):
    """Every visit and leave, in order; skips the bodies of functions, as the
    analysis does, so that a visit returning False is compared too."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self.nodes: dict[int, cst.CSTNode] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("visit", id(node)))
        self.nodes[id(node)] = node
        return not isinstance(node, cst.FunctionDef)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", id(original_node)))


def _summary(module: cst.Module, scopes: object) -> list[object]:
    """Every node's kind of scope, and every scope's assignments and accesses (with
    what each refers to). A node of the module is named by its identity, which both
    providers share; one libcst parsed from a string annotation, by its code. A
    scope is named by the first node found in it."""
    ours: set[int] = set()

    class Nodes(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            ours.add(id(node))
            return True

    module.visit(Nodes())

    def key(node: object) -> object:
        if node is None:
            return ""  # a builtin
        if id(node) in ours:
            return id(node)
        return f"{type(node).__name__}: {module.code_for_node(node)}"  # type: ignore[arg-type]

    named: dict[int, tuple[str, Scope]] = {}
    kinds = []
    for node, scope in scopes.items():  # type: ignore[attr-defined]
        kinds.append(str((key(node), type(scope).__name__ if scope else None)))
        if scope is not None:
            named.setdefault(id(scope), (str(key(node)), scope))
    described = [
        (
            name,
            sorted(
                str((a.name, key(getattr(a, "node", None)))) for a in scope.assignments
            ),
            sorted(
                str(
                    (
                        key(access.node),
                        sorted(
                            str(key(getattr(r, "node", None))) for r in access.referents
                        ),
                    )
                )
                for access in scope.accesses
            ),
        )
        for name, scope in sorted(named.values(), key=lambda pair: pair[0])
    ]
    return [sorted(kinds), described]
