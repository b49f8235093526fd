"""Command line: ``python -m house_prices_regression run|preprocess|train|predict|evaluate|serve|monitor``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import socket
import sys
from pathlib import Path

from .config import Config, ConfigError, load_config
from .monitor import MonitorError, verdict
from .pipeline import (
    ALL_STAGES,
    OUTPUTS,
    STAGES,
    monitor_file,
    predict_new,
    predictor,
    run,
    track,
)
from .runtime import MissingInput, TrackingError, require_mlflow, tracking_on
from .scoring import ContractError, PredictError


def main(argv: list[str] | None = None) -> int:
    """Run the whole pipeline or one stage; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m house_prices_regression",
        description="Run the house_prices_regression pipeline, or one of its stages.",
    )
    parser.add_argument("command", choices=("run", *ALL_STAGES, "serve", "monitor"))
    parser.add_argument(
        "--config", default="config.yaml", help="config file (default: %(default)s)"
    )
    parser.add_argument(
        "--artifacts", help="artifacts folder (default: artifacts_dir in the config)"
    )
    parser.add_argument(
        "--input",
        type=Path,
        help="predict: new rows to score (CSV or parquet); monitor: new rows to compare (default: monitoring.input)",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        help="monitor: the true labels of the new rows, one column (default: monitoring.labels)",
    )
    parser.add_argument(
        "--output", type=Path, help="predict: where to write the scored rows"
    )
    parser.add_argument(
        "--lax",
        action="store_true",
        help="predict: score rows that break the data contract too; write the problems beside the output",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="serve: the address to listen on (default: %(default)s)",
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="serve: the port (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    predicting = args.command != "monitor" and args.input is not None
    if (
        predicting
        and args.command != "predict"
        or (args.output is not None) != predicting
    ):
        parser.error("--input and --output go together, with the predict command")
    if args.lax and not predicting:
        parser.error("--lax goes with predict --input")
    if args.labels is not None and args.command != "monitor":
        parser.error("--labels goes with monitor")
    if (
        args.command not in ("run", "serve", "monitor")
        and args.command not in STAGES
        and args.input is None
    ):
        print(
            f"error: this pipeline has no {args.command!r} stage; it has {', '.join(STAGES)}",
            file=sys.stderr,
        )
        return 2
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.artifacts:
        config = dataclasses.replace(config, artifacts_dir=args.artifacts)
    if args.command == "serve":
        return serve(config, args.host, args.port)
    if args.command == "monitor":
        return monitor(config, args.input, args.labels)
    if args.input is not None:
        try:
            count, problems = predict_new(config, args.input, args.output, lax=args.lax)
        except (PredictError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        rows = "row" if count == 1 else "rows"
        print(f"predict: scored {count} {rows} of {args.input}; wrote {args.output}")
        if problems is not None:
            print(
                f"predict: the rows break the data contract; the problems are in {problems}"
            )
        return 0
    stages = STAGES if args.command == "run" else (args.command,)
    # Runs that fit the model are tracked, when tracking is on.
    tracked = args.command in ("run", "train") and tracking_on(config.tracking.mlflow)
    try:
        if tracked:
            require_mlflow()
        values = run(config, stages)
    except (MissingInput, TrackingError, ContractError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for stage in stages:
        saved = ", ".join(OUTPUTS[stage]) or "nothing"
        print(f"{stage}: done; saved {saved} to {Path(config.artifacts_dir) / stage}")
    if tracked:
        print(track(config, stages, values))
    return 0


def serve(config: Config, host: str, port: int) -> int:
    """Serve the model over HTTP (serve.py) until stopped; the artifacts are
    loaded first, so a server that starts can score."""
    try:
        import uvicorn

        from .serve import create_app
    except ImportError as exc:
        print(
            f'error: serve needs fastapi and uvicorn ({exc}): pip install -e ".[serve]"',
            file=sys.stderr,
        )
        return 2
    try:
        scorer = predictor(config)
    except (PredictError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # A port taken is one line, as every other error here (uvicorn would log it
    # over several and exit 3).
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        print(f"error: cannot serve on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(
        scorer,
        title="house_prices_regression",
        max_request_bytes=config.serving.max_request_bytes,
    )
    # serve.py logs each request in one line: uvicorn's access log would repeat it.
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    return 0


def monitor(config: Config, source: Path | None, labels: Path | None) -> int:
    """Compare new rows with the rows the model learned from (monitor.py) and
    write the report; exit 1 when a threshold is crossed, so a scheduler alerts."""
    if source is None and config.monitoring.input is not None:
        source = Path(config.monitoring.input)
        # The config's labels go with the config's rows; labels given are used.
        if labels is None and config.monitoring.labels is not None:
            labels = Path(config.monitoring.labels)
    if source is None:
        print(
            "error: monitor needs new rows: --input FILE, or monitoring.input in the config",
            file=sys.stderr,
        )
        return 2
    try:
        import matplotlib  # noqa: F401
        import scipy  # noqa: F401
    except ImportError as exc:
        print(
            f'error: monitor needs scipy and matplotlib ({exc}): pip install -e ".[monitor]"',
            file=sys.stderr,
        )
        return 2
    try:
        report, written = monitor_file(config, source, labels)
    except (PredictError, FileNotFoundError, MonitorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    here = Path.cwd()
    shown = [
        str(path.relative_to(here) if path.is_relative_to(here) else path)
        for path in written
    ]
    print(f"monitor: {verdict(report)}; wrote {', '.join(shown)}")
    return 1 if report.alarm else 0


if __name__ == "__main__":
    sys.exit(main())
