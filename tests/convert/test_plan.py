"""Stage assignment, stage inputs/outputs and lifted config, checked exactly."""

from __future__ import annotations

import pytest

from nbprod.errors import CellError
from nbprod.plan import Plan
from tests.helpers.build import plan_of, stage_modules

IMPORTS = """import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler"""

POC = (
    IMPORTS,
    'SEED = 7\ndf = pd.read_csv("data.csv")',
    "df.head()",
    'df = df.dropna()\nX, y = df[["a", "b"]], df["y"]',
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=SEED)",
    "scaler = StandardScaler()\nX_train = scaler.fit_transform(X_train)\nX_test = scaler.transform(X_test)",
    "model = LogisticRegression(C=0.5)\nmodel.fit(X_train, y_train)",
    "y_pred = model.predict(X_test)",
    "acc = accuracy_score(y_test, y_pred)\nprint(acc)",
)


def stages(plan: Plan) -> dict[int, str | None]:
    return {c.number: c.stage for c in plan.cells}


def test_every_cell_gets_a_stage_or_an_exclusion_with_a_reason() -> None:
    plan = plan_of(*POC)
    assert stages(plan) == {
        1: None,
        2: "preprocessing",
        3: None,
        4: "preprocessing",
        5: "preprocessing",
        6: "preprocessing",
        7: "training",
        8: "inference",
        9: "evaluation",
    }
    reasons = {c.number: c.reason for c in plan.cells}
    assert reasons[1] == "imports hoisted to the modules that use them"
    assert reasons[3] == "excluded: display only, nothing later depends on it"
    assert reasons[7] == "calls sklearn.linear_model.LogisticRegression (estimator)"
    assert all(c.reason for c in plan.cells)


def test_stage_functions_have_explicit_inputs_outputs_and_config() -> None:
    plan = plan_of(*POC)
    got = {s.stage: (s.function, s.inputs, s.params, s.outputs) for s in plan.stages}
    assert got == {
        "preprocessing": (
            "preprocess",
            (),
            (
                ("preprocessing", "seed"),
                ("preprocessing", "data_path"),
                ("preprocessing", "test_size"),
            ),
            # the scaler is fitted here and predict needs it: it is saved
            ("X_train", "X_test", "y_train", "y_test", "scaler"),
        ),
        "training": ("train", ("X_train", "y_train"), (("training", "C"),), ("model",)),
        "inference": ("predict", ("X_test", "model"), (), ("y_pred",)),
        "evaluation": ("evaluate", ("y_test", "y_pred"), (), ("acc",)),
    }
    assert [(p.group, p.key, p.value, p.kind) for p in plan.params] == [
        ("preprocessing", "seed", 7, "int"),
        ("preprocessing", "data_path", "data.csv", "path"),
        ("preprocessing", "test_size", 0.3, "float"),
        ("training", "C", 0.5, "float"),
    ]


def test_dependencies_never_run_backwards() -> None:
    # The cleaning cell signals preprocessing but uses the fitted model's output.
    plan = plan_of(
        IMPORTS,
        "model = LogisticRegression().fit(X, y)",
        "scores = model.predict_proba(X)[:, 1]",
        "flagged = pd.Series(scores).fillna(0)",
    )
    assert stages(plan)[4] == "inference"
    assert plan.cells[3].reason.startswith("depends on cell 3 (inference: uses scores)")


def test_a_later_write_keeps_the_order_of_an_earlier_read() -> None:
    # Cell 4 rebinds X after training read it: it must not move before training.
    plan = plan_of(
        IMPORTS,
        "X = pd.read_csv('a.csv')",
        "model = LogisticRegression().fit(X, y)",
        "X = pd.read_csv('b.csv')",
    )
    assert stages(plan)[4] == "training"


def test_constants_join_the_first_stage_that_needs_them() -> None:
    plan = plan_of(
        IMPORTS,
        "N_ITER = 300",
        "df = pd.read_csv('a.csv')",
        "model = LogisticRegression(max_iter=N_ITER).fit(df, df)",
    )
    assert stages(plan)[2] == "training"
    assert "joins cell 4" in plan.cells[1].reason


