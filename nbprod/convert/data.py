"""Which input files travel with the project, and where they go in it.

The notebook's inputs (files it reads that exist beside it and that no cell
writes, and the files a glob pattern it reads by matches) are copied into the
project's ``data/`` folder when they total at most the limit, so the project runs
in its own repository; otherwise, or when asked, config.yaml points at them where
they are, relative to the project. This module reads the files (sizes, sha256,
bytes): the I/O at the edge of the pure plan.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from nbprod.globs import split_pattern

if TYPE_CHECKING:  # the CLI reads the modes at start-up: no libcst for that
    from nbprod.plan import DataFile

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
    patterns: Iterable[tuple[str, str]] = (),
    mode: DataMode,
    limit: int,
    relative_dir: str,
) -> InputData:
    """The files ``sources`` names (relative to ``notebook_dir``, each a file or a
    folder of files) and those the glob patterns of ``patterns`` match, copied
    when ``mode`` is "copy" and they total at most ``limit`` bytes; else
    referenced through ``relative_dir`` (the notebook's folder, relative to the
    project). ``patterns`` holds (path, pattern): the path the notebook names is
    the pattern itself (``glob.glob("data/*.csv")``) or the folder it starts with
    (``Path("data").glob("*.csv")``); config.yaml gets its target either way."""
    from nbprod.plan import DataFile

    found = _files_named(notebook_dir, sources)
    globs = [
        g
        for source, pattern in sorted(set(patterns))
        if (g := _glob(notebook_dir, source, pattern))
    ]
    total = sum(len(data) for _, _, data in found)
    total += sum(len(data) for g in globs for _, data in g.files)
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
    placed: set[tuple[str, str]] = set()  # (file, where it goes)
    for source, name, data in found:
        target = posixpath.normpath(
            posixpath.join(targets[source], posixpath.relpath(name, source))
        )
        sha256 = hashlib.sha256(data).hexdigest()
        files.append(DataFile(name, target, len(data), sha256, not referenced))
        placed.add((name, target))
        if not referenced:
            contents[target] = data
    # Folders whose files the pipeline lists or matches: nothing else goes in them.
    folders = [(s, targets[s]) for s in targets if (notebook_dir / s).is_dir()]
    for g in globs:
        if g.source in targets and g.rest:
            continue  # a file whose name looks like a pattern, read as a file too
        if referenced:
            folder = posixpath.normpath(posixpath.join(relative_dir, g.folder))
        elif g.source in targets:
            folder = targets[g.source]  # a folder the notebook also reads whole
        else:
            folder = _fitting_folder(g, placed, folders)
            folders.append((g.folder, folder))
        targets[g.source] = posixpath.join(folder, g.rest) if g.rest else folder
        for name, data in g.files:
            target = _placed(name, g.folder, folder)
            if (name, target) in placed:
                continue
            sha256 = hashlib.sha256(data).hexdigest()
            files.append(DataFile(name, target, len(data), sha256, not referenced))
            placed.add((name, target))
            if not referenced:
                contents[target] = data
    return InputData(tuple(files), targets, contents, referenced)


def _files_named(
    notebook_dir: Path, sources: Iterable[str]
) -> list[tuple[str, str, bytes]]:
    """(source, a file under it, its bytes) for each file ``sources`` names
    relative to ``notebook_dir``: the file itself, or every file in the folder."""
    found = []
    for source in sorted(set(sources)):
        path = notebook_dir / source
        if path.is_file():
            found.append((source, source, path.read_bytes()))
        elif path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                name = posixpath.join(source, file.relative_to(path).as_posix())
                found.append((source, name, file.read_bytes()))
    return found


@dataclass(frozen=True)
class _Glob:
    """The files a pattern matches, placed from ``folder`` (under which ``rest``
    matches them) as the notebook finds them from there."""

    source: str
    folder: str
    rest: str  # "" when ``source`` is the folder
    files: tuple[tuple[str, bytes], ...]


def _glob(notebook_dir: Path, source: str, pattern: str) -> _Glob | None:
    folder, rest = split_pattern(pattern)
    root = notebook_dir / folder
    if not root.is_dir():
        return None
    # pathlib's matching is a superset of glob.glob's, recursive or not (``**``
    # always recurses, ``*`` matches hidden files): the files the notebook's call
    # matches are among these, and the same call matches the same ones in the copy.
    wanted = f"{rest}/*" if rest.rsplit("/", 1)[-1] == "**" else rest
    try:
        matched = sorted(p for p in root.glob(wanted) if p.is_file())
    except (ValueError, NotImplementedError):  # a pattern pathlib refuses
        return None
    names = [
        posixpath.normpath(posixpath.join(folder, p.relative_to(root).as_posix()))
        for p in matched
    ]
    files = tuple((name, (notebook_dir / name).read_bytes()) for name in names)
    if not files:
        return None
    if source == pattern:
        return _Glob(source, folder, rest, files)
    return _Glob(source, source, "", files)


def _placed(name: str, folder: str, target: str) -> str:
    return posixpath.normpath(posixpath.join(target, posixpath.relpath(name, folder)))


def _fitting_folder(
    g: _Glob, placed: set[tuple[str, str]], folders: list[tuple[str, str]]
) -> str:
    """Where ``g``'s folder goes: as its files would go one by one, unless that
    folder would then hold a file from elsewhere (``x.csv`` and ``data/*.csv``
    both land in ``data/``) or one of ``g``'s files would land in another listed
    folder: then beside it, ``data/parts-2``."""
    first = posixpath.dirname(_in_data(posixpath.join(g.folder, "file")))
    candidate, n = first, 2
    while not _fits(g, candidate, placed, folders):
        candidate, n = f"{first}-{n}", n + 1
    return candidate


def _fits(
    g: _Glob, target: str, placed: set[tuple[str, str]], folders: list[tuple[str, str]]
) -> bool:
    def agrees(folder: str, folder_target: str, name: str, where: str) -> bool:
        # What lands in a folder the pipeline matches or lists must be the
        # notebook's file at the same place under the folder it read.
        if where != folder_target and not where.startswith(f"{folder_target}/"):
            return True
        return _placed(where, folder_target, folder) == posixpath.normpath(name)

    new = [(name, _placed(name, g.folder, target)) for name, _ in g.files]
    return all(agrees(g.folder, target, n, w) for n, w in placed) and all(
        agrees(f, t, n, w) for f, t in folders for n, w in new
    )


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
