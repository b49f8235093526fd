"""One cleaning path: copies of statements on two frames found
(analysis/clones.py), factored where they may be (plan/clones.py), generated as
one function called for both; and on titanic, the function really is the one
path of training and predict."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import joblib
import pandas as pd
import pytest

from nbprod.plan import Plan
from tests.helpers.build import plan_of, stage_modules
from tests.helpers.cli import run_nbprod
from tests.helpers.paths import copy_examples
from tests.helpers.project import saved_artifact

IMPORTS = "import pandas as pd"
LOAD = 'train = pd.read_csv("rows_train.csv")\ntest = pd.read_csv("rows_test.csv")'
CLEAN_TRAIN = (
    'train["title"] = train["name"].str.lower()\n'
    'age_mean = train["age"].mean()\n'
    'train["age"] = train["age"].fillna(age_mean)\n'
    'train["alone"] = (train["family"] == 0).astype(int)\n'
    'train = train.drop(columns=["name"])'
)
CLEAN_TEST = (
    'test["title"] = test["name"].str.lower()\n'
    'test["age"] = test["age"].fillna(age_mean)\n'
    'test["alone"] = (test["family"] == 0).astype(int)\n'
    'test = test.drop(columns=["name"])'
)


def shared(plan: Plan) -> dict[str, tuple[str, ...]]:
    return {c.name: (c.frame, *c.params) for c in plan.clones}


def test_the_same_statements_on_two_frames_become_one_function() -> None:
    plan = plan_of(IMPORTS, LOAD, CLEAN_TRAIN, CLEAN_TEST)
    (clone,) = plan.clones
    assert clone.name == "prepare_rows"
    assert (clone.frame, clone.params) == ("rows", ("age_mean",))
    assert clone.first.frame == "train" and clone.second.frame == "test"
    assert len(clone.first.statements) == len(clone.second.statements) == 4
    # the mean is fitted on train before the shared statements run
    assert clone.first.hoisted == ((3, 1),)
    assert clone.origin == "cell 3 and cell 4 prepare train and test the same way"


def test_the_function_is_written_once_and_called_for_both_frames() -> None:
    modules = stage_modules(IMPORTS, LOAD, CLEAN_TRAIN, CLEAN_TEST)
    code = "\n".join(modules.values())
    assert code.count("def prepare_rows(rows, *, age_mean):") == 1
    assert code.count('rows["alone"] = (rows["family"] == 0).astype(int)') == 1
    assert code.count("prepare_rows(train, age_mean=age_mean)") == 1
    assert code.count("prepare_rows(test, age_mean=age_mean)") == 1
    assert '"alone"' not in code.replace('rows["alone"]', "")
    # the fit runs before the shared statements, where it moved
    module = modules["preprocessing"]
    assert module.index('age_mean = train["age"].mean()') < module.index(
        "train = prepare_rows(train"
    )


def test_a_heading_gives_the_verb_and_the_files_the_noun() -> None:
    load = (
        'train = pd.read_csv("passengers_train.csv")\n'
        'test = pd.read_csv("passengers_test.csv")'
    )
    plan = plan_of(IMPORTS, load, "#md ## Clean the data", CLEAN_TRAIN, CLEAN_TEST)
    assert list(shared(plan)) == ["clean_passengers"]


def test_frames_named_alike_give_the_noun() -> None:
    load = 'train_df = pd.read_csv("a.csv")\ntest_df = pd.read_csv("b.csv")'
    code = [
        s.replace("train", "train_df").replace("test", "test_df")
        for s in (CLEAN_TRAIN, CLEAN_TEST)
    ]
    plan = plan_of(IMPORTS, load, *code)
    assert shared(plan) == {"prepare_df": ("df", "age_mean")}


def test_different_constants_are_not_the_same_statements() -> None:
    other = CLEAN_TEST.replace("== 0", "== 1").replace('"name"', '"nom"')
    plan = plan_of(IMPORTS, LOAD, CLEAN_TRAIN, other)
    assert plan.clones == ()


def test_fewer_than_three_shared_statements_stay_as_they_are() -> None:
    two = "\n".join(CLEAN_TEST.split("\n")[:2])
    plan = plan_of(IMPORTS, LOAD, CLEAN_TRAIN, two)
    assert plan.clones == ()


def test_a_statement_that_reads_a_column_written_before_it_does_not_move() -> None:
    # The mean of "title" lengths reads the column the first statement writes: it
    # cannot run before it, so the shared run stops there.
    fit_after = CLEAN_TRAIN.replace(
        'age_mean = train["age"].mean()',
        'age_mean = train["title"].str.len().mean()',
    )
    plan = plan_of(IMPORTS, LOAD, fit_after, CLEAN_TEST)
    (clone,) = plan.clones
    # only what follows the fit is shared; nothing moved
    assert clone.first.hoisted == ()
    assert clone.first.statements == ((3, 2), (3, 3), (3, 4))


def test_a_frame_changed_between_the_shared_statements_stops_the_run() -> None:
    changed = CLEAN_TRAIN.replace(
        'age_mean = train["age"].mean()',
        'train = train.dropna()\nage_mean = train["age"].mean()',
    )
    plan = plan_of(IMPORTS, LOAD, changed, CLEAN_TEST)
    (clone,) = plan.clones
    # the run after the change is shared; nothing moved across it
    assert clone.first.hoisted == ()
    assert clone.first.statements == ((3, 3), (3, 4), (3, 5))


def test_statements_in_a_different_order_are_not_merged() -> None:
    lines = CLEAN_TEST.split("\n")
    swapped = "\n".join([lines[2], lines[0], lines[1], lines[3]])
    plan = plan_of(IMPORTS, LOAD, CLEAN_TRAIN, swapped)
    assert all(len(c.second.statements) < 4 for c in plan.clones)


def test_a_copy_holding_a_config_value_is_left_alone() -> None:
    # A file read in both copies: each path is lifted, its own config value.
    lifted = [
        s.replace('.drop(columns=["name"])', '.merge(pd.read_csv("extra.csv"))')
        for s in (CLEAN_TRAIN, CLEAN_TEST)
    ]
    plan = plan_of(IMPORTS, LOAD, *lifted)
    assert plan.clones == ()


def test_a_copy_split_across_two_steps_is_left_alone() -> None:
    head, tail = CLEAN_TRAIN.split("\n", 1)
    plan = plan_of(
        IMPORTS,
        LOAD,
        "#md ## Titles",
        head,
        "#md ## Ages",
        tail,
        "#md ## Test",
        CLEAN_TEST,
    )
    assert plan.clones == ()


@pytest.mark.e2e
def test_titanic_trains_and_predicts_through_one_cleaning_function(
    tmp_path: Path,
) -> None:
    notebooks = copy_examples(tmp_path)
    out = tmp_path / "project"
    result = run_nbprod(
        "convert", notebooks / "titanic_mlops_poc.ipynb", "-o", out, "--no-validate"
    )
    assert result.returncode == 0, result.stderr
    package = out / "src" / "titanic_mlops_poc"
    modules = {
        m: (package / f"{m}.py").read_text()
        for m in ("preprocessing", "training", "inference")
    }
    assert modules["preprocessing"].count("def clean_passengers(") == 1
    flat = {m: " ".join(text.split()) for m, text in modules.items()}
    assert "train = clean_passengers( train," in flat["preprocessing"]
    assert "test = clean_passengers( test," in flat["training"]
    # predict's own path: the same function, imported, not a copy
    assert "from .preprocessing import clean_passengers" in modules["inference"]
    assert "test = clean_passengers( test," in flat["inference"]
    for text in modules.values():
        assert ".fillna(embarked_mode)" not in text.replace(
            'passengers["Embarked"].fillna(embarked_mode)', ""
        )

    new_rows = notebooks / "data" / "passengers_test.csv"

    def run_and_predict(tag: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        env = {**os.environ, "PYTHONPATH": str(out / "src"), "MPLBACKEND": "Agg"}
        artifacts = out / f"artifacts-{tag}"
        for args in (
            ["run", "--artifacts", str(artifacts)],
            [
                "predict",
                "--artifacts",
                str(artifacts),
                "--input",
                str(new_rows),
                "--output",
                str(tmp_path / f"{tag}.csv"),
            ],
        ):
            done = subprocess.run(
                [sys.executable, "-m", "titanic_mlops_poc", *args],
                cwd=out,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stderr[-2000:]
        return joblib.load(saved_artifact(artifacts, "train")), pd.read_csv(
            tmp_path / f"{tag}.csv"
        )

    train_before, scored_before = run_and_predict("before")
    # One edit to the one cleaning function: training and predict both see it.
    source = modules["preprocessing"].replace(
        "    return passengers\n",
        '    passengers["Pclass"] = 3\n\n    return passengers\n',
        1,
    )
    assert source != modules["preprocessing"]
    (package / "preprocessing.py").write_text(source)
    train_after, scored_after = run_and_predict("after")
    assert set(train_before["Pclass"]) == {1, 2, 3}
    assert set(train_after["Pclass"]) == {3}
    assert not scored_after["prediction"].equals(scored_before["prediction"])
