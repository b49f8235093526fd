"""Tampering with a generated project as a refactoring slip would: its first fit
given rows fits on half of them, and validation must notice."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from tests.helpers.cli import run_nbprod

STAGE_MODULES = ("preprocessing", "training", "inference", "evaluation")
FITS = ("fit", "fit_predict", "fit_transform", "fit_resample")


def _calls(tree: ast.AST) -> list[ast.Call]:
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    return sorted(calls, key=lambda n: (n.lineno, n.col_offset))


def _data_args(call: ast.Call) -> list[ast.expr]:
    """The arguments of ``call`` that carry rows: positional ones, and ``data``,
    ``endog`` and ``exog`` keywords (statsmodels)."""
    if any(isinstance(a, ast.Starred) for a in call.args):
        return []
    keywords = [k.value for k in call.keywords if k.arg in {"data", "endog", "exog"}]
    return [*call.args, *keywords]


def first_fit(project: Path) -> tuple[Path, str, ast.Call] | None:
    """The project's first fit with data, in stage order: a ``fit`` call given
    rows (``model.fit(X, y)``, before its variants ``fit_predict``, ...), else the
    model a data-less ``.fit()`` fits (``sm.OLS(y, X).fit()``, or ``mod = ...;
    mod.fit()``): its module, the module's source, the call whose rows to halve."""
    package = next((project / "src").iterdir())
    modules = [package / f"{m}.py" for m in STAGE_MODULES]
    sources = {p: p.read_text(encoding="utf-8") for p in modules if p.is_file()}
    for method in FITS:
        for path, source in sources.items():
            for call in _calls(ast.parse(source)):
                func = call.func
                if isinstance(func, ast.Attribute) and func.attr == method:
                    if call.args and _data_args(call):
                        return path, source, call
    for path, source in sources.items():
        tree = ast.parse(source)
        made: dict[str, ast.Call] = {}
        for node in sorted(
            (n for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.Call))),
            key=lambda n: (n.lineno, n.col_offset),
        ):
            if isinstance(node, ast.Assign):
                if isinstance(node.value, ast.Call) and len(node.targets) == 1:
                    target = node.targets[0]
                    if isinstance(target, ast.Name):
                        made[target.id] = node.value
                continue
            func = node.func
            if not (isinstance(func, ast.Attribute) and func.attr == "fit"):
                continue
            model = func.value
            if isinstance(model, ast.Name):
                model = made.get(model.id, model)
            if isinstance(model, ast.Call) and _data_args(model):
                return path, source, model
    return None


def halve(path: Path, source: str, call: ast.Call) -> None:
    """Each argument of ``call`` that carries rows keeps the first half of them."""
    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line.encode("utf-8")))
    data = source.encode("utf-8")
    args = sorted(_data_args(call), key=lambda a: (a.lineno, a.col_offset))
    for arg in reversed(args):
        start = offsets[arg.lineno - 1] + arg.col_offset
        end = offsets[(arg.end_lineno or arg.lineno) - 1] + (arg.end_col_offset or 0)
        text = data[start:end].decode("utf-8")
        data = data[:start] + f"({text})[: len({text}) // 2]".encode() + data[end:]
    path.write_bytes(data)


def tamper_and_validate(notebook: Path, out: Path, timeout: float = 1800) -> None:
    found = first_fit(out)
    assert found is not None, f"{notebook.name}: no fit call to tamper with"
    module, source, node = found
    call = ast.get_source_segment(source, node)
    halve(module, source, node)
    result = run_nbprod("validate", notebook, out, timeout=timeout)
    report = json.loads((out / "nbprod-report.json").read_text(encoding="utf-8"))
    status = report["validation"]["status"]
    assert result.returncode == 1 and status in {"different", "error"}, (
        f"{module.name}: {call} on half the rows went unnoticed "
        f"(validate exit {result.returncode}, status {status})\n{result.stdout}"
    )
