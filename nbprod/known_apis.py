"""What nbprod knows about ML and data libraries: one table, easy to extend.

Patterns are ``fnmatch`` patterns over qualified names (``pandas.read_csv``),
resolved through the notebook's own imports; the first matching row wins.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Literal

from nbprod.stages import Stage

# Short names keep the table below one row per line.
PRE, TRAIN, INFER, EVAL = (
    Stage.PREPROCESSING,
    Stage.TRAINING,
    Stage.INFERENCE,
    Stage.EVALUATION,
)

# (pattern, stage, what it is): calls of functions and classes. A stage of None
# means "no signal" and stops the broader rows below from matching.
CALLS: tuple[tuple[str, Stage | None, str], ...] = (
    ("statsmodels.graphics.*", None, "plot"),
    ("statsmodels.api.graphics.*", None, "plot"),
    ("statsmodels.api.qqplot*", None, "plot"),
    # metrics and reports come before the broad sklearn rows below
    ("sklearn.metrics.*Display*", EVAL, "metric plot"),
    ("sklearn.metrics.*", EVAL, "metric"),
    ("sklearn.model_selection.cross_val_score", TRAIN, "cross-validation"),
    ("sklearn.model_selection.cross_validate", TRAIN, "cross-validation"),
    ("sklearn.model_selection.cross_val_predict", TRAIN, "cross-validation"),
    ("sklearn.model_selection.*SearchCV", TRAIN, "hyperparameter search"),
    ("sklearn.model_selection.learning_curve", TRAIN, "learning curve"),
    ("sklearn.model_selection.validation_curve", TRAIN, "validation curve"),
    ("sklearn.model_selection.*", PRE, "data splitting"),
    ("sklearn.datasets.*", PRE, "dataset loader"),
    ("sklearn.preprocessing.*", PRE, "transformer"),
    ("sklearn.impute.*", PRE, "imputer"),
    ("sklearn.feature_extraction.*", PRE, "feature extraction"),
    ("sklearn.feature_selection.*", PRE, "feature selection"),
    ("sklearn.compose.*", PRE, "column transformer"),
    ("sklearn.decomposition.*", PRE, "decomposition"),
    ("sklearn.manifold.*", PRE, "embedding"),
    ("sklearn.utils.shuffle", PRE, "shuffling"),
    ("sklearn.pipeline.*", TRAIN, "pipeline"),
    ("sklearn.linear_model.*", TRAIN, "estimator"),
    ("sklearn.ensemble.*", TRAIN, "estimator"),
    ("sklearn.tree.*", TRAIN, "estimator"),
    ("sklearn.svm.*", TRAIN, "estimator"),
    ("sklearn.neighbors.*", TRAIN, "estimator"),
    ("sklearn.naive_bayes.*", TRAIN, "estimator"),
    ("sklearn.cluster.*", TRAIN, "clustering estimator"),
    ("sklearn.mixture.*", TRAIN, "mixture model"),
    ("sklearn.neural_network.*", TRAIN, "estimator"),
    ("sklearn.discriminant_analysis.*", TRAIN, "estimator"),
    ("sklearn.gaussian_process.*", TRAIN, "estimator"),
    ("sklearn.kernel_ridge.*", TRAIN, "estimator"),
    ("sklearn.dummy.*", TRAIN, "baseline estimator"),
    ("sklearn.calibration.CalibratedClassifierCV", TRAIN, "estimator"),
    ("sklearn.multiclass.*", TRAIN, "estimator"),
    ("imblearn.metrics.*", EVAL, "metric"),
    ("imblearn.over_sampling.*", PRE, "resampler"),
    ("imblearn.under_sampling.*", PRE, "resampler"),
    ("imblearn.combine.*", PRE, "resampler"),
    ("imblearn.pipeline.*", TRAIN, "pipeline"),
    ("imblearn.ensemble.*", TRAIN, "estimator"),
    ("xgboost.*", TRAIN, "estimator"),
    ("lightgbm.*", TRAIN, "estimator"),
    ("catboost.*", TRAIN, "estimator"),
    ("statsmodels.api.add_constant", PRE, "design matrix"),
    ("statsmodels.tools.*add_constant", PRE, "design matrix"),
    ("statsmodels.api.datasets.*", PRE, "dataset loader"),
    ("statsmodels.datasets.*", PRE, "dataset loader"),
    ("statsmodels.*datetools.*", PRE, "dates"),
    ("statsmodels.tsa.stattools.*", EVAL, "statistical test"),
    ("statsmodels.api.tsa.acf", EVAL, "statistical test"),
    ("statsmodels.api.tsa.pacf", EVAL, "statistical test"),
    ("statsmodels.api.tsa.stattools.*", EVAL, "statistical test"),
    ("statsmodels.stats.*", EVAL, "statistical test"),
    ("statsmodels.api.stats.*", EVAL, "statistical test"),
    ("statsmodels.formula.api.*", TRAIN, "formula model"),
    ("statsmodels.tsa.seasonal.*", TRAIN, "decomposition model"),
    ("statsmodels.tsa.*", TRAIN, "time-series model"),
    ("statsmodels.api.tsa.*", TRAIN, "time-series model"),
    ("statsmodels.api.*", TRAIN, "statistical model"),
    ("statsmodels.*", TRAIN, "statistical model"),
    ("scipy.stats.zscore", PRE, "scaling"),
    # weights solved for in closed form (the normal equation of a hand-written
    # linear regression: ``np.linalg.inv(X.T.dot(X))``)
    ("numpy.linalg.inv", TRAIN, "closed-form fit"),
    ("numpy.linalg.pinv", TRAIN, "closed-form fit"),
    ("numpy.linalg.solve", TRAIN, "closed-form fit"),
    ("numpy.linalg.lstsq", TRAIN, "closed-form fit"),
    ("scipy.linalg.solve", TRAIN, "closed-form fit"),
    ("scipy.linalg.lstsq", TRAIN, "closed-form fit"),
    ("pandas.read_*", PRE, "data reader"),
    ("pandas.get_dummies", PRE, "encoding"),
    ("pandas.concat", PRE, "combining frames"),
    ("pandas.merge", PRE, "combining frames"),
    ("pandas.to_datetime", PRE, "parsing"),
    ("pandas.to_numeric", PRE, "parsing"),
    ("pandas.cut", PRE, "binning"),
    ("pandas.qcut", PRE, "binning"),
    ("numpy.load", PRE, "data reader"),
    ("numpy.loadtxt", PRE, "data reader"),
    ("numpy.genfromtxt", PRE, "data reader"),
    ("numpy.fromfile", PRE, "data reader"),
    ("polars.read_*", PRE, "data reader"),
    ("polars.scan_*", PRE, "data reader"),
    ("pyarrow.csv.read_csv", PRE, "data reader"),
    ("pyarrow.parquet.read_table", PRE, "data reader"),
    ("pyarrow.feather.read_table", PRE, "data reader"),
    ("pyarrow.feather.read_feather", PRE, "data reader"),
    ("pyarrow.json.read_json", PRE, "data reader"),
    ("pyarrow.dataset.dataset", PRE, "data reader"),
    ("joblib.load", PRE, "artifact reader"),
    ("torch.nn.*", TRAIN, "neural network"),
    ("torch.optim.*", TRAIN, "optimizer"),
    ("keras.*", TRAIN, "neural network"),
    ("tensorflow.keras.*", TRAIN, "neural network"),
)

# Method names that signal a stage whatever they are called on.
METHODS: dict[str, tuple[Stage, str]] = {
    "fit_transform": (PRE, "fit_transform"),
    "transform": (PRE, "transform"),
    "fit_resample": (PRE, "resampling"),
    "inverse_transform": (PRE, "inverse_transform"),
    "fit_predict": (TRAIN, "fit_predict"),
    "partial_fit": (TRAIN, "partial_fit"),
    "predict": (INFER, "predict"),
    "predict_proba": (INFER, "predict_proba"),
    "predict_log_proba": (INFER, "predict_log_proba"),
    "decision_function": (INFER, "decision_function"),
    "forecast": (INFER, "forecast"),
    "get_forecast": (INFER, "forecast"),
    "get_prediction": (INFER, "prediction"),
    "score": (EVAL, "score"),
    "fillna": (PRE, "pandas cleaning"),
    "dropna": (PRE, "pandas cleaning"),
    "drop_duplicates": (PRE, "pandas cleaning"),
    "astype": (PRE, "pandas cleaning"),
    "replace": (PRE, "pandas cleaning"),
    "rename": (PRE, "pandas cleaning"),
    "extract": (PRE, "pandas cleaning"),
    "get_dummies": (PRE, "encoding"),
}

# Classes whose ``.fit`` prepares data rather than trains a model.
TRANSFORMER_PATTERNS = (
    "sklearn.preprocessing.*",
    "sklearn.impute.*",
    "sklearn.feature_extraction.*",
    "sklearn.feature_selection.*",
    "sklearn.compose.*",
    "sklearn.decomposition.*",
    "imblearn.over_sampling.*",
    "imblearn.under_sampling.*",
    "imblearn.combine.*",
)

# Methods that change the object they are called on.
MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "remove",
        "pop",
        "clear",
        "update",
        "add",
        "discard",
        "sort",
        "reverse",
        "setdefault",
        "popitem",
        "appendleft",
        "fit",
        "partial_fit",
        "fit_transform",
        "fit_predict",
        "fit_resample",
        "set_params",
        "mkdir",
        "write",
        "writelines",
        "close",
        "seed",
        "shuffle",
    }
)
# Functions that change their first argument.
MUTATING_FUNCTIONS = frozenset({"numpy.random.shuffle", "random.shuffle"})

PLOT_PATTERNS = (
    "matplotlib.*",
    "seaborn.*",
    "pandas.plotting.*",
    "plotly.*",
    "sklearn.metrics.*Display*",
    "statsmodels.graphics.*",
    "statsmodels.api.graphics.*",
    "statsmodels.api.qqplot*",
    "statsmodels.graphics.api.*",
)
# Plot calls that draw nothing: they set a style or a default, show or close
# figures. A cell that only makes these has no figure to save.
PLOT_SETTINGS = (
    "seaborn.set",
    "seaborn.set_*",
    "seaborn.reset_*",
    "matplotlib.use",
    "matplotlib.rc*",
    "matplotlib.style.*",
    "matplotlib.pyplot.rc*",
    "matplotlib.pyplot.style.*",
    "matplotlib.pyplot.ion",
    "matplotlib.pyplot.ioff",
    "matplotlib.pyplot.show",
    "matplotlib.pyplot.close",
    "pandas.plotting.register_matplotlib_converters",
)
# The figures a pipeline saves are matplotlib's (pyplot, seaborn, pandas' .plot);
# a cell that draws with these libraries keeps its plots out of the pipeline, as
# before (plotly's show() opens a browser when run as a script).
UNSAVED_PLOT_LIBRARIES = ("plotly", "bokeh", "altair")
PLOT_METHODS = frozenset(
    {
        "plot",
        "hist",
        "boxplot",
        "scatter",
        "bar",
        "barh",
        "imshow",
        "heatmap",
        "plot_diagnostics",
    }
)
# Methods known not to change what they are called on (pandas, numpy, sklearn,
# statsmodels, str): a bare expression that calls nothing else is only there to be
# looked at, and leaves the pipeline. The one table of "display-only" methods: any
# method not listed here is code, since it may change something (``tracker.log(x)``).
# ``inplace=True`` makes any of them code.
PURE_METHODS = frozenset(
    {
        # looking at a frame or an array
        "head",
        "tail",
        "describe",
        "info",
        "sample",
        "memory_usage",
        "to_string",
        "nunique",
        "unique",
        "value_counts",
        "isnull",
        "isna",
        "notnull",
        "notna",
        "duplicated",
        "isin",
        "between",
        "select_dtypes",
        "to_frame",
        "to_numpy",
        "tolist",
        "to_list",
        "to_dict",
        "copy",
        "keys",
        "items",
        "values",
        # reductions and statistics
        "sum",
        "mean",
        "median",
        "std",
        "var",
        "min",
        "max",
        "count",
        "prod",
        "any",
        "all",
        "abs",
        "round",
        "quantile",
        "mode",
        "skew",
        "kurt",
        "idxmax",
        "idxmin",
        "argmax",
        "argmin",
        "argsort",
        "nlargest",
        "nsmallest",
        "cumsum",
        "cumprod",
        "diff",
        "pct_change",
        "corr",
        "corrwith",
        "cov",
        "rank",
        "clip",
        "dot",
        # reshaping into a new object
        "groupby",
        "agg",
        "aggregate",
        "size",
        "unstack",
        "stack",
        "pivot",
        "pivot_table",
        "melt",
        "transpose",
        "sort_values",
        "sort_index",
        "reset_index",
        "set_index",
        "drop",
        "filter",
        "merge",
        "reshape",
        "ravel",
        "flatten",
        "squeeze",
        "item",
        "nonzero",
        "contains",
        # styling a frame for display
        "background_gradient",
        "highlight_max",
        "highlight_min",
        "highlight_null",
        "set_caption",
        # fitted models: results that change nothing
        "get_params",
        "get_feature_names_out",
        "get_depth",
        "get_n_leaves",
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
        "score",
        "transform",
        "inverse_transform",
        "forecast",
        "get_forecast",
        "get_prediction",
        "summary",
        "summary2",
        "conf_int",
        # strings
        "format",
        "split",
        "strip",
        "lower",
        "upper",
        "title",
        "startswith",
        "endswith",
    }
)
# Builtins that compute a value from their arguments and change nothing.
PURE_BUILTINS = frozenset(
    {
        "len",
        "range",
        "list",
        "tuple",
        "dict",
        "set",
        "frozenset",
        "sorted",
        "reversed",
        "sum",
        "min",
        "max",
        "abs",
        "round",
        "zip",
        "enumerate",
        "str",
        "int",
        "float",
        "bool",
        "repr",
        "type",
        "isinstance",
        "any",
        "all",
        "format",
        "hasattr",
        "getattr",
        "dir",
    }
)
# Libraries whose functions compute a value and change nothing (but for the
# exceptions ``is_pure_call`` names: writers, readers, random draws, settings).
PURE_LIBRARIES = ("pandas.", "numpy.", "sklearn.metrics.")
# The functions of scikit-learn's metrics module, whose calls the analysis records
# (``CellFacts.metric_calls``): which of them ``monitor`` recomputes is decided in
# ``convert.plan.metrics``.
METRIC_CALLS = ("sklearn.metrics.*",)
# The metrics ``monitor`` can compute again on new labelled rows: only functions
# whose first two parameters are (y_true, y_pred) or (y_true, y_score), so that
# the truth and what ``predict`` serves are all they need (not clustering scores of
# the features, not curves, not reports). Each by its qualified name, and whether a
# higher value is better: an error or a loss is better lower.
_MONITORED = (
    "accuracy_score",
    "balanced_accuracy_score",
    "f1_score",
    "precision_score",
    "recall_score",
    "jaccard_score",
    "matthews_corrcoef",
    "cohen_kappa_score",
    "roc_auc_score",
    "average_precision_score",
    "log_loss",
    "brier_score_loss",
    "hamming_loss",
    "zero_one_loss",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_absolute_error",
    "median_absolute_error",
    "r2_score",
    "explained_variance_score",
    "mean_absolute_percentage_error",
    "max_error",
)
MONITORED_METRICS: Mapping[str, bool] = {
    f"sklearn.metrics.{name}": not name.endswith(("_error", "_loss"))
    for name in _MONITORED
}
# Calls that only show something in Jupyter: they leave the pipeline, and IPython
# never becomes a dependency of the project.
DISPLAY_PATTERNS = ("display", "IPython.display.*", "IPython.core.display.*")

# Which way a path goes: read, written, or only named as a path (``Path("d")``,
# ``os.listdir("d")``); "" for a literal that is no path.
PathUse = Literal["read", "write", "path", ""]


# Where a reader or writer takes its path: qualified function -> argument position.
PATH_FUNCTIONS: dict[str, tuple[int, PathUse]] = {
    "pandas.read_*": (0, "read"),
    "numpy.load": (0, "read"),
    "numpy.loadtxt": (0, "read"),
    "numpy.genfromtxt": (0, "read"),
    "numpy.fromfile": (0, "read"),
    "polars.read_*": (0, "read"),
    "polars.scan_*": (0, "read"),
    "pyarrow.csv.read_csv": (0, "read"),
    "pyarrow.parquet.read_table": (0, "read"),
    "pyarrow.feather.read_table": (0, "read"),
    "pyarrow.feather.read_feather": (0, "read"),
    "pyarrow.json.read_json": (0, "read"),
    "pyarrow.dataset.dataset": (0, "read"),
    "numpy.save": (0, "write"),
    "numpy.savetxt": (0, "write"),
    "numpy.savez*": (0, "write"),
    "joblib.load": (0, "read"),
    "joblib.dump": (1, "write"),
    "open": (0, "read"),
    "pathlib.Path": (0, "path"),
    "os.makedirs": (0, "write"),
    "os.mkdir": (0, "write"),
    "os.path.join": (0, "path"),
    "os.path.exists": (0, "path"),
    "os.listdir": (0, "read"),
    "glob.glob": (0, "read"),
    "glob.iglob": (0, "read"),
    "matplotlib.pyplot.savefig": (0, "write"),
}
PATH_METHODS: dict[str, tuple[int, PathUse]] = {
    "to_csv": (0, "write"),
    "to_parquet": (0, "write"),
    "to_json": (0, "write"),
    "to_excel": (0, "write"),
    "to_pickle": (0, "write"),
    "to_feather": (0, "write"),
    "savefig": (0, "write"),
    "save": (0, "write"),
}
# Calls that find files by a pattern (``glob.glob("data/*.csv")``): the files it
# matches are the inputs, copied with the folders they are in, and the pattern is
# the config value.
GLOB_FUNCTIONS = frozenset({"glob.glob", "glob.iglob"})
# Methods of a path that match a pattern under it (``Path("data").glob("*.csv")``),
# and what they put before the pattern: rglob matches at any depth. The folder is
# the config value.
GLOB_METHODS: dict[str, str] = {"glob": "", "rglob": "**/"}
GLOB_RECEIVERS = frozenset({"pathlib.Path"})

# Calls that draw random numbers unless given ``random_state`` (or seeded globally).
RANDOM_STATE_PATTERNS = (
    "sklearn.ensemble.*",
    "sklearn.tree.*",
    "sklearn.cluster.*KMeans",
    "sklearn.model_selection.train_test_split",
    "sklearn.model_selection.*Randomized*",
    "sklearn.model_selection.Halving*",
    "sklearn.model_selection.ShuffleSplit",
    "sklearn.model_selection.StratifiedShuffleSplit",
    "sklearn.neural_network.*",
    "sklearn.linear_model.SGD*",
    "sklearn.datasets.make_*",
    "sklearn.utils.shuffle",
    "sklearn.mixture.*",
    "xgboost.XGB*",
    "xgboost.sklearn.XGB*",
    "lightgbm.LGBM*",
    "lightgbm.sklearn.LGBM*",
    "catboost.CatBoost*",
    "imblearn.over_sampling.*",
    "imblearn.under_sampling.Random*",
)
# Names the broad patterns above catch that take no random_state.
NOT_RANDOM = (
    "sklearn.ensemble.Voting*",
    "sklearn.ensemble.Stacking*",
    "sklearn.tree.export_*",
    "sklearn.tree.plot_tree",
)
# Calls shown as a cell's last line whose value is None: IPython keeps its last
# output (``_``) as it was.
RETURNS_NONE = frozenset({"print", "display", "info", "show"})
# Global random number generators, and the calls that seed them.
GLOBAL_RANDOM = {"numpy.random.": "numpy.random.seed", "random.": "random.seed"}
# Functions of those modules that make or seed a generator rather than draw from one.
SEEDING = frozenset(
    {
        "seed",
        "default_rng",
        "RandomState",
        "Random",
        "Generator",
        "SeedSequence",
        "PCG64",
        "get_state",
        "set_state",
        "getstate",
        "setstate",
    }
)
# Of those, the ones that make a generator of its own: seeded by their first argument
# or ``seed=``, and unseeded without one (or given None).
GENERATOR_MAKERS = frozenset({"default_rng", "RandomState", "Random"})
# Methods that draw from numpy's global generator unless given a seed or random_state
# (statsmodels' simulate and generate_sample, scipy's rvs, pandas' sample).
RANDOM_METHODS = frozenset({"generate_sample", "simulate", "rvs", "sample"})
# Keywords that seed a call: scikit-learn's random_state, xgboost's and lightgbm's
# seed, catboost's random_seed. Given None, they seed nothing.
SEED_KEYWORDS = frozenset({"random_state", "seed", "random_seed"})

# Calls whose result is rows of data: new rows for ``predict`` arrive in the form
# one of these gave (a file read into a frame, the held-out part of a split).
ROW_READERS = (
    "pandas.read_*",
    "numpy.load",
    "numpy.loadtxt",
    "numpy.genfromtxt",
    "numpy.fromfile",
    "polars.read_*",
    "polars.scan_*",
    "pyarrow.csv.read_csv",
    "pyarrow.parquet.read_table",
    "pyarrow.feather.read_table",
    "pyarrow.feather.read_feather",
    "pyarrow.json.read_json",
    "pyarrow.dataset.dataset",
)
ROW_SPLITS = frozenset({"sklearn.model_selection.train_test_split"})
# Constructors of rows from values written in the code (``pd.DataFrame({...})``):
# rows only where they read no other data.
ROW_MAKERS = frozenset({"pandas.DataFrame", "numpy.array", "numpy.asarray"})

# How rows move through code (nbprod.convert.analysis.rows): what a model makes
# of each row it is given, what a fitted object applies row by row, what fits.
MODEL_OUTPUTS = frozenset(
    {"predict", "predict_proba", "predict_log_proba", "decision_function"}
)
FITTED_METHODS = frozenset({"transform", "inverse_transform", "score_samples"})
FIT_METHODS = frozenset({"fit", "partial_fit"})
# Fit and apply at once: on new rows, the fitted object is applied instead.
FIT_THEN_APPLY = {"fit_transform": "transform", "fit_predict": "predict"}
# Libraries whose functions give one value per row of their first argument
# (``np.expm1(pred)``, ``pd.get_dummies(df)``, ``binarize(p, threshold=0.3)``),
# but for the reducers below and their classes, which make objects.
ROW_LIBRARIES = ("numpy.", "pandas.", "scipy.special.", "sklearn.preprocessing.")
# Of those, the ones whose every argument carries the same rows.
ROW_ELEMENTWISE_ALL = frozenset(
    {
        "numpy.where",
        "numpy.maximum",
        "numpy.minimum",
        "numpy.select",
        "numpy.add",
        "numpy.multiply",
        "numpy.subtract",
        "numpy.divide",
        "numpy.average",
    }
)
# Values side by side (``np.c_[a, b]``), frames and series built from values.
ROW_STACKERS = frozenset({"numpy.c_"})
ROW_PACKERS = frozenset({"pandas.DataFrame", "pandas.Series"})
ROW_JOINERS = frozenset(
    {
        "pandas.concat",
        "numpy.hstack",
        "numpy.column_stack",
        "numpy.vstack",
        "numpy.concatenate",
    }
)
ROW_MERGES = frozenset({"pandas.merge", "pandas.merge_asof", "pandas.merge_ordered"})
# Methods and functions that make one value of many rows (unless given axis=1).
ROW_REDUCERS = frozenset(
    {
        "mean",
        "sum",
        "std",
        "var",
        "min",
        "max",
        "median",
        "quantile",
        "percentile",
        "nanmean",
        "nansum",
        "nanmedian",
        "nanstd",
        "nanmax",
        "nanmin",
        "count",
        "nunique",
        "unique",
        "value_counts",
        "describe",
        "corr",
        "cov",
        "all",
        "any",
        "prod",
        "mode",
        "argmax",
        "argmin",
        "idxmax",
        "idxmin",
        "item",
        "info",
        "to_string",
        "agg",
        "aggregate",
        "sem",
        "skew",
        "kurt",
        "kurtosis",
        "size",
        "bincount",
        "histogram",
        "allclose",
        "array_equal",
        "isclose",
    }
)
# Attributes that are not rows (``df.columns``, ``X.shape``).
NOT_ROWS_ATTRIBUTES = frozenset(
    {
        "columns",
        "shape",
        "dtypes",
        "dtype",
        "index",
        "ndim",
        "size",
        "empty",
        "classes_",
        "feature_names_in_",
        "coef_",
        "intercept_",
        "name",
        "str_",
    }
)
# ``groupby`` and ``resample`` make one value per group, unless the method gives
# one per row; windows give one per row.
ROW_GROUPERS = frozenset({"groupby", "resample"})
ROW_WINDOWS = frozenset({"rolling", "expanding", "ewm"})
GROUPBY_PER_ROW = frozenset(
    {
        "transform",
        "shift",
        "diff",
        "cumsum",
        "cumcount",
        "cumprod",
        "cummax",
        "cummin",
        "rank",
        "pct_change",
        "fillna",
        "ffill",
        "bfill",
    }
)
# What a step does to the rows of a value: keeps some of them in another order
# (reorder), drops some (filter), takes some by position or label (select), one
# part of a split (split), several rows for one or one for several (duplicate,
# combine, aggregate), or gives them a new index (reindex).
RowChangeKind = Literal[
    "reorder",
    "filter",
    "select",
    "split",
    "duplicate",
    "combine",
    "aggregate",
    "reindex",
]


# Methods of frames that change their rows, and what they do to them.
ROW_CHANGES: dict[str, RowChangeKind] = {
    "sort_values": "reorder",
    "sort_index": "reorder",
    "sample": "reorder",
    "dropna": "filter",
    "drop_duplicates": "filter",
    "query": "filter",
    "head": "filter",
    "tail": "filter",
    "nlargest": "filter",
    "nsmallest": "filter",
    "drop": "filter",
    "explode": "duplicate",
    "merge": "combine",
    "join": "combine",
    "reset_index": "reindex",
    "set_index": "reindex",
    "pivot": "aggregate",
    "pivot_table": "aggregate",
    "melt": "aggregate",
    "stack": "aggregate",
    "unstack": "aggregate",
    "transpose": "aggregate",
}

# Calls that read the clock: what is computed from them (durations) differs on
# every run, so it is never evidence that two runs differ.
CLOCK_CALLS = frozenset(
    {
        "time.time",
        "time.time_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.process_time",
        "timeit.default_timer",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "pandas.Timestamp.now",
        "pandas.Timestamp.today",
    }
)

# Keyword arguments that are not hyperparameters: never lifted into config.
NOT_HYPERPARAMETERS = frozenset(
    {
        "n_jobs",
        "verbose",
        "copy",
        "inplace",
        "axis",
        "error_score",
        "return_train_score",
    }
)


@lru_cache(maxsize=4096)
def call_signal(qualname: str) -> tuple[Stage, str] | None:
    """The (stage, reason) a call of ``qualname`` signals, if any."""
    for pattern, stage, what in CALLS:
        if fnmatchcase(qualname, pattern):
            return (stage, what) if stage else None
    return None


@lru_cache(maxsize=4096)
def matches_any(qualname: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``qualname`` matches one of ``patterns``."""
    return any(fnmatchcase(qualname, p) for p in patterns)


