"""Per-cell facts, checked exactly on small hand-written cells."""

from __future__ import annotations

import pytest

from nbprod.convert.analysis import CellFacts, analyse_notebook
from nbprod.convert.analysis.normalise import normalise_cell
from nbprod.errors import CellError
from nbprod.notebook import Cell


def facts(*sources: str) -> list[CellFacts]:
    cells = [normalise_cell(Cell(i + 1, "code", src)) for i, src in enumerate(sources)]
    return analyse_notebook(cells)[0]


IMPORTS = (
    "import pandas as pd\n"
    "from sklearn.ensemble import RandomForestClassifier\n"
    "from sklearn.model_selection import train_test_split"
)


def test_imports_are_collected_with_their_qualified_names() -> None:
    (f,) = facts(IMPORTS)
    assert [(i.bound, i.qualified) for i in f.imports] == [
        ("pd", "pandas"),
        ("RandomForestClassifier", "sklearn.ensemble.RandomForestClassifier"),
        ("train_test_split", "sklearn.model_selection.train_test_split"),
    ]
    assert f.has_code is False


def test_reads_defines_and_qualified_calls_across_cells() -> None:
    _, f = facts(
        IMPORTS, 'df = pd.read_csv("data/x.csv")\ndf = df.dropna()\nn = len(df)'
    )
    assert f.reads == ("pd",)
    assert f.defines == ("df", "n")
    assert "pandas.read_csv" in f.calls
    assert [(s.stage, s.line) for s in f.signals] == [
        ("preprocessing", 1),
        ("preprocessing", 2),
    ]
    assert [(lit.kind, lit.name, lit.value, lit.direction) for lit in f.literals] == [
        ("path", "x", "data/x.csv", "read")
    ]


def test_a_name_assigned_in_the_same_statement_is_still_read() -> None:
    _, f = facts("x = 1", "x = x + 1\nfor i in range(3):\n    total = total + i")
    assert set(f.reads) == {"x", "total"}


def test_conditional_assignment_does_not_hide_an_earlier_value() -> None:
    _, f = facts("x = 1", "if flag:\n    x = 2\nprint(x)")
    assert set(f.reads) == {"flag", "x"}


@pytest.mark.parametrize(
    ("source", "mutated"),
    [
        ('df["a"] = 1', ("df",)),
        ("df.loc[df.a > 0, 'b'] = 2", ("df",)),
        ("obj.attr = 3", ("obj",)),
        ("items.append(4)", ("items",)),
        ("df.drop(columns=['a'], inplace=True)", ("df",)),
        ("model.fit(X, y)", ("model",)),
        ("del df['a']", ("df",)),
        ("df.head()", ()),
    ],
)
def test_mutations(source: str, mutated: tuple[str, ...]) -> None:
    (f,) = facts(source)
    assert f.mutates == mutated


def test_del_of_a_name_is_a_deletion() -> None:
    (f,) = facts("del tmp, other")
    assert f.deletes == ("tmp", "other")


def test_helpers_record_free_names_and_mutated_parameters() -> None:
    (f,) = facts("def add(df, k):\n    df['z'] = df['a'] * FACTOR + k\n    return df")
    (h,) = f.helpers
    assert (h.name, h.kind, h.params, h.free_names, h.mutated_params) == (
        "add",
        "function",
        ("df", "k"),
        ("FACTOR",),
        (0,),
    )


def test_display_and_plot_statements_are_dropped_and_listed() -> None:
    _, f = facts(
        "import matplotlib.pyplot as plt",
        "plt.plot(x)\nplt.show()\ndf.groupby('k').mean().round(1)",
    )
    assert [(d.line, d.kind) for d in f.dropped] == [
        (1, "plot"),
        (2, "plot"),
        (3, "display"),
    ]
    assert not f.has_code


def test_a_cell_that_computes_keeps_its_plots_and_says_where_it_shows_them() -> None:
    # Its figures are saved by the pipeline (issue 12, item 4); displays still go.
    _, f = facts(
        "import matplotlib.pyplot as plt\nimport seaborn as sns",
        "y = x * 2\nsns.set_theme()\nfig, ax = plt.subplots()\nax.plot(y)\n"
        "plt.show()\ndf.groupby('k').mean().round(1)",
    )
    assert [(d.line, d.kind) for d in f.dropped] == [(6, "display")]
    assert f.kept == (0, 1, 2, 3, 4)
    assert f.shows == (4,)
    assert f.draws == (2, 3)  # not the style setting, not the show
    assert f.figures == ("ax", "fig")
    assert f.reads == ("x", "sns", "plt")  # (the planner drops the imports)


