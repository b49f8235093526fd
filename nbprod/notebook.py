"""Read a notebook file into plain values: the only module that reads notebooks."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbprod.errors import NotebookError

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

PYTHON_LANGUAGES = {"python", "python2", "python3", "ipython", "ipython3"}


@dataclass(frozen=True)
class Cell:
    """One notebook cell, numbered from 1 as a reader counts them."""

    number: int
    cell_type: str
    source: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notebook:
    """What nbprod needs from a notebook: its cells and where it lives."""

    path: str
    name: str
    cells: tuple[Cell, ...]
    kernel: str = "python3"
    language: str = "python"
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    # The file's sha256, from the bytes read once (the card and the report name it).
    sha256: str = ""

    @property
    def code_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.cell_type == "code")


def decode(raw: bytes, path: str) -> str:
    """Notebook file bytes as text (UTF-8, with or without a BOM), or NotebookError."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(
            f"not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})",
            where=path,
            hint="re-save the notebook from Jupyter, which writes UTF-8",
        ) from None
    return text


def _language(meta: dict[str, Any]) -> tuple[str, str]:
    spec = meta.get("kernelspec") or {}
    info = meta.get("language_info") or {}
    language = str(spec.get("language") or info.get("name") or "python").lower()
    return str(spec.get("name") or "python3"), language


def _check_language(meta: dict[str, Any], path: str) -> tuple[str, str]:
    kernel, language = _language(meta)
    if language not in PYTHON_LANGUAGES:
        raise NotebookError(
            f"the notebook's kernel is {language!r} ({' '.join(kernel.split())!r}); "
            "nbprod reads Python notebooks only",
            where=path,
        )
    return kernel, language


def _json(text: str, path: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise NotebookError(
            (
                f"not valid notebook JSON ({exc.__class__.__name__}: {exc})"
                if not isinstance(exc, RecursionError)
                else "not valid notebook JSON (nested too deeply)"
            ),
            where=path,
        ) from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise NotebookError("not a Jupyter notebook (no cells)", where=path)
    return data


@contextmanager
def _nbformat_quiet() -> Iterator[None]:
    """nbformat logs each schema error with the whole cell (a secret in it too);
    nbprod reports the problem itself, in one line."""
    log = logging.getLogger("traitlets")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


# nbformat is imported where it is used: it costs 45 ms, and ``nbprod lint`` reads
# only file bytes for notebooks whose findings it has cached.


def _invalid(exc: Exception, path: str) -> NotebookError:
    import nbformat

    if isinstance(exc, (nbformat.ValidationError, ValueError)):
        message = getattr(exc, "message", None) or str(exc).split("\n", 1)[0]
        return NotebookError(
            f"invalid notebook: {message}",
            where=path,
            hint="open and re-save it in Jupyter",
        )
    # nbformat raises many types on malformed input
    return NotebookError(
        f"not a readable notebook ({exc.__class__.__name__})", where=path
    )


def _schema_minor(data: dict[str, Any]) -> int:
    minor = data.get("nbformat_minor")
    return minor if isinstance(minor, int) and 0 <= minor <= 5 else 5


def _check_v4_schema(data: dict[str, Any], path: str) -> None:
    """Check the raw JSON against nbformat's schema, before nbformat reads it:
    nbformat.reads and nbformat.validate crash (TypeError) on some invalid
    notebooks, and only log others."""
    minor = _schema_minor(data)
    cells = data.get("cells")
    if minor >= 5 and isinstance(cells, list):
        # Cell ids are new in 4.5 and often missing; Jupyter adds them on save.
        for i, cell in enumerate(cells):
            if isinstance(cell, dict) and "id" not in cell:
                cell["id"] = f"nbprod-{i + 1}"
    validate = _v4_validator(minor)
    try:
        if validate is None:
            from nbformat.validator import get_validator

            get_validator(version=4, version_minor=minor).validate(data)
        else:
            validate(data)
    except Exception:  # noqa: BLE001 - the jsonschema pass below says what is wrong
        raise _schema_error(data, minor, path) from None


@cache
def _v4_validator(minor: int) -> Callable[[Any], Any] | None:
    """nbformat's own v4.``minor`` schema compiled with fastjsonschema, as
    nbformat's default validator does, but without importing nbformat: its import
    (jsonschema, traitlets) was a third of linting one notebook. None when the
    schema file is not where nbformat keeps it, and nbformat's validator is used."""
    spec = importlib.util.find_spec("nbformat")
    folders = spec.submodule_search_locations if spec else None
    if not folders:
        return None
    schema = Path(folders[0]) / "v4" / f"nbformat.v4.{minor}.schema.json"
    try:
        import fastjsonschema

        return fastjsonschema.compile(json.loads(schema.read_bytes()))
    except (ImportError, OSError, ValueError):
        return None


def _schema_error(data: dict[str, Any], minor: int, path: str) -> NotebookError:
    """What is wrong, and where, in a notebook the schema rejects. The fast
    validator only says "data.cells[3] must be valid exactly by one definition";
    jsonschema's errors say which field of which cell, once the branch of the
    cell's (or output's) own type is followed."""
    from jsonschema.exceptions import best_match
    from nbformat.validator import get_validator

    error = best_match(
        get_validator(version=4, version_minor=minor, name="jsonschema").iter_errors(
            data
        )
    )
    if error is None:
        return NotebookError("invalid notebook", where=path)
    while error.context:
        branches: dict[object, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0], []).append(sub)
        own_type = [
            errors
            for errors in branches.values()
            if not any(
                {"cell_type", "output_type"} & set(map(str, e.relative_path))
                or "_type' is a required" in e.message
                for e in errors
            )
        ]
        if len(own_type) != 1:
            break
        error = best_match(own_type[0])
    parts = list(error.absolute_path)
    where = "the notebook"
    if len(parts) >= 2 and parts[0] == "cells" and isinstance(parts[1], int):
        where = f"cell {parts[1] + 1}"
        parts = parts[2:]
    field_path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    if error.validator in ("oneOf", "anyOf"):
        message = f"{field_path.lstrip('.') or 'it'} has an unexpected form"
    else:
        # Values can be long (a whole cell): the message names the field instead.
        message = (
            error.message if len(error.message) <= 100 else error.message[:97] + "..."
        )
        message = f"{field_path.lstrip('.')}: {message}" if field_path else message
    return NotebookError(
        f"invalid notebook: {where}: {message}",
        where=path,
        hint="open and re-save it in Jupyter",
    )


