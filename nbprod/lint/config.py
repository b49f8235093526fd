"""What ``nbprod lint`` checks: ``[tool.nbprod.lint]`` of the nearest
``pyproject.toml``, then the command line's ``--select`` and ``--ignore``."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nbprod.errors import NbprodError
from nbprod.lint.finding import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_CODE = re.compile(r"^[A-Z]+[0-9]*$")


class LintConfigError(NbprodError):
    """``[tool.nbprod.lint]`` or a command-line selection is not valid."""


@dataclass(frozen=True)
class LintConfig:
    """What to check: code prefixes selected and ignored, thresholds, ruff or not."""

    select: tuple[str, ...] | None = None  # None: every nbprod rule, and ruff's own
    ignore: tuple[str, ...] = ()
    settings: Settings = Settings()
    ruff: bool = True

    def wants(self, code: str) -> bool:
        """Whether findings with ``code`` are reported."""
        if self.select is not None and not code.startswith(self.select):
            return False
        return not code.startswith(self.ignore) if self.ignore else True

    @property
    def runs_ruff(self) -> bool:
        if not self.ruff:
            return False
        return self.select is None or any(not s.startswith("NBP") for s in self.select)


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(pyproject: Path | None) -> LintConfig:
    """``[tool.nbprod.lint]`` of ``pyproject`` (defaults when absent)."""
    if pyproject is None:
        return LintConfig()
    where = f"{pyproject} [tool.nbprod.lint]"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LintConfigError(f"cannot read: {exc}", where=str(pyproject)) from None
    table = data.get("tool", {}).get("nbprod", {}).get("lint", {})
    known = {"select", "ignore", "max-cell-lines", "max-output-kb", "ruff"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise LintConfigError(
            f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})",
            where=where,
        )
    defaults = Settings()
    try:
        settings = Settings(
            max_cell_lines=_positive(table, "max-cell-lines", defaults.max_cell_lines),
            max_output_kb=_positive(table, "max-output-kb", defaults.max_output_kb),
        )
    except ValueError as exc:
        raise LintConfigError(str(exc), where=where) from None
    ruff = table.get("ruff", True)
    if not isinstance(ruff, bool):
        raise LintConfigError("'ruff' must be true or false", where=where)
    select = table.get("select")
    return LintConfig(
        select=None if select is None else _codes(_list(select, where), where),
        ignore=_codes(_list(table.get("ignore", []), where), where),
        settings=settings,
        ruff=ruff,
    )


def with_options(
    config: LintConfig, select: str | None, ignore: str | None
) -> LintConfig:
    """``config`` with the command line's ``--select`` (replaces) and ``--ignore``
    (adds to the configured list)."""
    if select is not None:
        config = replace(config, select=_codes(select.split(","), "--select"))
    if ignore is not None:
        config = replace(
            config, ignore=config.ignore + _codes(ignore.split(","), "--ignore")
        )
    return config


def _codes(values: Iterable[object], where: str) -> tuple[str, ...]:
    codes = []
    for value in values:
        code = str(value).strip().upper()
        if not code:
            continue
        if not _CODE.match(code):
            raise LintConfigError(f"{code!r} is not a rule code or prefix", where=where)
        if code.startswith("NBP"):
            # The registry imports every rule: only a selection naming NBP codes
            # needs it, not each run.
            from nbprod.lint.rules import RULES

            if not any(c.startswith(code) for c in RULES):
                raise LintConfigError(
                    f"no rule {code} (nbprod's rules are NBP001 to "
                    f"NBP{len(RULES):03d})",
                    where=where,
                )
        codes.append(code)
    return tuple(codes)


def _list(value: object, where: str) -> list[object]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise LintConfigError("'select' and 'ignore' take lists of codes", where=where)
    return value


def _positive(table: dict[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{key!r} must be a positive whole number, not {value!r}")
    return value
