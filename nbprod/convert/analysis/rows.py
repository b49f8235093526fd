"""How rows move through a statement: for each value it binds or changes, the
rows of what it is assigned (``analysis.row_values``), what it changes in place,
the parts of a split, the fitted objects it applies, and what it writes to a file.

This is the question the serving path is traced with: backwards from what the
notebook serves to the frame its rows were read into, forwards from a model's
predictions to what the notebook finally makes of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet

import libcst as cst

from nbprod import known_apis as apis
from nbprod.convert.analysis.facts import Flow, Predicting, RowChange, RowFlow
from nbprod.convert.analysis.nodes import code_of, is_none, literal_value
from nbprod.convert.analysis.resolve import CallSite
from nbprod.convert.analysis.row_values import (
    NONE,
    Rows,
    Values,
    column,
    row_change,
    rows_of,
)
from nbprod.convert.analysis.walk import Part


class RowsPart(Part):
    """Collects each kept top-level statement's ``RowFlow``. ``predicting``: the
    notebook's functions defined so far that return predictions; ``fitting``:
    those that fit; ``fitted``: the names bound so far to what they fitted
    (``w0, w = train_linear_regression(X, y)``), kept up to date in ``fitted``."""

    def __init__(
        self,
        imports: Mapping[str, str],
        calls: Mapping[int, CallSite],
        predicting: Mapping[str, Predicting] | None = None,
        fitting: AbstractSet[str] = frozenset(),
        fitted: AbstractSet[str] = frozenset(),
    ) -> None:
        self.imports = imports
        self.calls = calls
        self.predicting = predicting or {}
        self.fitting = fitting
        self.fitted = set(fitted)
        self.flows: dict[int, RowFlow] = {}

    def result(self) -> Mapping[int, RowFlow]:
        return dict(self.flows)

    def end(self, stmt: cst.BaseStatement) -> None:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            values = Values(
                self.imports,
                self.calls,
                predicting=self.predicting,
                fitted=frozenset(self.fitted),
            )
            flow = statement_flow(values, stmt.body[0])
            if flow != RowFlow():
                self.flows[self.current] = flow
        # What a fitting function of the notebook returns is fitted state from
        # here on; a name bound otherwise is not.
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Assign):
                bound = {n for t in small.targets for n in _target_names(t.target)}
                call = small.value
                fits = (
                    isinstance(call, cst.Call)
                    and isinstance(call.func, cst.Name)
                    and call.func.value in self.fitting
                )
                self.fitted = self.fitted | bound if fits else self.fitted - bound


def predicting(
    stmt: cst.FunctionDef,
    params: tuple[str, ...],
    imports: Mapping[str, str],
    calls: Mapping[int, CallSite],
) -> Predicting | None:
    """What a function returns, if it is predictions row by row: its body's
    statements followed, one after another, from its parameters to its
    ``return`` (a body with branches or loops is not followed)."""
    body = stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else ()
    # For each name bound so far: the parameters whose rows, predictions of
    # models, and fitted objects it carries.
    env: dict[str, tuple[set[str], set[str], set[str]]] = {
        p: ({p}, set(), set()) for p in params
    }

    def traced(names: Iterable[str]) -> tuple[set[str], set[str], set[str]]:
        rows: set[str] = set()
        models: set[str] = set()
        uses: set[str] = set()
        for name in names:
            r, m, u = env.get(name, (set(), set(), set()))
            rows |= r
            models |= m
            uses |= u
        return rows, models, uses

    for line in body:
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            return None
        small = line.body[0]
        values = Values(imports, calls)
        if isinstance(small, cst.Return):
            if small.value is None:
                return None
            found = rows_of(values, small.value)
            rows, models, uses = traced(found.names)
            models |= set(found.models) & set(params)
            uses |= set(values.uses) & set(params)
            if not (rows and models):
                return None
            return Predicting(
                params,
                tuple(p for p in params if p in rows - models - uses),
                tuple(p for p in params if p in models),
                tuple(p for p in params if p in uses - models),
            )
        flow = statement_flow(values, small)
        applied = set(flow.uses_fitted) & set(params)
        for f in flow.flows:
            rows, models, uses = traced(f.carriers)
            models |= set(f.models) & set(params)
            env[f.name] = (rows, models, uses | applied)
    return None


def _target_names(target: cst.BaseAssignTargetExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return {n for e in target.elements for n in _target_names(e.value)}  # type: ignore[arg-type]
    return set()


def statement_flow(values: Values, small: cst.BaseSmallStatement) -> RowFlow:
    """How rows move through one small statement."""
    flows: list[Flow] = []
    written = NONE
    if isinstance(small, cst.Assign):
        for target in small.targets:
            flows += _assigned(values, target.target, small.value)
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        flows += _assigned(values, small.target, small.value)
    elif isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
        rows = Rows((small.target.value,)) + rows_of(values, small.value)
        flows.append(_flow(small.target.value, rows))
    elif isinstance(small, cst.Del):
        flows += [Flow(root, (root,)) for root in _deleted_from(small.target)]
    elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        flows += _in_place(values, small.value)
        written = _written(values, small.value)
    return RowFlow(
        tuple(flows),
        tuple(dict.fromkeys(values.applies)),
        tuple(dict.fromkeys(values.uses)),
        written.names,
        written.columns,
        tuple(dict.fromkeys(values.unkept)),
    )


def _flow(name: str, rows: Rows) -> Flow:
    return Flow(name, rows.names, rows.models, rows.changes, rows.packs, rows.columns)


def _assigned(
    values: Values, target: cst.BaseAssignTargetExpression, value: cst.BaseExpression
) -> list[Flow]:
    if isinstance(target, cst.Name):
        return [_flow(target.value, rows_of(values, value))]
    if isinstance(target, (cst.Tuple, cst.List)):
        names = [e.value for e in target.elements]
        split = _split(values, names, value)
        if split is not None:
            return split
        if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(
            names
        ):
            return [
                f
                for t, v in zip(names, value.elements, strict=True)
                if isinstance(t, cst.BaseAssignTargetExpression)
                for f in _assigned(values, t, v.value)
            ]
        rows = rows_of(values, value)
        return [_flow(n.value, rows) for n in names if isinstance(n, cst.Name)]
    root = _root(target)
    if root is None:
        return []
    # ``df["col"] = value`` keeps df's rows, and puts value beside them.
    rows = rows_of(values, value)
    key = _column_key(target)
    return [
        Flow(
            root,
            (root, *(n for n in rows.names if n != root)),
            rows.models,
            packs=True,
            columns=(column(values, key, value),) if key else (),
        )
    ]


def _split(
    values: Values, names: list[cst.BaseExpression], value: cst.BaseExpression
) -> list[Flow] | None:
    """``a_train, a_test, b_train, b_test = train_test_split(a, b, ...)``: each
    part's rows are some of its array's rows."""
    if not isinstance(value, cst.Call) or values.qual(value) not in apis.ROW_SPLITS:
        return None
    site = values.site(value)
    arrays = site.positional if site else ()
    if not arrays or len(names) != 2 * len(arrays):
        return None
    flows = []
    for k, target in enumerate(names):
        if not isinstance(target, cst.Name):
            return None
        rows = rows_of(values, arrays[k // 2])
        part = "held-out" if k % 2 else "train"
        repeatable = part == "held-out" and bool(rows.names) and _repeatable(site)
        change = RowChange(
            "split",
            f"{part} part of a split",
            part,
            _positions(value, arrays[k // 2], rows.names[0], k) if repeatable else "",
            code_of(arrays[k // 2]) if repeatable else "",
        )
        flows.append(Flow(target.value, rows.names[:1], rows.models, (change,)))
    return flows


def _repeatable(site: CallSite | None) -> bool:
    """The split gives the same parts every time: seeded, or not shuffled."""
    if site is None:
        return False
    seed = site.keywords.get("random_state")
    shuffle = site.keywords.get("shuffle")
    return (seed is not None and not is_none(seed)) or (
        shuffle is not None and literal_value(shuffle) == (True, False)
    )


def _positions(call: cst.Call, array: cst.BaseExpression, rows: str, k: int) -> str:
    """``train_test_split(X, y, ...)[1]`` with the positions of the rows of
    ``array`` (those of ``rows``, its carrier, not computed again) for it: the
    positions of the rows the k-th part holds."""
    positions = cst.parse_expression(f'__import__("numpy").arange(len({rows}))')
    split = call.deep_replace(array, positions)
    assert isinstance(split, cst.Call)
    # A generator given as the seed is copied: the notebook's own split
    # must draw from it as if nothing ran before.
    split = split.with_changes(
        args=[
            (
                a.with_changes(
                    value=cst.parse_expression(
                        f'__import__("copy").deepcopy({code_of(a.value)})'
                    )
                )
                if a.keyword is not None and a.keyword.value == "random_state"
                else a
            )
            for a in split.args
        ]
    )
    return f"{code_of(split)}[{k}]"


def _in_place(values: Values, call: cst.Call) -> list[Flow]:
    """A call on its own line: the rows it changes in place (``inplace=True``)."""
    rows_of(values, call)  # for the fitted objects it applies
    func = call.func
    site = values.site(call)
    inplace = site.keywords.get("inplace") if site else None
    if (
        not isinstance(func, cst.Attribute)
        or not isinstance(func.value, cst.Name)
        or func.value.value in values.imports
        or inplace is None
        or literal_value(inplace) != (True, True)
    ):
        return []
    receiver = func.value.value
    change = row_change(func.attr.value, site)
    return [Flow(receiver, (receiver,), changes=(change,) if change else ())]


def _written(values: Values, call: cst.Call) -> Rows:
    """The rows of what a call writes to a file, if it is a known writer."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in apis.PATH_METHODS:
        if apis.PATH_METHODS[func.attr.value][1] == "write":
            return rows_of(values, func.value)
    qual = values.qual(call)
    spec = apis.path_argument(qual) if qual else None
    site = values.site(call)
    if spec is None or spec[1] != "write" or site is None:
        return NONE
    data = [a for i, a in enumerate(site.positional) if i != spec[0]]
    return rows_of(values, data[0]) if data else NONE


def _root(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Subscript, cst.Attribute)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _deleted_from(target: cst.BaseDelTargetExpression) -> list[str]:
    """The frames ``del df["a"]`` (or ``del a["x"], b["y"]``) changes."""
    parts = (
        [e.value for e in target.elements]
        if isinstance(target, (cst.Tuple, cst.List))
        else [target]
    )
    return [
        root
        for p in parts
        if isinstance(p, cst.Subscript) and (root := _root(p)) is not None
    ]


def _column_key(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        if isinstance(index, cst.Index):
            ok, key = literal_value(index.value)
            if ok and isinstance(key, str):
                return key
    return None
