"""How new rows are scored: read as the data contract expects them, checked
against it (one line per problem), turned into the form the notebook predicted
on, predicted by the notebook's own serving steps, and written back with their
predictions. ``predict`` (a file) and ``serve`` (a request) both go through
:class:`Predictor`: there is one serving path.

The contract itself is the project's ``contract.py``: a pandera schema of the
columns the serving path reads, written from what the notebook's rows held.
pandera does the checking: its lazy validation reports every failing value of
every check at once. nbprod copies this file unchanged into each project
(``src/PACKAGE/scoring.py``), so nbprod's own tests, ruff, black and mypy check
it as it is shipped.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    # Imported where a contract is checked, not here: a stage that checks nothing
    # (train, evaluate) need not load pandera.
    import pandera.pandas as pa

# A file breaking the contract in more places is reported by its first problems.
MAX_SHOWN = 20
# The forms the notebook's rows took when it predicted: rows are read into a
# frame and turned into the same (one column for a series, values for an array).
ROWS_FORMS = ("frame", "series", "array")
# JSON Schema's name for the values of each kind of column the contract knows.
_JSON_TYPES = {"number": "number", "integer": "integer", "boolean": "boolean"}


@dataclasses.dataclass(frozen=True)
class Problem:
    """One way some rows break the contract: in ``row`` (its label in the rows
    given; None when the whole column is at fault), ``column`` holds ``value``,
    which breaks ``rule`` (in words)."""

    row: int | str | None
    column: str
    value: Any
    rule: str

    def line(self) -> str:
        """The problem in one line, as ``predict`` prints it."""
        if self.row is None:
            return f"column {self.column!r}: {self.rule}"
        return f"row {self.row}, column {self.column!r}, value {_shown(self.value)}: {self.rule}"


class PredictError(RuntimeError):
    """New rows cannot be scored as asked."""


def refusal(reason: str | None) -> PredictError:
    """The error of a pipeline that does not score new rows, saying why."""
    return PredictError(f"this pipeline does not score new rows: {reason}")


class ContractError(PredictError):
    """Rows break the data contract; ``problems`` says where and how."""

    def __init__(self, problems: list[Problem], what: str = "the rows") -> None:
        self.problems = problems
        lines = "\n".join(p.line() for p in problems)
        super().__init__(f"{what} break the data contract (contract.py):\n{lines}")


def widened(
    low: float, high: float, tolerance: float, *, whole: bool = False
) -> pa.Check:
    """The check that a number lies in the range seen, ``low`` to ``high``,
    widened on each side by ``tolerance`` times its width (times the value's size,
    when every value seen was the same). For ``whole`` numbers the bounds are the
    whole numbers inside it; others are rounded to 12 digits, so that the bounds
    read as written (0.3, not 0.30000000000000004)."""
    import pandera.pandas as pa

    span = (high - low) or abs(high) or 1.0
    below, above = low - tolerance * span, high + tolerance * span
    if whole:
        return pa.Check.in_range(math.ceil(below), math.floor(above))
    return pa.Check.in_range(float(f"{below:.12g}"), float(f"{above:.12g}"))


def text_columns(schema: pa.DataFrameSchema) -> list[str]:
    """The columns whose values are text: read as text whatever they look like,
    so that a missing value in every row of a request is still a text column."""
    return [
        name
        for name, column in schema.columns.items()
        if column.dtype is not None and _kind(column.dtype) == "string"
    ]


def read_rows(
    source: Path | IO[str], schema: pa.DataFrameSchema | None
) -> pd.DataFrame:
    """Rows from a CSV or parquet file (or CSV text), read as pandas reads them,
    but the contract's text columns as text."""
    if isinstance(source, Path) and source.suffix == ".parquet":
        return pd.read_parquet(source)
    text = text_columns(schema) if schema is not None else []
    return pd.read_csv(source, dtype=dict.fromkeys(text, str) or None)


def check_rows(
    schema: pa.DataFrameSchema | None, rows: pd.DataFrame
) -> tuple[pd.DataFrame, list[Problem]]:
    """``rows`` checked against ``schema``: the rows as the contract makes them
    (whole numbers given where the notebook had decimals become decimals), and
    every problem found. No schema, no contract: the rows as given."""
    if schema is None:
        return rows, []
    repeated = rows.columns[rows.columns.duplicated()].unique()
    if len(repeated):
        return rows, [
            Problem(None, str(name), None, "the column is given more than once")
            for name in repeated
        ]
    from pandera.errors import SchemaError, SchemaErrors

    try:
        return schema.validate(rows, lazy=True), []
    except SchemaErrors as exc:
        return rows, _problems(exc.failure_cases, schema, rows)
    except SchemaError as exc:  # raised alone by some checks, even when lazy
        column = str(getattr(exc.schema, "name", None) or "?")
        return rows, [Problem(None, column, None, str(exc).splitlines()[0])]


