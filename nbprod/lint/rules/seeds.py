"""NBP005 unseeded-random: estimators, splits and draws that give other numbers on
every run.

The verdict on each call is ``known_apis.random_call``, the one ``nbprod convert``
reports unseeded draws with; a helper that seeds a global generator seeds it where
it is called, as there.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from nbprod import known_apis as apis
from nbprod.lint.finding import Finding, Settings
from nbprod.lint.rules.rule import Rule
from nbprod.lint.rules.walk import CellFacts, Notebook

NBP005 = Rule(
    "NBP005", "unseeded-random", "a random draw, estimator or split without a seed"
)


def check(nb: Notebook, settings: Settings) -> Iterator[Finding]:
    """Each call ``random_call`` finds unseeded, given the seeds set above it (by a
    seeding call or a helper that makes one)."""
    seeded: set[str] = set()
    helpers: dict[str, frozenset[str]] = {}
    for c in nb.code:
        if c.facts is None:
            continue
        facts = c.facts
        defs = list(facts.defs)
        for position, (qual, last, node) in enumerate(facts.calls):
            while defs and defs[0][0] <= position:
                _define(defs.pop(0)[1], facts, helpers)
            if qual is None and isinstance(node.func, ast.Name) and last in helpers:
                seeded |= helpers[last]
                continue
            call = _random_call(qual, last, node)
            if call is None:
                continue
            if call.draw is apis.Draw.SEEDS:
                seeded.add(call.generator)
            elif call.unseeded(seeded):
                yield c.at(
                    node.lineno,
                    node.col_offset,
                    NBP005.code,
                    f"{call.what}: results change from run to run (pass a fixed seed)",
                )
        for _, helper in defs:
            _define(helper, facts, helpers)


def _random_call(qual: str | None, last: str, node: ast.Call) -> apis.RandomCall | None:
    """``known_apis.random_call`` for an ``ast`` call, given what convert gives it."""
    return apis.random_call(
        qual,
        last if isinstance(node.func, ast.Attribute) else "",
        {k.arg: _seeded_value(k.value) for k in node.keywords},
        [isinstance(a, ast.Starred) or _seeded_value(a) for a in node.args],
    )


def _define(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    facts: CellFacts,
    helpers: dict[str, frozenset[str]],
) -> None:
    """Record which global generators a helper's body seeds (directly or through a
    helper that does), to seed them where it is called."""
    seeds: set[str] = set()
    calls = (c for stmt in node.body for c in ast.walk(stmt))
    for inner in calls:
        if not isinstance(inner, ast.Call):
            continue
        if isinstance(inner.func, ast.Name) and inner.func.id in helpers:
            seeds |= helpers[inner.func.id]
        func = inner.func
        last = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        call = _random_call(facts.qualify(func), last, inner)
        if call is not None and call.draw is apis.Draw.SEEDS:
            seeds.add(call.generator)
    if seeds:
        helpers[node.name] = frozenset(seeds)
    else:  # a later definition that seeds nothing
        helpers.pop(node.name, None)


def _seeded_value(node: ast.expr | None) -> bool:
    """Whether a seed argument holds something other than ``None``."""
    return node is not None and not (
        isinstance(node, ast.Constant) and node.value is None
    )
