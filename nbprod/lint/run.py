"""``nbprod lint`` from paths to a result: find the notebooks, analyse those the
cache does not know (in worker processes when there are many), run ruff on the
readable ones meanwhile, and keep the findings selected and not suppressed."""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbprod.errors import NbprodError, NotebookError
from nbprod.lint.cache import FindingsCache
from nbprod.lint.config import LintConfig
from nbprod.lint.finding import Finding, Settings
from nbprod.lint.noqa import noqa_codes, suppressed
from nbprod.lint.report import LintResult, Reported
from nbprod.lint.ruff import ruff_findings, start_ruff
from nbprod.notebook import read_bytes

# Below this many notebooks to analyse, starting worker processes costs more than
# it saves.
PARALLEL_FROM = 16


def lint(
    paths: Sequence[Path], config: LintConfig, cache: FindingsCache | None = None
) -> LintResult:
    """Lint every notebook in ``paths``: nbprod's rules, then ruff's findings."""
    files, errors = notebook_files(paths)
    entries: dict[Path, dict[str, Any]] = {}
    digests: dict[Path, str] = {}
    for path in files:
        try:
            digests[path] = hashlib.sha256(read_bytes(path)).hexdigest()
        except NotebookError as exc:
            errors.append(str(exc))
            continue
        cached = cache.get(digests[path]) if cache else None
        if cached is not None:
            entries[path] = cached
    missing = [p for p in digests if p not in entries]
    for path, entry in zip(
        missing, _analyse_all(missing, config.settings), strict=True
    ):
        if isinstance(entry, str):
            errors.append(entry)
            continue
        entries[path] = entry
        if cache:
            cache.put(digests[path], entry)
    entries = {p: entries[p] for p in files if p in entries}  # in the order given
    # Ruff sees only notebooks nbprod could read: a file refused as bad input gets
    # one error line, and nothing (not even a .ruff_cache) is written for it.
    readable = list(entries)
    proc = start_ruff(readable) if readable and config.runs_ruff else None
    reported = [
        Reported(str(path), Finding(*f))
        for path, entry in entries.items()
        for f in entry["findings"]
    ]
    if proc is not None:
        names = {os.path.realpath(p): str(p) for p in readable}
        found, failed = ruff_findings(proc, readable, names)
        reported += found
        errors += failed
    by_name = {str(p): e for p, e in entries.items()}
    kept = [
        r
        for r in reported
        if config.wants(r.finding.code)
        and not suppressed(r.finding, _noqa(by_name[r.path], r.finding.cell))
    ]
    return LintResult(sorted(kept), errors, len(files))


def notebook_files(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The notebooks named or found under folders named (hidden folders and
    checkpoints skipped), and an error line for each path that does not exist."""
    files: list[Path] = []
    errors: list[str] = []
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*.ipynb")):
                parts = found.relative_to(path).parts
                if not any(p.startswith(".") for p in parts[:-1]):
                    files.append(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(f"{path}: no such file")
    return files, errors


def _analyse(path: Path, settings: Settings) -> dict[str, Any]:
    """nbprod's findings on one notebook and its noqa comments, as cached."""
    # Imported here, not with this module: a run answered from the cache needs no
    # rule (and no nbformat).
    from nbprod.lint.rules import check_notebook
    from nbprod.notebook import cell_source, decode, notebook_json

    # Nested calls: the bytes and the text are freed as soon as each is parsed.
    nb = notebook_json(decode(read_bytes(path), str(path)), str(path))
    noqa = {}
    for number, cell in enumerate(nb.get("cells", []), start=1):
        source = cell_source(cell)
        if "nbprod" in source:
            codes = noqa_codes(source.splitlines())
            noqa[str(number)] = {
                str(k): None if v is None else sorted(v) for k, v in codes.items()
            }
    findings = [
        [f.cell, f.line, f.col, f.code, f.message, f.whole_cell]
        for f in check_notebook(nb, settings)
    ]
    return {"findings": findings, "noqa": noqa}


def _noqa(entry: dict[str, Any], cell: int) -> dict[int, frozenset[str] | None]:
    lines = entry["noqa"].get(str(cell), {})
    return {int(k): None if v is None else frozenset(v) for k, v in lines.items()}


def _analyse_file(path: Path, settings: Settings) -> dict[str, Any] | str:
    """The cache entry for one notebook, or the one-line error saying why it
    cannot be read (a string: it crosses a process boundary)."""
    try:
        return _analyse(path, settings)
    except NotebookError as exc:
        return str(exc)
    except NbprodError as exc:
        return f"{path}: {exc}"


def _analyse_all(paths: list[Path], settings: Settings) -> list[dict[str, Any] | str]:
    workers = min(os.cpu_count() or 1, 8)
    if len(paths) < PARALLEL_FROM or workers < 2:
        return [_analyse_file(p, settings) for p in paths]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    # fork: the workers start with nbprod, and the rules, already imported.
    if "fork" not in multiprocessing.get_all_start_methods():
        return [_analyse_file(p, settings) for p in paths]
    importlib.import_module("nbprod.lint.rules")
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        chunk = max(1, len(paths) // (workers * 4))
        job = partial(_analyse_file, settings=settings)
        return list(pool.map(job, paths, chunksize=chunk))
