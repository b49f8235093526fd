"""black and ruff over the generated Python files."""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import tempfile
from importlib.metadata import version
from pathlib import Path

from ruff.__main__ import find_ruff_bin

from nbprod.cache import user_cache
from nbprod.errors import InternalError, NbprodError

# The black options of every generated file; part of the formatting cache's key.
BLACK_TARGET = "PY310"
# Import sorting, plus fixes for what notebook code commonly trips in ruff's default
# rules; each keeps behaviour (an unused ``x = f()`` keeps the call ``f()``).
RUFF_FIXES = "I,F401,F541,F841,E711,E712,E713,E714,E731"


def format_sources(files: dict[str, str]) -> dict[str, str]:
    """Apply ruff's fixes, then black, to every ``.py`` file of ``files``."""
    python = {path: text for path, text in files.items() if path.endswith(".py")}
    if not python:
        return dict(files)
    fixed = _ruff_fix(python, files.get("pyproject.toml", ""))
    out = dict(files)
    for path, text in fixed.items():
        out[path] = black_format(text, where=path)
    return out


def black_format(text: str, where: str) -> str:
    """``text`` as black formats it for a generated project (``where`` names the
    file in an error), from the cache when black has formatted it before."""
    cache = _cache()
    formatted = cache.get(text)
    if formatted is None:
        formatted = cache.put(text, _black(where, text))
    return formatted


@functools.cache
def _cache() -> BlackCache:
    return BlackCache()


def _black(path: str, text: str) -> str:
    # Imported on a miss only: a conversion the cache answers never loads black.
    import black

    mode = black.Mode(target_versions={black.mode.TargetVersion[BLACK_TARGET]})
    try:
        return black.format_str(text, mode=mode)
    except black.parsing.InvalidInput as exc:  # a bug in generation, not the notebook's
        raise InternalError(
            f"generated code does not parse ({exc})", where=path
        ) from None


class BlackCache:
    """What black made of a source, by the source's sha256, in the user's cache
    folder (:func:`nbprod.cache.user_cache`): converting again, and the files most
    projects share, skip black, which was half of a conversion's time. One folder
    per black version and target; each entry written whole (temporary file, then
    rename), so parallel conversions never read half of one. A cache that cannot
    be written (a read-only home) is no cache, not an error."""

    def __init__(self) -> None:
        self.folder = user_cache(f"black-{version('black')}-{BLACK_TARGET}")

    def _entry(self, text: str) -> Path:
        return self.folder / f"{hashlib.sha256(text.encode()).hexdigest()}.py"

    def get(self, text: str) -> str | None:
        try:
            return self._entry(text).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def put(self, text: str, formatted: str) -> str:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(formatted)
            os.replace(tmp, self._entry(text))
        except OSError:
            pass
        return formatted


def _ruff_fix(files: dict[str, str], pyproject: str) -> dict[str, str]:
    # One ruff run over a scratch copy of the tree: ruff needs the files' places
    # (first-party imports) and the project's settings to sort imports as it will check them.
    with tempfile.TemporaryDirectory(prefix="nbprod-ruff-") as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        result = subprocess.run(
            [
                # the binary itself: `python -m ruff` would start an interpreter
                # only to find it
                os.fsdecode(find_ruff_bin()),
                "check",
                "--fix-only",
                "--unsafe-fixes",
                "--select",
                RUFF_FIXES,
                "--exit-zero",
                "--quiet",
                "--no-cache",
                ".",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise NbprodError(
                f"ruff failed on the generated code: {result.stderr.strip()}"
            )
        return {rel: (root / rel).read_text(encoding="utf-8") for rel in files}
