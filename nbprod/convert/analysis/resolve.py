"""What the names of a cell's code refer to: qualified names through the notebook's
imports, and the types assigned to names so far.

libcst's QualifiedNameProvider resolves names through the imports of the module it
analyses; a notebook cell uses imports made in earlier cells, so the import table
here is the whole notebook's. The types evolve cell by cell: each cell's
``Resolution`` starts from the types the cells above left and returns its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import libcst as cst

from nbprod.convert.analysis.nodes import dotted, root_name, root_node
from nbprod.convert.analysis.walk import Part

_BUILTIN_CALLS = frozenset(
    {
        "open",
        "print",
        "display",
        "input",
        "exec",
        "eval",
        "set",
        "frozenset",
        "zip",
        "enumerate",
    }
)
SET_TYPE = "builtins.set"


@dataclass(frozen=True)
class Resolver:
    """Qualified names through the notebook's imports (bound name -> qualified)."""

    imports: Mapping[str, str] = field(default_factory=dict)

    def qualify(self, node: cst.BaseExpression) -> str | None:
        """``pandas.read_csv`` for ``pd.read_csv``, also through calls and
        subscripts (``pd.DataFrame(x).to_csv`` -> ``pandas.DataFrame.to_csv``)."""
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.imports:
            base = self.imports[head]
            return f"{base}.{rest}" if rest else base
        if not rest and head in _BUILTIN_CALLS:
            return head
        return None

    def qualify_plain(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of a plain dotted name only (``np.random.normal``,
        not ``np.random.default_rng(0).normal``): what ``nbprod lint`` sees, so the
        verdicts of ``known_apis`` get the same name from both."""
        parts: list[str] = []
        while isinstance(node, cst.Attribute):
            parts.append(node.attr.value)
            node = node.value
        if not isinstance(node, cst.Name) or node.value not in self.imports:
            return None
        return ".".join([self.imports[node.value], *reversed(parts)])


@dataclass(frozen=True)
class CallSite:
    """One call, resolved once for every question asked of it."""

    qual: str | None  # through the imports, also through calls (``Resolver.qualify``)
    plain: str | None  # the plain dotted name only (``Resolver.qualify_plain``)
    keywords: Mapping[str, cst.BaseExpression]
    positional: tuple[cst.BaseExpression, ...]  # without ``*args``
    receiver_type: str = ""  # for ``x.m(...)``: the type assigned to ``x`` so far


@dataclass(frozen=True)
class Resolved:
    """A cell's calls, the loops over sets it makes, and the types it leaves."""

    calls: Mapping[int, CallSite]  # by ``id`` of the Call node
    set_loops: frozenset[int]  # ``id`` of each ``for`` over a set
    types: Mapping[str, str]  # name -> type, after the cell


class Resolution(Part):
    """Resolves every call of a cell's kept code; runs first in each ``Batch``, so
    a node's answer is there when the other parts visit that node."""

    def __init__(self, resolver: Resolver, types: Mapping[str, str]) -> None:
        self.resolver = resolver
        self.types = dict(types)
        self.calls: dict[int, CallSite] = {}
        self.set_loops: set[int] = set()

    def result(self) -> Resolved:
        return Resolved(
            MappingProxyType(self.calls),
            frozenset(self.set_loops),
            MappingProxyType(self.types),
        )

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._record_type(node.targets[0].target.value, node.value)

    def _record_type(self, name: str, value: cst.BaseExpression) -> None:
        qualify = self.resolver.qualify
        if isinstance(value, cst.Set) or (
            isinstance(value, cst.Call) and qualify(value.func) in {"set", "frozenset"}
        ):
            self.types[name] = SET_TYPE
            return
        if isinstance(value, cst.Call):
            qual = qualify(value.func)
            if qual:
                self.types[name] = qual
                return
            method = (
                value.func.attr.value if isinstance(value.func, cst.Attribute) else ""
            )
            root = root_name(value.func)
            if method == "fit" and root in self.types:
                self.types[name] = self.types[root]
                return
        if isinstance(value, cst.Attribute) and value.attr.value in {
            "best_estimator_",
            "estimator",
        }:
            self.types[name] = "sklearn.base.BaseEstimator"
            return
        self.types.pop(name, None)

    def visit_Call(self, node: cst.Call) -> None:
        receiver = ""
        if isinstance(node.func, cst.Attribute):
            root = root_node(node.func.value)
            receiver = self.types.get(root.value, "") if root is not None else ""
        self.calls[id(node)] = CallSite(
            self.resolver.qualify(node.func),
            self.resolver.qualify_plain(node.func),
            {a.keyword.value: a.value for a in node.args if a.keyword is not None},
            tuple(a.value for a in node.args if a.keyword is None and not a.star),
            receiver,
        )

    def visit_For(self, node: cst.For) -> None:
        # Iterating a set of objects: the order follows their memory addresses.
        iters = [node.iter]
        if isinstance(node.iter, cst.Call) and self.resolver.qualify(
            node.iter.func
        ) in {"zip", "enumerate"}:
            iters = [a.value for a in node.iter.args]
        if any(
            isinstance(it, cst.Set)
            or (isinstance(it, cst.Name) and self.types.get(it.value) == SET_TYPE)
            for it in iters
        ):
            self.set_loops.add(id(node))
