"""``nbprod lint``: settings, the notebook rules and ruff's findings, one report.

Ruff reads notebooks itself, so general Python findings (unused imports, undefined
names) are ruff's: it runs once over every notebook nbprod could read, and its
findings are shown in the same ``path:cell N:line:col: CODE message`` form.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nbprod import __version__
from nbprod.errors import NbprodError, NotebookError
from nbprod.lint.rules import RULES, Finding, Settings, check_notebook
from nbprod.lint.rules.noqa import noqa_codes, suppressed
from nbprod.notebook import read_bytes

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DOCS = "docs/lint"
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


@dataclass(frozen=True, order=True)
class Reported:
    """A finding in a file, from nbprod's rules or from ruff."""

    path: str
    finding: Finding
    tool: str = field(default="nbprod", compare=False)

    def text(self) -> str:
        f = self.finding
        where = f"cell {f.cell}:" if f.cell else ""
        return f"{self.path}:{where}{f.line}:{f.col}: {f.code} {f.message}"

    def to_dict(self) -> dict[str, Any]:
        f = self.finding
        rule = RULES.get(f.code)
        return {
            "path": self.path,
            "cell": f.cell or None,
            "line": f.line,
            "col": f.col,
            "code": f.code,
            "message": f.message,
            "tool": self.tool,
            "rule": rule.name if rule else None,
            "docs": f"{DOCS}/{f.code}.md" if rule else None,
        }


@dataclass
class LintResult:
    """Every finding, sorted, and one line per file that could not be read."""

    findings: list[Reported]
    errors: list[str]
    files: int

    @property
    def exit_code(self) -> int:
        return 2 if self.errors else 1 if self.findings else 0


def _codes(values: Iterable[object], where: str) -> tuple[str, ...]:
    codes = []
    for value in values:
        code = str(value).strip().upper()
        if not code:
            continue
        if not _CODE.match(code):
            raise LintConfigError(f"{code!r} is not a rule code or prefix", where=where)
        if code.startswith("NBP") and not any(c.startswith(code) for c in RULES):
            raise LintConfigError(
                f"no rule {code} (nbprod's rules are NBP001 to NBP{len(RULES):03d})",
                where=where,
            )
        codes.append(code)
    return tuple(codes)


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


