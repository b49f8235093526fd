"""The plan kept in nbprod-report.json is read back typed (``Plan.from_dict``), and
only from a report of the schema this nbprod writes (issue 11, item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbprod.commands.convert import analyse, convert
from nbprod.errors import NbprodError
from nbprod.notebook import read_notebook
from nbprod.plan import Plan
from nbprod.validate.proof import REPORT, REPORT_SCHEMA, read_plan, read_report
from tests.helpers.cli import run_nbprod
from tests.helpers.environment import FIXED_ENVIRONMENT
from tests.helpers.notebooks import make_notebook
from tests.helpers.paths import EXAMPLE_NOTEBOOKS, EXAMPLES, copy_examples


@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_every_example_plan_round_trips(notebook: Path) -> None:
    plan = analyse(read_notebook(notebook)).plan
    assert Plan.from_dict(plan.to_dict()) == plan
    # As the report keeps it: JSON has lists where the plan has tuples.
    as_json = json.loads(json.dumps(plan.to_dict(), default=str))
    assert Plan.from_dict(as_json) == plan


def test_a_plan_with_secrets_helpers_and_serving_round_trips(tmp_path: Path) -> None:
    path = make_notebook(
        tmp_path / "nb.ipynb",
        "import pandas as pd\nfrom sklearn.linear_model import LinearRegression",
        'api_token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"',
        "def double(frame):\n    return frame * 2",
        "df = double(pd.DataFrame({'x': [1.0, 2.0, 3.0], 'y': [2.0, 4.0, 6.0]}))",
        "model = LinearRegression().fit(df[['x']], df['y'])",
        "new = pd.DataFrame({'x': [4.0]})\npred = model.predict(new)",
    )
    plan = analyse(read_notebook(path)).plan
    assert plan.secrets and plan.helpers and plan.serving is not None
    as_json = json.loads(json.dumps(plan.to_dict(), default=str))
    assert Plan.from_dict(as_json) == plan


@pytest.fixture(scope="module")
def plan_dict() -> dict:
    return analyse(read_notebook(EXAMPLES / "titanic_mlops_poc.ipynb")).plan.to_dict()


def test_from_dict_names_what_is_missing_unknown_or_of_the_wrong_type(
    plan_dict: dict,
) -> None:
    missing = {k: v for k, v in plan_dict.items() if k != "serving"}
    with pytest.raises(ValueError, match=r"^plan: missing serving$"):
        Plan.from_dict(missing)
    with pytest.raises(ValueError, match=r"^plan: unknown extra$"):
        Plan.from_dict({**plan_dict, "extra": 1})
    cells = [dict(plan_dict["cells"][0], number="2"), *plan_dict["cells"][1:]]
    with pytest.raises(ValueError, match=r"plan\.cells\[0\]\.number: expected int"):
        Plan.from_dict({**plan_dict, "cells": cells})
    serving = dict(plan_dict["serving"], source=[1, 2, 3])
    with pytest.raises(ValueError, match=r"plan\.serving\.source: expected 2 items"):
        Plan.from_dict({**plan_dict, "serving": serving})
    with pytest.raises(ValueError, match=r"plan\.stages: expected a list"):
        Plan.from_dict({**plan_dict, "stages": "preprocessing"})
    with pytest.raises(ValueError, match=r"plan: expected an object, not list"):
        Plan.from_dict([])


@pytest.fixture()
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A converted example (not validated): its notebook and its project."""
    notebook = copy_examples(tmp_path) / "churn_classifier.ipynb"
    out = tmp_path / "project"
    convert(notebook, out, validate=False, environment=FIXED_ENVIRONMENT)
    return notebook, out


def _edit_report(project: Path, **changes: object) -> None:
    report = json.loads((project / REPORT).read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            del report[key]
        else:
            report[key] = value
    (project / REPORT).write_text(json.dumps(report), encoding="utf-8")


def test_the_report_names_its_schema_and_reads_back_as_the_plan(
    project: tuple[Path, Path],
) -> None:
    notebook, out = project
    assert read_report(out)["schema"] == REPORT_SCHEMA
    assert read_plan(out) == analyse(read_notebook(notebook), out).plan


@pytest.mark.parametrize(
    ("schema", "found"),
    [(None, "no schema"), (REPORT_SCHEMA + 1, f"schema {REPORT_SCHEMA + 1}")],
)
def test_a_report_of_another_schema_is_refused(
    project: tuple[Path, Path], schema: int | None, found: str
) -> None:
    notebook, out = project
    _edit_report(out, schema=schema)
    with pytest.raises(NbprodError, match="made by another nbprod") as error:
        read_plan(out)
    assert f"({found}; this one reads schema {REPORT_SCHEMA}); convert again" in str(
        error.value
    )
    # The CLI says so in one line, before running anything.
    result = run_nbprod("validate", notebook, out)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"nbprod: error: {out}: {REPORT} was made by another nbprod "
        f"({found}; this one reads schema {REPORT_SCHEMA}); convert again"
    ]
    assert "Traceback" not in result.stderr and not result.stdout


def test_a_report_whose_plan_does_not_read_is_refused(
    project: tuple[Path, Path],
) -> None:
    notebook, out = project
    _edit_report(out, plan={"notebook": "churn_classifier"})
    with pytest.raises(NbprodError, match=r"holds no plan nbprod can read \(plan: "):
        read_plan(out)
    result = run_nbprod("validate", notebook, out)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "convert again" in result.stderr
