"""How rows move through a statement: for each value it binds or changes, which
names its rows come from (one row of the value for each row of those), which
models' predictions flow into it row by row, and what changes the rows on the
way (a sort, a filter, a merge, an aggregate).

This is the question the serving path is traced with: backwards from what the
notebook serves to the frame its rows were read into, forwards from a model's
predictions to what the notebook finally makes of them. It is answered from the
code's shape and the known-API table, never by running it; validation checks
the answer on the notebook's own rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import libcst as cst

from nbprod import known_apis as apis
from nbprod.convert.analysis.facts import Flow, RowChange, RowFlow
from nbprod.convert.analysis.nodes import code_of, dotted, literal_value, names_in
from nbprod.convert.analysis.resolve import CallSite
from nbprod.convert.analysis.walk import Part


@dataclass(frozen=True)
class _Rows:
    """The rows of one expression's value."""

    names: tuple[str, ...] = ()  # what its rows come from, the main one first
    models: tuple[str, ...] = ()  # models whose predictions reach it row by row
    changes: tuple[RowChange, ...] = ()
    packs: bool = False  # it puts values into a frame as columns
    columns: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # packed columns

    def __add__(self, other: _Rows) -> _Rows:
        return _Rows(
            tuple(dict.fromkeys((*self.names, *other.names))),
            tuple(dict.fromkeys((*self.models, *other.models))),
            (*self.changes, *other.changes),
            self.packs or other.packs,
            (*self.columns, *other.columns),
        )


_NONE = _Rows()