def test_plots_with_a_library_the_pipeline_cannot_save_stay_out() -> None:
    _, f = facts(
        "import plotly.express as px",
        "y = x * 2\nfig = px.line(y)\nfig.show()",
    )
    assert [(d.line, d.kind) for d in f.dropped] == [(2, "plot"), (3, "plot")]


def test_a_last_expression_that_changes_something_is_kept() -> None:
    (f,) = facts("results.append(1)")
    assert f.dropped == ()
    assert f.mutates == ("results",)


def test_names_inside_formula_and_query_strings_are_uses() -> None:
    _, f = facts(
        "import statsmodels.formula.api as smf\nimport numpy as np",
        'res = smf.ols("np.log(y) ~ x + C(g)", data=df).fit()\nsub = df.query("a > @limit")',
    )
    assert {"np", "y", "x", "C", "g", "limit"} <= set(f.string_reads)


def test_hyperparameters_of_known_calls_are_literals_to_lift() -> None:
    _, f = facts(
        IMPORTS,
        "model = RandomForestClassifier(n_estimators=200, max_depth=None, n_jobs=-1, random_state=0)",
    )
    assert [(lit.kind, lit.name, lit.value) for lit in f.literals] == [
        ("kwarg", "n_estimators", 200),
        ("kwarg", "random_state", 0),
    ]
    assert f.estimators == ("sklearn.ensemble.RandomForestClassifier",)


def test_syntax_error_names_cell_and_line() -> None:
    with pytest.raises(CellError) as info:
        facts("x = 1", "y = 2\nz = (3 +\n")
    assert str(info.value).startswith("cell 2, line 2: syntax error")


def test_code_libcst_accepts_but_python_rejects_is_refused() -> None:
    with pytest.raises(CellError, match="cell 1, line 3: syntax error"):
        facts("try:\n    pass\nexcept ValueError, e:\n    pass")


def test_random_draws_without_a_seed_are_named() -> None:
    _, f, g = facts(
        "import numpy as np\nfrom sklearn.ensemble import RandomForestClassifier",
        "a = np.random.rand(3)\nm = RandomForestClassifier(n_estimators=3)\nsim = res.simulate(10)",
        "np.random.seed(0)\nb = np.random.rand(2)\nrng = np.random.default_rng()",
    )
    assert f.unseeded == (
        "line 1: numpy.random.rand() draws from the unseeded global generator",
        "line 2: RandomForestClassifier() without random_state",
        "line 3: .simulate() without random_state",
    )
    assert g.unseeded == ("line 3: numpy.random.default_rng() without a seed",)


def test_a_plot_that_draws_random_numbers_is_kept() -> None:
    # Dropping it would change every number drawn after it from the global generator.
    _, f = facts(
        "import matplotlib.pyplot as plt\nimport numpy as np",
        "plt.plot(np.random.normal(size=5))\nplt.title('noise')",
    )
    assert [(d.line, d.kind) for d in f.dropped] == [(2, "plot")]


def test_paths_the_notebook_writes_to_are_known() -> None:
    _, f = facts(
        "import os\nimport json",
        "out_dir = 'results'\nos.makedirs(out_dir, exist_ok=True)\n"
        "with open(os.path.join(out_dir, 'm.json'), 'w') as fh:\n    json.dump({}, fh)",
    )
    assert "out_dir" in f.written


def test_a_helper_body_leaves_no_types_or_seeds_behind() -> None:
    # ``model`` inside ``train`` is not the notebook's ``model``; a seed inside a
    # helper seeds nothing until the helper is called.
    helper = (
        "def train(X):\n    np.random.seed(0)\n    model = StandardScaler()\n"
        "    return model, 0.5"
    )
    _, _, fit, draw = facts(
        "import numpy as np\nfrom sklearn.preprocessing import StandardScaler",
        helper,
        "model, score = train(X)\nmodel.fit(X, y)",
        "noise = np.random.normal()",
    )
    assert [(s.stage, s.api) for s in fit.signals] == [
        ("training", "model.fit (estimator)")
    ]
    assert draw.unseeded == ()  # train() ran in the cell above
    _, _, never = facts(
        "import numpy as np\nfrom sklearn.preprocessing import StandardScaler",
        helper,
        "noise = np.random.normal()",
    )
    assert never.unseeded == (
        "line 1: numpy.random.normal() draws from the unseeded global generator",
    )


