"""Literals that can become config values: hyperparameters given to known ML calls,
file paths given to readers and writers or assigned to ``*_path`` names, UPPER_CASE
constants, and every value of a papermill ``parameters`` cell."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst

from nbprod import known_apis as apis
from nbprod.convert.analysis.effects import path_argument
from nbprod.convert.analysis.facts import Literal, ParsedCell
from nbprod.convert.analysis.nodes import literal_value
from nbprod.convert.analysis.resolve import CallSite
from nbprod.convert.analysis.walk import InAssignment

_PATH_BUILDERS = frozenset({"pathlib.Path", "os.path.join"})


@dataclass(frozen=True)
class Literals:
    """A cell's liftable literals, in the order the code holds them."""

    literals: tuple[Literal, ...]


class LiteralsPart(InAssignment):
    """Collects a cell's ``Literals``."""

    def __init__(
        self,
        parsed: ParsedCell,
        imports: Mapping[str, str],
        calls: Mapping[int, CallSite],
    ) -> None:
        self.parsed = parsed
        self.imports = imports
        self.calls = calls
        self.literals: list[Literal] = []

    def result(self) -> Literals:
        return Literals(tuple(self.literals))

    def visit_Assign(self, node: cst.Assign) -> None:
        super().visit_Assign(node)
        name = self.assign_target
        if name is None:
            return
        ok, value = literal_value(node.value)
        if self.parsed.cell.is_parameters and self.top_level:
            # papermill injects new values for these: all of them go to config.
            if ok and liftable(value):
                path = isinstance(value, str) and apis.is_path(value, name)
                direction = "path" if path else ""
                self._literal(node.value, "parameter", name, "", value, direction)
        elif ok and isinstance(value, str) and apis.is_path(value, name):
            self._literal(node.value, "path", name, "", value, "path")
        elif ok and name.isupper() and liftable(value):
            self._literal(node.value, "constant", name, "", value)

    def visit_Call(self, node: cst.Call) -> None:
        site = self.calls[id(node)]
        path = path_argument(node, site, self.imports)
        if path is not None and path.node is not None:
            ok, value = literal_value(path.node)
            if ok and isinstance(value, str) and value and "://" not in value:
                # ``p = Path("cache/x.json")`` is known by its variable; a file handed
                # straight to a reader or writer by its stem.
                builds = path.callee in _PATH_BUILDERS and self.assign_target
                name = self.assign_target if builds else _stem(value)
                self._literal(path.node, "path", name, path.callee, value, path.direction)  # type: ignore[arg-type]
        if site.qual and apis.is_ml_call(site.qual):
            for key, value_node in site.keywords.items():
                if key in apis.NOT_HYPERPARAMETERS:
                    continue
                ok, literal = literal_value(value_node)
                if ok and liftable(literal):
                    self._literal(value_node, "kwarg", key, site.qual, literal)

    def _literal(
        self,
        node: cst.CSTNode,
        kind: str,
        name: str,
        callee: str,
        value: object,
        direction: str = "",
    ) -> None:
        pos = self.parsed.positions.get(node)
        if pos is None:
            return
        self.literals.append(
            Literal(
                pos.start.line, pos.start.column, kind, name, callee, value, direction
            )
        )


def _stem(path: str) -> str:
    base = path.rstrip("/").rsplit("/", 1)[-1]
    return base.split(".", 1)[0] or "data"


def liftable(value: object) -> bool:
    """Whether a literal value can go to config.yaml as it is."""
    if isinstance(value, (bool, int, float, str)):
        return not (isinstance(value, str) and ("\n" in value or len(value) > 200))
    if isinstance(value, (list, tuple)):
        return 0 < len(value) <= 50 and all(
            isinstance(v, (bool, int, float, str)) for v in value
        )
    if isinstance(value, dict):
        return (
            0 < len(value) <= 50
            and all(isinstance(k, str) for k in value)
            and all(
                isinstance(v, (bool, int, float, str))
                or (
                    isinstance(v, (list, tuple))
                    and all(
                        isinstance(x, (bool, int, float, str, type(None))) for x in v
                    )
                )
                for v in value.values()
            )
        )
    return False
