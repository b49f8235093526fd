"""Parsing a normalised cell: ``compile()`` first, so a syntax error is reported at
the notebook's cell and line and libcst never sees code CPython would reject."""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, ScopeProvider

from nbprod.convert.analysis.facts import ParsedCell
from nbprod.convert.analysis.nodes import statement_index
from nbprod.convert.normalise import NormalCell
from nbprod.errors import CellError


def check_syntax(cell: NormalCell) -> None:
    """Raise CellError naming the cell and line if CPython rejects the code.

    A full compile, not only a parse: ``return`` or ``yield`` outside a function
    parse (and libcst accepts them) but do not compile."""
    try:
        compile(cell.code, f"cell {cell.number}", "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or 1
        where = f"cell {cell.number}, line {line}"
        if "await" in (exc.msg or "") and _compiles_with_top_level_await(cell.code):
            raise CellError(
                "top-level await (IPython runs it, Python modules cannot)",
                where=where,
                hint="put the async code in an async function and call asyncio.run() on it",
            ) from None
        raise CellError(
            f"syntax error: {exc.msg}",
            where=where,
            hint="fix the cell in Jupyter, or tag it nbprod:skip",
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise CellError(
            f"cell {cell.number} is too deeply nested to analyse "
            f"({exc.__class__.__name__})"
        ) from None


def _compiles_with_top_level_await(code: str) -> bool:
    try:
        compile(
            code,
            "<cell>",
            "exec",
            flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            dont_inherit=True,
        )
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return False
    return True


def parse_cell(cell: NormalCell) -> ParsedCell:
    """Parse a normalised cell with libcst after checking it with ``compile()``."""
    check_syntax(cell)
    try:
        module = cst.parse_module(cell.code)
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        # One resolve for both providers: each resolve costs a fixed libcst set-up.
        # resolve_many types its results as object; resolve then hands each back
        # from the wrapper's cache with its provider's type.
        wrapper.resolve_many([PositionProvider, ScopeProvider])
        positions = wrapper.resolve(PositionProvider)
        scopes = wrapper.resolve(ScopeProvider)
    except (cst.ParserSyntaxError, RecursionError) as exc:
        raise CellError(
            f"cannot be analysed ({exc.__class__.__name__})",
            where=f"cell {cell.number}",
        ) from None
    return ParsedCell(cell, module, positions, scopes, statement_index(module))