def check_file(schema: pa.DataFrameSchema | None, config: Any, key: str) -> None:
    """Stop when the input file config ``key`` (``group.name``) names breaks the
    contract: a changed file is caught before anything is fitted on it."""
    group, name = key.split(".", 1)
    path = Path(getattr(getattr(config, group), name))
    if schema is None or not path.is_file():
        return
    _, problems = check_rows(schema, read_rows(path, schema))
    if problems:
        raise ContractError(problems[:MAX_SHOWN], f"the rows of {key} = {path}")


def json_schema(schema: pa.DataFrameSchema) -> dict[str, Any]:
    """The contract as JSON Schema: what a request's list of records must hold."""
    properties: dict[str, Any] = {}
    required = []
    for name, column in schema.columns.items():
        field: dict[str, Any] = {}
        kind = _kind(column.dtype) if column.dtype is not None else None
        if kind is not None:
            base = _JSON_TYPES.get(kind, "string")
            field["type"] = [base, "null"] if column.nullable else base
        for check in column.checks:
            stats = check.statistics or {}
            if "min_value" in stats:
                field["minimum"] = stats["min_value"]
                field["maximum"] = stats["max_value"]
            if "allowed_values" in stats:
                field["enum"] = [
                    *stats["allowed_values"],
                    *([None] if column.nullable else []),
                ]
        if column.description:
            field["description"] = column.description
        properties[str(name)] = field
        if column.required:
            required.append(str(name))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": schema.name or "rows",
        "description": schema.description or "",
        "type": "array",
        "items": {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": True,
        },
    }


def _kind(dtype: Any) -> str:
    text = str(dtype).lower()
    if "bool" in text:
        return "boolean"
    if text.startswith(("int", "uint")):
        return "integer"
    if text.startswith("float"):
        return "number"
    return "string"


def _whole_but_missing(rows: pd.DataFrame, name: str, expected: Any) -> bool:
    """Whether ``name`` is a column of whole numbers that pandas read as
    decimals because values are missing (its missing values are the problem)."""
    if expected is None or _kind(expected.dtype) != "integer" or name not in rows:
        return False
    values = rows[name]
    if not pd.api.types.is_float_dtype(values) or not values.isna().any():
        return False
    present = values.dropna()
    return bool((present == present.round()).all())


def _problems(
    cases: pd.DataFrame, schema: pa.DataFrameSchema, rows: pd.DataFrame
) -> list[Problem]:
    """pandera's failure cases in words, one per failing value (or column)."""
    found = []
    for case in cases.itertuples(index=False):
        check, column = str(case.check), case.column
        if check == "column_in_dataframe":
            found.append(
                Problem(
                    None,
                    str(case.failure_case),
                    None,
                    "missing: the serving path reads it",
                )
            )
            continue
        name = str(column)
        expected = schema.columns.get(name)
        row = None if _missing(case.index) else _label(case.index)
        if check.startswith("dtype(") or check.startswith("coerce_dtype("):
            if row is not None and _missing(case.failure_case):
                continue  # a missing value: the not-nullable check says so
            if row is None and _whole_but_missing(rows, name, expected):
                continue  # whole numbers, read as decimals for their missing values
            want = _kind(expected.dtype) if expected is not None else "?"
            if row is None:
                found.append(
                    Problem(
                        None,
                        name,
                        None,
                        f"holds {case.failure_case} values, not {want} ones",
                    )
                )
            else:
                found.append(Problem(row, name, case.failure_case, f"not {want}"))
        elif check == "not_nullable":
            found.append(
                Problem(
                    row, name, None, "missing, and never missing in the notebook's rows"
                )
            )
        elif check.startswith("in_range("):
            value = case.failure_case
            if isinstance(value, float) and value.is_integer() and expected is not None:
                # a whole number read as a decimal beside a missing value
                value = int(value) if _kind(expected.dtype) == "integer" else value
            found.append(
                Problem(
                    row,
                    name,
                    value,
                    f"outside the range {_range(expected)}",
                )
            )
        elif check.startswith("isin("):
            found.append(
                Problem(
                    row,
                    name,
                    case.failure_case,
                    f"not a category seen: {_allowed(expected)}",
                )
            )
        else:
            found.append(Problem(row, name, case.failure_case, check))
    # A column that is not numbers fails its range check as a whole too (pandera
    # compares text with numbers): its values' own problems say it all.
    typed = {p.column for p in found if p.rule.startswith(("not ", "holds "))}
    kept = []
    for problem in found:
        whole_range = problem.row is None and problem.rule.startswith("outside")
        if problem not in kept and not (whole_range and problem.column in typed):
            kept.append(problem)
    return sorted(kept, key=lambda p: (p.row is not None, str(p.row), p.column))


