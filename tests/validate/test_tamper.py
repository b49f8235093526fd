"""Tamper with a generated project the way a refactoring slip would, and validation
must notice: the first ``.fit(X, y)`` of the project fits on half of its rows (for
statsmodels, whose ``.fit()`` takes no rows, the model it fits gets half of them).

Every example (and, with ``-m corpus --corpus DIR``, every corpus notebook that
converts) computes something from that fit, printed or stored, so validation must
fail on every one. A project with no ``fit`` call to tamper with is reported by
name: never a silent pass.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
from helpers import EXAMPLE_NOTEBOOKS, copy_examples, run_nbprod

STAGE_MODULES = ("preprocessing", "training", "inference", "evaluation")
# Corpus notebooks whose first fit feeds nothing the notebook keeps or prints, or
# is fitted the same on half the rows: validation must then still pass (a tamper
# that changes nothing is no failure).
NOTHING_KEPT_FROM_FIRST_FIT = {
    "imblearn__plot_comparison_over_sampling": (
        "cell 13 fits clf in a loop only to plot its decision functions; cell 16 "
        "fits it again before anything is stored or printed"
    ),
    "imblearn__plot_comparison_under_sampling": (
        "cell 12 fits clf in a loop over samplers only to plot decision functions; "
        "cell 14 fits it again before anything is stored or printed"
    ),
    # The course set (--corpus ../shared/corpus/course)
    "pycon2016_sms_spam_text": (
        "cell 10 fits vect on three example sentences only to display their "
        "document-term matrix; vect is made and fitted again on the messages "
        "before anything is stored or printed"
    ),
    "zoomcamp_03_churn": (
        "dv_small learns the categories of contract, tenure and monthlycharges: "
        "half of the training rows hold all three contracts, so it is fitted "
        "the same and nothing it feeds changes"
    ),
    "statsmodels__stl_decomposition": (
        "cell 7's fit of STL on co2 is only plotted; cells 11 and 18 bind stl and "
        "res again before anything is stored or printed"
    ),
}
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


@pytest.mark.e2e
@pytest.mark.kernel
@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_a_fit_on_half_the_rows_fails_validation(
    tmp_path: Path, notebook: Path
) -> None:
    notebooks = copy_examples(tmp_path)
    out = tmp_path / "project"
    converted = run_nbprod(
        "convert", notebooks / notebook.name, "-o", out, "--no-validate"
    )
    assert converted.returncode == 0, converted.stderr
    tamper_and_validate(notebooks / notebook.name, out)


@pytest.mark.corpus
def test_a_fit_on_half_the_rows_fails_validation_on_the_corpus(
    tmp_path: Path, corpus_notebook: Path
) -> None:
    work = tmp_path / "nb"
    shutil.copytree(corpus_notebook.parent, work)
    source = work / corpus_notebook.name
    out = tmp_path / "project"
    result = run_nbprod("convert", source, "-o", out, timeout=1800)
    if result.returncode != 0:
        pytest.xfail(f"not proven before tampering: {result.stderr.strip()}")
    if first_fit(out) is None:
        pytest.xfail("no fit of a model given rows in the generated code")
    if corpus_notebook.stem in NOTHING_KEPT_FROM_FIRST_FIT:
        found = first_fit(out)
        assert found is not None
        halve(*found)
        again = run_nbprod("validate", source, out, timeout=1800)
        if again.returncode != 0 and "can change from run to run" in again.stdout:
            # (under_sampling iterates over a set of objects: its order, and
            # what is fitted after, follows their addresses)
            pytest.xfail("the notebook itself differs from run to run")
        assert again.returncode == 0, again.stdout
        return
    tamper_and_validate(source, out)
