"""How fast a generated project's HTTP endpoint (``python -m PKG serve``) scores.

What it measures
----------------
A generated project (``--project DIR``; by default the titanic example converted
and validated into a temporary folder, so that its data contract is checked on
every request) has its pipeline run (``python -m PKG run``) unless its artifacts
are there already. Its server is started on a free loopback port and waited for
(``/health``). Then, per request size, a fixed number of ``POST /predict``
requests (JSON records, as pandas writes ``to_json(orient="records")``) are sent by
``--concurrency`` httpx async clients on one connection pool: ``--small`` requests
of 1 row and ``--large`` requests of 1,000 rows, from the project's CSV of rows
``--rows`` (the titanic test rows by default), repeated to make up the size; then
``--serial`` requests of 1 row one at a time, which shows a request's own time
without the queue (the server scores one request at a time: the notebook's steps
were written for one caller). Each request must answer 200 with one prediction
per row, or the run stops and says why. A few requests of each size are sent
first, untimed.

It prints, per size: requests, rows, wall seconds, requests and rows per second,
and the latency of a request (client side, from send to the whole answer read)
at the median (p50), p99 and max; then the targets, PASS/FAIL:

* a 1-row request's p99 under 50 ms (at ``--concurrency``, and one at a time);
* a 1,000-row request's p99 under 0.5 s.

Everything runs on 127.0.0.1; the client and the server share the machine's
cores. A benchmark only reports: it never fails on a missed target.

How to run it
-------------
From the repository root, with the project's environment (fastapi, uvicorn,
httpx)::

    python benchmarks/serve_load.py                    # 2,000 x 1 row, 200 x 1,000 rows
    python benchmarks/serve_load.py --quick            # smoke run: 200 and 20
    python benchmarks/serve_load.py --project DIR --rows data/new.csv
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import converted, package_of, project_env, run_ok  # noqa: E402
from _report import fmt_table, load_average, progress, verdict  # noqa: E402

TARGETS = {1: 0.050, 1000: 0.5}  # rows per request -> p99 target, seconds
WARM_UP = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(project: Path, package: str) -> Iterator[str]:
    """The project's server on a free loopback port, answering /health."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(project / "serve-load.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", package, "serve", "--port", str(port)],
        cwd=project,
        env=project_env(project),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(
                    f"serve did not start:\n{(project / 'serve-load.log').read_text()}"
                )
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def _bodies(rows: pd.DataFrame) -> dict[int, bytes]:
    """A JSON body of 1 row and one of 1,000 rows (``rows`` repeated)."""
    big = pd.concat([rows] * (1000 // len(rows) + 1), ignore_index=True).head(1000)
    return {
        1: rows.head(1).to_json(orient="records").encode(),
        1000: big.to_json(orient="records").encode(),
    }


async def _load(
    url: str, body: bytes, count: int, concurrency: int, rows: int
) -> tuple[float, list[float]]:
    """Send ``body`` ``count`` times from ``concurrency`` workers: the wall
    time and each request's latency, in seconds."""
    headers = {"Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency)
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        for _ in range(WARM_UP):
            await _one(client, body, headers, rows)
        left = iter(range(count))

        async def worker() -> None:
            for _ in left:
                start = time.perf_counter()
                await _one(client, body, headers, rows)
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start, latencies


async def _one(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str], rows: int
) -> None:
    response = await client.post("/predict", content=body, headers=headers)
    if response.status_code != 200 or len(response.json()["predictions"]) != rows:
        sys.exit(
            f"POST /predict answered {response.status_code}: {response.text[:500]}"
        )


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--project", type=Path, help="a generated project (default: titanic converted)"
    )
    parser.add_argument(
        "--rows",
        default="data/passengers_test.csv",
        help="CSV of rows the project scores, in it (default: %(default)s)",
    )
    parser.add_argument(
        "--small", type=int, default=2000, help="1-row requests (default: %(default)s)"
    )
    parser.add_argument(
        "--large",
        type=int,
        default=200,
        help="1,000-row requests (default: %(default)s)",
    )
    parser.add_argument(
        "--serial",
        type=int,
        default=200,
        help="1-row requests one at a time (default: %(default)s)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="(default: %(default)s)"
    )
    parser.add_argument("--quick", action="store_true", help="200, 20 and 50 requests")
    args = parser.parse_args()
    if args.quick:
        args.small, args.large, args.serial = 200, 20, 50
    with tempfile.TemporaryDirectory(prefix="serve-load-") as scratch:
        project = args.project.resolve() if args.project else converted(Path(scratch))
        package = package_of(project)
        if not (project / "artifacts").is_dir():
            progress(f"running {package}'s pipeline ...")
            run_ok(
                [sys.executable, "-m", package, "run"], project, project_env(project)
            )
        bodies = _bodies(pd.read_csv(project / args.rows))
        results = []
        with _server(project, package) as url:
            for rows, count, concurrency in (
                (1, args.small, args.concurrency),
                (1000, args.large, args.concurrency),
                (1, args.serial, 1),
            ):
                progress(f"{count} requests of {rows} row(s), {concurrency} at a time")
                wall, latencies = asyncio.run(
                    _load(url, bodies[rows], count, concurrency, rows)
                )
                results.append((rows, count, concurrency, wall, latencies))
    _report(results)


def _report(results: list[tuple[int, int, int, float, list[float]]]) -> None:
    header = (
        "rows/request requests at-a-time wall-s requests/s rows/s p50-ms p99-ms max-ms"
    )
    table = [header.split()]
    for rows, count, concurrency, wall, latencies in results:
        table.append(
            [
                str(rows),
                str(count),
                str(concurrency),
                f"{wall:.2f}",
                f"{count / wall:.1f}",
                f"{count * rows / wall:.0f}",
                f"{statistics.median(latencies) * 1000:.1f}",
                f"{_quantile(latencies, 0.99) * 1000:.1f}",
                f"{max(latencies) * 1000:.1f}",
            ]
        )
    print(
        f"serve load: loopback, {os.cpu_count()} cores, load average {load_average()}"
    )
    print(fmt_table(table))
    for rows, _, concurrency, _, latencies in results:
        p99 = _quantile(latencies, 0.99)
        target = TARGETS[rows]
        print(
            f"{rows}-row request, {concurrency} at a time: p99 {p99 * 1000:.1f} ms "
            f"< {target * 1000:.0f} ms: {verdict(p99 < target)}"
        )


if __name__ == "__main__":
    main()
