"""A stage's steps: where it is cut, what each step takes and returns, and its name
(nbprod/convert/plan/steps.py), on small hand-written notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbprod.plan import Plan, StagePlan, StepPlan
from nbprod.stages import Stage
from tests.helpers.build import plan_of, stage_modules
from tests.helpers.cli import run_nbprod
from tests.helpers.notebooks import make_notebook

IMPORTS = """import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split"""

LOAD = 'df = pd.read_csv("data.csv")'
CLEAN = (
    "df = df.dropna()",
    'df["b"] = df["b"].fillna(0)\nX, y = df[["a", "b"]], df["y"]',
)
SPLIT = "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)"
FIT = "model = LogisticRegression(C=0.5)\nmodel.fit(X_train, y_train)"


def stage(plan: Plan, which: Stage) -> StagePlan:
    found = plan.stage(which)
    assert found is not None, f"no {which} stage"
    return found


def steps(plan: Plan, which: Stage) -> dict[str, StepPlan]:
    return {s.name: s for s in stage(plan, which).steps}


def test_the_cells_under_a_heading_are_one_step_named_after_it() -> None:
    plan = plan_of(
        IMPORTS,
        "#md ## Load the data",
        LOAD,
        "#md ## Clean",
        *CLEAN,
        "#md ## Split",
        SPLIT,
        "#md ## Fit",
        FIT,
        "print(model.score(X_test, y_test))",
    )
    found = steps(plan, Stage.PREPROCESSING)
    assert list(found) == ["load_the_data", "clean", "split"]
    assert found["clean"].cells == (5, 6)  # markdown cells count too
    assert found["clean"].origin == "heading 'Clean'"
    assert found["clean"].inputs == ("df",)
    # what only the split needs, not what the stage's caller never sees
    assert found["clean"].outputs == ("X", "y")
    assert found["split"].outputs == ("X_train", "X_test", "y_train", "y_test")


def test_a_stage_of_one_cell_is_its_own_function() -> None:
    plan = plan_of(IMPORTS, LOAD + "\n" + "\n".join(CLEAN) + "\n" + SPLIT)
    assert stage(plan, Stage.PREPROCESSING).steps == ()


def test_without_headings_each_cell_is_a_step_named_by_what_it_makes() -> None:
    plan = plan_of(IMPORTS, LOAD, *CLEAN, SPLIT)
    found = stage(plan, Stage.PREPROCESSING).steps
    assert [s.cells for s in found] == [(2,), (3,), (4,), (5,)]
    assert [s.name for s in found][0] == "load_df"
    assert found[-1].name == "split_data"
    assert found[-1].origin == "splits the data"


def test_a_value_used_only_inside_its_step_stays_local() -> None:
    plan = plan_of(
        IMPORTS,
        "#md ## Load",
        LOAD + "\nraw_rows = len(df)\nprint(raw_rows)",
        "#md ## Clean",
        "df = df.dropna()",
    )
    load = steps(plan, Stage.PREPROCESSING)["load"]
    assert load.outputs == ("df",)


def test_a_name_a_later_step_only_rebinds_is_not_returned() -> None:
    plan = plan_of(
        IMPORTS,
        "#md ## First",
        LOAD + "\nX = df[['a']]\nprint(X.shape)",
        "#md ## Second",
        "X = df[['a', 'b']]\nprint(X.shape)",
    )
    first, second = stage(plan, Stage.PREPROCESSING).steps
    assert "X" not in first.outputs
    assert second.inputs == ("df",)


def test_a_name_bound_only_inside_an_if_keeps_the_cells_together() -> None:
    plan = plan_of(
        IMPORTS,
        "#md ## Load",
        LOAD + "\nif len(df) > 100:\n    sample = df.head(100)",
        "#md ## Use",
        "print(sample.shape)",
    )
    # returning ``sample`` from the first step would fail where the plain stage
    # function did not: the two headings are one step
    assert stage(plan, Stage.PREPROCESSING).steps == ()


def test_a_name_every_branch_binds_is_a_safe_cut() -> None:
    plan = plan_of(
        IMPORTS,
        "#md ## Load",
        LOAD + "\nif len(df) > 100:\n    sample = df.head(100)\nelse:\n    sample = df",
        "#md ## Use",
        "sample = sample.dropna()",
    )
    load, use = stage(plan, Stage.PREPROCESSING).steps
    assert "sample" in load.outputs
    assert use.inputs == ("sample",)


def test_a_loop_variable_used_later_keeps_the_cells_together() -> None:
    plan = plan_of(
        IMPORTS,
        "#md ## Load",
        LOAD + "\nfor column in df.columns:\n    df[column] = df[column].fillna(0)",
        "#md ## Last column",
        "last = df[column]",
    )
    assert stage(plan, Stage.PREPROCESSING).steps == ()


def test_a_long_run_under_one_heading_is_a_step_per_cell() -> None:
    many = "\n".join(f"df['c{i}'] = df['a'] * {i}" for i in range(45))
    plan = plan_of(IMPORTS, "#md ## Features", LOAD, many, "df = df.dropna()")
    found = stage(plan, Stage.PREPROCESSING).steps
    assert [s.cells for s in found] == [(3,), (4,), (5,)]
    assert found[0].name == "load_df"


def test_a_run_that_hands_on_many_values_is_a_step_per_cell() -> None:
    plan = plan_of(
        IMPORTS + "\nfrom sklearn.preprocessing import StandardScaler",
        "#md ## Prepare",
        LOAD + '\nX, y = df[["a"]], df["y"]',
        SPLIT,
        "scaler = StandardScaler().fit(X_train)\nX_train_s = scaler.transform(X_train)",
        "#md ## Fit",
        "model = LogisticRegression().fit(X_train_s, y_train)",
        "#md ## Score",
        "print(model.score(scaler.transform(X_test), y_test))",
    )
    found = stage(plan, Stage.PREPROCESSING).steps
    assert [s.name for s in found] == ["load_df", "split_data", "fit_scaler"]
    assert found[-1].outputs == ("scaler", "X_train_s")


def test_config_values_go_by_keyword_to_the_steps_that_use_them() -> None:
    plan = plan_of(
        IMPORTS,
        "#md ## Load",
        LOAD,
        "#md ## Split",
        'X, y = df[["a"]], df["y"]\n'
        + SPLIT.replace("random_state=0", "test_size=0.25"),
    )
    load, split = stage(plan, Stage.PREPROCESSING).steps
    assert load.params == ("data_path",)
    assert split.params == ("test_size",)
    assert split.inputs == ("df",)


def test_names_come_from_what_a_step_makes_when_there_is_no_heading() -> None:
    search = (
        "grid = GridSearchCV(LogisticRegression(), {'C': [0.1, 1.0]}, cv=3)\n"
        "grid.fit(X_train, y_train)"
    )
    plan = plan_of(
        IMPORTS,
        LOAD + '\nX, y = df[["a"]], df["y"]',
        SPLIT,
        search,
        "model = LogisticRegression(**grid.best_params_)\n"
        "model.fit(X_train, y_train)\nprint(model.coef_)",
    )
    names = {s.name: s.origin for s in stage(plan, Stage.TRAINING).steps}
    assert names == {
        "tune_hyperparameters": "makes a hyperparameter search",
        "fit_model": "fits model",
    }
    assert [s.name for s in stage(plan, Stage.PREPROCESSING).steps] == [
        "load_df",
        "split_data",
    ]


def test_a_one_cell_step_may_be_named_by_its_leading_comment() -> None:
    plan = plan_of(
        IMPORTS,
        LOAD,
        "# Drop the broken rows\ndf = df.dropna()\nprint(len(df))",
        "# keep the numeric columns\nnumbers = df.select_dtypes('number')\n"
        + "\n".join(f"numbers['c{i}'] = numbers.iloc[:, 0] * {i}" for i in range(40)),
    )
    names = [s.name for s in stage(plan, Stage.PREPROCESSING).steps]
    assert names == ["load_df", "drop_the_broken_rows", "keep_the_numeric_columns"]


def test_the_notebook_title_names_no_step() -> None:
    plan = plan_of(
        IMPORTS,
        "#md # Churn model, first try",
        "SEED = 3\nlimit = 10",
        "#md ## Load",
        LOAD + "\ndf = df.head(limit)",
    )
    first = stage(plan, Stage.PREPROCESSING).steps[0]
    assert first.name == "set_constants"


def test_a_heading_that_names_a_stage_gives_way_to_what_the_step_makes() -> None:
    plan = plan_of(
        IMPORTS,
        "#md ## Load",
        LOAD + '\nX, y = df[["a"]], df["y"]',
        "#md ## Predict",
        'new = pd.read_csv("new.csv")',
    )
    names = [s.name for s in stage(plan, Stage.PREPROCESSING).steps]
    assert "predict" not in names
    assert names == ["load", "load_new"]


def test_a_step_never_shadows_a_name_of_the_notebook() -> None:
    plan = plan_of(
        IMPORTS,
        "#md ## Load",
        LOAD,
        "#md ## Clean",
        "clean = df.dropna()\nprint(len(clean))",
        "#md ## Split",
        'X, y = clean[["a"]], clean["y"]\n' + SPLIT,
    )
    names = [s.name for s in stage(plan, Stage.PREPROCESSING).steps]
    assert "clean" not in names
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("heading", ["Load", "Clean"])
def test_two_runs_under_one_heading_get_readable_distinct_names(heading: str) -> None:
    plan = plan_of(
        IMPORTS,
        f"#md ## {heading}",
        LOAD,
        "#md ## Look",
        "print(df.describe())\nsummary = df.describe()",
        f"#md ## {heading}",
        "df = df.dropna()\nprint(summary)",
    )
    names = [s.name for s in stage(plan, Stage.PREPROCESSING).steps]
    assert len(set(names)) == len(names) == 3
    assert not any(name[-1].isdigit() and "cell" in name for name in names)


@pytest.mark.kernel
def test_steps_are_validated_and_proven_like_the_plain_stage(tmp_path: Path) -> None:
    notebook = make_notebook(
        tmp_path / "nb" / "steps.ipynb",
        "import numpy as np",
        "#md ## Make",
        "rng = np.random.default_rng(0)\nbase = rng.normal(size=20)",
        "#md ## Scale",
        "mean = base.mean()\nscaled = base - mean\nprint(round(float(scaled.std()), 6))",
        "#md ## Summarise",
        "summary = {'mean': float(mean), 'max': float(scaled.max())}\nprint(summary)",
    )
    out = tmp_path / "out"
    result = run_nbprod("convert", notebook, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "nbprod-report.json").read_text())
    (stage_plan,) = report["plan"]["stages"]
    assert [s["name"] for s in stage_plan["steps"]] == ["make", "scale", "summarise"]
    assert report["plan"]["steps_reverted"] == ""
    assert report["validation"]["status"] == "equal"
    module = (out / "src" / "steps" / "preprocessing.py").read_text()
    assert "def scale(base):" in module


@pytest.mark.kernel
def test_steps_validation_rejects_fall_back_to_one_function_per_stage(
    tmp_path: Path,
) -> None:
    # A closure over a name a later step rebinds: in one function it sees the new
    # value, in two it keeps the old one. The analysis does not see it; validation
    # does, and the plain form is written, proven, and the report says why. (A
    # lambda bound to a name is a function of its own, reading ``k`` where it is
    # called; one kept in a dict is a closure.)
    notebook = make_notebook(
        tmp_path / "nb" / "closure.ipynb",
        "import numpy as np",
        "#md ## Make",
        "k = 1\nops = {'scale': lambda x: x * k}\nbase = np.arange(3)",
        "#md ## Change",
        "k = 3\nscaled = ops['scale'](base)\nprint(scaled)",
    )
    planned = run_nbprod("plan", notebook, "--format", "json")
    assert [s["name"] for s in json.loads(planned.stdout)["stages"][0]["steps"]] == [
        "make",
        "change",
    ]
    out = tmp_path / "out"
    result = run_nbprod("convert", notebook, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "nbprod-report.json").read_text())
    assert report["validation"]["status"] == "equal"
    assert report["plan"]["stages"][0]["steps"] == []
    assert report["plan"]["steps_reverted"].startswith(
        "with step functions, cell 5 output differed from the notebook"
    )
    assert "one function per stage: with step functions," in result.stdout
    module = (out / "src" / "closure" / "preprocessing.py").read_text()
    assert "def make(" not in module


def test_a_step_handing_on_more_than_four_values_returns_a_named_tuple() -> None:
    sources = (
        IMPORTS,
        LOAD + '\ny = df["y"]',
        'X = df[["a", "b"]]\n' + SPLIT,
        FIT,
        "print(model.score(X_test, y_test), X.shape)",
    )
    split = steps(plan_of(*sources), Stage.PREPROCESSING)["split_data"]
    assert split.outputs == ("X", "X_train", "X_test", "y_train", "y_test")
    assert split.result == "SplitData"
    code = stage_modules(*sources)["preprocessing"]
    assert "class SplitData(NamedTuple):" in code
    assert "return SplitData(X, X_train, X_test, y_train, y_test)" in code
    # the caller unpacks it as it would a tuple
    assert "X, X_train, X_test, y_train, y_test = split_data(" in code


def test_a_variable_named_like_its_config_value_is_handed_on_as_a_variable() -> None:
    # ``out_path = "result.json"``: the config key is out_path too; the later step
    # reads the variable, which the first step returns.
    plan = plan_of(
        "import json",
        "#md ## Set up",
        'out_path = "result.json"\nvalues = [1, 2, 3]',
        "#md ## Save",
        "with open(out_path, 'w') as f:\n    json.dump(values, f)\nprint(sum(values))",
    )
    set_up, save = stage(plan, Stage.PREPROCESSING).steps
    assert set_up.params == ("out_path",)
    assert set_up.outputs == ("out_path", "values")
    assert save.inputs == ("out_path", "values")
    assert save.params == ()


def test_a_step_reading_several_values_of_another_group_takes_the_group() -> None:
    sources = (
        IMPORTS + "\nimport os\nimport joblib",
        "seed = 0\nC = 0.5\nout = 'results'",  # papermill parameters
        "#md ## Load",
        LOAD,
        "#md ## Fit",
        'X, y = df[["a"]], df["y"]\nmodel = LogisticRegression(C=C, random_state=seed)\n'
        "model.fit(X, y)",
        "#md ## Save",
        "os.makedirs(out, exist_ok=True)\n"
        'joblib.dump(model, os.path.join(out, "model.joblib"))',
    )
    code = stage_modules(*sources, tags={1: ["parameters"]})["training"]
    # two values of the parameters group: the group, unpacked in the step
    assert "def fit(df, *, parameters_config: ParametersConfig):" in code
    assert "    C = parameters_config.C\n    seed = parameters_config.seed\n" in code
    assert "X, y, model = fit(df, parameters_config=parameters_config)" in code
    # one value: by its key, unpacked by the stage
    assert "def save(model, *, out: str):" in code
    assert "    out = parameters_config.out\n" in code
    assert "save(model, out=out)" in code
