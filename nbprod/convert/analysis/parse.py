"""Parsing a normalised cell: ``compile()`` first, so a syntax error is reported at
the notebook's cell and line and libcst never sees code CPython would reject."""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from typing import Any, ClassVar

import libcst as cst
from libcst.metadata import (
    ExpressionContext,
    ExpressionContextProvider,
    MetadataWrapper,
    PositionProvider,
    ScopeProvider,
)

from nbprod.convert.analysis.contexts import expression_contexts
from nbprod.convert.analysis.facts import ParsedCell
from nbprod.convert.analysis.nodes import statement_index
from nbprod.convert.analysis.normalise import NormalCell
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


class Scopes(ScopeProvider):
    """libcst's ScopeProvider, with two costs of libcst's taken out.

    It is told each name's context by
    :func:`~nbprod.convert.analysis.contexts.expression_contexts` instead of
    libcst's ExpressionContextProvider: the same answers, without another visit.
    Its visit and leave methods are listed once: libcst lists them anew for every
    instance, with ``inspect.getmembers`` over the 1,600 attributes a visitor has,
    about 2 ms a cell (a third of converting a notebook of small cells)."""

    _visitor_names: ClassVar[tuple[str, ...] | None] = None
    METADATA_DEPENDENCIES = tuple(  # type: ignore[assignment]
        d
        for d in ScopeProvider.METADATA_DEPENDENCIES
        if d is not ExpressionContextProvider
    )
    _contexts: Mapping[cst.CSTNode, ExpressionContext] = {}

    @classmethod
    def get_inherited_dependencies(cls) -> Collection[Any]:
        # LibCST resolves what every class of the MRO declares, ScopeProvider's too.
        return frozenset(
            d
            for d in super().get_inherited_dependencies()
            if d is not ExpressionContextProvider
        )

    def get_visitors(self) -> Mapping[str, Any]:
        names = Scopes._visitor_names
        if names is None:
            names = Scopes._visitor_names = tuple(super().get_visitors())
        return {name: getattr(self, name) for name in names}

    def visit_Module(self, node: cst.Module) -> bool | None:
        self._contexts = expression_contexts(node)
        return super().visit_Module(node)

    def get_metadata(self, key: Any, node: cst.CSTNode, *default: Any) -> Any:
        if key is ExpressionContextProvider:
            if node in self._contexts or not default:
                return self._contexts[node]
            return default[0]
        return super().get_metadata(key, node, *default)


def parse_cell(cell: NormalCell) -> ParsedCell:
    """Parse a normalised cell with libcst after checking it with ``compile()``."""
    check_syntax(cell)
    try:
        module = cst.parse_module(cell.code)
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        # One resolve for both providers: each resolve costs a fixed libcst set-up.
        # resolve_many types its results as object; resolve then hands each back
        # from the wrapper's cache with its provider's type.
        wrapper.resolve_many([PositionProvider, Scopes])
        positions = wrapper.resolve(PositionProvider)
        scopes = wrapper.resolve(Scopes)
    except (cst.ParserSyntaxError, RecursionError) as exc:
        raise CellError(
            f"cannot be analysed ({exc.__class__.__name__})",
            where=f"cell {cell.number}",
        ) from None
    return ParsedCell(cell, module, positions, scopes, statement_index(module))
