"""The rows of one expression's value: which names they come from (one row of
the value for each row of those), which models' predictions reach it row by
row, and what changes the rows on the way (a sort, a filter, a merge, an
aggregate). ``analysis.rows`` puts these together per statement.

Answered from the code's shape and the known-API table, never by running it;
validation checks the answer on the notebook's own rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace

import libcst as cst

from nbprod import known_apis as apis
from nbprod.convert.analysis.facts import Column, Predicting, RowChange
from nbprod.convert.analysis.nodes import code_of, dotted, literal_value
from nbprod.convert.analysis.resolve import CallSite


@dataclass(frozen=True)
class Rows:
    """The rows of one expression's value."""

    names: tuple[str, ...] = ()  # what its rows come from, the main one first
    models: tuple[str, ...] = ()  # models whose predictions reach it row by row
    changes: tuple[RowChange, ...] = ()
    packs: bool = False  # it puts values into a frame as columns
    columns: tuple[Column, ...] = ()  # what it packs under literal keys
    # The rows wrapped in a list as one row (``binarize([p])``), which ``[0]``
    # unwraps: the same rows again.
    wrapped: bool = False

    def __add__(self, other: Rows) -> Rows:
        return Rows(
            tuple(dict.fromkeys((*self.names, *other.names))),
            tuple(dict.fromkeys((*self.models, *other.models))),
            (*self.changes, *other.changes),
            self.packs or other.packs,
            (*self.columns, *other.columns),
        )


NONE = Rows()


@dataclass
class Values:
    """What the rows of a statement's expressions are asked with (the notebook's
    imports, the cell's resolved calls), and the fitted objects they apply."""

    imports: Mapping[str, str]
    calls: Mapping[int, CallSite]
    # fitted and applied at once (``scaler.fit_transform(X)``)
    applies: list[str] = field(default_factory=list)
    # fitted objects applied to rows (``scaler.transform(X)``, ``model.predict(X)``)
    uses: list[str] = field(default_factory=list)
    # fitted and applied at once, kept in no name (``StandardScaler().fit_transform(X)``)
    unkept: list[str] = field(default_factory=list)
    # the notebook's functions that return predictions, by name
    predicting: Mapping[str, Predicting] = field(default_factory=dict)
    # names bound to what a function of the notebook fitted (the weights a
    # hand-written regression returns): applied to rows, they predict
    fitted: AbstractSet[str] = frozenset()

    def site(self, node: cst.Call) -> CallSite | None:
        return self.calls.get(id(node))

    def qual(self, node: cst.BaseExpression) -> str | None:
        """The plain qualified name of a call's callee or of a dotted name."""
        if isinstance(node, cst.Call):
            site = self.site(node)
            return site.plain if site else None
        name = dotted(node)
        head, _, rest = (name or "").partition(".")
        if head not in self.imports:
            return None
        return f"{self.imports[head]}.{rest}" if rest else self.imports[head]


def rows_of(values: Values, node: cst.BaseExpression) -> Rows:
    """The rows of ``node``'s value."""
    if isinstance(node, cst.Name):
        if node.value in values.fitted:
            values.uses.append(node.value)
            return Rows(models=(node.value,))
        return NONE if node.value in values.imports else Rows((node.value,))
    if isinstance(node, cst.Attribute):
        if node.attr.value in apis.NOT_ROWS_ATTRIBUTES:
            return NONE
        return rows_of(values, node.value)
    if isinstance(node, cst.Subscript):
        return _subscript(values, node)
    if isinstance(node, cst.Call):
        return _call(values, node)
    if isinstance(node, cst.Comparison):
        parts = [node.left, *(c.comparator for c in node.comparisons)]
        return _all(values, parts)
    if isinstance(node, (cst.BinaryOperation, cst.BooleanOperation)):
        return _all(values, [node.left, node.right])
    if isinstance(node, cst.UnaryOperation):
        return rows_of(values, node.expression)
    if isinstance(node, cst.IfExp):
        return _all(values, [node.body, node.orelse])
    if isinstance(node, (cst.List, cst.Tuple)) and len(node.elements) == 1:
        return replace(rows_of(values, node.elements[0].value), wrapped=True)
    if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
        # ``[names[c] for c in codes]``: one element per row of codes.
        comp = node.for_in
        return NONE if comp.inner_for_in else rows_of(values, comp.iter)
    return NONE


