"""The generated project's HTTP endpoint (``python -m PKG serve``), really served:
the validated titanic conversion's pipeline run, its server started once for the
module on a free loopback port, called over real HTTP. It answers as ``predict``
writes, and refuses each kind of bad request with a 4xx naming the problem."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.helpers.cli import run, run_ok
from tests.helpers.paths import EXAMPLES
from tests.helpers.server import free_port, serving
from tests.helpers.shared import copy_example_converted, example_converted, made_once

pytestmark = pytest.mark.e2e

PACKAGE = "titanic_mlops_poc"
ROWS = "data/passengers_test.csv"
# Small enough to pass a body over it cheaply; the good requests fit.
LIMIT = 60_000
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Served:
    """The server's address, the project, and what ``predict`` wrote."""

    url: str
    project: Path
    expected: list[Any]
    log: Path


def _ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's validated titanic conversion, copied once for the session
    (:func:`made_once`: one pipeline run whichever xdist worker asks first), its
    pipeline run, ``predict`` run on the test rows (``scored.csv``), and
    ``serve.yaml``: its config with the request limit LIMIT. Servers only read it."""
    base, result = example_converted(tmp_path_factory, EXAMPLES / f"{PACKAGE}.ipynb")
    assert result.returncode == 0, result.stdout + result.stderr

    def make(folder: Path) -> subprocess.CompletedProcess:
        _, project = copy_example_converted(base, folder)
        python = [sys.executable, "-m", PACKAGE]
        run_ok([*python, "run"], project, _env(project))
        text = (project / "config.yaml").read_text(encoding="utf-8")
        small, count = re.subn(
            r"max_request_bytes: \d+", f"max_request_bytes: {LIMIT}", text
        )
        assert count == 1, text
        (project / "serve.yaml").write_text(small, encoding="utf-8")
        scored = ["predict", "--input", ROWS, "--output", "scored.csv"]
        return run([*python, *scored], project, _env(project))

    folder, predicted = made_once(tmp_path_factory, f"served-{PACKAGE}", make)
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr
    return folder / "project"


def _env(project: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(project / "src"), "MPLBACKEND": "Agg"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server of the shared run (:func:`_ran`) on a free loopback port, for the
    module (for each xdist worker running some of its tests), stopped after it."""
    project = _ran(tmp_path_factory)
    expected = pd.read_csv(project / "scored.csv")["prediction"].tolist()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    command = ["serve", "--config", "serve.yaml", "--port", str(port)]
    with serving(
        [sys.executable, "-m", PACKAGE, *command],
        cwd=project,
        env=_env(project),
        ready=f"{url}/health",
        log=log,
    ):
        yield Served(url, project, expected, log)


def _post(served: Served, body: bytes | str, content_type: str) -> httpx.Response:
    return httpx.post(
        f"{served.url}/predict",
        content=body,
        headers={"Content-Type": content_type},
        timeout=30,
    )


def _rows(served: Served) -> pd.DataFrame:
    return pd.read_csv(served.project / ROWS)


def _predictions(response: httpx.Response) -> list[Any]:
    assert response.status_code == 200, response.text
    answer = response.json()["predictions"]
    assert [p["row"] for p in answer] == list(range(len(answer)))
    return [p["prediction"] for p in answer]


# Good requests ---------------------------------------------------------------


def test_json_records_get_what_predict_writes(served: Served) -> None:
    records = _rows(served).to_json(orient="records")
    assert _predictions(_post(served, records, "application/json")) == served.expected


def test_csv_gets_what_predict_writes(served: Served) -> None:
    body = (served.project / ROWS).read_bytes()
    assert _predictions(_post(served, body, "text/csv")) == served.expected


def test_columns_never_read_are_ignored(served: Served) -> None:
    rows = _rows(served).assign(Unused=range(len(served.expected)), Note="x")
    for body, kind in (
        (rows.to_json(orient="records"), "application/json"),
        (rows.to_csv(index=False), "text/csv; charset=utf-8"),
    ):
        assert _predictions(_post(served, body, kind)) == served.expected


