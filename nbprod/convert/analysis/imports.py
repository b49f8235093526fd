"""The names a notebook's top-level imports bind, with their qualified names."""

from __future__ import annotations

import libcst as cst

from nbprod.convert.analysis.facts import Import, ParsedCell
from nbprod.convert.analysis.nodes import is_import, line_of


def collect_imports(parsed: list[ParsedCell]) -> list[Import]:
    """Every name bound by a top-level import, in notebook order."""
    found: list[Import] = []
    for pc in parsed:
        found.extend(implied_imports(pc))
        for stmt in pc.module.body:
            if not is_import(stmt):
                continue
            line = line_of(pc, stmt)
            for small in stmt.body:
                found.extend(imports_of(small, line))
    return found


def implied_imports(pc: ParsedCell) -> list[Import]:
    """Modules the normalised code uses without importing them (``%env`` became
    ``os.environ[...] = ...``): imported as if the cell had done it."""
    line = next(
        (m.line for m in pc.cell.magics if m.action in ("environment", "python")), 1
    )
    found = []
    for m in pc.cell.imports:
        if m.startswith("from "):
            _, module, _, name = m.split()
            found.append(Import(name, f"{module}.{name}", line, m))
        else:
            found.append(Import(m, m, line, f"import {m}"))
    return found


def imports_of(small: cst.BaseSmallStatement, line: int) -> list[Import]:
    code = cst.Module([]).code_for_node
    out: list[Import] = []
    if isinstance(small, cst.Import):
        for alias in small.names:
            full = code(alias.name)
            if alias.asname:
                bound = code(alias.asname.name)
                out.append(Import(bound, full, line, f"import {full} as {bound}"))
            else:
                out.append(
                    Import(
                        full.split(".")[0], full.split(".")[0], line, f"import {full}"
                    )
                )
    elif isinstance(small, cst.ImportFrom):
        module = ("." * len(small.relative)) + (
            code(small.module) if small.module else ""
        )
        if isinstance(small.names, cst.ImportStar):
            out.append(Import("*", f"{module}.*", line, f"from {module} import *"))
            return out
        for alias in small.names:
            name = code(alias.name)
            bound = code(alias.asname.name) if alias.asname else name
            stmt = f"from {module} import {name}" + (
                f" as {bound}" if alias.asname else ""
            )
            out.append(Import(bound, f"{module}.{name}", line, stmt))
    return out
