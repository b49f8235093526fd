"""What a cell's code changes in place, deletes, and hands to the functions it calls
by name; and the names it reads only inside strings libraries evaluate."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst

from nbprod import known_apis as apis
from nbprod.convert.analysis.facts import NameCall, ParsedCell
from nbprod.convert.analysis.nodes import line_of, literal_value, root_name
from nbprod.convert.analysis.resolve import CallSite
from nbprod.convert.analysis.walk import Part

_FORMULA_NAME = re.compile(r"(?<![\w.'\"])([A-Za-z_]\w*)")
_QUERY_NAME = re.compile(r"@([A-Za-z_]\w*)")


@dataclass(frozen=True)
class DataFlow:
    """Mutations, deletions, calls of bare names and names read in strings."""

    mutates: tuple[str, ...]
    mutated_top: tuple[str, ...]  # by top-level (unconditional) statements
    mutated_at: Mapping[int, tuple[str, ...]]  # by top-level statement index
    deletes: tuple[str, ...]
    string_reads: tuple[str, ...]
    name_calls: tuple[NameCall, ...]
    name_calls_at: Mapping[int, tuple[NameCall, ...]]


class DataFlowPart(Part):
    """Collects a cell's ``DataFlow``; ``imports`` are the notebook's bound names
    (a module is never data the cell changes)."""

    def __init__(
        self,
        parsed: ParsedCell,
        imports: Mapping[str, str],
        calls: Mapping[int, CallSite],
    ) -> None:
        self.parsed = parsed
        self.imports = imports
        self.calls = calls
        self.mutates: list[str] = []
        self.mutated_top: list[str] = []
        self.mutated_at: dict[int, list[str]] = {}
        self.deletes: list[str] = []
        self.string_reads: list[str] = []
        self.name_calls: list[NameCall] = []
        self.name_calls_at: dict[int, list[NameCall]] = {}

    def result(self) -> DataFlow:
        return DataFlow(
            tuple(self.mutates),
            tuple(self.mutated_top),
            {i: tuple(names) for i, names in self.mutated_at.items()},
            tuple(self.deletes),
            tuple(self.string_reads),
            tuple(self.name_calls),
            {i: tuple(calls) for i, calls in self.name_calls_at.items()},
        )

    def _mutate(self, node: cst.BaseExpression | None) -> None:
        name = root_name(node) if node is not None else None
        if name and name not in self.imports:
            self.mutates.append(name)
            self.mutated_at.setdefault(self.current, []).append(name)
            if self.top_level:
                self.mutated_top.append(name)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._assign_targets(target.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._assign_targets(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._assign_targets(node.target)

    def _assign_targets(self, target: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._assign_targets(el.value)
        elif isinstance(target, cst.StarredElement):
            self._assign_targets(target.value)
        elif isinstance(target, (cst.Subscript, cst.Attribute)):
            self._mutate(target)

    def visit_Del(self, node: cst.Del) -> None:
        targets = (
            node.target.elements
            if isinstance(node.target, (cst.Tuple, cst.List))
            else [node.target]
        )
        for t in targets:
            value = t.value if isinstance(t, cst.Element) else t
            if isinstance(value, cst.Name):
                self.deletes.append(value.value)
            # Always an expression: Element, unwrapped above, is the one BaseElement
            # that is not (a StarredElement is, and cannot be deleted anyway).
            elif isinstance(value, cst.BaseExpression):
                self._mutate(value)

    def visit_Call(self, node: cst.Call) -> None:
        site = self.calls[id(node)]
        inplace = site.keywords.get("inplace")
        if (
            isinstance(inplace, cst.Name)
            and inplace.value == "True"
            and isinstance(node.func, cst.Attribute)
        ):
            self._mutate(node.func.value)
        self._strings_in(node)
        if site.qual:
            if site.qual in apis.MUTATING_FUNCTIONS and site.positional:
                self._mutate(site.positional[0])
        elif isinstance(node.func, cst.Name):
            call = NameCall(
                node.func.value,
                tuple(
                    a.value.value if isinstance(a.value, cst.Name) else None
                    for a in node.args
                    if a.keyword is None and not a.star
                ),
                line_of(self.parsed, node),
            )
            self.name_calls.append(call)
            self.name_calls_at.setdefault(self.current, []).append(call)
        elif isinstance(node.func, cst.Attribute):
            if root_name(node.func.value) in self.imports:
                return
            if node.func.attr.value in apis.MUTATING_METHODS:
                self._mutate(node.func.value)

    def _strings_in(self, node: cst.Call) -> None:
        # Names used only inside strings that libraries evaluate: patsy formulas
        # (``"np.log(y) ~ x"``) and pandas ``query``/``eval`` (``"a > @limit"``).
        for arg in node.args:
            ok, value = literal_value(arg.value)
            if not ok or not isinstance(value, str):
                continue
            if "~" in value:
                self.string_reads.extend(_FORMULA_NAME.findall(value))
            self.string_reads.extend(_QUERY_NAME.findall(value))