def test_one_row_alone_gets_its_own_prediction(served: Served) -> None:
    rows = _rows(served)
    for i in (0, 7, len(rows) - 1):
        one = rows.iloc[[i]].to_json(orient="records")
        assert _predictions(_post(served, one, "application/json")) == [
            served.expected[i]
        ]


def test_schema_is_the_contract_as_json_schema(served: Served) -> None:
    response = httpx.get(f"{served.url}/schema", timeout=10)
    assert response.status_code == 200, response.text
    schema = response.json()
    assert schema["type"] == "array"
    columns = schema["items"]["properties"]
    assert {"Pclass", "Sex", "Age", "Fare", "Embarked"} <= set(columns)
    assert columns["Sex"]["enum"] == ["female", "male"]
    assert "Pclass" in schema["items"]["required"]


def test_docs_and_openapi_describe_predict(served: Served) -> None:
    docs = httpx.get(f"{served.url}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = httpx.get(f"{served.url}/openapi.json", timeout=10).json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/csv"}
    assert "Sex" in body["application/json"]["schema"]["items"]["properties"]


# Bad requests ----------------------------------------------------------------


def _record(served: Served, **changes: Any) -> dict[str, Any]:
    """The first test row as a JSON record, with ``changes`` (None: removed)."""
    record: dict[str, Any] = json.loads(
        _rows(served).iloc[[0]].to_json(orient="records")
    )[0]
    for key, value in changes.items():
        if value is None:
            record.pop(key)
        else:
            record[key] = value
    return record


def _json(*records: Any) -> Callable[[Served], tuple[bytes, str]]:
    return lambda served: (json.dumps(list(records)).encode(), "application/json")


def _changed(**changes: Any) -> Callable[[Served], tuple[bytes, str]]:
    return lambda s: (json.dumps([_record(s, **changes)]).encode(), "application/json")


def _csv(text: str, kind: str = "text/csv") -> Callable[[Served], tuple[bytes, str]]:
    return lambda served: (text.encode(), kind)


