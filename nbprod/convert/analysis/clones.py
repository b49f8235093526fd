"""Copy-pasted code: runs of statements the notebook applies to two frames.

A notebook that cleans ``train`` in a few cells often cleans ``test`` again later
with the same statements, ``train`` renamed. Two statements are the same when
their syntax trees are equal once each one's frame (the name it assigns to or
changes) is written as one placeholder; the stdlib ``ast`` compares trees, so
formatting and comments never matter.

A run of the second frame's statements matches the first frame's in order. The
first frame's copy may hold other statements in between (``age_mean =
train["Age"].mean()`` before ``train["Age"].fillna(age_mean)``): they move
before the shared run when that cannot change what anything computes, which is
checked at the level of the frame's columns: a statement that reads only
``train["Age"]`` may move before statements that only write ``train["Title"]``.
Nothing else moves, and nothing is reordered on the second frame's side.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from nbprod.convert.analysis.facts import CellFacts, ParsedCell, Statement
from nbprod.convert.analysis.nodes import code_of
from nbprod.plan import CloneUse, Where

# Fewer shared statements than this are not worth a function.
MIN_STATEMENTS = 3
_FRAME = "__frame__"


@dataclass(frozen=True)
class Clone:
    """Statements the notebook applies to two frames, ``first`` before ``second``."""

    first: CloneUse
    second: CloneUse


@dataclass(frozen=True)
class _Entry:
    where: Where
    statement: Statement
    node: ast.stmt
    frame: str  # the name it assigns to or changes ("" for none)
    key: str  # its tree with its frame as a placeholder
    written: frozenset[str] | None  # columns of its frame it writes; None: the frame


def find_clones(
    parsed: Sequence[ParsedCell], facts: Sequence[CellFacts]
) -> tuple[Clone, ...]:
    """Every run of at least MIN_STATEMENTS statements applied to a second frame
    as they were to an earlier one, longest first, none sharing a statement."""
    stream = _stream(parsed, facts)
    by_key: dict[str, list[int]] = {}
    for i, entry in enumerate(stream):
        if entry.frame:
            by_key.setdefault(entry.key, []).append(i)
    clones: list[Clone] = []
    used: set[int] = set()
    j = 0
    while j < len(stream):
        best: tuple[list[int], list[int], list[int]] | None = None
        entry = stream[j]
        if entry.frame and j not in used:
            for i in by_key.get(entry.key, ()):
                if i >= j or i in used or stream[i].frame == entry.frame:
                    continue
                found = _align(stream, i, j, used)
                if found and (best is None or len(found[1]) > len(best[1])):
                    best = found
        if best is None:
            j += 1
            continue
        first, second, hoisted = best
        used.update(first, second, hoisted)
        clones.append(
            Clone(
                CloneUse(
                    stream[first[0]].frame,
                    tuple(stream[k].where for k in first),
                    tuple(stream[k].where for k in hoisted),
                ),
                CloneUse(stream[j].frame, tuple(stream[k].where for k in second)),
            )
        )
        j = second[-1] + 1
    return tuple(clones)


def _align(
    stream: list[_Entry], i: int, j: int, used: set[int]
) -> tuple[list[int], list[int], list[int]] | None:
    """The run starting at ``j`` (frame y) matched in order from ``i`` (frame x),
    with the statements of x's copy that must move; None below MIN_STATEMENTS."""
    x, y = stream[i].frame, stream[j].frame
    first, second, hoisted = [i], [j], []
    a, b = i, j + 1
    while b < len(stream) and b not in used and stream[b].frame == y:
        # the next statement of x's copy with the same shape, before y's run starts
        match = next(
            (
                k
                for k in range(a + 1, j)
                if stream[k].frame == x and stream[k].key == stream[b].key
            ),
            None,
        )
        if match is None or match in used:
            break
        gaps = list(range(a + 1, match))
        if not all(
            _can_move_before(stream[g], [stream[k] for k in first], x) for g in gaps
        ):
            break
        hoisted += gaps
        first.append(match)
        second.append(b)
        a, b = match, b + 1
    shared = [stream[k] for k in (*first, *second)]
    if len(second) < MIN_STATEMENTS or not all(
        _self_contained(e, x, y) for e in shared
    ):
        return None
    return first, second, hoisted


