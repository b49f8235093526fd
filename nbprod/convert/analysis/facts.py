"""The analysis' results: frozen facts about each cell, as the planner needs them.

Every question the analysis answers returns one of these (or a part of
``CellFacts``); nothing is set on the objects it was given.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange, Scope

from nbprod.convert.analysis.normalise import NormalCell
from nbprod.known_apis import PathUse, RowChangeKind
from nbprod.stages import Stage


@dataclass(frozen=True)
class Signal:
    """A call that points at a stage."""

    stage: Stage
    api: str
    line: int
    via: str = ""  # the notebook's function whose body makes the call, if any


@dataclass(frozen=True)
class Import:
    """One name bound by a top-level import."""

    bound: str
    qualified: str
    line: int
    statement: str  # the import statement for this name alone


@dataclass(frozen=True)
class Predicting:
    """A function of the notebook that returns a model's predictions row by row
    (``def predict(df, dv, model): ... return model.predict_proba(X)[:, 1]``):
    its parameters, those whose rows it predicts on, those whose predictions it
    returns, and those it applies as fitted objects (``dv.transform``)."""

    params: tuple[str, ...]
    rows: tuple[str, ...]
    models: tuple[str, ...]
    uses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Helper:
    """A top-level ``def`` or ``class``: it moves to module level."""

    name: str
    kind: str  # function | class
    line: int
    params: tuple[str, ...]
    free_names: tuple[str, ...]
    mutated_params: tuple[int, ...]
    mutated_globals: tuple[str, ...]
    original: str = ""  # the notebook's name, when ``name`` is a later version of it
    # The stage signals of the calls in its body (a function that fits a model):
    # a cell that calls it gets them.
    signals: tuple[Signal, ...] = ()
    predicting: Predicting | None = None


# What a literal that can become a config value is: a keyword argument, a
# file's path, a constant bound to a name, a papermill parameter.
LiteralKind = typing.Literal["kwarg", "path", "constant", "parameter"]


@dataclass(frozen=True)
class Literal:
    """A literal in the code that can become a config value."""

    line: int
    column: int
    kind: LiteralKind
    name: str  # keyword, variable or file stem it is known by
    callee: str
    value: object
    direction: PathUse = ""
    # The glob pattern that finds the files read under this path, relative to the
    # notebook: the path itself (``glob.glob("data/*.csv")``) or the folder it
    # starts with (``Path("data").glob("*.csv")``). "" for a path read as it is.
    glob: str = ""
    # (line, column) where it ends: the literal's expression alone is replaced
    end: tuple[int, int] = (0, 0)
    # A path the code computes from literals and names bound to them
    # (``datapath + "oecd.csv"``): its file is an input to copy, found in the
    # project through the folder's own literal; the expression stays the code's.
    computed: bool = False


@dataclass(frozen=True)
class MetricCall:
    """A call of a ``sklearn.metrics`` function that runs where it is written:
    in a cell's code, not in a function, lambda or comprehension body."""

    function: str  # qualified: ``sklearn.metrics.accuracy_score``
    # each positional argument: the name it is, or None for any other expression
    names: tuple[str | None, ...]
    # (keyword, source) of each keyword argument whose value is a literal
    keywords: tuple[tuple[str, str], ...]
    # it has ``*args``, ``**kwargs`` or a keyword whose value is not a literal
    opaque: bool
    statement: int  # index of the top-level statement holding it
    line: int
    source: str  # the call as written


@dataclass(frozen=True)
class Dropped:
    """A statement left out of the pipeline, and why."""

    line: int
    kind: str  # display | plot | no-op (``global`` at top level)
    text: str
    binds: tuple[str, ...] = ()  # names it assigns (``fig, ax = plt.subplots()``)


@dataclass(frozen=True)
class NameCall:
    """A call of a bare name, e.g. a helper: which names it was given."""

    name: str
    args: tuple[str | None, ...]
    line: int


@dataclass(frozen=True)
class Prediction:
    """A ``model.predict(argument)`` call with one positional argument."""

    model: str
    argument: str  # its code
    names: tuple[str, ...]  # the names it reads


@dataclass(frozen=True)
class RowChange:
    """A step that changes which rows a value holds, their order or their index."""

    kind: RowChangeKind
    what: str  # the method or expression, for messages: "sort_values"
    part: str = ""  # of a split: "train" or "held-out"
    # Of a held-out part of a split that gives the same parts every run (a
    # fixed random_state, or no shuffling): the same split of the row positions,
    # which says which rows it held out (run just before the split), and the
    # code of what was split (``X_scaled``, ``scaler.fit_transform(X)``).
    positions: str = ""
    array: str = ""


@dataclass(frozen=True)
class Column:
    """A value put into a frame under a literal key (``df["pred"] = pred``)."""

    key: str
    code: str  # the value's code
    carriers: tuple[str, ...]  # the names its rows come from
    models: tuple[str, ...] = ()  # models it predicts with itself (``m.predict(X)``)


