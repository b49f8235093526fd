"""nbprod's findings per notebook content, kept in ``.nbprod_cache/``."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from nbprod import __version__
from nbprod.lint.finding import Settings


class FindingsCache:
    """nbprod's findings per notebook content, in ``.nbprod_cache/`` like ruff's
    ``.ruff_cache/``: a pre-commit hook mostly sees notebooks it has seen before.
    Entries are keyed by the file's sha256 and live under a folder named for
    nbprod's version, the rules' source and the settings; each is written whole
    (temporary file, then rename), so parallel hook processes never see half one."""

    def __init__(self, root: Path, settings: Settings) -> None:
        h = hashlib.sha256(f"{__version__} {settings}".encode())
        for source in rules_source():
            h.update(f"{source.name}\n".encode())
            h.update(source.read_bytes())
        self.top = root / ".nbprod_cache"
        self.folder = self.top / f"lint-{h.hexdigest()[:16]}"

    def get(self, digest: str) -> dict[str, Any] | None:
        try:
            entry: dict[str, Any] = json.loads(
                (self.folder / f"{digest}.json").read_bytes()
            )
            return entry
        except (OSError, ValueError):
            return None

    def put(self, digest: str, entry: dict[str, Any]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.top / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# made by nbprod lint\n*\n", encoding="utf-8")
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(entry, f)
            os.replace(tmp, self.folder / f"{digest}.json")
        except OSError:
            pass  # a read-only checkout lints without a cache


def rules_source() -> list[Path]:
    """The files whose code decides the findings cached: every module of the rules
    package (a new rule module too), the finding and noqa modules, the secret
    detector and the known APIs. Found beside this file, not imported: a run
    answered from the cache needs none of them."""
    lint = Path(__file__).parent
    return [
        *sorted((lint / "rules").glob("*.py")),
        lint / "finding.py",
        lint / "noqa.py",
        lint.parent / "secrets.py",
        lint.parent / "known_apis.py",
    ]