def needs_random_state(qualname: str) -> bool:
    """Whether a call of ``qualname`` draws random numbers unless given a seed."""
    return matches_any(qualname, RANDOM_STATE_PATTERNS) and not matches_any(
        qualname, NOT_RANDOM
    )


# Constructors of values that hold a native handle and cannot be pickled (a
# lightgbm Dataset once lgb.train has constructed it): they never cross from one
# stage to another (a stage run alone could not load them).
UNSAVEABLE = (
    "xgboost.DMatrix",
    "xgboost.QuantileDMatrix",
    "xgboost.DeviceQuantileDMatrix",
    "lightgbm.Dataset",
)


# Boosting libraries' own containers of rows (``xgb.DMatrix(X, label=y)``): one
# row per row of their data, which a booster's ``predict`` predicts on.
ROW_CONTAINERS = UNSAVEABLE
# Their keywords that carry what is learned from, not what is predicted on: new
# rows come without them, so ``predict`` builds the container without them.
CONTAINER_TARGETS = frozenset({"label", "weight"})


# Readers whose first argument is a query or a table, not a file.
NOT_PATH_READERS = (
    "pandas.read_sql*",
    "pandas.read_gbq",
    "pandas.read_clipboard",
    "polars.read_database*",
    "polars.read_clipboard",
    "polars.scan_pyarrow_dataset",
)