def row_change(method: str, site: CallSite | None) -> RowChange | None:
    """What a method of a frame does to its rows, if anything."""
    kind = apis.ROW_CHANGES.get(method)
    if kind is None or site is None:
        return None
    if method in {"dropna", "drop"} and (
        "columns" in site.keywords or _along_columns(site.keywords)
    ):
        return None
    if method == "drop" and "index" not in site.keywords and not site.positional:
        return None
    return RowChange(kind, method)


def _all(values: Values, nodes: Iterable[cst.BaseExpression]) -> Rows:
    return sum((rows_of(values, n) for n in nodes), NONE)


def _first(values: Values, site: CallSite | None) -> Rows:
    return rows_of(values, site.positional[0]) if site and site.positional else NONE


def _changed(rows: Rows, change: RowChange) -> Rows:
    return replace(rows, changes=(*rows.changes, change))


def _subscript(values: Values, node: cst.Subscript) -> Rows:
    value = node.value
    if values.qual(value) in apis.ROW_STACKERS:  # ``np.c_[a, b]``: side by side
        return _all(
            values,
            [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)],
        )
    indexer = isinstance(value, cst.Attribute) and value.attr.value in {"loc", "iloc"}
    base = rows_of(values, value.value if indexer else value)  # type: ignore[attr-defined]
    first = node.slice[0].slice if node.slice else None
    if not base.names or first is None:
        return base
    if isinstance(first, cst.Slice):
        if first.lower is None and first.upper is None and first.step is None:
            return base
        return _changed(base, RowChange("select", code_of(node)))
    assert isinstance(first, cst.Index)
    key = first.value
    ok, literal = literal_value(key)
    if ok and isinstance(literal, int) and not isinstance(literal, bool):
        # One element, not rows; but the one row of rows wrapped as one.
        return replace(base, wrapped=False) if base.wrapped and literal == 0 else NONE
    if isinstance(
        key, (cst.Comparison, cst.BooleanOperation, cst.UnaryOperation, cst.Call)
    ):
        return _changed(base, RowChange("filter", f"a boolean mask ({code_of(key)})"))
    if indexer:
        return _changed(base, RowChange("select", code_of(node)))
    # ``df["a"]``, ``df[["a", "b"]]``, ``df[features]``: columns, as a name
    # almost always is here.
    return base


def _call(values: Values, node: cst.Call) -> Rows:
    site = values.site(node)
    # A library's function by its plain name; a method of what a library call
    # returned (``np.clip(x, 0, 1).round()``) is a method like any other.
    qual = site.plain if site else None
    func = node.func
    if qual is not None:
        return _library(values, qual, site)
    if isinstance(func, cst.Name):
        if func.value in {"list", "tuple"}:
            return _first(values, site)
        if func.value == "sorted":
            return _changed(_first(values, site), RowChange("reorder", "sorted"))
        if func.value in apis.PURE_BUILTINS:
            return NONE
        if func.value in values.predicting and site is not None:
            return _predicted(values, values.predicting[func.value], site)
        return _first(values, site)  # a helper of the notebook's: its first argument
    if isinstance(func, cst.Attribute):
        return _method(values, func.attr.value, func.value, node, site)
    return NONE


def given(helper: Predicting, site: CallSite) -> dict[str, cst.BaseExpression]:
    """What a call of ``helper`` gives each of its parameters, by name."""
    found = dict(zip(helper.params, site.positional, strict=False))
    found.update({k: v for k, v in site.keywords.items() if k in helper.params})
    return found


def given_names(
    helper: Predicting, site: CallSite, params: Iterable[str]
) -> tuple[str, ...]:
    """The names a call of ``helper`` gives ``params``, where it gives a name."""
    arguments = given(helper, site)
    return tuple(
        arg.value for p in params if isinstance(arg := arguments.get(p), cst.Name)
    )


def _predicted(values: Values, helper: Predicting, site: CallSite) -> Rows:
    """``predict(df_val, dv, model)``: the rows of what it is given for rows,
    with the predictions of the models it is given."""
    arguments = given(helper, site)
    rows = _all(values, [arguments[p] for p in helper.rows if p in arguments])
    models = given_names(helper, site, helper.models)
    values.uses += [*given_names(helper, site, helper.uses), *models]
    return replace(rows, models=tuple(dict.fromkeys((*rows.models, *models))))