@dataclass(frozen=True)
class Flow:
    """How one value a statement binds or changes gets its rows: from the rows
    of ``carriers`` (the main one first), with ``models``' predictions reaching
    it row by row, through ``changes``."""

    name: str
    carriers: tuple[str, ...]
    models: tuple[str, ...] = ()
    changes: tuple[RowChange, ...] = ()
    # It puts values into a frame as columns (``pd.DataFrame({...})``,
    # ``df["pred"] = pred``): the frame only carries them.
    packs: bool = False
    columns: tuple[Column, ...] = ()  # what it packs under literal keys


@dataclass(frozen=True)
class RowFlow:
    """How rows move through one statement (see ``analysis.rows``)."""

    flows: tuple[Flow, ...] = ()
    # objects it fits and applies at once (``scaler.fit_transform(X)``): on new
    # rows, the fitted object is applied (``scaler.transform(X)``)
    applies: tuple[str, ...] = ()
    # fitted objects it applies to rows (``scaler.transform(X)``, ``model.predict(X)``)
    uses_fitted: tuple[str, ...] = ()
    written: tuple[str, ...] = ()  # the rows of what it writes to a file
    written_columns: tuple[Column, ...] = ()  # the columns of a frame it writes
    # what it fits and applies at once, kept in no name
    # (``StandardScaler().fit_transform``): new rows could not get it as fitted
    unkept: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    """One kept top-level statement of a cell: the unit the serving path and the
    taint of clock readings are traced through."""

    index: int  # in the cell's libcst module body
    line: int
    end_line: int
    reads: tuple[str, ...]  # notebook globals it loads, wherever they were defined
    writes: tuple[str, ...]  # names it binds at the cell's top level
    mutates: tuple[str, ...]  # names it changes in place
    simple: bool  # one small statement on its own lines (not compound, no ``;``)
    source: str = ""  # "reader" or "split": it makes rows (from a file, by splitting)
    clock: bool = False  # it reads the clock (time.time(), datetime.now(), ...)
    predicts: tuple[Prediction, ...] = ()  # its ``model.predict(rows)`` calls
    name_calls: tuple[NameCall, ...] = ()  # calls of bare names (helpers)
    constant: bool = False  # it binds names to a literal (``cols = ["a", "b"]``)
    rows: RowFlow = RowFlow()  # how rows move through it


@dataclass(frozen=True)
class CellFacts:
    """What one code cell does, as the planner needs it."""

    number: int
    reads: tuple[str, ...] = ()
    defines: tuple[str, ...] = ()
    mutates: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()
    string_reads: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    signals: tuple[Signal, ...] = ()
    effects: tuple[str, ...] = ()
    imports: tuple[Import, ...] = ()
    helpers: tuple[Helper, ...] = ()
    name_calls: tuple[NameCall, ...] = ()
    literals: tuple[Literal, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    has_code: bool = False
    estimators: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    unsaveable: tuple[str, ...] = ()  # names bound to values no pickle can save
    names_used: tuple[str, ...] = ()
    names_seen: tuple[str, ...] = ()  # in any statement but imports, dropped ones too
    unseeded: tuple[str, ...] = ()  # "line L: api" for random draws without a seed
    written: tuple[str, ...] = ()  # names used in the paths the cell writes to
    predictors: tuple[str, ...] = ()  # names whose .predict() the cell calls
    loaded: tuple[str, ...] = ()  # names a data reader (ROW_READERS) fills from a file
    # names bound, and names changed in place, by top-level (unconditional) statements
    assigned: tuple[str, ...] = ()
    mutated_top: tuple[str, ...] = ()
    statements: tuple[Statement, ...] = ()
    # "line L: exec(...)": code that defines names no analysis can see
    dynamic: tuple[str, ...] = ()
    # each top-level statement's kind as classified (display, plot, shown, code...)
    kinds: tuple[str, ...] = ()
    kept: tuple[int, ...] = ()  # indices of the top-level statements kept
    shown: frozenset[int] = frozenset()  # kept last expressions the notebook displayed
    shows: tuple[int, ...] = ()  # kept top-level ``plt.show()`` statements
    draws: tuple[int, ...] = ()  # kept plot statements that draw (not a setting)
    # names kept plot statements bind (``fig, ax = plt.subplots()``): figure objects
    figures: tuple[str, ...] = ()
    # first lines of the displays inside kept statements, left out of the pipeline
    nested_displays: tuple[int, ...] = ()
    metric_calls: tuple[MetricCall, ...] = ()  # in kept code, in the order written


@dataclass(frozen=True, eq=False)
class ParsedCell:
    """A normalised cell, its libcst module and the positions and scopes of its
    nodes. What the analysis finds out about it is in its ``CellFacts``."""

    cell: NormalCell
    module: cst.Module
    positions: Mapping[cst.CSTNode, CodeRange] = field(repr=False)
    scopes: Mapping[cst.CSTNode, Scope | None] = field(repr=False, default_factory=dict)
    # the index of the top-level statement holding each node, by ``id``
    statement_of: Mapping[int, int] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class Reference:
    """A name a cell reads from the notebook's namespace, and where."""

    name: str
    line: int
    column: int
    statement: int  # index of the top-level statement holding it
    helper: str | None  # the top-level def or class it is inside
    runtime: bool  # inside a function body: looked up when called, not when defined
    call: bool  # the callee of a call, ``name(...)``