def path_argument(qualname: str) -> tuple[int, PathUse] | None:
    """The position and direction of a path argument for a known reader or writer."""
    if matches_any(qualname, NOT_PATH_READERS):
        return None
    for pattern, spec in PATH_FUNCTIONS.items():
        if fnmatchcase(qualname, pattern):
            return spec
    return None


def is_ml_call(qualname: str) -> bool:
    """Whether literal keyword arguments of this call are hyperparameters to lift."""
    signal = call_signal(qualname)
    if signal is None or qualname.startswith(
        ("pandas.", "numpy.", "sklearn.metrics.", "joblib.")
    ):
        return False
    # Classes (CamelCase) and the split/search helpers take hyperparameters.
    last = qualname.rsplit(".", 1)[-1]
    return last[:1].isupper() or last in {
        "train_test_split",
        "cross_val_score",
        "cross_validate",
        "make_classification",
        "make_regression",
        "make_blobs",
    }


def is_pure_call(qualname: str) -> bool:
    """Whether a call of ``qualname`` only computes a value: a pure builtin, or a
    function of a pure library that reads no file, writes none, draws no random
    number and changes no setting."""
    if qualname in PURE_BUILTINS:
        return True
    if not qualname.startswith(PURE_LIBRARIES) or matches_any(qualname, PLOT_PATTERNS):
        return False
    last = qualname.rsplit(".", 1)[-1]
    return (
        qualname not in MUTATING_FUNCTIONS
        and path_argument(qualname) is None
        and ".random." not in qualname
        and not last.startswith(("set", "reset", "save", "to_"))
    )