class RowsPart(Part):
    """Collects each kept top-level statement's ``RowFlow``."""

    def __init__(
        self, imports: Mapping[str, str], calls: Mapping[int, CallSite]
    ) -> None:
        self.imports = imports
        self.calls = calls
        self.flows: dict[int, RowFlow] = {}

    def result(self) -> Mapping[int, RowFlow]:
        return dict(self.flows)

    def end(self, stmt: cst.BaseStatement) -> None:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            flow = _Statement(self).flow(stmt.body[0])
            if flow != RowFlow():
                self.flows[self.current] = flow

    def qual(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of a call's callee or of a dotted name."""
        if isinstance(node, cst.Call):
            site = self.calls.get(id(node))
            return site.plain if site else None
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head not in self.imports:
            return None
        return f"{self.imports[head]}.{rest}" if rest else self.imports[head]


@dataclass
class _Statement:
    """One statement's flow, worked out expression by expression."""

    part: RowsPart
    fits: list[str] = field(default_factory=list)
    applies: list[str] = field(default_factory=list)
    uses: list[str] = field(default_factory=list)

    def flow(self, small: cst.BaseSmallStatement) -> RowFlow:
        flows: list[Flow] = []
        written: tuple[str, ...] = ()
        columns: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
        if isinstance(small, cst.Assign):
            for target in small.targets:
                flows += self.assigned(target.target, small.value)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            flows += self.assigned(small.target, small.value)
        elif isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
            rows = _Rows((small.target.value,)) + self.rows(small.value)
            flows.append(_flow(small.target.value, rows))
        elif isinstance(small, cst.Del):
            flows += [
                Flow(root, (root,))
                for t in _deleted(small.target)
                if (root := _root(t)) is not None
            ]
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            flows += self.called(small.value)
            write = self.written(small.value)
            if write is not None:
                written, columns = write.names, write.columns
        return RowFlow(
            tuple(flows),
            tuple(dict.fromkeys(self.fits)),
            tuple(dict.fromkeys(self.applies)),
            tuple(dict.fromkeys(self.uses)),
            written,
            columns,
        )

    def assigned(
        self, target: cst.BaseAssignTargetExpression, value: cst.BaseExpression
    ) -> list[Flow]:
        if isinstance(target, cst.Name):
            return [_flow(target.value, self.rows(value))]
        if isinstance(target, (cst.Tuple, cst.List)):
            names = [e.value for e in target.elements]
            split = self.split(names, value)
            if split is not None:
                return split
            if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(
                names
            ):
                return [
                    f
                    for t, v in zip(names, value.elements, strict=True)
                    if isinstance(t, cst.BaseAssignTargetExpression)
                    for f in self.assigned(t, v.value)
                ]
            rows = self.rows(value)
            return [_flow(n.value, rows) for n in names if isinstance(n, cst.Name)]
        root = _root(target)
        if root is None:
            return []
        # ``df["col"] = value`` keeps df's rows, and puts value beside them.
        rows = self.rows(value)
        key = _column_key(target)
        packed = ((key, code_of(value), rows.names),) if key is not None else ()
        return [
            Flow(
                root,
                (root, *(n for n in rows.names if n != root)),
                rows.models,
                packs=True,
                columns=packed,
            )
        ]

    def split(
        self, names: list[cst.BaseExpression], value: cst.BaseExpression
    ) -> list[Flow] | None:
        """``a_train, a_test, b_train, b_test = train_test_split(a, b, ...)``: each
        part's rows are some of its array's rows."""
        if not isinstance(value, cst.Call) or self.part.qual(value) not in (
            apis.ROW_SPLITS
        ):
            return None
        site = self.part.calls.get(id(value))
        arrays = site.positional if site else ()
        if not arrays or len(names) != 2 * len(arrays):
            return None
        flows = []
        for k, target in enumerate(names):
            if not isinstance(target, cst.Name):
                return None
            rows = self.rows(arrays[k // 2])
            part = "held-out" if k % 2 else "train"
            change = RowChange("split", f"{part} part of a split", True, part=part)
            flows.append(
                Flow(target.value, rows.names[:1], rows.models, changes=(change,))
            )
        return flows

    def called(self, call: cst.Call) -> list[Flow]:
        """A call on its own line: what it changes in place."""
        self.rows(call)  # for the fits it makes
        func = call.func
        if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
            return []
        receiver = func.value.value
        if receiver in self.part.imports:
            return []
        method = func.attr.value
        inplace = any(
            a.keyword is not None
            and a.keyword.value == "inplace"
            and literal_value(a.value) == (True, True)
            for a in call.args
        )
        if not inplace:
            return []
        change = self.change(method, call)
        return [Flow(receiver, (receiver,), changes=(change,) if change else ())]

    def written(self, call: cst.Call) -> _Rows | None:
        """What a call writes to a file, if it is a known writer."""
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in apis.PATH_METHODS:
            if apis.PATH_METHODS[func.attr.value][1] == "write":
                return self.rows(func.value)
        qual = self.part.qual(call)
        spec = apis.path_argument(qual) if qual else None
        if spec is not None and spec[1] == "write":
            site = self.part.calls.get(id(call))
            data = [
                a for i, a in enumerate(site.positional if site else ()) if i != spec[0]
            ]
            return self.rows(data[0]) if data else None
        return None

    def rows(self, node: cst.BaseExpression) -> _Rows:
        """The rows of ``node``'s value."""
        if isinstance(node, cst.Name):
            return _NONE if node.value in self.part.imports else _Rows((node.value,))
        if isinstance(node, cst.Attribute):
            if node.attr.value in apis.NOT_ROWS_ATTRIBUTES:
                return _NONE
            return self.rows(node.value)
        if isinstance(node, cst.Subscript):
            return self.subscript(node)
        if isinstance(node, cst.Call):
            return self.call(node)
        if isinstance(
            node, (cst.BinaryOperation, cst.Comparison, cst.BooleanOperation)
        ):
            parts = [node.left] + (
                [c.comparator for c in node.comparisons]
                if isinstance(node, cst.Comparison)
                else [node.right]
            )
            found = _NONE
            for p in parts:
                found = found + self.rows(p)
            return found
        if isinstance(node, cst.UnaryOperation):
            return self.rows(node.expression)
        if isinstance(node, cst.IfExp):
            return self.rows(node.body) + self.rows(node.orelse)
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            # ``[names[c] for c in codes]``: one element per row of codes.
            comp = node.for_in
            return _NONE if comp.inner_for_in else self.rows(comp.iter)
        return _NONE

    def subscript(self, node: cst.Subscript) -> _Rows:
        value = node.value
        first = node.slice[0].slice if node.slice else None
        if self.part.qual(value) in apis.ROW_STACKERS:
            # ``np.c_[a, b]``: columns side by side
            found = _NONE
            for element in node.slice:
                if isinstance(element.slice, cst.Index):
                    found = found + self.rows(element.slice.value)
            return found
        indexer = isinstance(value, cst.Attribute) and value.attr.value in {
            "loc",
            "iloc",
        }
        base = self.rows(value.value if indexer else value)  # type: ignore[attr-defined]
        if not base.names or first is None:
            return base
        if isinstance(first, cst.Slice):
            if first.lower is None and first.upper is None and first.step is None:
                return base
            return _changed(
                base, RowChange("select", f"{code_of(node)}", True, names=_names(first))
            )
        assert isinstance(first, cst.Index)
        key = first.value
        ok, literal = literal_value(key)
        if ok and isinstance(literal, int) and not isinstance(literal, bool):
            return _NONE  # one element, not rows
        if ok and (isinstance(literal, str) or _all_strings(literal)):
            return (
                base
                if not indexer
                else _changed(base, RowChange("select", code_of(node), True, names=()))
            )
        if isinstance(
            key, (cst.Comparison, cst.BooleanOperation, cst.UnaryOperation)
        ) or (isinstance(key, cst.Call)):
            return _changed(
                base,
                RowChange(
                    "filter",
                    f"a boolean mask ({code_of(key)})",
                    True,
                    names=_names(key),
                ),
            )
        if indexer:
            return _changed(
                base, RowChange("select", code_of(node), True, names=_names(key))
            )
        # ``df[features]``: a list of columns, as a name almost always is here.
        return base

    def call(self, node: cst.Call) -> _Rows:
        site = self.part.calls.get(id(node))
        positional = site.positional if site else ()
        keywords = site.keywords if site else {}
        # A library's function by its plain name; a method of what a library call
        # returned (``np.clip(x, 0, 1).round()``) is a method like any other.
        qual = site.plain if site else None
        func = node.func
        if qual is not None:
            return self.library(qual, positional, keywords, node)
        if isinstance(func, cst.Name):
            if func.value in {"list", "tuple"} and positional:
                return self.rows(positional[0])
            if func.value == "sorted" and positional:
                return _changed(
                    self.rows(positional[0]), RowChange("reorder", "sorted", False)
                )
            if func.value in apis.PURE_BUILTINS:
                return _NONE
            # A helper of the notebook's: its first argument's rows.
            return self.rows(positional[0]) if positional else _NONE
        if not isinstance(func, cst.Attribute):
            return _NONE
        method = func.attr.value
        receiver = func.value
        if method in apis.FIT_METHODS:
            if isinstance(receiver, cst.Name):
                self.fits.append(receiver.value)
            return _NONE
        if method in apis.FIT_THEN_APPLY:
            if isinstance(receiver, cst.Name):
                self.fits.append(receiver.value)
                self.applies.append(receiver.value)
                self.uses.append(receiver.value)
            return self.rows(positional[0]) if positional else _NONE
        if method in apis.MODEL_OUTPUTS | apis.FITTED_METHODS and isinstance(
            receiver, cst.Name
        ):
            self.uses.append(receiver.value)
        if method in apis.MODEL_OUTPUTS:
            rows = self.rows(positional[0]) if positional else _NONE
            if (
                isinstance(receiver, cst.Name)
                and receiver.value not in self.part.imports
            ):
                return replace(
                    rows, models=tuple(dict.fromkeys((*rows.models, receiver.value)))
                )
            return rows
        if method in apis.FITTED_METHODS:
            return self.rows(positional[0]) if positional else _NONE
        base = self.rows(receiver)
        if not base.names:
            return _NONE
        if _in_chain(receiver, apis.ROW_WINDOWS):
            return base  # one window's value per row
        if (
            _in_chain(receiver, apis.ROW_GROUPERS)
            and method not in apis.GROUPBY_PER_ROW
        ):
            return _NONE  # one value per group, not per row
        if method in apis.ROW_REDUCERS and not _per_row_axis(keywords):
            return _NONE
        if method == "assign":
            columns = tuple(
                (a.keyword.value, code_of(a.value), self.rows(a.value).names)
                for a in node.args
                if a.keyword is not None
            )
            found = base
            for a in node.args:
                found = found + self.rows(a.value)
            return replace(found, packs=True, columns=columns, models=())
        change = self.change(method, node)
        return _changed(base, change) if change else base

    def library(
        self,
        qual: str,
        positional: tuple[cst.BaseExpression, ...],
        keywords: Mapping[str, cst.BaseExpression],
        node: cst.Call,
    ) -> _Rows:
        if apis.matches_any(qual, apis.ROW_READERS) or qual in apis.ROW_SPLITS:
            return _NONE  # new rows, or parts made at the assignment
        if qual in apis.ROW_PACKERS:
            return self.packed(positional, keywords)
        if qual in apis.ROW_JOINERS:
            return self.joined(qual, positional, keywords)
        if qual in apis.ROW_MERGES and positional:
            return _changed(
                self.rows(positional[0]), RowChange("combine", "merge", False)
            )
        if not qual.startswith(apis.ROW_LIBRARIES):
            return _NONE
        last = qual.rsplit(".", 1)[-1]
        if last in apis.ROW_REDUCERS and not _per_row_axis(keywords):
            return _NONE
        if qual in apis.ROW_ELEMENTWISE_ALL:
            found = _NONE
            for p in positional:
                found = found + self.rows(p)
            return found
        return self.rows(positional[0]) if positional else _NONE

    def packed(
        self,
        positional: tuple[cst.BaseExpression, ...],
        keywords: Mapping[str, cst.BaseExpression],
    ) -> _Rows:
        """``pd.DataFrame({"id": ids, "pred": pred})``: the values, side by side."""
        data = positional[0] if positional else keywords.get("data")
        if data is None:
            return _NONE
        if isinstance(data, cst.Dict):
            found = _NONE
            columns = []
            for element in data.elements:
                if not isinstance(element, cst.DictElement):
                    continue
                rows = self.rows(element.value)
                found = found + replace(rows, columns=())
                ok, key = literal_value(element.key)
                if ok and isinstance(key, str):
                    columns.append((key, code_of(element.value), rows.names))
            return replace(found, packs=True, columns=tuple(columns), models=())
        rows = self.rows(data)
        return replace(rows, packs=True, columns=(), models=())

    def joined(
        self,
        qual: str,
        positional: tuple[cst.BaseExpression, ...],
        keywords: Mapping[str, cst.BaseExpression],
    ) -> _Rows:
        """``pd.concat([a, b], axis=1)`` puts columns side by side; along rows it
        appends them."""
        parts = positional[0] if positional else None
        if not isinstance(parts, (cst.List, cst.Tuple)):
            return self.rows(parts) if parts is not None else _NONE
        found = _NONE
        for e in parts.elements:
            found = found + self.rows(e.value)
        axis = keywords.get("axis")
        side_by_side = axis is not None and literal_value(axis)[1] in (1, "columns")
        if qual.endswith(("hstack", "column_stack")) or side_by_side:
            return found
        return _changed(found, RowChange("duplicate", qual.rsplit(".", 1)[-1], False))

    def change(self, method: str, node: cst.Call) -> RowChange | None:
        """What a method of a frame does to its rows, if anything."""
        found = apis.ROW_CHANGES.get(method)
        if found is None:
            return None
        kind, keeps = found
        keywords = {
            a.keyword.value: a.value for a in node.args if a.keyword is not None
        }
        if method in {"dropna", "drop"}:
            axis = keywords.get("axis")
            if "columns" in keywords or (
                axis is not None and literal_value(axis)[1] in (1, "columns")
            ):
                return None
            if method == "drop" and "index" not in keywords and not _positional(node):
                return None
        return RowChange(kind, method, keeps)


def _flow(name: str, rows: _Rows) -> Flow:
    return Flow(
        name,
        rows.names,
        rows.models,
        rows.changes,
        rows.packs,
        rows.columns,
    )


def _changed(rows: _Rows, change: RowChange) -> _Rows:
    return replace(rows, changes=(*rows.changes, change))


def _names(node: cst.CSTNode) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.value for n in names_in(node, targets=False)))


def _root(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Subscript, cst.Attribute)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _deleted(target: cst.BaseDelTargetExpression) -> list[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        return [e.value for e in target.elements]
    return [target] if isinstance(target, cst.Subscript) else []


def _column_key(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        if isinstance(index, cst.Index):
            ok, key = literal_value(index.value)
            if ok and isinstance(key, str):
                return key
    return None


def _all_strings(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def _positional(node: cst.Call) -> bool:
    return any(a.keyword is None and a.star == "" for a in node.args)


def _per_row_axis(keywords: Mapping[str, cst.BaseExpression]) -> bool:
    axis = keywords.get("axis")
    return axis is not None and literal_value(axis)[1] in (1, "columns")


def _in_chain(node: cst.BaseExpression, methods: frozenset[str]) -> bool:
    """Whether ``node`` is the result of one of ``methods`` (``df.groupby(k)``),
    or a column or method of one."""
    while isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)):
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in methods:
                return True
            node = func
        else:
            node = node.value
    return False
