"""What a cell's code does outside its variables: files it reads and writes (and
the names of the paths it writes to), plots, displays, the clock; the calls it
makes; and which statements make rows (read a file, split, build a frame)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst

from nbprod import known_apis as apis
from nbprod.convert.analysis.nodes import literal_value, name_nodes, root_name
from nbprod.convert.analysis.resolve import CallSite
from nbprod.convert.analysis.walk import InAssignment

_WRITES_ITS_RECEIVER = frozenset({"mkdir", "touch", "write_text", "write_bytes"})


@dataclass(frozen=True)
class PathArgument:
    """The path a known reader or writer is given, and which way it goes."""

    callee: str  # the qualified function, or the method name
    direction: apis.PathUse
    node: cst.BaseExpression | None  # the argument, when given positionally


def path_argument(
    node: cst.Call, site: CallSite, imports: Mapping[str, str]
) -> PathArgument | None:
    """The path argument of a call of a known reader or writer, if it is one."""
    func = node.func
    if not isinstance(func, cst.Attribute):
        spec = apis.path_argument(site.qual) if site.qual else None
        if spec is None:
            return None
        return _path(site.qual or "", spec, site)
    method = func.attr.value
    if site.qual:
        # A method of what a reader returns is no reader: ``pl.read_csv(p).select("a")``
        # selects a column, whatever ``polars.read_*`` matches.
        spec = apis.path_argument(site.qual) if site.plain == site.qual else None
        callee = site.qual
        if spec is None and method in apis.PATH_METHODS:
            # A writer called on a library call's result
            # (``pd.Series(v).to_csv("out.csv")``) writes as a method does.
            if isinstance(func.value, cst.Name | cst.Attribute):
                return None
            spec, callee = apis.PATH_METHODS[method], method
        if spec is None:
            return None
    elif method in apis.PATH_METHODS and root_name(func.value) not in imports:
        spec, callee = apis.PATH_METHODS[method], method
    else:
        return None
    return _path(callee, spec, site)


def _path(callee: str, spec: tuple[int, apis.PathUse], site: CallSite) -> PathArgument:
    index, direction = spec
    positional = site.positional
    if callee == "open":
        mode = site.keywords.get("mode") or (
            positional[1] if len(positional) > 1 else None
        )
        ok, text = literal_value(mode) if mode is not None else (True, "r")
        write = ok and isinstance(text, str) and bool(set(text) & set("wax+"))
        direction = "write" if write else "read"
    return PathArgument(
        callee, direction, positional[index] if len(positional) > index else None
    )


@dataclass(frozen=True)
class Effects:
    """A cell's effects and calls, and per statement what makes rows or reads
    the clock."""

    calls: tuple[str, ...]
    effects: frozenset[str]  # plot | display | read | write
    written: tuple[str, ...]  # names used in the paths the cell writes to
    loaded: tuple[str, ...]  # names a data reader (ROW_READERS) fills from a file
    sources_at: Mapping[int, str]  # statement index -> reader | split | literal
    clock_at: frozenset[int]  # statement indices that read the clock


class EffectsPart(InAssignment):
    """Collects a cell's ``Effects``."""

    def __init__(
        self, imports: Mapping[str, str], calls: Mapping[int, CallSite]
    ) -> None:
        self.imports = imports
        self.sites = calls
        self.calls: list[str] = []
        self.effects: set[str] = set()
        self.written: list[str] = []
        self.loaded: list[str] = []
        self.sources_at: dict[int, str] = {}
        self.clock_at: set[int] = set()

    def result(self) -> Effects:
        return Effects(
            tuple(self.calls),
            frozenset(self.effects),
            tuple(self.written),
            tuple(self.loaded),
            dict(self.sources_at),
            frozenset(self.clock_at),
        )

    def visit_Call(self, node: cst.Call) -> None:
        site = self.sites[id(node)]
        qual = site.qual
        func = node.func
        if qual:
            self._known_call(qual)
        elif isinstance(func, cst.Attribute):
            root = root_name(func.value)
            if root in self.imports:
                return
            self.calls.append(f"{site.receiver_type or root or '?'}.{func.attr.value}")
            if func.attr.value in apis.PLOT_METHODS:
                self.effects.add("plot")
        path = path_argument(node, site, self.imports)
        if path is not None:
            self._path(path)
        if (
            not qual
            and isinstance(func, cst.Attribute)
            and func.attr.value in _WRITES_ITS_RECEIVER
            and (root := root_name(func.value))
        ):
            self.written.append(root)

    def _known_call(self, qual: str) -> None:
        self.calls.append(qual)
        if qual in apis.CLOCK_CALLS:
            self.clock_at.add(self.current)
        if self.top_level and self.assign_names and qual in apis.ROW_SPLITS:
            self.sources_at[self.current] = "split"
        elif self.top_level and self.assign_target and qual in apis.ROW_MAKERS:
            self.sources_at.setdefault(self.current, "literal")
        if apis.matches_any(qual, apis.PLOT_PATTERNS):
            self.effects.add("plot")
            if qual.endswith("savefig"):
                self.effects.add("write")
        # "print" is a cell's effect only when all it does is print plain values:
        # the cell's statement kinds decide.
        if qual == "display":
            self.effects.add("display")

    def _path(self, path: PathArgument) -> None:
        read = path.direction == "read"
        self.effects.add("write" if path.direction == "write" else "read")
        rows = (
            read and self.top_level and apis.matches_any(path.callee, apis.ROW_READERS)
        )
        if rows:
            self.loaded.extend(self.assign_names)
        if rows and self.assign_names:
            self.sources_at[self.current] = "reader"
        if path.direction == "write" and path.node is not None:
            # Variables that name where the notebook writes are outputs, not inputs.
            self.written.extend(n.value for n in name_nodes(path.node))
