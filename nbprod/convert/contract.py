"""The data contract of a generated project: which columns its serving path reads
and what their values looked like in the notebook, inferred from the rows the
notebook predicted on (and the input files that hold the same columns), then
written as a pandera schema a person can read and edit (``contract.py``).

Inference is pure: the frames, and how the serving path uses each column (found
by validation running it, :mod:`nbprod.validate.driver`), come in as values.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

# How the serving path uses a column of its rows, as validation found by running
# it without the column and with its values replaced: its values change what is
# served (or fail), only its presence matters, or nothing changes without it.
Usage = Literal["values", "presence", "unused"]
# What a column holds, for the contract.
Kind = Literal["number", "integer", "boolean", "text"]

# A text column with at most this many distinct values, each seen at least
# twice on average, is categorical: its values must be among those seen.
MAX_CATEGORIES = 30
# Calls by which the notebook's own code fills missing values.
_FILLS = frozenset({"fillna", "SimpleImputer", "KNNImputer", "IterativeImputer"})


@dataclass(frozen=True)
class ColumnRule:
    """What the contract says of one column."""

    name: str
    kind: Kind | None  # None: any values (only its presence matters)
    nullable: bool
    missing: int  # values seen missing
    seen: int  # values seen
    low: float | None = None
    high: float | None = None
    categories: tuple[str, ...] = ()  # closed set of a categorical text column
    filled_by: str = ""  # where the notebook fills its missing values, for people
    # where the notebook's code handles categories it never saw (a text column
    # then has no closed set of categories)
    unseen_by: str = ""

    def code(self) -> str:
        """The pandera column, as code (``tolerance`` is the schema's argument)."""
        if self.kind is None:
            return "pa.Column(nullable=True)"
        dtype = {"number": "float", "integer": "int", "boolean": "bool", "text": "str"}
        parts = [dtype[self.kind]]
        if self.low is not None and self.high is not None:
            parts.append(
                f"widened({_literal(self.low)}, {_literal(self.high)}, tolerance"
                + (", whole=True)" if self.kind == "integer" else ")")
            )
        if self.categories and not self.unseen_by:
            parts.append(f"pa.Check.isin({list(self.categories)!r})")
        if self.nullable:
            parts.append("nullable=True")
        if self.kind == "number":
            # whole numbers where the notebook had decimals are still numbers
            parts.append("coerce=True")
        return f"pa.Column({', '.join(parts)})"

    def comment(self) -> str:
        """What was seen, for the person who edits the contract."""
        if self.kind is None:
            return "read, but no change of its values changed a prediction: any values"
        seen = {
            "number": f"numbers from {_shown(self.low)} to {_shown(self.high)}",
            "integer": f"whole numbers from {_shown(self.low)} to {_shown(self.high)}",
            "boolean": "true or false",
            "text": (
                f"one of {len(self.categories)} categories"
                if self.categories
                else "free text"
            ),
        }[self.kind]
        missing = (
            f"; missing in {self.missing} of {self.seen} rows"
            if self.missing
            else "; never missing"
        )
        filled = f"; filled by {self.filled_by}" if self.filled_by else ""
        unseen = ""
        if self.unseen_by:
            unseen = (
                f" seen, others handled by {self.unseen_by}"
                if self.categories
                else f"; unseen categories handled by {self.unseen_by}"
            )
        return f"{seen}{unseen}{missing}{filled}"


@dataclass(frozen=True)
class Contract:
    """The contract: its columns, in the order of the rows; the rows it was
    inferred from, in words; and the input files (config keys) that hold its
    columns, checked before the pipeline fits anything on them. ``reason``:
    why there is none, when ``columns`` is empty."""

    columns: tuple[ColumnRule, ...] = ()
    sources: tuple[str, ...] = ()
    checked_files: tuple[str, ...] = ()
    reason: str = ""

    def inferred_from(self) -> str:
        """The rows it was inferred from, in words."""
        if len(self.sources) < 2:
            return "".join(self.sources)
        return f"{', '.join(self.sources[:-1])} and {self.sources[-1]}"


NOT_INFERRED = Contract(
    reason="it is inferred when nbprod validates the conversion (converted with "
    "--no-validate)"
)


def infer_contract(
    rows: Any,
    usage: Mapping[str, Usage],
    files: Mapping[str, Any],
    *,
    sources: tuple[str, ...],
    fills: Mapping[str, str],
    unseen_by: str = "",
) -> Contract:
    """The contract of the serving path's ``rows`` (a frame): the columns it
    reads (``usage``), their kinds, ranges, categories and missing values as
    seen in ``rows`` and in each frame of ``files`` (config key -> the rows of
    an input file) that holds every column read. ``fills``: column -> where the
    notebook's code fills its missing values (``"*"``: every column's);
    ``unseen_by``: where it handles categories it never saw."""
    if not all(isinstance(c, str) for c in rows.columns):
        return Contract(reason="the columns of its rows are not all named by text")
    read = [c for c in rows.columns if usage.get(c, "values") != "unused"]
    if not read:
        return Contract(reason="the serving path reads no column of its rows")
    holding = {
        key: frame
        for key, frame in sorted(files.items())
        if set(read) <= {str(c) for c in frame.columns}
    }
    frames = [rows, *holding.values()]
    columns = tuple(
        _rule(
            name,
            usage.get(name, "values"),
            [f[name] for f in frames],
            fills.get(name) or fills.get("*", ""),
            unseen_by,
        )
        for name in read
    )
    return Contract(columns, sources, tuple(holding))


def _rule(
    name: str, usage: Usage, values: list[Any], filled_by: str, unseen_by: str
) -> ColumnRule:
    import pandas as pd

    series = pd.concat(values, ignore_index=True)
    missing, seen = int(series.isna().sum()), len(series)
    nullable = bool(missing) or bool(filled_by)
    if usage == "presence":
        return ColumnRule(name, None, True, missing, seen)
    present = series.dropna()
    kind = _kind(series)
    if kind in ("number", "integer") and len(present):
        low, high = float(present.min()), float(present.max())
        return ColumnRule(
            name, kind, nullable, missing, seen, low, high, filled_by=filled_by
        )
    categories: tuple[str, ...] = ()
    if kind == "text":
        distinct = sorted({str(v) for v in present})
        if len(distinct) <= MAX_CATEGORIES and len(distinct) * 2 <= len(present):
            categories = tuple(distinct)
    return ColumnRule(
        name,
        kind,
        nullable,
        missing,
        seen,
        categories=categories,
        filled_by=filled_by,
        unseen_by=unseen_by if kind == "text" else "",
    )


def _kind(series: Any) -> Kind:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    return "text"


def filled_columns(cells: Iterable[tuple[int, str]]) -> dict[str, str]:
    """Column -> where the notebook's own code fills its missing values: a
    ``fillna`` on the column (``df["age"].fillna``, ``df.age.fillna``,
    ``df.fillna({"age": 0})``), ``"*"`` for one on a whole frame or an imputer.
    Read from the code, not run: a fill the serving path does not reach makes
    predict's error, not the contract's."""
    found: dict[str, str] = {}
    for number, call in _calls(cells):
        if _called(call) in _FILLS:
            where = f"cell {number}, line {call.lineno} ({_called(call)})"
            for name in _filled(call):
                found.setdefault(name, where)
    return found


def unseen_handled(cells: Iterable[tuple[int, str]]) -> str:
    """Where the notebook's code handles categories it never saw (an encoder
    told what to do with them, ``handle_unknown="ignore"``), or ""."""
    for number, call in _calls(cells):
        for keyword in call.keywords:
            value = keyword.value
            if (
                keyword.arg == "handle_unknown"
                and isinstance(value, ast.Constant)
                and value.value != "error"
            ):
                return f"cell {number}, line {call.lineno} ({_called(call)})"
    return ""


def _calls(cells: Iterable[tuple[int, str]]) -> Iterator[tuple[int, ast.Call]]:
    """Every call in the code of ``cells`` (number, code), with its cell."""
    for number, code in cells:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                yield number, node


def _filled(call: ast.Call) -> set[str]:
    """The columns one fill call fills (``"*"``: any)."""
    if _called(call) != "fillna" or not isinstance(call.func, ast.Attribute):
        return {"*"}  # an imputer fills whatever columns it is given
    receiver = call.func.value
    if isinstance(receiver, ast.Subscript):
        return _texts(receiver.slice) or {"*"}
    if isinstance(receiver, ast.Attribute):
        return {receiver.attr}
    # A whole frame: the columns its mapping names, else every column.
    keys = [a for a in call.args[:1] if isinstance(a, ast.Dict)]
    return _texts(keys[0]) if keys else {"*"}


def _texts(node: ast.AST) -> set[str]:
    return {
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _called(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _literal(value: float) -> str:
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def _shown(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "?"
    return _literal(value)