def _range(column: Any) -> str:
    for check in getattr(column, "checks", ()):
        stats = check.statistics or {}
        if "min_value" in stats:
            return f"{_number(stats['min_value'])} to {_number(stats['max_value'])}"
    return "allowed"


def _allowed(column: Any) -> str:
    for check in getattr(column, "checks", ()):
        values = (check.statistics or {}).get("allowed_values")
        if values is not None:
            return ", ".join(repr(v) for v in values)
    return "none"


def _number(value: float) -> str:
    return f"{value:.6g}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _label(value: Any) -> int | str:
    return int(value) if isinstance(value, (int, float)) else str(value)


def _shown(value: Any) -> str:
    if _missing(value):
        return "missing"
    return repr(value.item() if hasattr(value, "item") else value)


def problem_rows(problems: Iterable[Problem]) -> pd.DataFrame:
    """The problems as a table (row, column, value, rule): what ``predict --lax``
    writes beside the predictions."""
    return pd.DataFrame(
        [("" if p.row is None else p.row, p.column, p.value, p.rule) for p in problems],
        columns=["row", "column", "value", "rule"],
    )


@dataclasses.dataclass(frozen=True)
class Predictor:
    """Scores frames of new rows as the notebook scored ``rows``: each frame is
    checked against ``schema`` (the data contract; None: no contract), turned
    into ``form`` (see ROWS_FORMS) and given to ``predict``, the notebook's own
    serving steps with their saved state already loaded."""

    predict: Callable[[Any], Any]
    schema: pa.DataFrameSchema | None
    form: str
    rows: str

    def __post_init__(self) -> None:
        if self.form not in ROWS_FORMS:
            raise ValueError(
                f"rows come as one of {', '.join(ROWS_FORMS)}, not {self.form!r}"
            )

    def problems(self, frame: pd.DataFrame) -> list[Problem]:
        """How ``frame`` breaks the contract (nothing scored)."""
        return check_rows(self.schema, frame)[1]

    def score(
        self, frame: pd.DataFrame, *, lax: bool = False, what: str = "the rows"
    ) -> tuple[list[Any], list[Problem]]:
        """One prediction per row of ``frame``, and the contract's problems with
        it. Rows that break the contract are a :class:`ContractError`, unless
        ``lax``: then they are scored anyway. ``what`` names the rows in errors."""
        checked, problems = check_rows(self.schema, frame)
        if problems and not lax:
            raise ContractError(problems, what)
        if self.form == "array":
            given: Any = checked.to_numpy()
        elif self.form == "series":
            given = checked.iloc[:, 0].copy()
        else:
            given = checked.copy()
        try:
            predictions = self.predict(given)
        except (PredictError, FileNotFoundError):
            raise
        except (
            Exception
        ) as exc:  # noqa: BLE001 - the notebook's own code raises anything
            raise PredictError(
                f"{what} cannot be scored as the notebook scored {self.rows}: "
                f"{exc.__class__.__name__}: {exc}"
            ) from None
        # One value per row given, or no row could be matched to its value.
        if len(predictions) != len(frame):
            raise PredictError(
                f"{what} cannot be scored as the notebook scored {self.rows}: its steps "
                f"made {len(predictions)} values of {len(frame)} rows, and which "
                "value belongs to which row is not known"
            )
        return list(predictions), problems

    def score_file(
        self, source: Path, target: Path, *, lax: bool = False
    ) -> tuple[int, Path | None]:
        """Score the rows of ``source`` (CSV or parquet); write them with a
        ``prediction`` column to ``target`` (CSV or parquet). Returns the number
        of rows written, and the file of the contract's problems written beside
        them (``lax`` only; None when there were none). Nothing is written when
        the rows cannot be scored."""
        original = read_rows(source, self.schema)
        predictions, problems = self.score(
            original, lax=lax, what=f"the rows of {source}"
        )
        scored = original.copy()
        scored["prediction"] = predictions
        target.parent.mkdir(parents=True, exist_ok=True)
        _write(scored, target)
        written = None
        if problems:
            written = target.with_name(f"{target.stem}.problems{target.suffix}")
            _write(problem_rows(problems), written)
        return len(scored), written


def _write(frame: pd.DataFrame, target: Path) -> None:
    if target.suffix == ".parquet":
        frame.to_parquet(target, index=False)
    else:
        frame.to_csv(target, index=False)
