"""Where nbprod keeps what it can compute again: the user's cache folder
(platformdirs: ``~/.cache/nbprod`` on Linux, ``XDG_CACHE_HOME`` honoured), where
black and ruff keep theirs; never beside the notebook or in the project."""

from __future__ import annotations

from pathlib import Path

import platformdirs


def user_cache(kind: str) -> Path:
    """The folder of one kind of cached result (not made here: a cache that
    cannot be written is no cache, and each user says so by catching OSError)."""
    return Path(platformdirs.user_cache_dir("nbprod")) / kind
