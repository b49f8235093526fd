"""Generated stage modules: the notebook's code, rewritten only where it must be."""

from __future__ import annotations

from tests.helpers.build import stage_modules as modules


def body(source: str) -> str:
    """The module without its docstring, for exact comparison."""
    return source.split('"""\n', 1)[1].lstrip("\n")


def test_literals_become_parameters_and_helpers_get_the_globals_they_read() -> None:
    got = modules(
        "import pandas as pd",
        "LIMIT = 3",
        "def clip(v):\n    return min(v, LIMIT)",
        "df = pd.read_csv('data/in.csv')\ndf['a'] = df['a'].map(clip)\ndf['b'] = [clip(x) for x in df['a']]",
    )
    assert body(got["preprocessing"]) == '''import functools

import pandas as pd

from .config import PreprocessingConfig


# From notebook cell 3.
def clip(v, *, LIMIT):
    return min(v, LIMIT)


def set_constants(*, config: PreprocessingConfig):
    """Set constants (notebook cell 2).

    Returns LIMIT.
    """

    # Notebook cell 2.
    LIMIT = config.limit

    return LIMIT


def load_df(LIMIT, *, config: PreprocessingConfig):
    """Load df (notebook cell 4).

    Returns df.
    """

    # Notebook cell 4.
    df = pd.read_csv(config.in_path)
    df["a"] = df["a"].map(functools.partial(clip, LIMIT=LIMIT))
    df["b"] = [clip(x, LIMIT=LIMIT) for x in df["a"]]

    return df


def preprocess(*, config: PreprocessingConfig):
    """Run the preprocessing stage (notebook cells 2, 4).

    Returns df, by name.
    """
    LIMIT = set_constants(config=config)
    df = load_df(LIMIT, config=config)

    return {"df": df}
'''


def test_side_effect_imports_and_names_in_strings_are_kept() -> None:
    got = modules(
        "import numpy as np\nimport pandas as pd\n"
        "from sklearn.experimental import enable_halving_search_cv\n"
        "from sklearn.model_selection import HalvingGridSearchCV\nfrom sklearn.tree import DecisionTreeClassifier",
        "df = pd.DataFrame({'a': range(10)})",
        "small = df.query('a < @np.pi')",
        "search = HalvingGridSearchCV(DecisionTreeClassifier(), {'max_depth': [1, 2]}, cv=2)\nsearch.fit(small, small['a'] > 1)",
    )
    training = got["training"]
    assert (
        "from sklearn.experimental import enable_halving_search_cv  # noqa: F401\n"
        in training
    )
    assert training.index("enable_halving_search_cv") < training.index(
        "import HalvingGridSearchCV"
    )
    assert "def train(small, *, config: TrainingConfig):" in training
    # numpy is used only inside the query string, which pandas evaluates.
    assert "import numpy as np  # noqa: F401\n" in got["preprocessing"]


def test_a_stage_name_clash_with_a_helper_is_avoided() -> None:
    got = modules(
        "from sklearn.linear_model import LogisticRegression\nfrom sklearn.metrics import accuracy_score",
        "def evaluate(m, X, y):\n    return accuracy_score(y, m.predict(X))",
        "model = LogisticRegression().fit([[0], [1]], [0, 1])",
        "acc = evaluate(model, [[0], [1]], [0, 1])\nprint(accuracy_score([0, 1], model.predict([[0], [1]])))",
    )
    evaluation = got["evaluation"]
    assert "def evaluate(m, X, y):" in evaluation
    assert "def evaluate_stage(model):" in evaluation
    assert "acc = evaluate(model, [[0], [1]], [0, 1])" in evaluation
    assert "return acc" in evaluation


def test_the_comments_a_cell_opens_with_stay_above_its_first_statement() -> None:
    # libcst keeps them in the cell module's header, not on the statement
    generated = modules(
        "import pandas as pd",
        "# load the raw rows\n# (they come from the shop)\n"
        "df = pd.read_csv('data/shop.csv')",
        "# nbprod: training\n# the mean is the whole model\nmean = df['x'].mean()",
    )
    assert (
        "    # load the raw rows\n    # (they come from the shop)\n"
        "    df = pd.read_csv(" in generated["preprocessing"]
    )
    assert "    # the mean is the whole model\n    mean = " in generated["training"]
    assert "nbprod: training" not in generated["training"]