def is_path(value: str, name: str) -> bool:
    """Whether a string assigned to ``name`` is a file or folder path to lift into
    config: the variable says so (``*_path``, ``*_dir``, ``*_file``...) and the value
    looks like one (a slash, an extension, a bare name, ``.``)."""
    if not value or "\n" in value or "://" in value or len(value) > 260:
        return False
    lowered = name.lower()
    named = lowered.endswith(("path", "dir", "file", "folder", "filename", "root"))
    shaped = "/" in value or bool(_EXTENSION.search(value))
    return named and (shaped or value in {".", ".."} or value.isidentifier())


_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


class Draw(enum.Enum):
    """What a call does with random numbers (``random_call``)."""

    SEEDS = "seeds"  # seeds a global generator: ``np.random.seed(0)``
    GLOBAL = "global"  # draws from a global generator: unseeded unless seeded above
    UNSEEDED = "unseeded"  # random, and given no seed: ``RandomForestClassifier()``


@dataclass(frozen=True)
class RandomCall:
    """The verdict on one call: what it does, on which global generator, and what
    to tell the user when it is unseeded."""

    draw: Draw
    generator: str = ""  # for SEEDS and GLOBAL: the module prefix, "numpy.random."
    what: str = ""  # "numpy.random.rand() draws from the unseeded global generator"

    def unseeded(self, seeded: frozenset[str] | set[str]) -> bool:
        """Whether the call is unseeded once ``seeded`` generators were seeded."""
        if self.draw is Draw.GLOBAL:
            return self.generator not in seeded
        return self.draw is Draw.UNSEEDED


