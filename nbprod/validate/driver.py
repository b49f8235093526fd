"""Run a generated pipeline for validation: ``python -m nbprod.validate.driver SPEC``.

It runs in a process of its own with the project's ``src`` on the path, so the
project is imported as its users import it. The pipeline starts from the random
state the notebook's kernel starts from; what its statements print is kept by the
notebook cell each statement came from; then ``predict`` runs, in the same
process, on the rows the notebook itself predicted on. Only the standard library
and joblib are imported here.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import json
import os
import random
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any


class _ByCell(io.TextIOBase):
    """Standard output that files each write under the notebook cell of the
    statement that made it: the nearest frame on the stack whose file and line a
    generated stage module maps to a cell (-1: a value the notebook displayed
    rather than printed)."""

    def __init__(self, lines: dict[str, dict[str, int]]) -> None:
        self.lines = {
            os.path.realpath(file): {int(k): v for k, v in by_line.items()}
            for file, by_line in lines.items()
        }
        self.paths: dict[str, str] = {}
        self.printed: dict[int, list[str]] = {}

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        cell = self._cell(sys._getframe(1))
        if cell is not None and cell >= 0:
            self.printed.setdefault(cell, []).append(text)
        return len(text)

    def _cell(self, frame: FrameType | None) -> int | None:
        while frame is not None:
            name = frame.f_code.co_filename
            path = self.paths.get(name)
            if path is None:
                path = self.paths[name] = os.path.realpath(name)
            by_line = self.lines.get(path)
            if by_line is not None and frame.f_lineno in by_line:
                return by_line[frame.f_lineno]
            frame = frame.f_back
        return None


def _seed(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy
    except ImportError:
        return
    numpy.random.seed(seed)


def _project(spec: dict[str, Any]) -> tuple[Any, Any]:
    package = spec["package"]
    pipeline = importlib.import_module(f"{package}.pipeline")
    settings = importlib.import_module(f"{package}.config")
    config = settings.load_config(Path(spec["project"]) / "config.yaml")
    return pipeline, dataclasses.replace(config, artifacts_dir=spec["artifacts"])


def _flatten(artifacts: Path, outputs: dict[str, tuple[str, ...]]) -> None:
    """Each value the run left, by name at the top of ``artifacts`` (linked from
    the folder of the last stage that made it): the values at the end of the run,
    where validation compares them with the notebook's."""
    for stage, names in outputs.items():
        for name in names:
            source = artifacts / stage / f"{name}.joblib"
            target = artifacts / f"{name}.joblib"
            if source.is_file():
                target.unlink(missing_ok=True)
                os.link(source, target)


def _keep_steps(package: str, steps: list[list[Any]], folder: Path) -> None:
    """Each step function in ``steps`` (module, name, the names it returns, and
    for each call the step whose values it keeps, or None) saves what it returns
    in ``folder``/STEP: a value a later step binds again never leaves its stage,
    yet validation compares it. The stage function finds its steps among its
    module's globals, so the wrapper is set there."""
    for module_name, name, outputs, calls in steps:
        module = importlib.import_module(f"{package}.{module_name}")
        targets = [folder / call if call else None for call in calls]
        for target in targets:
            if target is not None:
                target.mkdir(parents=True, exist_ok=True)
        setattr(module, name, _keeping(getattr(module, name), targets, outputs))


def _keeping(step: Any, targets: list[Path | None], names: list[str]) -> Any:
    import joblib

    calls = iter(targets)

    def kept(*args: Any, **kwargs: Any) -> Any:
        result = step(*args, **kwargs)
        target = next(calls, None)
        if target is None:
            return result
        values = result if len(names) > 1 else (result,)
        for name, value in zip(names, values, strict=False):
            try:
                joblib.dump(value, target / f"{name}.joblib")
            except Exception:  # noqa: BLE001 - not saved: not compared, and said so
                (target / f"{name}.joblib").unlink(missing_ok=True)
        return result

    return kept


def _announce_stages(runners: dict[str, Any], target: Path) -> None:
    """Each stage writes its name to ``target`` as it starts: validation's
    progress line reads it."""

    def announced(stage: str, runner: Any) -> Any:
        def run(config: Any, values: dict[str, Any]) -> Any:
            target.write_text(stage, encoding="utf-8")
            return runner(config, values)

        return run

    for stage, runner in list(runners.items()):
        runners[stage] = announced(stage, runner)


# The exit status of a run whose project's predict refuses to score new rows.
REFUSED_EXIT = 4
# Rows of more columns are not probed column by column: each column read counts.
MAX_PROBED = 200
# Probing stops after this long, and gives nothing (no contract): a contract is
# not worth a slow conversion, nor the proof's time limit.
PROBE_SECONDS = 60.0
# What replaces a column's values to see whether the serving path reads them.
_PROBE = "\x00nbprod-probe"


def _usage(pipeline: Any, config: Any, rows: Any) -> dict[str, str]:
    """How the serving path uses each column of ``rows`` (a frame): "values"
    when a change of its values changes what it serves (or makes it fail),
    "presence" when only its absence does, "unused" when neither does. The data
    contract covers the columns read, and the values of those whose values count."""
    import joblib

    columns = getattr(rows, "columns", None)
    if columns is None or len(columns) > MAX_PROBED or columns.has_duplicates:
        return {}
    saved = pipeline.serving_state(config)

    def served(given: Any) -> str | None:
        try:
            return str(joblib.hash(pipeline.predict_rows(config, given, saved)))
        except Exception:  # noqa: BLE001 - failing is what the probe looks for
            return None

    base = served(rows.copy())
    if base is None:
        return {}
    found = {}
    started = time.monotonic()
    for column in columns:
        if time.monotonic() - started > PROBE_SECONDS:
            return {}
        if served(rows.drop(columns=[column])) == base:
            found[str(column)] = "unused"
            continue
        changed = rows.copy()
        changed[column] = _PROBE
        found[str(column)] = "presence" if served(changed) == base else "values"
    return found


def main(argv: list[str]) -> int:
    """Run the pipeline ``argv[0]`` (JSON) describes, write what its cells printed,
    then score the rows of one request read from standard input (none: just end):
    each file of rows it names, into its target."""
    import joblib

    spec = json.loads(argv[0])
    _seed(spec["seed"])
    pipeline, config = _project(spec)
    _announce_stages(pipeline.RUNNERS, Path(spec["stage"]))
    _keep_steps(spec["package"], spec["steps"], Path(spec["steps_folder"]))
    out, real = _ByCell(spec["lines"]), sys.stdout
    sys.stdout = out
    try:
        pipeline.run(config)
    finally:
        sys.stdout = real
    _flatten(Path(spec["artifacts"]), pipeline.OUTPUTS)
    printed = {cell: "".join(parts) for cell, parts in out.printed.items()}
    # Written whole, then renamed: the file appearing says the run is done.
    target = Path(spec["printed"])
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(printed), encoding="utf-8")
    os.replace(partial, target)
    line = sys.stdin.readline().strip()
    refused = getattr(pipeline, "PREDICT_REFUSED", None)
    if line and refused is not None:
        # A conversion made predict refuse new rows: the refusal is the answer.
        print(refused, file=sys.stderr)
        return REFUSED_EXIT
    if line:
        request = json.loads(line)
        for rows, target in request["runs"]:
            joblib.dump(pipeline.predict_rows(config, joblib.load(rows)), target)
        if request.get("probe"):
            rows, target = request["probe"]
            found = _usage(pipeline, config, joblib.load(rows))
            Path(target).write_text(json.dumps(found), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