def test_explicit_tag_and_comment_win() -> None:
    plan = plan_of(
        IMPORTS,
        "df = pd.read_csv('a.csv')",
        "# nbprod: evaluation\nn = len(df)",
        tags={1: ["nbprod:training"]},
    )
    assert stages(plan) == {1: None, 2: "training", 3: "evaluation"}
    assert (
        plan.cells[1].reason == "explicit: tag nbprod:training"
        and plan.cells[1].explicit
    )


def test_explicit_stage_that_would_run_backwards_is_an_error() -> None:
    with pytest.raises(CellError, match="cell 3: is marked preprocessing by comment"):
        plan_of(
            IMPORTS,
            "model = LogisticRegression().fit(X, y)",
            "# nbprod: preprocessing\np = model.coef_",
        )


def test_skip_tag_excludes_a_cell() -> None:
    plan = plan_of("x = 1", "y = 2", tags={1: ["nbprod:skip"]})
    assert (
        plan.cells[1].stage is None
        and plan.cells[1].reason == "excluded by tag nbprod:skip"
    )


def test_helper_reading_a_global_gets_it_as_a_parameter() -> None:
    plan = plan_of(
        IMPORTS,
        "THRESHOLD = 0.5",
        "def label(p):\n    return (p >= THRESHOLD).astype(int)",
        "model = LogisticRegression().fit(X, y)",
        "labels = label(model.predict_proba(X)[:, 1])",
    )
    (helper,) = plan.helpers
    assert (helper.name, helper.stage, helper.data_params) == (
        "label",
        "inference",
        ("THRESHOLD",),
    )
    assert stages(plan)[2] == "inference"


def test_in_place_mutation_is_carried_to_later_stages() -> None:
    plan = plan_of(
        IMPORTS,
        "log = []",
        "model = LogisticRegression().fit(X, y)\nlog.append('fitted')",
        "acc = accuracy_score(y, model.predict(X))\nlog.append(acc)",
        "summary = pd.DataFrame({'step': log})\nsummary.drop(columns=['step'], inplace=True)",
    )
    assert stages(plan) == {
        1: None,
        2: "training",
        3: "training",
        4: "evaluation",
        5: "evaluation",
    }
    training, evaluation = plan.stage("training"), plan.stage("evaluation")
    assert training is not None and evaluation is not None
    assert "log" in training.outputs and "log" in evaluation.inputs


def test_deleted_names_are_not_outputs() -> None:
    plan = plan_of(
        IMPORTS,
        "tmp = LogisticRegression().fit(X, y)\nscore = tmp.score(X, y)\ndel tmp",
    )
    training = plan.stage("training")
    assert (
        training is not None
        and "tmp" not in training.outputs
        and "score" in training.outputs
    )


def test_a_name_bound_only_to_a_literal_is_code_not_a_result() -> None:
    plan = plan_of(
        IMPORTS,
        'cols = ["a", "b"]\nextra = ["c"]\nextra.append("d")\n'
        "model = LogisticRegression().fit(X[cols + extra], y)",
    )
    training = plan.stage("training")
    assert training is not None
    # cols is the code's own constant; extra is changed after, so computed
    assert training.outputs == ("extra", "model")


def test_papermill_parameters_become_config() -> None:
    plan = plan_of(
        IMPORTS,
        "n = 100\nname = 'run-1'",
        "df = pd.read_csv('a.csv').head(n)",
        tags={1: ["parameters"]},
    )
    assert [(p.group, p.key, p.value) for p in plan.params] == [
        ("parameters", "n", 100),
        ("parameters", "name", "run-1"),
        ("preprocessing", "a_path", "a.csv"),
    ]
    assert plan.cells[1].reason == "parameters cell: n, name lifted to config.yaml"
    pre = plan.stage("preprocessing")
    assert pre is not None and pre.params == (
        ("preprocessing", "a_path"),
        ("parameters", "n"),
    )


def test_stage_function_renamed_when_the_notebook_uses_its_name() -> None:
    plan = plan_of(
        IMPORTS,
        "def evaluate(m):\n    return m",
        "model = LogisticRegression().fit(X, y)",
        "s = accuracy_score(y, evaluate(model).predict(X))",
    )
    evaluation = plan.stage("evaluation")
    assert evaluation is not None and evaluation.function == "evaluate_stage"


def test_side_effect_only_cells_run_first() -> None:
    plan = plan_of("import warnings", "warnings.filterwarnings('ignore')")
    assert stages(plan)[2] == "preprocessing"
    assert (
        plan.cells[1].reason
        == "no signal and nothing depends on it; runs with the first stage"
    )