def random_call(
    qualname: str | None,
    method: str,
    keywords: Mapping[str | None, bool],
    positional: Sequence[bool],
) -> RandomCall | None:
    """The one seeded/unseeded verdict, shared by convert and ``nbprod lint`` (NBP005).

    ``qualname``: the callee through the notebook's imports, for a plain dotted name
    only (``np.random.normal``, not ``np.random.default_rng(0).normal``), else None;
    ``method``: the attribute called (``df.sample`` -> "sample"), "" for a bare name;
    ``keywords``: each keyword -> whether its value is something other than ``None``
    (``**kwargs`` is the key None); ``positional``: the same for each positional
    argument. None when the call has nothing to do with random numbers."""
    seed_given = any(keywords.get(k, False) for k in SEED_KEYWORDS) or None in keywords
    if qualname is not None:
        last = qualname.rsplit(".", 1)[-1]
        for prefix, seeder in GLOBAL_RANDOM.items():
            if qualname == seeder:
                return RandomCall(Draw.SEEDS, prefix)
            if (
                qualname.startswith(prefix)
                and qualname.count(".") == prefix.count(".")
                and last not in SEEDING
            ):
                what = f"{qualname}() draws from the unseeded global generator"
                return RandomCall(Draw.GLOBAL, prefix, what)
        if last in GENERATOR_MAKERS and qualname.startswith(tuple(GLOBAL_RANDOM)):
            given = bool(positional and positional[0]) or keywords.get("seed", False)
            if given or None in keywords:
                return None
            return RandomCall(Draw.UNSEEDED, what=f"{qualname}() without a seed")
        if needs_random_state(qualname) and not seed_given:
            return RandomCall(Draw.UNSEEDED, what=f"{last}() without random_state")
        return None
    if method in RANDOM_METHODS and not seed_given:
        what = f".{method}() without random_state"
        return RandomCall(Draw.GLOBAL, "numpy.random.", what)
    return None
