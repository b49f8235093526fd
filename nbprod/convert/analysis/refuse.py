"""What the analysis refuses, by cell and line: ``global`` inside a function, and
names read that only ``exec``, ``eval`` or ``globals()`` could have defined."""

from __future__ import annotations

import libcst as cst

from nbprod.convert.analysis.facts import CellFacts, ParsedCell
from nbprod.convert.analysis.nodes import line_of, walk
from nbprod.convert.analysis.scope import global_references
from nbprod.errors import CellError

_DYNAMIC = frozenset({"exec", "eval", "globals", "vars", "locals"})


class _Scan(cst.CSTVisitor):
    """``global`` statements inside a def or class, and calls that define names
    dynamically: both looked for in one walk of the whole cell."""

    def __init__(self, pc: ParsedCell) -> None:
        self.pc = pc
        self.depth = 0
        self.globals: list[cst.Global] = []
        self.dynamic: list[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.depth -= 1

    def visit_Global(self, node: cst.Global) -> None:
        if self.depth:
            self.globals.append(node)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name) and func.value in _DYNAMIC:
            if func.value == "vars" and node.args:
                return  # vars(obj) reads an object's attributes
            self.dynamic.append(f"line {line_of(self.pc, node)}: {func.value}(...)")


def dynamic_definitions(pc: ParsedCell) -> tuple[str, ...]:
    """Where the cell may define names no analysis sees: ``exec``, ``eval``,
    ``globals()``, ``vars()``, ``locals()`` (as "line L: exec(...)").

    Refuses, by line, ``global X`` inside a function or class: in the project the
    function is at a module's level and the notebook's globals are a stage
    function's locals, so what it assigns would never reach the code that reads it."""
    scan = _Scan(pc)
    walk(pc.module, scan)
    if scan.globals:
        first = scan.globals[0]
        names = ", ".join(n.name.value for n in first.names)
        raise CellError(
            f"global {names} inside a function: in the project, functions live in "
            "modules and the notebook's variables in stage functions, so the "
            "assignment would not reach the code that reads it",
            where=f"cell {pc.cell.number}, line {line_of(pc, first)}",
            hint="return the value from the function and assign it where it is called",
        )
    return tuple(scan.dynamic)


def refuse_dynamic_names(parsed: list[ParsedCell], facts: list[CellFacts]) -> None:
    """A name read that no cell defines, in a notebook that defines names through
    ``exec``, ``eval`` or ``globals()``: the pipeline would stop on a NameError.
    Refused where the name is read, naming where names are made dynamically."""
    sites = [f"cell {f.number}, {d}" for f in facts for d in f.dynamic]
    if not sites or any(i.bound == "*" for f in facts for i in f.imports):
        return  # without them, or with a star import, every name is accounted for
    defined = {
        n
        for f in facts
        for n in (
            *f.defines,
            *f.assigned,
            *(b for d in f.dropped for b in d.binds),
            *(h.name for h in f.helpers),
            *(i.bound for i in f.imports),
        )
    }
    for pc, f in zip(parsed, facts, strict=True):
        read = {*f.reads, *(n for h in f.helpers for n in h.free_names)} - defined
        for ref in global_references(pc) if read else ():
            if ref.name in read and (ref.helper is not None or ref.statement in f.kept):
                raise CellError(
                    f"{ref.name} is read here but no cell defines it; the notebook "
                    f"defines names dynamically ({sites[0]})",
                    where=f"cell {pc.cell.number}, line {ref.line}",
                    hint=f"assign {ref.name} in the code instead of through "
                    "exec, eval or globals()",
                )
