"""Data flow through scopes: the names a cell reads from earlier cells, defines,
and uses (per statement too), each helper's free names, and every read of a
global name with where it is."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import libcst as cst
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    BuiltinAssignment,
    FunctionScope,
    GlobalScope,
    ImportAssignment,
)

from nbprod.convert.analysis.facts import ParsedCell, Reference
from nbprod.convert.analysis.nodes import dotted, walk


@dataclass(frozen=True)
class ScopeFacts:
    """Where a cell's names come from and go to (libcst's ScopeProvider)."""

    reads: tuple[str, ...] = ()  # from earlier cells
    defines: tuple[str, ...] = ()
    helper_free: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    used: tuple[str, ...] = ()
    # per top-level statement index: every global it loads, every name it binds
    statement_reads: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    statement_writes: Mapping[int, tuple[str, ...]] = field(default_factory=dict)


def scope_facts(
    pc: ParsedCell, kept: tuple[int, ...], kinds: tuple[str, ...]
) -> ScopeFacts:
    """Names read from earlier cells, names defined, each helper's free names,
    every name the cell's code statements use, and the same per statement."""
    global_scope = next(
        (s for s in pc.scopes.values() if isinstance(s, GlobalScope)), None
    )
    if global_scope is None:
        return ScopeFacts()
    kept_set = set(kept)
    helper_stmt = {
        i: stmt.name.value
        for i, stmt in enumerate(pc.module.body)
        if i in kept_set and isinstance(stmt, (cst.FunctionDef, cst.ClassDef))
    }
    read = _reads(pc, kinds, kept_set, helper_stmt, global_scope)
    defines: list[str] = []
    statement_writes: dict[int, list[str]] = {}
    for assignment in global_scope.assignments:
        # Imports define no data; the rest are Assignments (builtins are not global).
        if isinstance(assignment, ImportAssignment) or not isinstance(
            assignment, Assignment
        ):
            continue
        stmt = pc.statement_of.get(id(assignment.node))
        if stmt is None or stmt not in kept_set or stmt in helper_stmt:
            continue
        defines.append(assignment.name)
        statement_writes.setdefault(stmt, []).append(assignment.name)
    return ScopeFacts(
        read.reads,
        tuple(defines),
        read.helper_free,
        read.used,
        read.statement_reads,
        {i: tuple(names) for i, names in statement_writes.items()},
    )


class _Access(NamedTuple):
    """A kept statement's use of a name, and what the name may be bound by, in
    the global scope and in others."""

    name: str
    stmt: int
    global_refs: list[Assignment]
    local_refs: list[BaseAssignment]


def _accesses(
    pc: ParsedCell, kept_set: set[int], global_scope: GlobalScope
) -> Iterator[_Access]:
    """Which names do the kept statements use, builtins aside, and what binds
    them?"""
    stmt_of = pc.statement_of
    seen_scopes = {id(s): s for s in pc.scopes.values() if s is not None}
    for scope in seen_scopes.values():
        for access in scope.accesses:
            node = access.node
            stmt = stmt_of.get(id(node))
            if stmt is None or stmt not in kept_set:
                continue
            full = dotted(node) if not isinstance(node, cst.Name) else node.value
            if not full:
                continue
            referents = access.referents
            if any(isinstance(r, BuiltinAssignment) for r in referents) and not any(
                isinstance(r, (Assignment, ImportAssignment)) for r in referents
            ):
                continue
            # Builtins have a scope of their own: every global referent is an
            # Assignment, whose node _unconditional_before looks up.
            global_refs = [
                r
                for r in referents
                if r.scope is global_scope and isinstance(r, Assignment)
            ]
            local_refs = [
                r
                for r in referents
                if r.scope is not global_scope and not isinstance(r, BuiltinAssignment)
            ]
            yield _Access(full.split(".", 1)[0], stmt, global_refs, local_refs)


@dataclass(frozen=True)
class _Reads:
    """The names a cell reads: from earlier cells, in its code statements (all,
    and per statement), and in each helper's body from the notebook."""

    reads: tuple[str, ...]
    used: tuple[str, ...]
    statement_reads: Mapping[int, tuple[str, ...]]
    helper_free: Mapping[str, tuple[str, ...]]


def _reads(
    pc: ParsedCell,
    kinds: tuple[str, ...],
    kept_set: set[int],
    helper_stmt: Mapping[int, str],
    global_scope: GlobalScope,
) -> _Reads:
    """Which names do the kept statements read, and from where?"""
    reads: list[str] = []
    used: list[str] = []
    helper_free: dict[str, list[str]] = {name: [] for name in helper_stmt.values()}
    statement_reads: dict[int, list[str]] = {}
    for name, stmt, global_refs, local_refs in _accesses(pc, kept_set, global_scope):
        if stmt not in helper_stmt and kinds[stmt] != "import":
            used.append(name)
            if global_refs or not local_refs:
                statement_reads.setdefault(stmt, []).append(name)
        if local_refs and not global_refs:
            continue
        if stmt in helper_stmt:
            helper_free[helper_stmt[stmt]].append(name)
        elif not any(_unconditional_before(pc, kinds, r, stmt) for r in global_refs):
            reads.append(name)
    return _Reads(
        tuple(reads),
        tuple(used),
        {i: tuple(names) for i, names in statement_reads.items()},
        {name: tuple(free) for name, free in helper_free.items()},
    )


def _unconditional_before(
    pc: ParsedCell, kinds: tuple[str, ...], ref: Assignment, stmt: int
) -> bool:
    """Is ``ref`` bound whenever top-level statement ``stmt`` runs, by the cell
    itself: by a statement before it that always runs, or by ``stmt``'s own
    loop or ``with`` header?"""
    ref_stmt = pc.statement_of.get(id(ref.node), -1)
    if ref_stmt < 0:
        return False
    node = pc.module.body[ref_stmt]
    if ref_stmt < stmt:
        return (
            isinstance(node, (cst.SimpleStatementLine, cst.FunctionDef, cst.ClassDef))
            or kinds[ref_stmt] == "import"
        )
    if ref_stmt == stmt:
        return isinstance(node, (cst.For, cst.With))
    return False


def global_references(pc: ParsedCell) -> list[Reference]:
    """Every read of a global name in the cell (builtins aside), in source order."""
    module = pc.module
    stmt_of = pc.statement_of
    callees: set[int] = set()

    class Callees(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            callees.add(id(node.func))

    walk(module, Callees())
    found: list[Reference] = []
    scopes = {id(s): s for s in pc.scopes.values() if s is not None}
    for scope in scopes.values():
        for access in scope.accesses:
            node = access.node
            if not isinstance(node, cst.Name) or id(node) not in stmt_of:
                continue
            referents = access.referents
            if any(r.scope is not r.scope.globals for r in referents):
                continue  # a local, a parameter, a comprehension variable
            if referents and all(isinstance(r, BuiltinAssignment) for r in referents):
                continue
            runtime, inner = False, access.scope
            while inner is not None and not isinstance(inner, GlobalScope):
                runtime |= isinstance(inner, FunctionScope)
                inner = inner.parent
            stmt = stmt_of[id(node)]
            top = module.body[stmt]
            pos = pc.positions[node].start
            found.append(
                Reference(
                    node.value,
                    pos.line,
                    pos.column,
                    stmt,
                    (
                        top.name.value
                        if isinstance(top, (cst.FunctionDef, cst.ClassDef))
                        else None
                    ),
                    runtime,
                    id(node) in callees,
                )
            )
    return sorted(found, key=lambda r: (r.line, r.column))
