"""Glob patterns in the paths a notebook reads: where a pattern matches from.
Without libcst, so that the CLI's start-up does not pay for it."""

from __future__ import annotations

import posixpath
import re

# What makes a part of a path a glob pattern (as ``glob`` decides it).
_MAGIC = re.compile(r"[*?[]")


def split_pattern(pattern: str) -> tuple[str, str]:
    """The folder a glob pattern matches in (its parts before the first with a
    wildcard; "." for none) and the pattern under it: ("data/parts", "*.csv")."""
    parts = posixpath.normpath(pattern).split("/")
    first = next((i for i, p in enumerate(parts) if _MAGIC.search(p)), len(parts) - 1)
    folder = "/".join(parts[:first]) or ("/" if pattern.startswith("/") else ".")
    return folder, "/".join(parts[first:])