def notebook_files(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The notebooks named or found under folders named (hidden folders and
    checkpoints skipped), and an error line for each path that does not exist."""
    files: list[Path] = []
    errors: list[str] = []
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*.ipynb")):
                parts = found.relative_to(path).parts
                if not any(p.startswith(".") for p in parts[:-1]):
                    files.append(found)
        elif path.exists():
            files.append(path)
        else:
            errors.append(f"{path}: no such file")
    return files, errors


def _start_ruff(files: list[Path]) -> subprocess.Popen[bytes]:
    """Start ruff on every file; it runs while nbprod's own rules do."""
    from ruff.__main__ import find_ruff_bin

    return subprocess.Popen(
        [
            os.fsdecode(find_ruff_bin()),
            "check",
            "--output-format=json",
            "--exit-zero",
            "--no-fix",
            "--force-exclude",  # the user's own ruff excludes still apply
            *map(os.fspath, files),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )


def _ruff_findings(
    proc: subprocess.Popen[bytes], files: list[Path], names: dict[str, str]
) -> tuple[list[Reported], list[str]]:
    """Ruff's findings, and an error line for each file ruff failed on: when ruff
    fails on a batch (it overflows its stack on a cell nested thousands of levels
    deep), each file is run alone to find which."""
    out, err = proc.communicate()
    if proc.returncode == 0:
        return _parse_ruff(out, names), []
    if len(files) > 1:
        reported: list[Reported] = []
        errors: list[str] = []
        for path in files:
            found, failed = _ruff_findings(_start_ruff([path]), [path], names)
            reported += found
            errors += failed
        return reported, errors
    lines = err.decode("utf-8", "replace").strip().splitlines()
    reason = lines[-1] if lines else f"exit code {proc.returncode}"
    where = f"{files[0]}: " if files else ""
    return [], [f"{where}ruff failed ({reason})"]


def _parse_ruff(out: bytes, names: dict[str, str]) -> list[Reported]:
    reported = []
    for item in json.loads(out or b"[]"):
        filename = os.path.realpath(item["filename"])
        location = item.get("location") or {"row": 1, "column": 1}
        code = item.get("code") or item.get("name") or "invalid-syntax"
        finding = Finding(
            int(item.get("cell") or 0),
            int(location["row"]),
            int(location["column"]),
            code,
            item["message"],
        )
        reported.append(Reported(names.get(filename, filename), finding, "ruff"))
    return reported


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
    package (a new rule module too), the secret detector and the known APIs."""
    import nbprod.known_apis
    import nbprod.lint.rules
    import nbprod.secrets

    package = Path(str(nbprod.lint.rules.__file__)).parent
    return [
        *sorted(package.glob("*.py")),
        Path(str(nbprod.secrets.__file__)),
        Path(str(nbprod.known_apis.__file__)),
    ]


def _analyse(path: Path, settings: Settings) -> dict[str, Any]:
    """nbprod's findings on one notebook and its noqa comments, as cached."""
    from nbprod.notebook import cell_source, decode, notebook_json

    # Nested calls: the bytes and the text are freed as soon as each is parsed.
    nb = notebook_json(decode(read_bytes(path), str(path)), str(path))
    noqa = {}
    for number, cell in enumerate(nb.get("cells", []), start=1):
        source = cell_source(cell)
        if "nbprod" in source:
            codes = noqa_codes(source.splitlines())
            noqa[str(number)] = {
                str(k): None if v is None else sorted(v) for k, v in codes.items()
            }
    findings = [
        [f.cell, f.line, f.col, f.code, f.message, f.whole_cell]
        for f in check_notebook(nb, settings)
    ]
    return {"findings": findings, "noqa": noqa}


def _noqa(entry: dict[str, Any], cell: int) -> dict[int, frozenset[str] | None]:
    lines = entry["noqa"].get(str(cell), {})
    return {int(k): None if v is None else frozenset(v) for k, v in lines.items()}


def _analyse_file(path: Path, settings: Settings) -> dict[str, Any] | str:
    """The cache entry for one notebook, or the one-line error saying why it
    cannot be read (a string: it crosses a process boundary)."""
    try:
        return _analyse(path, settings)
    except NotebookError as exc:
        return str(exc)
    except NbprodError as exc:
        return f"{path}: {exc}"


# Below this many notebooks to analyse, starting worker processes costs more than
# it saves.
PARALLEL_FROM = 16


def _analyse_all(paths: list[Path], settings: Settings) -> list[dict[str, Any] | str]:
    workers = min(os.cpu_count() or 1, 8)
    if len(paths) < PARALLEL_FROM or workers < 2:
        return [_analyse_file(p, settings) for p in paths]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    # fork: the workers start with nbprod already imported.
    if "fork" not in multiprocessing.get_all_start_methods():
        return [_analyse_file(p, settings) for p in paths]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        chunk = max(1, len(paths) // (workers * 4))
        job = partial(_analyse_file, settings=settings)
        return list(pool.map(job, paths, chunksize=chunk))


def lint(
    paths: Sequence[Path], config: LintConfig, cache: FindingsCache | None = None
) -> LintResult:
    """Lint every notebook in ``paths``: nbprod's rules, then ruff's findings."""
    files, errors = notebook_files(paths)
    entries: dict[Path, dict[str, Any]] = {}
    digests: dict[Path, str] = {}
    for path in files:
        try:
            digests[path] = hashlib.sha256(read_bytes(path)).hexdigest()
        except NotebookError as exc:
            errors.append(str(exc))
            continue
        cached = cache.get(digests[path]) if cache else None
        if cached is not None:
            entries[path] = cached
    missing = [p for p in digests if p not in entries]
    for path, entry in zip(
        missing, _analyse_all(missing, config.settings), strict=True
    ):
        if isinstance(entry, str):
            errors.append(entry)
            continue
        entries[path] = entry
        if cache:
            cache.put(digests[path], entry)
    entries = {p: entries[p] for p in files if p in entries}  # in the order given
    # Ruff sees only notebooks nbprod could read: a file refused as bad input gets
    # one error line, and nothing (not even a .ruff_cache) is written for it.
    readable = list(entries)
    proc = _start_ruff(readable) if readable and config.runs_ruff else None
    reported = [
        Reported(str(path), Finding(*f))
        for path, entry in entries.items()
        for f in entry["findings"]
    ]
    if proc is not None:
        names = {os.path.realpath(p): str(p) for p in readable}
        found, failed = _ruff_findings(proc, readable, names)
        reported += found
        errors += failed
    by_name = {str(p): e for p, e in entries.items()}
    kept = [
        r
        for r in reported
        if config.wants(r.finding.code)
        and not suppressed(r.finding, _noqa(by_name[r.path], r.finding.cell))
    ]
    return LintResult(sorted(kept), errors, len(files))


def format_text(result: LintResult) -> str:
    """ruff-like lines, then a one-line summary."""
    lines = [r.text() for r in result.findings]
    n = len(result.findings)
    if n:
        lines.append(
            f"Found {n} finding{'s' * (n != 1)} in {result.files} notebook"
            f"{'s' * (result.files != 1)}."
        )
    return "\n".join(lines)


def format_json(result: LintResult) -> str:
    """The findings as a JSON list, one object per finding."""
    return json.dumps([r.to_dict() for r in result.findings], indent=2)