def test_iterating_a_set_is_named_as_run_to_run_variation() -> None:
    (f,) = facts(
        "s = {1, 2}\nfor x in s:\n    pass\nfor a, b in zip([1], s):\n    pass"
    )
    assert f.unseeded == (
        "line 2: iterates over a set, whose order can change from run to run",
        "line 4: iterates over a set, whose order can change from run to run",
    )


# -- display-only is a short list ----------------------------------------------

# (setup cell, last line of the next cell, dropped as display?)
DISPLAY_CASES = [
    ("import pandas as pd", "df.head()", True),
    ("import pandas as pd", "df.shape", True),
    ("import pandas as pd", "df.groupby('k').mean().round(1)", True),
    ("import pandas as pd", "df['a'].value_counts(normalize=True)", True),
    ("import pandas as pd", "len(df), df.columns[0]", True),
    ("import pandas as pd", "pd.Series([3, 1]).sort_values()", True),
    ("from IPython.display import display", "display(df.head())", True),
    ("from IPython.display import HTML", "HTML('<b>done</b>')", True),
    # the notebook's module docstring: a generated module's is another one
    ("import pandas as pd", "print(__doc__)", True),
    ("import pandas as pd", "print(__doc__, df)", False),
    ("import pandas as pd", "tracker.log(x)", False),
    ("import pandas as pd", "runlog.append('a')", False),
    ("import pandas as pd", "Tracker('train').log(2)", False),
    ("import pandas as pd", "df.sort_values('a', inplace=True)", False),
    ("import pandas as pd", "featurize(df)", False),
    ("import pandas as pd", "df['a'] + featurize(df)", False),
    ("import pandas as pd", "pd.set_option('mode.copy_on_write', True)", False),
    ("import pandas as pd", "df.head(counter.bump())", False),
    ("import pandas as pd", "(n := n + 1)", False),
    ("import pandas as pd", "[log(x) for x in df]", False),
]


@pytest.mark.parametrize(("setup", "last", "display"), DISPLAY_CASES)
def test_only_known_display_apis_and_pure_values_are_dropped(
    setup: str, last: str, display: bool
) -> None:
    _, f = facts(setup, f"x = 1\n{last}")
    assert [d.kind for d in f.dropped] == (["display"] if display else [])


def test_a_cell_printing_what_a_call_returns_is_not_print_only() -> None:
    _, f, g = facts("x = 1", "print(x, len([x]))", "print(tracker.log(1))")
    assert "print" in f.effects
    assert "print" not in g.effects


def test_display_of_a_value_leaves_no_ipython_import_in_use() -> None:
    (f,) = facts("from IPython.display import display\ndisplay(df.head())")
    assert [d.kind for d in f.dropped] == ["display"]
    assert f.has_code is False


# -- IPython's history names ---------------------------------------------------


def analysed(*sources: str) -> tuple[list[CellFacts], list[str]]:
    """Facts, and each cell's code as analysed (after nbprod's rewrites)."""
    cells = [normalise_cell(Cell(i + 1, "code", src)) for i, src in enumerate(sources)]
    found, parsed = analyse_notebook(cells)
    return found, [pc.cell.code for pc in parsed]


def test_underscore_becomes_the_value_the_earlier_cell_showed() -> None:
    found, code = analysed(
        "import pandas as pd\ndf = pd.DataFrame({'k': [1, 1], 'v': [1.0, 2.0]})",
        "df.groupby('k').mean()",
        "x = 1",
        "print(x)",
        "means = _.round(1)",
    )
    assert code[1] == "output_2 = df.groupby('k').mean()"
    assert code[4] == "means = output_2.round(1)"
    assert found[1].defines == ("output_2",) and found[1].dropped == ()
    assert found[4].reads == ("output_2",)


