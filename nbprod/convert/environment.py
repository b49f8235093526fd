"""What the machine decides about a generated project, not the notebook: the Python
it requires, the versions it pins, nbprod's own version and the generation date.

:func:`gather` is the only function here that looks at the machine (installed
distributions, the Python running, ``SOURCE_DATE_EPOCH``); the edge calls it once
and hands the frozen :class:`Environment` to the pure steps, so a fixed one gives
the same project on every machine.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from types import MappingProxyType

from nbprod import __version__

# What every generated project imports, whatever the notebook does: config.py reads
# YAML, the pipeline saves artifacts with joblib.
# pandas and pandera: every project reads new rows and checks them against its data contract.
ALWAYS_IMPORTED = ("yaml", "joblib", "pandas", "pandera")
# The dev extra's pins; ruff's and black's versions are also the hook revisions.
DEV_TOOLS = ("black", "pytest", "ruff")
# Import names whose distribution is named differently: tried before scanning every
# installed distribution, and named when the distribution is not installed here.
KNOWN_DISTRIBUTIONS = MappingProxyType(
    {
        "sklearn": "scikit-learn",
        "yaml": "pyyaml",
        "cv2": "opencv-python",
        "PIL": "pillow",
    }
)


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted(mapping.items())))


@dataclass(frozen=True)
class Environment:
    """The versions and date a project is generated with; gathered once at the edge."""

    python: str  # "3.11": the project's requires-python and CI's Python
    nbprod: str  # named in the README, the model card and the report
    # import name -> the installed distribution that provides it
    distributions: Mapping[str, str] = field(default_factory=dict)
    # distribution -> installed version (absent: not installed, not pinned)
    versions: Mapping[str, str] = field(default_factory=dict)
    # "2026-01-31T12:00:00Z" from SOURCE_DATE_EPOCH, or "": no date keeps every
    # conversion of the same notebook byte-identical.
    generated_at: str = ""

    def __post_init__(self) -> None:
        # Read-only views: a frozen value whose dicts change is not frozen.
        object.__setattr__(self, "distributions", _frozen(self.distributions))
        object.__setattr__(self, "versions", _frozen(self.versions))

    def distribution(self, root: str) -> str:
        """The distribution that provides the top-level module ``root``."""
        return self.distributions.get(root) or KNOWN_DISTRIBUTIONS.get(root, root)

    def pinned(self, distribution: str) -> str:
        """``NAME==VERSION`` when installed, else the bare name."""
        version = self.versions.get(distribution)
        return f"{distribution}=={version}" if version else distribution


def third_party(roots: Iterable[str]) -> list[str]:
    """The top-level modules of ``roots`` (and those every project imports) that
    come from a distribution: not the standard library, not private."""
    stdlib = set(sys.stdlib_module_names)
    return sorted(
        r
        for r in set(roots) | set(ALWAYS_IMPORTED)
        if r not in stdlib and not r.startswith("_")
    )


def dependencies(
    roots: Iterable[str], extra: Iterable[str], env: Environment
) -> list[str]:
    """The project's requirements: a distribution for each imported top-level
    module, pinned to ``env``'s version; then ``extra`` (``!pip install`` lines),
    unless it names one already there. Sorted by name, case-insensitively."""
    found: dict[str, str] = {}
    for root in third_party(roots):
        dist = env.distribution(root)
        found[dist.lower()] = env.pinned(dist)
    for requirement in extra:
        name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]
        found.setdefault(name.lower(), requirement)
    return [found[k] for k in sorted(found)]


def date_from_epoch(epoch: str) -> str:
    """``SOURCE_DATE_EPOCH`` (seconds) as an ISO date in UTC; "" unless digits."""
    if not epoch.isdigit():
        return ""
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def gather(roots: Iterable[str]) -> Environment:
    """The environment of this machine for a notebook importing ``roots``: the
    distributions providing them, their versions and the dev tools', this Python,
    this nbprod, and ``SOURCE_DATE_EPOCH``. Reads only what those need."""
    distributions: dict[str, str] = {}
    versions: dict[str, str] = {}
    for root in third_party(roots):
        found = _provider(root)
        if found is not None:
            distributions[root], versions[found[0]] = found
    for tool in DEV_TOOLS:
        version = _installed_version(tool)
        if version is not None:
            versions[tool] = version
    return Environment(
        python=f"{sys.version_info.major}.{sys.version_info.minor}",
        nbprod=__version__,
        distributions=distributions,
        versions=versions,
        generated_at=date_from_epoch(os.environ.get("SOURCE_DATE_EPOCH", "")),
    )


def _installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _provider(root: str) -> tuple[str, str] | None:
    """(name, version) of the installed distribution providing ``root``, or None.

    The distribution named like the module (or as KNOWN_DISTRIBUTIONS says) is
    looked up directly; only when neither provides an importable ``root`` are all
    installed distributions scanned (0.1 to 0.8 s, against about 2 ms a lookup).
    A module not importable here is provided by nothing installed: no scan.
    """
    for candidate in dict.fromkeys((root, KNOWN_DISTRIBUTIONS.get(root, root))):
        try:
            dist = metadata.distribution(candidate)
        except metadata.PackageNotFoundError:
            continue
        if _provides(dist, root):
            return dist.metadata["Name"], dist.version
    if not _importable(root):
        return None
    names = _all_providers().get(root)
    if not names:
        return None
    # Several for a namespace package (``google``): the first by name, as before.
    dist = metadata.distribution(sorted(names)[0])
    return dist.metadata["Name"], dist.version


def _importable(root: str) -> bool:
    # find_spec of a top-level name looks for it without importing it.
    try:
        return importlib.util.find_spec(root) is not None
    except (ImportError, ValueError):
        return False


def _provides(dist: metadata.Distribution, root: str) -> bool:
    """Whether ``dist`` installs the top-level module ``root``: its
    ``top_level.txt`` says so when it has one; without one, its name is the evidence."""
    top_level = dist.read_text("top_level.txt")
    return top_level is None or root in top_level.split()


@lru_cache(maxsize=1)
def _all_providers() -> Mapping[str, list[str]]:
    # Scans every installed distribution: only for modules named unlike theirs.
    return metadata.packages_distributions()