def cell_source(cell: dict[str, Any]) -> str:
    """A cell's source as one string with LF line ends (sources saved on Windows
    keep CRLF; cells are parsed with LF only)."""
    # The schema allows a string or a list of lines, nothing else.
    source: str | list[str] = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    return source.replace("\r\n", "\n").replace("\r", "\n")


def parse_notebook(text: str, path: str, sha256: str | None = None) -> Notebook:
    """Turn notebook JSON text into a :class:`Notebook`, or raise NotebookError.
    Outputs are not kept: conversion never reads them. ``sha256`` is the file's
    hash (default: that of ``text`` as UTF-8, for notebooks made in memory)."""
    if sha256 is None:
        sha256 = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    data = notebook_json(text, path)
    del text
    metadata = data.get("metadata") or {}
    kernel, language = _language(metadata)
    cells = []
    for number, cell in enumerate(data["cells"], start=1):
        tags = (cell.get("metadata") or {}).get("tags") or []
        cells.append(
            Cell(
                number,
                cell["cell_type"],
                cell_source(cell),
                tuple(str(t) for t in tags),
            )
        )
    return Notebook(
        path=path,
        name=Path(path).stem,
        cells=tuple(cells),
        kernel=kernel,
        language=language,
        metadata=dict(metadata),
        sha256=sha256,
    )


def notebook_json(text: str, path: str) -> dict[str, Any]:
    """Notebook JSON text as a schema-checked v4 dict, outputs and execution counts
    included, or NotebookError. Lighter than :func:`parse_notebook`: v4 notebooks
    are checked against the schema once and not copied; older ones are upgraded
    by nbformat."""
    data = _json(text, path)
    del text  # a notebook of hundreds of MB is held once, as data, not twice
    try:
        with warnings.catch_warnings(), _nbformat_quiet():
            warnings.simplefilter("ignore")
            if data.get("nbformat") == 4:
                _check_v4_schema(data, path)
            else:
                import nbformat

                nb = nbformat.reads(json.dumps(data), as_version=4)
                nbformat.validate(nb)
                data = json.loads(nbformat.writes(nb))
    except NotebookError:
        raise
    except Exception as exc:
        raise _invalid(exc, path) from None
    _check_language(data.get("metadata") or {}, path)
    return data


def read_bytes(path: str | Path) -> bytes:
    """The bytes of the notebook file at ``path``, or NotebookError."""
    p = Path(path)
    if not p.exists():
        raise NotebookError("no such file", where=str(path))
    if not p.is_file():
        raise NotebookError("not a file", where=str(path))
    try:
        return p.read_bytes()
    except OSError as exc:
        raise NotebookError(f"cannot read ({exc.strerror})", where=str(path)) from None


def read_notebook(path: str | Path) -> Notebook:
    """Read and validate the notebook at ``path``, hashed from the same bytes."""
    held = [read_bytes(path)]
    digest = hashlib.sha256(held[0]).hexdigest()
    # Popped, not kept in a variable: the bytes go once decoded and the text once
    # parsed (parse_notebook drops it), so a notebook of hundreds of MB is held once.
    return parse_notebook(decode(held.pop(), str(path)), str(path), digest)
