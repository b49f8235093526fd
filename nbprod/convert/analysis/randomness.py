"""Randomness: the random draws of a cell that no seed fixes, and the seeds it sets.

The verdict on each call is ``known_apis.random_call``, the one ``nbprod lint``
(NBP005) asks too. What is seeded evolves through the notebook: each cell starts
from what the cells above seeded and returns what it adds. A helper whose body
seeds a global generator (``def set_seed(s): np.random.seed(s)``) seeds it where it
is called, and nowhere if it never is.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import MappingProxyType

import libcst as cst

from nbprod import known_apis as apis
from nbprod.convert.analysis.facts import ParsedCell
from nbprod.convert.analysis.nodes import is_none, line_of, walk
from nbprod.convert.analysis.resolve import Resolver
from nbprod.convert.analysis.walk import Batch, Part


def verdict(node: cst.Call, resolver: Resolver) -> apis.RandomCall | None:
    """``known_apis.random_call`` for a libcst call, given what lint gives it."""
    func = node.func
    keywords: dict[str | None, bool] = {}
    positional: list[bool] = []
    for arg in node.args:
        if arg.star == "**":
            keywords[None] = True
        elif arg.keyword is not None:
            keywords[arg.keyword.value] = not is_none(arg.value)
        else:
            positional.append(bool(arg.star) or not is_none(arg.value))
    return apis.random_call(
        resolver.qualify_plain(func),
        func.attr.value if isinstance(func, cst.Attribute) else "",
        keywords,
        positional,
    )


@dataclass(frozen=True)
class Seeding:
    """What is seeded at some point of the notebook: the global generators, and
    the helpers that seed some when called."""

    generators: frozenset[str] = frozenset()  # "numpy.random.", "random."
    helpers: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True)
class Randomness:
    """A cell's unseeded draws ("line L: what") and the seeding after it."""

    unseeded: tuple[str, ...]
    seeding: Seeding


class RandomnessPart(Part):
    """Collects a cell's ``Randomness``, from the ``Seeding`` the cells above left.

    Lambda bodies run when called, like def bodies: not looked into."""

    def __init__(
        self,
        parsed: ParsedCell,
        resolver: Resolver,
        seeding: Seeding,
        set_loops: AbstractSet[int] = frozenset(),
    ) -> None:
        self.parsed = parsed
        self.resolver = resolver
        self.seeded = set(seeding.generators)
        self.helpers = dict(seeding.helpers)
        self.set_loops = set_loops
        self.unseeded: list[str] = []
        self._lambdas = 0

    def result(self) -> Randomness:
        seeding = Seeding(frozenset(self.seeded), MappingProxyType(self.helpers))
        return Randomness(tuple(self.unseeded), seeding)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._lambdas += 1

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._lambdas -= 1

    def visit_Call(self, node: cst.Call) -> None:
        if self._lambdas:
            return
        if isinstance(node.func, cst.Name) and node.func.value in self.helpers:
            self.seeded |= self.helpers[node.func.value]
            return
        call = verdict(node, self.resolver)
        if call is None:
            return
        if call.draw is apis.Draw.SEEDS:
            self.seeded.add(call.generator)
        elif call.unseeded(self.seeded):
            self.unseeded.append(f"line {line_of(self.parsed, node)}: {call.what}")

    def visit_For(self, node: cst.For) -> None:
        if id(node) in self.set_loops:
            line = line_of(self.parsed, node)
            self.unseeded.append(
                f"line {line}: iterates over a set, whose order can change from run to run"
            )

    def definition(self, stmt: cst.FunctionDef | cst.ClassDef) -> None:
        """What a def or class runs where it is written, besides its decorators
        (every part sees those): a def's default values, a class's bases and body.
        A def also makes a helper that seeds what its body seeds, once called."""
        alone = Batch([self])
        if isinstance(stmt, cst.FunctionDef):
            for default in _defaults(stmt):
                walk(default, alone)
            seeds = self._seeds_in(stmt.body)
            if seeds:
                self.helpers[stmt.name.value] = seeds
            else:  # a later definition that seeds nothing
                self.helpers.pop(stmt.name.value, None)
            return
        for arg in (*stmt.bases, *stmt.keywords):
            walk(arg, alone)
        body = stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else ()
        for inner in body:
            if isinstance(inner, cst.ClassDef):
                for deco in inner.decorators:
                    walk(deco, alone)
                self.definition(inner)
            elif isinstance(inner, cst.FunctionDef):  # a method: not a helper
                for deco in inner.decorators:
                    walk(deco, alone)
                for default in _defaults(inner):
                    walk(default, alone)
            else:
                walk(inner, alone)

    def _seeds_in(self, body: cst.CSTNode) -> frozenset[str]:
        """The global generators a helper's body seeds (directly or by calling a
        helper that does), wherever in the body."""
        seeds: set[str] = set()
        resolver, helpers = self.resolver, self.helpers

        class Calls(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                if isinstance(node.func, cst.Name) and node.func.value in helpers:
                    seeds.update(helpers[node.func.value])
                call = verdict(node, resolver)
                if call is not None and call.draw is apis.Draw.SEEDS:
                    seeds.add(call.generator)

        walk(body, Calls())
        return frozenset(seeds)


def _defaults(stmt: cst.FunctionDef) -> list[cst.BaseExpression]:
    """A def's default values: evaluated where it is written."""
    p = stmt.params
    params = (*p.posonly_params, *p.params, *p.kwonly_params)
    return [param.default for param in params if param.default is not None]
