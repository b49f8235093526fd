"""The project's HTTP endpoint (``python -m PACKAGE serve``): new rows posted as
JSON records or CSV are scored by the same :class:`~.scoring.Predictor` as
``predict``, the artifacts loaded once, before the first request.

Every request is read into CSV text and read by :func:`~.scoring.read_rows`, the
reader ``predict`` uses on a file: a row posted as JSON, as CSV, or written to a
file gets the same dtypes, so the same prediction. A request that cannot be
scored is a 4xx whose JSON body says why: ``{"detail": ..., "problems": [...]}``.

nbprod copies this file unchanged into each project (``src/PACKAGE/serve.py``),
so nbprod's own tests, ruff, black and mypy check it as it is shipped.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import threading
import time
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .scoring import ContractError, PredictError, Predictor, json_schema, read_rows

LOG = logging.getLogger(__name__)
# The media types /predict reads (parameters such as charset aside).
JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
# What a record's values may be: what a CSV cell can say.
PLAIN = (str, int, float, bool, type(None))
ERRORS = {
    400: "the body is empty, or not JSON, or not CSV",
    413: "the body is larger than serving.max_request_bytes",
    415: f"the body is neither {JSON_TYPE} nor {CSV_TYPE}",
    422: "the rows cannot be scored: they break the data contract, or the "
    "notebook's steps fail on them, or the body is not a list of flat records",
}


class RequestProblem(Exception):
    """A request that cannot be scored: its HTTP status, why, and the
    contract's problems (one line each) when there are some."""

    def __init__(
        self, status: int, detail: str, problems: list[str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = problems or []


class _RepeatedKey(ValueError):
    """A JSON object gives a key twice: which value is meant is not known."""


def create_app(predictor: Predictor, *, title: str, max_request_bytes: int) -> FastAPI:
    """The app scoring rows with ``predictor`` (built, its artifacts loaded,
    before the app): ``POST /predict``, ``GET /health``, ``GET /schema`` and
    FastAPI's ``/docs``; bodies over ``max_request_bytes`` are refused."""
    app = FastAPI(
        title=title,
        description=f"Scores new rows as `python -m {title} predict` does: POST "
        "them to /predict as a JSON list of records or as CSV; /schema is the data "
        "contract they must keep.",
    )
    app.add_middleware(_RequestLog)
    # The notebook's steps were written for one caller at a time: scoring runs
    # off the event loop (/health still answers), one request after another.
    lock = threading.Lock()

    @app.exception_handler(RequestProblem)
    async def problem(request: Request, exc: RequestProblem) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail, "problems": exc.problems}, status_code=exc.status
        )

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Whether the server answers; the model was loaded before it started."""
        return {
            "status": "ok",
            "title": title,
            "contract": predictor.schema is not None,
        }

    @app.get("/schema", responses={404: {"description": "there is no data contract"}})
    async def schema() -> dict[str, Any]:
        """The data contract as JSON Schema: what the records posted must hold."""
        if predictor.schema is None:
            raise RequestProblem(
                404,
                "there is no data contract: contract.py holds none (the "
                "conversion was not validated), so rows are scored as they come",
            )
        return json_schema(predictor.schema)

    @app.post(
        "/predict",
        openapi_extra=_predict_openapi(predictor),
        responses={status: {"description": text} for status, text in ERRORS.items()},
    )
    async def predict(request: Request) -> JSONResponse:
        """One prediction per row posted: ``{"predictions": [{"row": i,
        "prediction": value}, ...]}``, rows numbered from 0 as posted."""
        kind = _media_type(request, max_request_bytes)
        body = await _body(request, max_request_bytes)
        frame = _rows(kind, body, predictor)
        request.state.rows = len(frame)

        def score() -> list[Any]:
            with lock:
                return predictor.score(frame, what="the request's rows")[0]

        try:
            predictions = await run_in_threadpool(score)
        except ContractError as exc:
            detail = str(exc).splitlines()[0].rstrip(":")
            raise RequestProblem(
                422, detail, [p.line() for p in exc.problems]
            ) from None
        except PredictError as exc:
            raise RequestProblem(422, str(exc)) from None
        answer = [{"row": i, "prediction": plain(v)} for i, v in enumerate(predictions)]
        return JSONResponse({"predictions": answer})

    return app


def _predict_openapi(predictor: Predictor) -> dict[str, Any]:
    """/predict's body in the OpenAPI page: the contract's records, or CSV."""
    records: dict[str, Any] = {"type": "array", "items": {"type": "object"}}
    if predictor.schema is not None:
        records = json_schema(predictor.schema)
        records.pop("$schema", None)
    return {
        "requestBody": {
            "required": True,
            "content": {
                JSON_TYPE: {"schema": records},
                CSV_TYPE: {"schema": {"type": "string"}},
            },
        }
    }


def _media_type(request: Request, limit: int) -> str:
    """The body's media type, once its announced size is known to be allowed."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise RequestProblem(413, _too_large(limit, f"{int(length)} bytes"))
    given = request.headers.get("content-type", "")
    kind = given.split(";", 1)[0].strip().lower()
    if kind not in (JSON_TYPE, CSV_TYPE):
        shown = repr(given) if given else "none"
        raise RequestProblem(
            415,
            f"Content-Type {shown} is not read: post a JSON list of records as "
            f"{JSON_TYPE}, or CSV as {CSV_TYPE}",
        )
    return kind


