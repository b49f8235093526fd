"""Tamper with a generated project the way a refactoring slip would, and validation
must notice: the first ``.fit(X, y)`` of the project fits on half of its rows (for
statsmodels, whose ``.fit()`` takes no rows, the model it fits gets half of them).

Every example (and, with ``-m corpus --corpus DIR``, every corpus notebook that
converts) computes something from that fit, printed or stored, so validation must
fail on every one. A project with no ``fit`` call to tamper with is reported by
name: never a silent pass.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import run_nbprod
from tests.helpers.paths import EXAMPLE_NOTEBOOKS
from tests.helpers.shared import example_copy
from tests.helpers.tamper import first_fit, halve, tamper_and_validate

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


@pytest.mark.e2e
@pytest.mark.kernel
@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_a_fit_on_half_the_rows_fails_validation(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, notebook: Path
) -> None:
    # A copy of the session's proven conversion, beside a copy of the notebooks.
    notebooks, out = example_copy(tmp_path_factory, tmp_path, notebook)
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