def test_a_last_line_call_with_a_side_effect_stays_in_the_pipeline() -> None:
    plan = plan_of(
        "runlog = []\nclass Tracker:\n    logs = []\n    def log(self, m):\n"
        "        Tracker.logs.append(m)\n        return m",
        "tracker = Tracker()\ntracker.log('a')",
        "Tracker().log('b')",
        "print(tracker.log('c'))",
        "n = len(Tracker.logs)",
    )
    assert [c.stage for c in plan.cells] == ["preprocessing"] * 5
    assert all(not c.dropped for c in plan.cells)


def test_a_class_reading_notebook_variables_is_refused() -> None:
    with pytest.raises(CellError) as info:
        plan_of(
            "K = 3",
            "class Scaler:\n    def apply(self, x):\n        return x * K",
            "y = Scaler().apply(2)",
        )
    assert str(info.value) == (
        "poc.ipynb: cell 2, line 1: class Scaler reads the notebook's variables K, "
        "which its module does not have (pass them to it explicitly, e.g. as "
        "arguments of __init__)"
    )


def test_each_definition_of_a_redefined_helper_is_planned_with_its_name() -> None:
    plan = plan_of(
        IMPORTS,
        "def featurize(frame):\n    return frame * 2",
        "model = LogisticRegression().fit(featurize(X), y)",
        "def featurize(frame):\n    return frame * 3",
        "pred = model.predict(featurize(X))",
    )
    assert [(h.name, h.original, h.cell, h.stage) for h in plan.helpers] == [
        ("featurize", "", 2, "training"),
        ("featurize_2", "featurize", 4, "inference"),
    ]


def test_the_served_value_is_the_last_decision_made_from_the_predictions() -> None:
    # Class predictions first, then the same name again with a lower threshold
    # over the probabilities, wrapped and unwrapped as one row (a course habit).
    plan = plan_of(
        "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
        "from sklearn.model_selection import train_test_split\n"
        "from sklearn.preprocessing import binarize",
        "df = pd.read_csv('d.csv')\nX, y = df[['a', 'b']], df['y']\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)",
        "logreg = LogisticRegression().fit(X_train, y_train)",
        "y_pred_class = logreg.predict(X_test)",
        "y_pred_prob = logreg.predict_proba(X_test)[:, 1]",
        "y_pred_class = binarize([y_pred_prob], threshold=0.3)[0]",
    )
    assert plan.serving is not None, plan.serving_reason
    assert (plan.serving.served, plan.serving.call) == ("y_pred_class", (6, 1))
    assert plan.serving.steps == ((5, 0), (6, 0))
    assert plan.serving.inputs == ("logreg",)


def test_serving_steps_a_stage_runs_too_are_one_function_both_call() -> None:
    # The test rows are cleaned in one cell with an id taken in the middle, and
    # predicted in the next: the stage cannot call the serving function whole.
    sources = (
        "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
        "train = pd.read_csv('train.csv')\ntest = pd.read_csv('test.csv')",
        "X = train[['a', 'b']].fillna(0)\n"
        "model = LogisticRegression().fit(X, train['y'])",
        "test = test.fillna(0)\nids = test['id']\n"
        "test = test[['a', 'b']]\ntest = test * 2",
        "pred = model.predict(test)\n"
        "pd.DataFrame({'id': ids, 'y': pred}).to_csv('out.csv', index=False)",
    )
    plan = plan_of(*sources)
    assert plan.serving is not None, plan.serving_reason
    assert not plan.serving.called_by_stage
    # One-line statements stay the notebook's own calls; the run of two is shared.
    [part] = plan.serving.parts
    assert (part.name, part.statements) == ("prepare_test", ((4, 2), (4, 3)))
    assert (part.inputs, part.outputs) == (("test",), ("test",))
    modules = stage_modules(*sources)
    served = "\n".join(modules.values())
    assert served.count("test = test * 2") == 1
    assert served.count("test = prepare_test(test)") == 2