async def _body(request: Request, limit: int) -> bytes:
    """The body, read no further than ``limit`` bytes: a Content-Length can lie,
    or be missing (chunked)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestProblem(413, _too_large(limit, "more"))
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise RequestProblem(400, "the body is empty: post the rows to score")
    return body


def _too_large(limit: int, given: str) -> str:
    return (
        f"the body is larger than serving.max_request_bytes ({limit} bytes; "
        f"given: {given}): post fewer rows at a time"
    )


def _rows(kind: str, body: bytes, predictor: Predictor) -> pd.DataFrame:
    """The rows of a request as ``predict`` reads a file of them."""
    text = _records_csv(body) if kind == JSON_TYPE else _csv_text(body)
    try:
        frame = read_rows(io.StringIO(text), predictor.schema)
    except (ValueError, pd.errors.ParserError) as exc:
        raise RequestProblem(400, f"the CSV cannot be read: {exc}") from None
    if len(frame) == 0:
        raise RequestProblem(422, "the body holds no rows: post at least one")
    return frame


def _records_csv(body: bytes) -> str:
    """A JSON list of records (as pandas' ``to_json(orient="records")`` writes
    them) as CSV text. JSON is turned into CSV, not into a frame, so that the
    rows are read by the one reader ``predict`` uses: the contract's text
    columns as text, numbers as pandas reads them from a file, whatever JSON
    type a value came as."""
    try:
        records = json.loads(body, object_pairs_hook=_no_repeated_keys)
    except _RepeatedKey as exc:
        raise RequestProblem(422, str(exc)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestProblem(400, f"the body is not JSON: {exc}") from None
    if not isinstance(records, list):
        raise RequestProblem(
            422,
            f"the body is a JSON {_json_kind(records)}, not a list of records: "
            'post [{"column": value, ...}, ...], one object per row',
        )
    if not records:
        raise RequestProblem(422, "the body holds no rows: post at least one")
    columns: dict[str, None] = {}
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise RequestProblem(
                422, f"row {i} is a JSON {_json_kind(record)}, not an object (a record)"
            )
        for key, value in record.items():
            if not isinstance(value, PLAIN):
                raise RequestProblem(
                    422,
                    f"row {i}, column {key!r}: a nested value (a JSON "
                    f"{_json_kind(value)}); a record's values are numbers, text, "
                    "true, false or null",
                )
            columns.setdefault(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record.get(name)) for name in columns])
    return out.getvalue()


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise _RepeatedKey(
                f"column {key!r} is given more than once in a record: which "
                "value is meant is not known"
            )
        record[key] = value
    return record


def _json_kind(value: Any) -> str:
    kinds = {dict: "object", list: "list", str: "string", bool: "boolean"}
    return kinds.get(type(value), "number" if value is not None else "null")


def _cell(value: Any) -> str:
    """A JSON value as a CSV cell: null is an empty cell (missing), as in a file;
    floats keep every digit."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _csv_text(body: bytes) -> str:
    """The CSV posted, once its header names each column once and no row has
    more fields than the header (pandas would make the first ones an index)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RequestProblem(400, f"the CSV is not UTF-8 text: {exc}") from None
    try:
        lines = csv.reader(io.StringIO(text))
        header = next(lines)
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise RequestProblem(
                422,
                f"the CSV header gives {', '.join(map(repr, repeated))} more than "
                "once: which column is meant is not known",
            )
        for number, fields in enumerate(lines, start=2):
            if len(fields) > len(header):
                raise RequestProblem(
                    400,
                    f"the CSV cannot be read: line {number} has {len(fields)} "
                    f"fields, the header {len(header)}",
                )
    except csv.Error as exc:
        raise RequestProblem(400, f"the CSV cannot be read: {exc}") from None
    return text


def plain(value: Any) -> Any:
    """A prediction as JSON holds it: numpy scalars as Python's, arrays as
    lists, a missing number (NaN) or an infinite one as null."""
    if hasattr(value, "tolist"):
        value = value.tolist()  # numpy scalars and arrays, pandas' arrays
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)  # timestamps, decimals: as they print


class _RequestLog:
    """One log line per request: method, path, status, rows, milliseconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        # The endpoint's request.state is this dict: it says how many rows.
        state = scope.setdefault("state", {})
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            LOG.info(
                "%s %s %d rows=%d %.1f ms",
                scope["method"],
                scope["path"],
                status,
                state.get("rows", 0),
                (time.perf_counter() - start) * 1000,
            )
