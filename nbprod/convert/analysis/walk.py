"""One traversal of a cell's kept code, many questions answered in it.

Each question is a ``Part``: a small visitor of its own with ``visit_<Node>`` and
``leave_<Node>`` methods and a frozen result. ``Batch`` runs several parts in one
traversal (as LibCST's ``visit_batched`` does), since walking a libcst tree costs
more than any one question: it also enters lambdas but never a def or class body,
which runs when called, not where it is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import libcst as cst

from nbprod.convert.analysis.nodes import root_name, target_names, walk

_Method = Callable[[cst.CSTNode], object]


class Part:
    """One question asked of every kept statement of a cell, in order.

    ``current`` is the index of the top-level statement being visited and
    ``top_level`` whether it is a simple statement (its effects surely happen);
    decorators are visited under the statement before them, as they always were."""

    current: int = -1
    top_level: bool = True

    def begin(self, index: int, top_level: bool) -> None:
        """A new top-level statement starts."""
        self.current, self.top_level = index, top_level

    def end(self, stmt: cst.BaseStatement) -> None:
        """The top-level statement ``stmt`` was visited."""


class InAssignment(Part):
    """A part that needs to know the assignment it is inside: the names it binds
    (``a, b = ...``, ``df["x"] = ...`` binds ``df``) and its one plain target."""

    assign_target: str | None = None
    assign_names: tuple[str, ...] = ()

    def visit_Assign(self, node: cst.Assign) -> None:
        targets = [t.target for t in node.targets]
        names = [n for t in targets for n in target_names(t)]
        names += [
            r for t in targets if isinstance(t, cst.Subscript) and (r := root_name(t))
        ]
        self.assign_names = tuple(names)
        first = targets[0]
        single = len(targets) == 1 and isinstance(first, cst.Name)
        self.assign_target = (
            first.value if isinstance(first, cst.Name) and single else None
        )

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self.assign_target = None
        self.assign_names = ()


@cache
def _method_names(cls: type[Part]) -> tuple[tuple[str, str], ...]:
    """(node type name, "visit" or "leave") of each handler ``cls`` defines."""
    found = []
    for attr in dir(cls):
        kind, _, node = attr.partition("_")
        if kind in {"visit", "leave"} and node[:1].isupper():
            found.append((node, attr))
    return tuple(found)


class Batch(cst.CSTVisitor):
    """Several parts, one traversal: each node's handlers run in the parts' order."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self.parts = tuple(parts)
        self._visits: dict[str, list[_Method]] = {}
        self._leaves: dict[str, list[_Method]] = {}
        for part in self.parts:
            for node, attr in _method_names(type(part)):  # type: ignore[arg-type]
                table = self._visits if attr.startswith("visit") else self._leaves
                table.setdefault(node, []).append(getattr(part, attr))

    def begin(self, index: int, top_level: bool) -> None:
        """A new top-level statement starts, for every part."""
        for part in self.parts:
            part.begin(index, top_level)

    def end(self, stmt: cst.BaseStatement) -> None:
        """The top-level statement ``stmt`` was visited, by every part."""
        for part in self.parts:
            part.end(stmt)

    def run(self, index: int, stmt: cst.BaseStatement) -> None:
        """Visit the top-level statement ``stmt``, at ``index`` in its cell."""
        self.begin(index, isinstance(stmt, cst.SimpleStatementLine))
        walk(stmt, self)
        self.end(stmt)

    def on_visit(self, node: cst.CSTNode) -> bool:
        for method in self._visits.get(type(node).__name__, ()):
            method(node)
        return not isinstance(node, (cst.FunctionDef, cst.ClassDef))

    def on_leave(self, original_node: cst.CSTNode) -> None:
        for method in self._leaves.get(type(original_node).__name__, ()):
            method(original_node)