def _too_large(served: Served) -> tuple[bytes, str]:
    body = (served.project / ROWS).read_bytes()
    lines = body.splitlines(keepends=True)
    return lines[0] + b"".join(lines[1:]) * (LIMIT // len(body) + 2), "text/csv"


def _repeated_csv_header(served: Served) -> tuple[bytes, str]:
    header, *rest = (served.project / ROWS).read_text().splitlines()
    return f"{header},Sex\n" + "\n".join(f"{r},male" for r in rest[:3]), "text/csv"


def _missing_column_csv(served: Served) -> tuple[bytes, str]:
    out = io.StringIO()
    _rows(served).drop(columns="Fare").head(3).to_csv(out, index=False)
    return out.getvalue().encode(), "text/csv"


def _null_sex(served: Served) -> tuple[bytes, str]:
    record = _record(served)
    record["Sex"] = None
    return json.dumps([record]).encode(), "application/json"


def _blank_sex_csv(served: Served) -> tuple[bytes, str]:
    text = (served.project / ROWS).read_text(encoding="utf-8")
    assert ",male," in text
    return text.replace(",male,", ",,", 1).encode(), "text/csv"


def _object_not_list(served: Served) -> tuple[bytes, str]:
    return json.dumps(_record(served)).encode(), "application/json"


Body = Callable[[Served], tuple[bytes, str]]
# name -> (body and its content type, status, what the answer must name)
BAD: dict[str, tuple[Body, int, list[str]]] = {
    "missing column": (_changed(Pclass=None), 422, ["'Pclass'", "missing"]),
    "missing column in CSV": (_missing_column_csv, 422, ["'Fare'", "missing"]),
    "wrong type": (_changed(Pclass="first"), 422, ["'Pclass'", "'first'", "integer"]),
    "text for a number": (_changed(Fare="cheap"), 422, ["'Fare'", "'cheap'"]),
    "unseen category": (_changed(Sex="robot"), 422, ["'Sex'", "'robot'", "category"]),
    "null where never missing": (_null_sex, 422, ["'Sex'", "never missing"]),
    "blank CSV cell where never missing": (
        _blank_sex_csv,
        422,
        ["'Sex'", "never missing"],
    ),
    "out of range": (_changed(Fare=99_999.0), 422, ["'Fare'", "99999", "range"]),
    "below range": (_changed(Age=-40.0), 422, ["'Age'", "outside the range"]),
    "empty body": (_csv("", "application/json"), 400, ["empty"]),
    "blank body": (_csv("  \n", "text/csv"), 400, ["empty"]),
    "not JSON": (_csv("{rows: 1", "application/json"), 400, ["not JSON"]),
    "not UTF-8 CSV": (lambda s: (b"\xff\xfe,a\n1,2\n", "text/csv"), 400, ["UTF-8"]),
    "CSV row longer than its header": (
        _csv("Pclass,Sex\n1,male,3,4\n"),
        400,
        ["line 2", "fields"],
    ),
    "unterminated CSV quote": (_csv('Pclass,Name\n1,"open\n'), 400, ["cannot be read"]),
    "wrong content type": (_csv("Pclass\n1\n", "text/plain"), 415, ["'text/plain'"]),
    "no content type": (_csv("Pclass\n1\n", ""), 415, ["Content-Type none"]),
    "body over the limit": (_too_large, 413, ["max_request_bytes", str(LIMIT)]),
    "zero rows JSON": (_json(), 422, ["no rows"]),
    "zero rows CSV": (_csv("Pclass,Sex\n"), 422, ["no rows"]),
    "a JSON object, not a list": (_object_not_list, 422, ["object", "list of records"]),
    "a list of lists": (_json([1, 2, 3]), 422, ["row 0", "list", "not an object"]),
    "nested value": (_changed(Fare={"amount": 7.25}), 422, ["'Fare'", "nested"]),
    "duplicated key in a record": (
        lambda s: (b'[{"Sex": "male", "Sex": "female"}]', "application/json"),
        422,
        ["'Sex'", "more than once"],
    ),
    "duplicated CSV header": (_repeated_csv_header, 422, ["'Sex'", "more than once"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_request_is_refused_naming_the_problem(served: Served, case: str) -> None:
    make, status, named = BAD[case]
    body, kind = make(served)
    response = _post(served, body, kind)
    assert response.status_code == status, response.text
    answer = response.json()
    assert set(answer) == {"detail", "problems"}, answer
    said = answer["detail"] + "\n" + "\n".join(answer["problems"])
    for word in named:
        assert word in said, (word, said)


def test_a_body_longer_than_it_says_is_refused_as_it_is_read(served: Served) -> None:
    """No Content-Length (chunked): the limit holds on the bytes read."""
    body, _ = _too_large(served)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    response = httpx.post(
        f"{served.url}/predict",
        content=chunks(),
        headers={"Content-Type": "text/csv"},
        timeout=30,
    )
    assert response.status_code == 413, response.text
    assert "max_request_bytes" in response.json()["detail"]


def test_after_bad_requests_a_good_one_still_answers_and_each_is_logged(
    served: Served,
) -> None:
    body = (served.project / ROWS).read_bytes()
    assert _predictions(_post(served, body, "text/csv")) == served.expected
    assert httpx.get(f"{served.url}/health", timeout=5).json()["status"] == "ok"
    log = served.log.read_text()
    rows = len(served.expected)
    assert re.search(rf"POST /predict 200 rows={rows} [\d.]+ ms", log), log
    assert re.search(r"POST /predict 4\d\d rows=\d+ [\d.]+ ms", log), log


def test_serve_without_artifacts_stops_in_one_line(
    served: Served, tmp_path: Path
) -> None:
    """The artifacts are loaded before the server starts: none, no server."""
    done = run(
        [sys.executable, "-m", PACKAGE, "serve", "--artifacts", str(tmp_path)]
        + ["--port", str(free_port())],
        served.project,
        _env(served.project),
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert "run the " in done.stderr and "stage first" in done.stderr, done.stderr