def test_underscore_the_notebook_assigns_is_an_ordinary_name() -> None:
    found, code = analysed(
        "import matplotlib.pyplot as plt",
        "_ = plt.hist([1, 2])",
        "for _ in range(3):\n    pass\nn = _",
        "m = _",
    )
    assert code[2:] == ["for _ in range(3):\n    pass\nn = _", "m = _"]


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (("x = 1", "x", "y = __"), "cell 3, line 1: __ is IPython's output history"),
        (("x = 1", "x", "y = Out[2] + 1"), "cell 3, line 1: Out[...] is IPython's"),
        (("x = 1", "x", "y = _2"), "cell 3, line 1: _2 is IPython's output history"),
        (("x = 1", "z = 2\ny = In[1]"), "cell 2, line 2: In[...] is IPython's input"),
        (("x = 1", "y = _i1"), "cell 2, line 1: _i1 is IPython's input history"),
        (
            ("x = 1", "def f():\n    return _", "y = f()"),
            "cell 2, line 2: _ (inside f) is IPython's output history",
        ),
        (("x = 1", "y = _ + 1"), "cell 2, line 1: _ is IPython's last output, and no"),
        (
            ("x = 1", "model.fit(x)", "y = _"),
            "cell 3, line 1: _ is IPython's last output, and the code does not tell "
            "which value it is (cell 2 ends with model.fit(x), which may be None)",
        ),
    ],
)
def test_history_names_that_cannot_be_converted_are_refused(
    sources: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CellError) as info:
        facts(*sources)
    assert str(info.value).startswith(message), str(info.value)


def test_a_history_name_in_a_dropped_display_is_not_refused() -> None:
    _, f = facts("x = 1", "Out[1]")
    assert [d.kind for d in f.dropped] == ["display"]


# -- what cannot be converted faithfully ----------------------------------------


def test_global_inside_a_function_is_refused_by_line() -> None:
    with pytest.raises(CellError) as info:
        facts("X = 0", "def bump():\n    global X\n    X += 1", "bump()")
    assert str(info.value).startswith("cell 2, line 2: global X inside a function")


def test_global_at_top_level_is_a_dropped_no_op() -> None:
    _, f = facts("X = 1", "global X\nX = 2")
    assert [(d.line, d.kind, d.text) for d in f.dropped] == [(1, "no-op", "global X")]
    assert f.defines == ("X",)


def test_a_name_only_exec_defines_is_refused_where_it_is_read() -> None:
    with pytest.raises(CellError) as info:
        facts("x = 1", "exec('a = 1')", "b = a + x")
    assert str(info.value).startswith(
        "cell 3, line 1: a is read here but no cell defines it; the notebook "
        "defines names dynamically (cell 2, line 1: exec(...))"
    )


def test_globals_update_with_every_name_defined_is_accepted() -> None:
    _, f = facts("globals().update({'a': 1})", "a = 2\nb = a")
    assert f.defines == ("a", "b")


# -- names defined more than once ------------------------------------------------

TWICE = (
    "import numpy as np",
    "def featurize(x):\n    return np.c_[x, x ** 2]",
    "model = fit(featurize(X), y)",
    "def featurize(x):\n    return np.c_[x, x ** 3]",
    "model_2 = fit(featurize(X), y)\npred = model.predict(featurize(X))",
)


def test_each_definition_keeps_a_name_and_each_use_binds_the_live_one() -> None:
    found, code = analysed(*TWICE)
    assert [(h.name, h.original) for f in found for h in f.helpers] == [
        ("featurize", ""),
        ("featurize_2", "featurize"),
    ]
    assert code[2] == "model = fit(featurize(X), y)"
    assert code[3].startswith("def featurize_2(x):")
    assert code[4] == (
        "model_2 = fit(featurize_2(X), y)\npred = model.predict(featurize_2(X))"
    )


def test_a_version_name_the_notebook_uses_is_skipped() -> None:
    found, _ = analysed("featurize_2 = 1", *TWICE[1:])
    assert [h.name for f in found for h in f.helpers] == ["featurize", "featurize_3"]


def test_a_helper_called_where_one_definition_is_live_is_bound_to_it() -> None:
    _, code = analysed(
        "def scale(x):\n    return x * 2",
        "def prepare(x):\n    return scale(x) + 1",
        "a = prepare(1)",
        "def scale(x):\n    return x * 3",
        "class Model:\n    def go(self, x):\n        return scale(x)",
        "b = Model().go(2)",
    )
    assert code[1] == "def prepare(x):\n    return scale(x) + 1"
    assert code[4] == "class Model:\n    def go(self, x):\n        return scale_2(x)"


