"""Small pure functions over libcst nodes that every question of the analysis uses."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from typing import TypeGuard

import libcst as cst
from libcst.helpers import get_full_name_for_node

from nbprod.convert.analysis.facts import ParsedCell

_EMPTY = cst.Module([])


def code_of(node: cst.CSTNode) -> str:
    """The source of ``node``."""
    return _EMPTY.code_for_node(node)


def line_of(parsed: ParsedCell, node: cst.CSTNode) -> int:
    """The line ``node`` starts on in its cell (0 if libcst gave it no position)."""
    pos = parsed.positions.get(node)
    return pos.start.line if pos else 0


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for ``a.b.c``, and through calls and subscripts (``a.b().c``)."""
    try:
        return get_full_name_for_node(node)
    except Exception:  # noqa: BLE001 - libcst raises on unusual expressions
        return None


def root_node(node: cst.BaseExpression) -> cst.Name | None:
    """The Name ``df`` of ``df``, ``df.a``, ``df["a"].b``, ``df.loc[m, "a"]``."""
    while True:
        if isinstance(node, cst.Name):
            return node
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        else:
            return None


def root_name(node: cst.BaseExpression) -> str | None:
    """``df`` for ``df``, ``df.a``, ``df["a"].b``, ``df.loc[m, "a"]``."""
    root = root_node(node)
    return root.value if root is not None else None


def literal_value(node: cst.BaseExpression) -> tuple[bool, object]:
    """Evaluate a literal expression (numbers, strings, bools, None, containers)."""
    try:
        value = ast.literal_eval(code_of(node))
    except Exception:  # noqa: BLE001 - anything not a plain literal
        return False, None
    if isinstance(value, (bytes, complex, set, frozenset)):
        return False, None
    return True, value


def is_none(node: cst.BaseExpression) -> bool:
    """Whether ``node`` is the literal ``None``."""
    return isinstance(node, cst.Name) and node.value == "None"


def target_names(node: cst.BaseExpression) -> list[str]:
    """The names an assignment target binds (``a``, ``a, (b, c)``, ``[a, b]``)."""
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for el in node.elements for n in target_names(el.value)]
    return []


def is_import(stmt: cst.BaseStatement) -> TypeGuard[cst.SimpleStatementLine]:
    """Whether a top-level statement only imports."""
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def bound_names(stmt: cst.BaseStatement) -> set[str]:
    """Names a statement surely binds: its own assignments, those of a ``with``
    block's statements (the block always runs), and those every branch of an
    ``if`` with an ``else`` binds."""
    if isinstance(stmt, cst.With):
        # Not the ``as`` targets: a file handle is no result.
        return _block_binds(stmt.body)
    if isinstance(stmt, cst.If):
        branches: list[cst.BaseSuite] = [stmt.body]
        orelse = stmt.orelse
        while isinstance(orelse, cst.If):
            branches.append(orelse.body)
            orelse = orelse.orelse
        if orelse is None:
            return set()
        branches.append(orelse.body)
        return set.intersection(*(_block_binds(b) for b in branches))
    if not isinstance(stmt, cst.SimpleStatementLine):
        return set()
    names = set()
    for small in stmt.body:
        if isinstance(small, cst.Assign):
            for t in small.targets:
                names.update(target_names(t.target))
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            names.update(target_names(small.target))
    return names


def _block_binds(block: cst.BaseSuite) -> set[str]:
    if not isinstance(block, cst.IndentedBlock):
        return set()
    names: set[str] = set()
    for inner in block.body:
        names |= bound_names(inner)
    return names


_FIELDS: dict[type, tuple[str, ...]] = {}
_IS_NODE: dict[type, bool] = {}


def _fields(cls: type) -> tuple[str, ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return found


def _is_node(cls: type) -> bool:
    # isinstance against libcst's abstract node classes is slow; a node's type
    # decides, so it is asked once per type.
    found = _IS_NODE.get(cls)
    if found is None:
        found = _IS_NODE[cls] = issubclass(cls, cst.CSTNode)
    return found


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes directly under ``node``, read from its fields, in no particular
    order: for questions whose answer is a set or a mapping.

    libcst's ``children`` and ``visit`` rebuild every node they pass (libcst has no
    read-only traversal), which made traversals a third of converting a notebook;
    :func:`walk` visits in libcst's order without rebuilding."""
    found: list[cst.CSTNode] = []
    for name in _fields(type(node)):
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            found.extend(item for item in value if _is_node(type(item)))
        elif _is_node(kind):
            found.append(value)
    return found