def _method(
    values: Values,
    method: str,
    receiver: cst.BaseExpression,
    node: cst.Call,
    site: CallSite | None,
) -> Rows:
    named = isinstance(receiver, cst.Name) and receiver.value not in values.imports
    owner = receiver.value if isinstance(receiver, cst.Name) else ""
    if method in apis.FIT_METHODS:
        return NONE  # the fitted object, not rows
    if method in apis.FIT_THEN_APPLY or method in apis.FITTED_METHODS:
        if named:
            values.uses.append(owner)
            if method in apis.FIT_THEN_APPLY:
                values.applies.append(owner)
        elif method in apis.FIT_THEN_APPLY:
            values.unkept.append(f"{code_of(receiver)}.{method}")
        return _first(values, site)
    if method in apis.MODEL_OUTPUTS:
        rows = _first(values, site)
        if not named:
            return rows
        values.uses.append(owner)
        return replace(rows, models=tuple(dict.fromkeys((*rows.models, owner))))
    base = rows_of(values, receiver)
    if method == "dot":  # ``X.dot(w)``: the rows of X, with what w carries
        return base + _first(values, site)
    keywords = site.keywords if site else {}
    if not base.names:
        return NONE
    if _in_chain(receiver, apis.ROW_WINDOWS):
        return base  # one window's value per row
    if _in_chain(receiver, apis.ROW_GROUPERS) and method not in apis.GROUPBY_PER_ROW:
        return NONE  # one value per group, not per row
    if method in apis.ROW_REDUCERS and not _along_columns(keywords):
        return NONE
    if method == "assign":
        given = [a for a in node.args if a.keyword is not None]
        columns = tuple(
            column(values, a.keyword.value, a.value)
            for a in given
            if a.keyword is not None
        )
        found = base + _all(values, [a.value for a in node.args])
        return replace(found, packs=True, columns=columns, models=())
    change = row_change(method, site)
    return _changed(base, change) if change else base


def _library(values: Values, qual: str, site: CallSite | None) -> Rows:
    positional = site.positional if site else ()
    keywords = site.keywords if site else {}
    if apis.matches_any(qual, apis.ROW_READERS) or qual in apis.ROW_SPLITS:
        return NONE  # new rows, or parts made at the assignment
    if qual in apis.ROW_PACKERS:
        return _packed(values, positional[0] if positional else keywords.get("data"))
    if qual in apis.ROW_JOINERS:
        return _joined(values, qual, positional, keywords)
    if qual in apis.ROW_MERGES:
        return _changed(_first(values, site), RowChange("combine", "merge"))
    if qual in apis.ROW_CONTAINERS:
        data = positional[0] if positional else keywords.get("data")
        return rows_of(values, data) if data is not None else NONE
    if not qual.startswith(apis.ROW_LIBRARIES) or qual.rsplit(".", 1)[-1][:1].isupper():
        return NONE
    if qual.rsplit(".", 1)[-1] in apis.ROW_REDUCERS and not _along_columns(keywords):
        return NONE
    if qual in apis.ROW_ELEMENTWISE_ALL:
        return _all(values, positional)
    return _first(values, site)


def _packed(values: Values, data: cst.BaseExpression | None) -> Rows:
    """``pd.DataFrame({"id": ids, "pred": pred})``: the values, side by side."""
    if data is None:
        return NONE
    if not isinstance(data, cst.Dict):
        return replace(rows_of(values, data), packs=True, columns=(), models=())
    found, columns = NONE, []
    for element in data.elements:
        if not isinstance(element, cst.DictElement):
            continue
        found = found + replace(rows_of(values, element.value), columns=())
        ok, key = literal_value(element.key)
        if ok and isinstance(key, str):
            columns.append(column(values, key, element.value))
    return replace(found, packs=True, columns=tuple(columns), models=())


def _joined(
    values: Values,
    qual: str,
    positional: tuple[cst.BaseExpression, ...],
    keywords: Mapping[str, cst.BaseExpression],
) -> Rows:
    """``pd.concat([a, b], axis=1)`` puts columns side by side; along rows it
    appends them."""
    parts = positional[0] if positional else None
    if not isinstance(parts, (cst.List, cst.Tuple)):
        return rows_of(values, parts) if parts is not None else NONE
    found = _all(values, [e.value for e in parts.elements])
    if qual.endswith(("hstack", "column_stack")) or _along_columns(keywords):
        return found
    return _changed(found, RowChange("duplicate", qual.rsplit(".", 1)[-1]))


def column(values: Values, key: str, value: cst.BaseExpression) -> Column:
    """``value`` put into a frame under ``key``."""
    rows = rows_of(values, value)
    return Column(key, code_of(value), rows.names, rows.models)


def _along_columns(keywords: Mapping[str, cst.BaseExpression]) -> bool:
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
