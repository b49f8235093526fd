"""Write the generated tree: built in a temporary folder beside the target, then
moved into place, so a failure half-way never leaves partial output."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path, PurePosixPath

from nbprod.errors import InternalError, OutputError

# A run killed between moving the old tree aside and moving the new one in leaves
# the target absent and the old tree here; staging folders of killed runs are
# partial trees of nbprod's own.
_OLD = ".{name}.old-"
_STAGING = ".{name}.nbprod-"
STALE_SECONDS = 600


def recover_interrupted(target: Path) -> None:
    """Put back a tree an interrupted run moved aside, and remove the partial
    trees of runs killed while writing (older than ``STALE_SECONDS``)."""
    parent = target.parent
    if not parent.is_dir():
        return
    if not target.exists() and not target.is_symlink():
        moved = [
            p / "tree"
            for p in parent.glob(_OLD.format(name=target.name) + "*")
            if (p / "tree").is_dir()
        ]
        if moved:
            latest = max(moved, key=lambda p: p.stat().st_mtime)
            os.replace(latest, target)
            shutil.rmtree(latest.parent, ignore_errors=True)
    now = time.time()
    for p in parent.glob(_STAGING.format(name=target.name) + "*"):
        if (
            p.is_dir()
            and not p.is_symlink()
            and now - p.stat().st_mtime > STALE_SECONDS
        ):
            shutil.rmtree(p, ignore_errors=True)


def check_target(target: Path, *, force: bool, inputs: list[Path]) -> None:
    """Refuse targets that would lose the user's files."""
    resolved = target.resolve()
    for path in inputs:
        src = path.resolve()
        if resolved == src or resolved == src.parent or src.is_relative_to(resolved):
            raise OutputError(
                "the output folder would contain or replace the notebook",
                where=str(target),
                hint="choose another -o folder",
            )
    for parent in [target, *target.parents]:
        if parent.is_symlink():
            raise OutputError(
                "the output path goes through a symbolic link", where=str(target)
            )
    recover_interrupted(target)
    if target.exists() and not target.is_dir():
        raise OutputError("exists and is not a folder", where=str(target))
    if target.exists() and any(target.iterdir()) and not force:
        raise OutputError(
            "the output folder exists and is not empty",
            where=str(target),
            hint="pass --force to replace it",
        )


def check_compiles(files: dict[str, str | bytes]) -> None:
    """Raise InternalError if a ``.py`` file of ``files`` does not compile: nbprod
    never writes a project it cannot import, whatever the flags."""
    for rel, text in sorted(files.items()):
        if not rel.endswith(".py"):
            continue
        try:
            compile(text, rel, "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise InternalError(
                f"generated code does not compile: line {exc.lineno}: {exc.msg}",
                where=rel,
            ) from None
        except (ValueError, RecursionError, MemoryError) as exc:
            raise InternalError(
                f"generated code does not compile ({exc.__class__.__name__})",
                where=rel,
            ) from None


def scratch_copy(target: Path, files: dict[str, str | bytes]) -> Path:
    """The tree in a temporary folder beside ``target`` (so relative paths in its
    config resolve as they will from ``target``); the caller removes it."""
    check_compiles(files)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.nbprod-check-", dir=target.parent)
    )
    for rel, text in files.items():
        path = scratch.joinpath(*PurePosixPath(rel).parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return scratch


def write_tree(target: Path, files: dict[str, str | bytes]) -> None:
    """Write ``files`` (relative POSIX paths) as the whole content of ``target``."""
    check_compiles(files)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=_STAGING.format(name=target.name), dir=parent)
    )
    try:
        for rel, text in sorted(files.items()):
            pure = PurePosixPath(rel)
            if pure.is_absolute() or ".." in pure.parts:
                raise OutputError(f"refusing to write outside the output folder: {rel}")
            path = staging.joinpath(*pure.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                with open(path, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write(text)
        old = None
        if target.exists():
            old = Path(
                tempfile.mkdtemp(prefix=_OLD.format(name=target.name), dir=parent)
            )
            os.replace(target, old / "tree")
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