# (node type, its fields that hold nodes) -> those fields in libcst's order
_ORDER: dict[tuple[type, tuple[str, ...]], tuple[str, ...]] = {}


def ordered_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes directly under ``node`` in libcst's order (source order), without
    rebuilding it: which fields come first is asked of libcst's ``children`` once
    for each type of node and set of filled fields, so the order is libcst's own,
    fields libcst does not visit left out."""
    present: list[tuple[str, list[cst.CSTNode]]] = []
    for name in _fields(type(node)):
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            items = [item for item in value if _is_node(type(item))]
            if items:
                present.append((name, items))
        elif _is_node(kind):
            present.append((name, [value]))
    key = (type(node), tuple(name for name, _ in present))
    order = _ORDER.get(key)
    if order is None:
        order = _libcst_order(node, present)
        if order is None:  # one node in two fields: no order of fields says it
            return list(node.children)
        _ORDER[key] = order
    by_name = dict(present)
    return [item for name in order for item in by_name[name]]


def _libcst_order(
    node: cst.CSTNode, present: list[tuple[str, list[cst.CSTNode]]]
) -> tuple[str, ...] | None:
    owner: dict[int, str] = {}
    for name, items in present:
        for item in items:
            if owner.setdefault(id(item), name) != name:
                return None
    return tuple(dict.fromkeys(owner[id(c)] for c in node.children if id(c) in owner))


def _attribute_hooks(cls: type) -> list[str]:
    """The ``visit_Node_attribute`` methods ``cls`` and its bases define, libcst's
    own classes (all stubs) aside; read from the classes' own namespaces, since
    ``dir()`` of a visitor lists 1,600 names."""
    return [
        attr
        for klass in cls.__mro__
        if not klass.__module__.startswith("libcst")
        for attr in vars(klass)
        if attr.startswith(("visit_", "leave_"))
        and len(parts := attr.split("_", 2)) == 3
        and parts[1][:1].isupper()
    ]


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """``node.visit(visitor)`` for a visitor that only reads: the same ``on_visit``
    and ``on_leave`` calls in the same order, without rebuilding the tree. Not for
    visitors with per-attribute hooks (``visit_Call_func``), which it does not call."""
    hooks = _attribute_hooks(type(visitor))
    if hooks:
        raise TypeError(f"walk() does not call attribute hooks: {', '.join(hooks)}")
    _walk(node, visitor)


def _walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    if visitor.on_visit(node):
        for child in ordered_children(node):
            _walk(child, visitor)
    visitor.on_leave(node)


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and every node under it, in no particular order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(children(current))


def statement_index(module: cst.Module) -> dict[int, int]:
    """The index of the top-level statement holding each node, by ``id``."""
    return {
        id(node): i for i, stmt in enumerate(module.body) for node in descendants(stmt)
    }


def names_in(node: cst.CSTNode, *, targets: bool = True) -> list[cst.Name]:
    """:func:`name_nodes` in no particular order, and faster: for sets of names."""
    found: list[cst.Name] = []
    stack = [node]
    while stack:
        current = stack.pop()
        kind = type(current)
        if kind is cst.Name:
            found.append(current)  # type: ignore[arg-type]
        elif kind is cst.Attribute or kind is cst.Arg:
            stack.append(current.value)  # type: ignore[attr-defined]
        elif kind is cst.AssignTarget and not targets:
            continue
        elif (kind is cst.FunctionDef or kind is cst.ClassDef) and not targets:
            stack.append(current.body)  # type: ignore[attr-defined]
        else:
            stack.extend(children(current))
    return found


def name_nodes(node: cst.CSTNode, *, targets: bool = True) -> list[cst.Name]:
    """The Name nodes that name variables in ``node``: not attribute names or
    keywords; with ``targets=False``, not assignment targets or def/class names."""
    found: list[cst.Name] = []

    class V(cst.CSTVisitor):
        def visit_Attribute(self, n: cst.Attribute) -> bool:
            walk(n.value, self)
            return False

        def visit_Arg(self, n: cst.Arg) -> bool:
            walk(n.value, self)
            return False

        def visit_AssignTarget(self, n: cst.AssignTarget) -> bool:
            return targets

        def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
            return self._definition(n)

        def visit_ClassDef(self, n: cst.ClassDef) -> bool:
            return self._definition(n)

        def _definition(self, n: cst.FunctionDef | cst.ClassDef) -> bool:
            if targets:
                return True
            walk(n.body, self)
            return False

        def visit_Name(self, n: cst.Name) -> None:
            found.append(n)

    walk(node, V())
    return found