@pytest.mark.parametrize(
    "sources",
    [
        # called directly on both sides of the redefinition
        (
            "def scale(x):\n    return x * 2",
            "def prepare(x):\n    return scale(x) + 1",
            "a = prepare(1)",
            "def scale(x):\n    return x * 3",
            "b = prepare(2)",
        ),
        # handed over as a value, then run later by whoever holds it
        (
            "def scale(x):\n    return x * 2",
            "def prepare(x):\n    return scale(x) + 1",
            "step = Transformer(prepare)",
            "def scale(x):\n    return x * 3",
        ),
    ],
)
def test_a_helper_run_across_a_redefinition_of_what_it_uses_is_refused(
    sources: tuple[str, ...],
) -> None:
    with pytest.raises(CellError) as info:
        facts(*sources)
    assert str(info.value).startswith(
        "cell 2, line 2: prepare() uses scale, and the notebook runs prepare() both "
        "before and after a redefinition of scale (cells 1, 4)"
    )


def test_a_helper_name_also_bound_by_code_is_refused() -> None:
    with pytest.raises(CellError) as info:
        facts("def featurize(x):\n    return x", "featurize = lambda x: x + 1")
    assert str(info.value).startswith(
        "cell 2, line 1: featurize is bound here and also defined by the function "
        "statement of cell 1"
    )


def test_a_method_of_what_a_reader_returns_takes_no_path() -> None:
    (f,) = facts(
        "import pandas as pd\nimport polars as pl\n"
        'a = pd.read_csv("a.csv").drop("x", axis=1)\n'
        'b = pl.read_csv("b.csv").select("y")\n'
        'c = pl.scan_csv("c.csv").select("z").collect()'
    )
    assert [(lit.value, lit.callee) for lit in f.literals] == [
        ("a.csv", "pandas.read_csv"),
        ("b.csv", "polars.read_csv"),
        ("c.csv", "polars.scan_csv"),
    ]


@pytest.mark.parametrize(
    ("code", "found"),
    [
        # a pattern is known by the folder it matches in, a built path by its variable
        ('glob.glob("data/*.csv")', ("data", "data/*.csv", "read", "data/*.csv")),
        ('sorted(glob.iglob("d/p/*.csv"))', ("p", "d/p/*.csv", "read", "d/p/*.csv")),
        (
            'glob.glob(os.path.join("d", "p", "*.csv"))',
            ("files", "d", "read", "d/p/*.csv"),
        ),
        ('Path("d/p").glob("*.csv")', ("files", "d/p", "read", "d/p/*.csv")),
        ('Path("d").rglob("*.csv")', ("files", "d", "read", "d/**/*.csv")),
        # a pattern the analysis cannot read: the folder stays a path
        ('Path("d").glob(pattern)', ("files", "d", "path", "")),
        ('glob.glob(os.path.join("d", name))', ("files", "d", "path", "")),
    ],
)
def test_a_glob_pattern_is_known_with_the_path_it_is_under(
    code: str, found: tuple[str, str, str, str]
) -> None:
    (f,) = facts(f"import glob\nimport os\nfrom pathlib import Path\nfiles = {code}")
    assert [(lit.name, lit.value, lit.direction, lit.glob) for lit in f.literals] == [
        found
    ]


@pytest.mark.parametrize(
    ("folder", "read", "path"),
    [
        (
            'd = os.path.join("datasets", "lifesat", "")',
            'd + "a.csv"',
            "datasets/lifesat/a.csv",
        ),
        ('D = "data/"', 'f"{D}a.csv"', "data/a.csv"),
        ('D = Path("data")', 'D / "sub" / "a.csv"', "data/sub/a.csv"),
        ('D = Path("data")', 'D.joinpath("a").with_suffix(".csv")', "data/a.csv"),
        ('D = "data"', 'os.path.join(D, "a.csv")', "data/a.csv"),
        ('D = "data"', 'str(Path(D) / "a.csv")', "data/a.csv"),
        # rebound to what the code computes otherwise, or in a loop: not known
        ('D = "data"\nD = D.upper()', 'D + "/a.csv"', None),
        ('D = "data"\nfor D in ["x", "y"]:\n    pass', 'D + "/a.csv"', None),
        ('D = "data"', "D + name", None),
    ],
)
def test_a_path_computed_from_literals_is_a_file_the_notebook_reads(
    folder: str, read: str, path: str | None
) -> None:
    # The folder in one cell, the read in the next, as course notebooks do.
    *_, f = facts(
        f"import os\nfrom pathlib import Path\nimport pandas as pd\n{folder}",
        f"x = pd.read_csv({read})",
    )
    found = [(lit.value, lit.direction, lit.computed) for lit in f.literals]
    assert found == ([(path, "read", True)] if path else [])