SCALED_THEN_SPLIT = (
    "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
    "from sklearn.model_selection import train_test_split\n"
    "from sklearn.preprocessing import StandardScaler",
    "df = pd.read_csv('d.csv')\nX = df.drop(columns=['y'])\ny = df['y']",
    "scaler = StandardScaler()\nscaler.fit(X)\nX_scaled = scaler.transform(X)",
    "X_train, X_test, y_train, y_test = "
    "train_test_split(X_scaled, y, test_size=0.25, random_state=1)",
    "model = LogisticRegression().fit(X_train, y_train)\n"
    "model.fit(X_scaled, y)\npred = model.predict(X_test)",
)


def test_rows_scaled_before_a_seeded_split_are_served_raw() -> None:
    plan = plan_of(*SCALED_THEN_SPLIT)
    serving = plan.serving
    assert serving is not None, plan.serving_reason
    # New rows come as X was made; the fitted scaler and the model (both
    # fitted on the notebook's rows, the model again on all of them) are state.
    assert (serving.rows, serving.source, serving.made_by) == ("X", (2, 2), "split")
    assert serving.steps == ((3, 2), (4, 0), (5, 2))
    assert serving.inputs == ("model", "scaler")
    held = serving.held_out
    assert held is not None
    assert (held.step, held.name, held.array) == ((4, 0), "X_test", "X_scaled")
    assert held.positions == (
        'train_test_split(__import__("numpy").arange(len(X_scaled)), y, '
        'test_size=0.25, random_state=__import__("copy").deepcopy(1))[1]'
    )
    served = stage_modules(*SCALED_THEN_SPLIT)["training"]
    assert "X_test = X_scaled  # the new rows are all held out" in served


def test_rows_scaled_in_the_split_itself_are_served_raw() -> None:
    sources = SCALED_THEN_SPLIT[:2] + (
        "scaler = StandardScaler()\nX_train, X_test, y_train, y_test = "
        "train_test_split(scaler.fit_transform(X), y, random_state=1)",
        "model = LogisticRegression().fit(X_train, y_train)\n"
        "pred = model.predict(X_test)",
    )
    plan = plan_of(*sources)
    serving = plan.serving
    assert serving is not None and serving.held_out is not None, plan.serving_reason
    assert (serving.rows, serving.inputs) == ("X", ("model", "scaler"))
    served = stage_modules(*sources)["training"]
    assert "X_test = scaler.transform(X)  # the new rows are all held out" in served


def test_rows_scaled_before_an_unseeded_split_are_refused() -> None:
    unseeded = SCALED_THEN_SPLIT[:3] + (
        "X_train, X_test, y_train, y_test = train_test_split(X_scaled, y)",
        SCALED_THEN_SPLIT[4],
    )
    plan = plan_of(*unseeded)
    assert plan.serving is None
    assert "the split is not seeded" in plan.serving_reason


def test_rows_scaled_by_an_object_kept_in_no_name_are_refused() -> None:
    plan = plan_of(
        SCALED_THEN_SPLIT[0],
        "df = pd.read_csv('d.csv')\ny = df['y']\n"
        "X = StandardScaler().fit_transform(df.drop(columns=['y']))",
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=1)",
        "model = LogisticRegression().fit(X_train, y_train)\n"
        "pred = model.predict(X_test)",
    )
    assert plan.serving is None
    assert plan.serving_reason == (
        "cell 4, line 2: StandardScaler().fit_transform in cell 2, line 3 fits an "
        "object on the rows of X_test and keeps it in no name: new rows could not "
        "be transformed as the notebook's were (name it: scaler = ...)"
    )


def test_lines_left_out_of_a_cell_are_listed_in_its_plan() -> None:
    plan = plan_of(
        "%autosave 0\nimport pandas as pd",
        "!head data.csv\ndf = pd.read_csv('data.csv')\ndf.head()",
    )
    assert plan.cells[0].dropped == ("line 1: %autosave 0 (magic)",)
    assert plan.cells[1].dropped == (
        "line 1: !head data.csv (shell, only looks)",
        "line 3: df.head() (display)",
    )


