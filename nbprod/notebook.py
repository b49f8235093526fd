"""Read a notebook file into plain values: the only module that reads notebooks."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.validator import get_validator

from nbprod.errors import NotebookError

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
    metadata: dict = field(default_factory=dict, compare=False)

    @property
    def code_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.cell_type == "code")


def _decode(raw: bytes, path: str) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(
            f"not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})",
            where=path,
            hint="re-save the notebook from Jupyter, which writes UTF-8",
        ) from None
    return text


def _language(nb: nbformat.NotebookNode) -> tuple[str, str]:
    meta = nb.get("metadata", {})
    spec = meta.get("kernelspec") or {}
    info = meta.get("language_info") or {}
    language = str(spec.get("language") or info.get("name") or "python").lower()
    return str(spec.get("name") or "python3"), language


def parse_notebook(text: str, path: str) -> Notebook:
    """Turn notebook JSON text into a :class:`Notebook`, or raise NotebookError."""
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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if data.get("nbformat") == 4:
                # Check the raw JSON against nbformat's schema first: nbformat.reads
                # and nbformat.validate crash (TypeError) on some invalid notebooks.
                minor = data.get("nbformat_minor")
                schema_minor = (
                    minor if isinstance(minor, int) and 0 <= minor <= 5 else 5
                )
                get_validator(version=4, version_minor=schema_minor).validate(data)
            nb = nbformat.reads(json.dumps(data), as_version=4)
            nbformat.validate(nb)
    except (nbformat.ValidationError, ValueError) as exc:
        message = getattr(exc, "message", None) or str(exc).split("\n", 1)[0]
        raise NotebookError(
            f"invalid notebook: {message}",
            where=path,
            hint="open and re-save it in Jupyter",
        ) from None
    except Exception as exc:  # nbformat raises many types on malformed input
        raise NotebookError(
            f"not a readable notebook ({exc.__class__.__name__})", where=path
        ) from None
    kernel, language = _language(nb)
    if language not in PYTHON_LANGUAGES:
        raise NotebookError(
            f"the notebook's kernel is {language!r} ({kernel}); nbprod converts Python notebooks only",
            where=path,
        )
    cells = []
    for number, cell in enumerate(nb.cells, start=1):
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        # Sources saved on Windows keep CRLF; cells are parsed with LF only.
        source = source.replace("\r\n", "\n").replace("\r", "\n")
        tags = cell.get("metadata", {}).get("tags", []) or []
        cells.append(Cell(number, cell.cell_type, source, tuple(str(t) for t in tags)))
    stem = Path(path).stem
    return Notebook(
        path=path,
        name=stem,
        cells=tuple(cells),
        kernel=kernel,
        language=language,
        metadata=dict(nb.get("metadata", {})),
    )


def read_notebook(path: str | Path) -> Notebook:
    """Read and validate the notebook at ``path``."""
    p = Path(path)
    if not p.exists():
        raise NotebookError("no such file", where=str(path))
    if not p.is_file():
        raise NotebookError("not a file", where=str(path))
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise NotebookError(f"cannot read ({exc.strerror})", where=str(path)) from None
    return parse_notebook(_decode(raw, str(path)), str(path))
