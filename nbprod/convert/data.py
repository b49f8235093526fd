"""Which input files travel with the project, and where they go in it.

The notebook's inputs (files it reads that exist beside it and that no cell
writes) are copied into the project's ``data/`` folder when they total at most
the limit, so the project runs in its own repository; otherwise, or when asked,
config.yaml points at them where they are, relative to the project. This module
reads the files (sizes, sha256, bytes): the I/O at the edge of the pure plan.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the CLI reads the modes at start-up: no libcst for that
    from nbprod.convert.plan import DataFile

DataMode = Literal["copy", "reference"]
DATA_MODES: tuple[DataMode, ...] = ("copy", "reference")
# Above this, copying the inputs would make the project a data store: reference.
DEFAULT_LIMIT = 50 * 1024 * 1024
DATA_FOLDER = "data"


@dataclass(frozen=True)
class InputData:
    """The notebook's input files, where config.yaml points for each (as the
    notebook names it), and the bytes of those copied, by project path."""

    files: tuple[DataFile, ...]
    targets: dict[str, str]
    contents: dict[str, bytes]
    referenced: str  # why they are not copied ("" when they are)


def input_data(
    notebook_dir: Path,
    sources: Iterable[str],
    *,
    mode: DataMode,
    limit: int,
    relative_dir: str,
) -> InputData:
    """The files ``sources`` names (relative to ``notebook_dir``, each a file or a
    folder of files), copied when ``mode`` is "copy" and they total at most
    ``limit`` bytes; else referenced through ``relative_dir`` (the notebook's
    folder, relative to the project)."""
    from nbprod.convert.plan import DataFile

    found: list[tuple[str, str, bytes]] = []  # (source, file under it, bytes)
    for source in sorted(set(sources)):
        path = notebook_dir / source
        if path.is_file():
            found.append((source, source, path.read_bytes()))
        elif path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                name = posixpath.join(source, file.relative_to(path).as_posix())
                found.append((source, name, file.read_bytes()))
    total = sum(len(data) for _, _, data in found)
    referenced = ""
    if mode == "reference":
        referenced = "--data reference"
    elif total > limit:
        referenced = (
            f"the inputs total {_megabytes(total)}, over the {_megabytes(limit)} "
            "limit for copying them"
        )
    targets: dict[str, str] = {}
    taken: set[str] = set()
    for source in dict.fromkeys(s for s, _, _ in found):
        if referenced:
            targets[source] = posixpath.normpath(posixpath.join(relative_dir, source))
        else:
            targets[source] = _unique(_in_data(source), taken)
            taken.add(targets[source])
    files = []
    contents: dict[str, bytes] = {}
    for source, name, data in found:
        target = posixpath.normpath(
            posixpath.join(targets[source], posixpath.relpath(name, source))
        )
        sha256 = hashlib.sha256(data).hexdigest()
        files.append(DataFile(name, target, len(data), sha256, not referenced))
        if not referenced:
            contents[target] = data
    return InputData(tuple(files), targets, contents, referenced)


def _in_data(source: str) -> str:
    """``data/x.csv`` for ``data/x.csv``, ``x.csv`` and ``../shared/data/x.csv``:
    the path under the notebook's folder, without ``..`` or a leading ``data``."""
    parts = [p for p in posixpath.normpath(source).split("/") if p not in ("..", ".")]
    if parts and parts[0] == DATA_FOLDER and len(parts) > 1:
        parts = parts[1:]
    return posixpath.join(DATA_FOLDER, *parts)


def _unique(path: str, taken: set[str]) -> str:
    stem, suffix = posixpath.splitext(path)
    candidate, n = path, 2
    while candidate in taken:
        candidate, n = f"{stem}-{n}{suffix}", n + 1
    return candidate


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"