def _self_contained(entry: _Entry, x: str, y: str) -> bool:
    """A shared statement binds nothing but its frame and reads the other frame
    not at all: it can run in a function given the frame."""
    st = entry.statement
    other = y if entry.frame == x else x
    return (
        set(st.writes) <= {entry.frame}
        and set(st.mutates) <= {entry.frame}
        and other not in st.reads
        and st.simple
    )


def _can_move_before(gap: _Entry, shared: list[_Entry], x: str) -> bool:
    """Whether ``gap`` may run before the shared statements of x's copy that came
    before it: it binds nothing they use, changes nothing in place, and reads of
    x only columns they do not write."""
    st = gap.statement
    if not st.simple or st.mutates or x in st.writes:
        return False
    touched = {n for e in shared for n in (*e.statement.reads, *e.statement.writes)}
    if set(st.writes) & touched:
        return False
    columns = _columns(gap.node, x)
    if columns is None:
        return False
    if not columns:  # it never names x
        return True
    return all(e.written is not None and not e.written & columns for e in shared)


def _stream(parsed: Sequence[ParsedCell], facts: Sequence[CellFacts]) -> list[_Entry]:
    """Every kept top-level statement but displays, in notebook order, with its
    shape."""
    stream = []
    for pc, f in zip(parsed, facts, strict=True):
        for st in f.statements:
            if st.index in f.shown:
                continue
            tree = ast.parse(code_of(pc.module.body[st.index]).strip())
            if len(tree.body) != 1:
                continue
            node = tree.body[0]
            frame = _frame(node)
            if frame not in (*st.writes, *st.mutates):
                frame = ""
            # Only a statement that changes a frame is matched; the shape comes
            # from a copy (the rename changes the tree it visits).
            key = (
                ast.dump(_Rename(frame).visit(ast.parse(ast.unparse(node))))
                if frame
                else ""
            )
            stream.append(
                _Entry((f.number, st.index), st, node, frame, key, _written(node))
            )
    return stream


def _frame(node: ast.stmt) -> str:
    """The name a statement assigns to or changes: ``df`` of ``df[...] = ``,
    ``df = ``, ``df.drop(..., inplace=True)``."""
    target: ast.expr | None = None
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AugAssign):
        target = node.target
    elif (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
    ):
        target = node.value.func.value
    while isinstance(target, (ast.Subscript, ast.Attribute)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else ""


def _written(node: ast.stmt) -> frozenset[str] | None:
    """The one column ``df["c"] = ...`` writes; None for any other change."""
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Subscript)
        and isinstance(node.targets[0].value, ast.Name)
    ):
        column = _column(node.targets[0])
        if column is not None:
            return frozenset({column})
    return None


def _columns(node: ast.AST, frame: str) -> frozenset[str] | None:
    """The columns of ``frame`` that ``node`` reads, all as ``frame["column"]``
    (empty when it never names the frame); None when it uses the frame otherwise."""
    columns: set[str] = set()
    as_column: set[int] = set()
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.value, ast.Name)
            and sub.value.id == frame
        ):
            column = _column(sub)
            if column is not None:
                columns.add(column)
                as_column.add(id(sub.value))
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id == frame and id(sub) not in as_column:
            return None
    return frozenset(columns)


def _column(node: ast.Subscript) -> str | None:
    index = node.slice
    if isinstance(index, ast.Constant) and isinstance(index.value, str):
        return index.value
    return None


class _Rename(ast.NodeTransformer):
    """The frame's name as a placeholder, wherever it is used."""

    def __init__(self, name: str) -> None:
        self.name = name

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id == self.name:
            return ast.Name(id=_FRAME, ctx=node.ctx)
        return node