def test_a_value_read_back_by_a_stage_never_takes_the_name_of_its_variable() -> None:
    # ``datapath`` is a folder joined from the literal "datasets"; training writes
    # under "datasets" too, and reads the variable: two values, two names.
    sources = (
        "import os\nimport pandas as pd\nfrom sklearn.linear_model import LinearRegression",
        "datapath = os.path.join('datasets', 'lifesat', '')\n"
        "os.makedirs(datapath, exist_ok=True)\n"
        "df = pd.read_csv(datapath + 'data.csv')",
        "model = LinearRegression().fit(df[['x']], df['y'])\n"
        "df.head(3).to_csv(os.path.join('datasets', 'sample.csv'))\n"
        "again = pd.read_csv(datapath + 'data.csv')",
    )
    plan = plan_of(*sources)
    [training] = [s for s in plan.stages if s.stage == "training"]
    assert "datapath" in training.inputs
    assert [k for _, k in training.params] == ["datasets_path"]
    for name, code in stage_modules(*sources).items():
        compile(code, name, "exec")


def test_a_display_in_a_loop_or_a_function_leaves_the_pipeline() -> None:
    # Jupyter renders it; printed as text it would be compared as printed output.
    sources = (
        "import pandas as pd\nfrom IPython.display import display",
        "df = pd.read_csv('d.csv')",
        "for g, part in df.groupby('g'):\n    print('group', g)\n    display(part.head())",
        "def show(frame):\n    display(frame.describe())\n    return frame.mean()\n\n"
        "m = show(df)\nprint(m)",
    )
    plan = plan_of(*sources)
    assert plan.cells[2].dropped == ("line 3: display(part.head()) (display)",)
    assert plan.cells[3].dropped == ("line 2: display(frame.describe()) (display)",)
    # What the pipeline prints is among what the notebook printed.
    assert [plan.cells[i].printed for i in (2, 3)] == ["kept", "kept"]
    code = stage_modules(*sources)["preprocessing"]
    assert "display" not in code
    assert 'print("group", g)' in code and "return frame.mean()" in code


def test_a_function_of_the_notebook_that_returns_predictions_is_followed() -> None:
    # The course habit: train() fits and returns the vectorizer and the model,
    # predict() applies both; a loop-free body is followed from its parameters.
    plan = plan_of(
        "import pandas as pd\nfrom sklearn.feature_extraction import DictVectorizer\n"
        "from sklearn.linear_model import LogisticRegression",
        "df = pd.read_csv('d.csv')\nfeatures = ['a', 'b']",
        "def train(df, y):\n    dv = DictVectorizer(sparse=False)\n"
        "    X = dv.fit_transform(df[features].to_dict(orient='records'))\n"
        "    return dv, LogisticRegression().fit(X, y)",
        "def predict(df, dv, model):\n    X = dv.transform(df[features].to_dict(orient='records'))\n"
        "    return model.predict_proba(X)[:, 1]",
        "dv, model = train(df, df.y.values)",
        "new = pd.read_csv('new.csv')\nchurn = predict(new, dv, model) >= 0.5",
    )
    assert [c.stage for c in plan.cells if c.number == 5] == ["training"]
    assert plan.serving is not None, plan.serving_reason
    assert (plan.serving.rows, plan.serving.served) == ("new", "churn")
    assert plan.serving.models == ("model",)
    assert set(plan.serving.inputs) >= {"dv", "model"}


def test_weights_a_hand_written_regression_returns_are_a_model() -> None:
    # The course's week 2: the normal equation in a function, the features built
    # by another, the prediction written out as the weights applied.
    plan = plan_of(
        "import numpy as np\nimport pandas as pd\n"
        "from sklearn.model_selection import train_test_split",
        "df = pd.read_csv('cars.csv')\n"
        "df_train, df_test = train_test_split(df, test_size=0.2, random_state=1)",
        "def train_linear_regression(X, y):\n"
        "    X = np.column_stack([np.ones(X.shape[0]), X])\n"
        "    w = np.linalg.inv(X.T.dot(X)).dot(X.T).dot(y)\n    return w[0], w[1:]",
        "def prepare_X(df):\n    return df[['hp', 'mpg']].fillna(0).values",
        "w0, w = train_linear_regression(prepare_X(df_train), np.log1p(df_train.price))",
        "y_pred = w0 + prepare_X(df_test).dot(w)\nprice = np.expm1(y_pred)",
    )
    assert [c.stage for c in plan.cells if c.number == 5] == ["training"]
    training = plan.stage("training")
    assert training is not None and {"w0", "w"} <= set(training.outputs)
    assert plan.serving is not None, plan.serving_reason
    assert (plan.serving.rows, plan.serving.served) == ("df_test", "price")
    assert plan.serving.models == ("w0", "w")
