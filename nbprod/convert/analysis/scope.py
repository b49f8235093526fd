"""Data flow through scopes: the names a cell reads from earlier cells, defines,
and uses (per statement too), each helper's free names, and every read of a
global name with where it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import (
    Assignment,
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
    module = pc.module
    scopes = pc.scopes
    stmt_of = pc.statement_of
    global_scope = next(
        (s for s in scopes.values() if isinstance(s, GlobalScope)), None
    )
    if global_scope is None:
        return ScopeFacts()
    reads: list[str] = []
    defines: list[str] = []
    used: list[str] = []
    helper_free: dict[str, list[str]] = {}
    statement_reads: dict[int, list[str]] = {}
    statement_writes: dict[int, list[str]] = {}
    kept_set = set(kept)
    helper_stmt = {
        i: stmt.name.value
        for i, stmt in enumerate(module.body)
        if i in kept_set and isinstance(stmt, (cst.FunctionDef, cst.ClassDef))
    }
    for name in helper_stmt.values():
        helper_free[name] = []

    def unconditional_before(ref: Assignment, stmt: int) -> bool:
        ref_stmt = stmt_of.get(id(ref.node), -1)
        if ref_stmt < 0:
            return False
        node = module.body[ref_stmt]
        if ref_stmt < stmt:
            return (
                isinstance(
                    node, (cst.SimpleStatementLine, cst.FunctionDef, cst.ClassDef)
                )
                or kinds[ref_stmt] == "import"
            )
        if ref_stmt == stmt:
            return isinstance(node, (cst.For, cst.With))
        return False

    seen_scopes = {id(s): s for s in scopes.values() if s is not None}
    for scope in seen_scopes.values():
        for access in scope.accesses:
            node = access.node
            stmt = stmt_of.get(id(node))
            if stmt is None or stmt not in kept_set:
                continue
            full = dotted(node) if not isinstance(node, cst.Name) else node.value
            if not full:
                continue
            name = full.split(".", 1)[0]
            referents = access.referents
            if any(isinstance(r, BuiltinAssignment) for r in referents) and not any(
                isinstance(r, (Assignment, ImportAssignment)) for r in referents
            ):
                continue
            # Builtins have a scope of their own: every global referent is an
            # Assignment, whose node unconditional_before looks up.
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
            if stmt not in helper_stmt and kinds[stmt] != "import":
                used.append(name)
                if global_refs or not local_refs:
                    statement_reads.setdefault(stmt, []).append(name)
            if stmt in helper_stmt:
                if local_refs and not global_refs:
                    continue
                helper_free[helper_stmt[stmt]].append(name)
                continue
            if local_refs and not global_refs:
                continue
            if any(unconditional_before(r, stmt) for r in global_refs):
                continue
            reads.append(name)
    for assignment in global_scope.assignments:
        # Imports define no data; the rest are Assignments (builtins are not global).
        if isinstance(assignment, ImportAssignment) or not isinstance(
            assignment, Assignment
        ):
            continue
        stmt = stmt_of.get(id(assignment.node))
        if stmt is None or stmt not in kept_set or stmt in helper_stmt:
            continue
        defines.append(assignment.name)
        statement_writes.setdefault(stmt, []).append(assignment.name)
    return ScopeFacts(
        tuple(reads),
        tuple(defines),
        {name: tuple(free) for name, free in helper_free.items()},
        tuple(used),
        {i: tuple(names) for i, names in statement_reads.items()},
        {i: tuple(names) for i, names in statement_writes.items()},
    )


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
