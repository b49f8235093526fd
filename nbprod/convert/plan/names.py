"""Readable, safe Python names for what the notebook calls things."""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from collections.abc import Sequence
from collections.abc import Set as AbstractSet


def safe_identifier(
    text: str, *, avoid: AbstractSet[str] = frozenset(), fallback: str = "pipeline"
) -> str:
    """An ASCII snake_case identifier for ``text`` that is not a keyword or in ``avoid``."""
    # Accents go, letters stay: "Übersicht" -> "ubersicht", not "bersicht".
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    name = re.sub(r"_+", "_", name) or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or name in avoid:
        name = f"{name}_pipeline" if fallback == "pipeline" else f"{name}_{fallback}"
    return name


def package_name(notebook_name: str, imported: set[str]) -> str:
    """A package name from the notebook's name that shadows no module it imports."""
    avoid = set(sys.stdlib_module_names) | imported | {"test", "tests", "src", "config"}
    return safe_identifier(notebook_name, avoid=avoid)


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def unique_name(name: str, taken: AbstractSet[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... the first not in ``taken``."""
    if name not in taken:
        return name
    i = 2
    while f"{name}_{i}" in taken:
        i += 1
    return f"{name}_{i}"


def cells_text(numbers: Sequence[int]) -> str:
    """``cell 3`` or ``cells 3, 4, 7``; ``no cells``."""
    if not numbers:
        return "no cells"
    return ("cell " if len(numbers) == 1 else "cells ") + ", ".join(map(str, numbers))
