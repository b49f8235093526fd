"""The plan: what each cell, helper and stage became, the config values lifted,
how ``predict`` scores new rows; and reading a plan back from JSON.

The one description of the project between analysis and everything that writes
(generation, the templates' facts, validation, export): ``convert/plan/`` makes
it, and it depends on nothing but the stage vocabulary."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from nbprod.stages import Stage

# The kinds of value a config key holds.
ParamKind = typing.Literal[
    "int", "float", "str", "bool", "list", "tuple", "dict", "path"
]
# How validation compares what a cell prints (CellPlan.printed).
Printed = typing.Literal["all", "kept", ""]


# Where a statement is: (cell, index of the statement in the cell's module).
Where = tuple[int, int]


@dataclass(frozen=True)
class CloneUse:
    """One copy: the frame it works on, its shared statements in order, and the
    statements between them that move before the shared run."""

    frame: str
    statements: tuple[Where, ...]
    hoisted: tuple[Where, ...] = ()


@dataclass(frozen=True)
class SecretLiteral:
    """A string literal with a likely secret, and the variable it moves to."""

    cell: int
    line: int
    column: int
    kind: str
    env: str


@dataclass(frozen=True)
class Param:
    """One config value lifted out of the code."""

    key: str
    group: str  # a stage, or "parameters" for a papermill parameters cell
    value: object
    kind: ParamKind
    cell: int
    line: int
    column: int
    source: str  # what it was in the notebook, for comments and the report
    also_at: tuple[
        tuple[int, int, int], ...
    ] = ()  # the same setting repeated: (cell, line, column)


@dataclass(frozen=True)
class DataFile:
    """An input file the notebook reads (and no cell writes): copied into the
    project's ``data/`` folder, or, when not copied, found where it is."""

    source: str  # as the notebook names it, relative to the notebook's folder
    path: str  # where config.yaml points, relative to the project
    size: int  # bytes
    sha256: str
    copied: bool


@dataclass(frozen=True)
class CellPlan:
    """Where one code cell went and why."""

    number: int
    stage: Stage | None
    reason: str
    explicit: bool = False
    section: str = ""
    dropped: tuple[str, ...] = ()
    depends_on: tuple[int, ...] = ()
    # The names it reads from each cell it depends on (a cell it must only run
    # after, because it changes what that one read, is in depends_on alone).
    reads_from: tuple[tuple[int, tuple[str, ...]], ...] = ()
    # How validation compares what the cell prints: "all" (every statement is in
    # the pipeline: line for line), "kept" (displays were left out, and they may
    # print: the pipeline's lines must be among the notebook's), or "" (not at all:
    # not in the pipeline, or a magic like %timeit prints differently).
    printed: Printed = ""
    timing: bool = False  # it uses what is computed from the clock


@dataclass(frozen=True)
class HelperPlan:
    """A notebook ``def``/``class`` and the module it moves to."""

    name: str
    kind: str
    cell: int
    stage: Stage
    data_params: tuple[str, ...]
    # The notebook's name when it defines ``original`` more than once: this is
    # a later definition, kept under its own name (``featurize_age``).
    original: str = ""


@dataclass(frozen=True)
class SharedStep:
    """The function a step shares with the steps that run the same code with
    other versions of the notebook's helpers (experiments)."""

    function: str  # the first such step's name: the function's
    returns: tuple[str, ...]  # what the function returns: every call's outputs
    # (parameter, helper) the call passes: the notebook's name of the helper and
    # the version this step uses (``("prepare_X", "prepare_X_age")``).
    passes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class StepPlan:
    """One named step of a stage: a function over a run of the stage's cells.

    It takes what it reads of the stage's names (``inputs``, and the config values
    ``params``) and returns what a later step or the stage's caller uses; what it
    makes and nobody uses later stays local to it."""

    name: str
    origin: str  # where the name came from: a heading, a comment, what it makes
    cells: tuple[int, ...]
    inputs: tuple[str, ...]
    params: tuple[str, ...]  # config keys it reads, passed by keyword
    outputs: tuple[str, ...]
    # More than a few values go back as one named tuple of this class.
    result: str = ""
    # (output, cell): as StagePlan.returned_after, for the values the step returns.
    returned_after: tuple[tuple[str, int], ...] = ()
    # Of its inputs, those it reads from its stage's inputs, taken whole (the
    # stage's ``bundle``): it would otherwise take too many parameters.
    bundled: tuple[str, ...] = ()
    # The function it calls, when it runs the same code as other steps with
    # other versions of a helper; None when the function is its own.
    shared: SharedStep | None = None


@dataclass(frozen=True)
class StagePlan:
    """One pipeline stage: a module whose entry function runs its steps in order
    (or holds the stage's code itself, when it is one step)."""

    stage: Stage
    function: str
    cells: tuple[int, ...]
    inputs: tuple[str, ...]
    params: tuple[tuple[str, str], ...]  # (group, key) of config.yaml it reads
    outputs: tuple[str, ...]
    helpers: tuple[str, ...]
    steps: tuple[StepPlan, ...] = ()
    # (output, cell): right after that cell, the last of the stage's that binds or
    # changes the output, the notebook holds the value the stage returns; a later
    # cell may bind the name again (a k-fold loop's ``df_train``), so validation
    # keeps the notebook's value there, not at its end.
    returned_after: tuple[tuple[str, int], ...] = ()
    # The named tuple its inputs come in, as one parameter (Plan.inputs_argument),
    # when they are too many to be parameters of their own; "" when they are not.
    bundle: str = ""


@dataclass(frozen=True)
class ClonePlan:
    """Statements the notebook applies to two frames, factored into one function:
    ``name(frame, *, params)`` returns the frame; each copy becomes a call, the
    first copy's ``hoisted`` statements running just before it."""

    name: str
    stage: Stage  # the module the function goes in: the first copy's stage
    frame: str  # the function's parameter for the frame
    params: tuple[str, ...]  # the other names the statements read, by keyword
    first: CloneUse
    second: CloneUse
    serving: bool  # predict's prepare_new_rows calls it for the second copy
    origin: str  # "cells 10, 11, 12 and cell 25 clean train and test the same way"


@dataclass(frozen=True)
class FigurePlan:
    """A figure the notebook draws in a pipeline cell, saved by the step that
    draws it as ``NAME.png`` in the project's figures folder (``NAME-2.png`` and
    on for more figures open at once), and closed, where the notebook showed it:
    at its ``plt.show()`` (which the save replaces) or at the end of the cell,
    where Jupyter shows and closes what a cell drew."""

    name: str  # what it shows: the value it draws, else the step that draws it
    cell: int
    show: int | None  # the top-level statement ``plt.show()`` it replaces, if any


@dataclass(frozen=True)
class ServingPart:
    """A run of serving statements in one cell that a stage also runs: one
    function in the stage's module, called by the stage and by the serving
    function, so that the serving path exists once."""

    name: str
    stage: Stage  # the module it goes in: the stage that runs the statements
    statements: tuple[tuple[int, int], ...]  # (cell, statement index)
    inputs: tuple[str, ...]  # what it reads, passed in order
    outputs: tuple[str, ...]  # what it makes that is used later, returned
    # The named tuple its inputs come in when they are too many for parameters.
    bundle: str = ""


@dataclass(frozen=True)
class HeldOut:
    """The notebook predicted on the held-out part of a split of rows it had
    transformed with fitted state (scaled ``X``, then split): new rows come in
    the raw form, get the saved transform, and are all of the held-out part
    (``X_test = X_scaled``). Validation finds which raw rows were held out by
    the same split over their positions, run just before the split."""

    step: tuple[int, int]  # (cell, statement index) of the split
    line: int  # the split's first line
    name: str  # the held-out part
    array: str  # code: what was split (``X_scaled``, ``scaler.fit_transform(X)``)
    positions: str  # code: the split of the positions, its held-out part


@dataclass(frozen=True)
class Serving:
    """What the notebook serves, and how ``predict`` serves new rows the same way.

    ``served`` is the end of the notebook's serving path: the value it finally
    makes of its ``models``' predictions, right after the statement at ``call``
    (``tiers`` after ``le.inverse_transform(codes)``, ``np.expm1`` of a price,
    a threshold over probabilities, a blend). New rows arrive in the form
    ``rows`` had right after the statement at ``source`` made it (read a file,
    split off held-out rows); the notebook's own ``steps`` between the two
    (predictions and post-processing included) make the served value of them,
    with the state in ``inputs`` (the models, scalers, encoders, column lists,
    thresholds) loaded from the artifacts of the stages that made it.
    Validation captures ``rows`` at ``source`` and ``served`` at ``call`` in the
    notebook, and runs the generated ``predict`` on those rows.
    """

    models: tuple[str, ...]  # every model whose predictions are in the served value
    rows: str
    served: str  # code giving the served value right after ``call``
    source: tuple[int, int]  # (cell, last line) of the statement that makes rows
    made_by: str  # how: "reader" (a file), "split" (held-out rows), "literal" (code)
    call: tuple[
        int, int
    ]  # (cell, last line) of the statement that makes the served value
    steps: tuple[tuple[int, int], ...]  # (cell, statement index), in notebook order
    inputs: tuple[str, ...]  # saved by the stages
    params: tuple[tuple[str, str], ...]  # (group, key) of config.yaml
    stage: Stage  # the module the function goes in: the stage that serves
    # (cell, statement index, object) of each step that fits an object and
    # applies it at once (``scaler.fit_transform(X)``): new rows get the fitted
    # object applied (``scaler.transform(X)``).
    applied: tuple[tuple[int, int, str], ...] = ()
    what: str = ""  # for people: "`tiers` (cell 9, line 3)"
    # The steps are one run of the stage's statements and make nothing else the
    # pipeline uses: the stage calls the serving function there, so the serving
    # path exists once.
    called_by_stage: bool = False
    # Otherwise each run of steps a stage runs too is one function both call.
    parts: tuple[ServingPart, ...] = ()
    held_out: HeldOut | None = None
    # The other half of the split that held ``rows`` out (``X_train`` beside
    # ``X_test``): the rows the model learned from, in the form new rows come in
    # ("" when the rows were not split off so).
    learned: str = ""
    # The named tuple the saved state (``inputs``) comes in, as one parameter
    # after the rows, when it is too much for parameters of its own.
    bundle: str = ""

    @property
    def cells(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(cell for cell, _ in self.steps))


@dataclass(frozen=True)
class Plan:
    """The whole conversion plan; dumps to JSON for ``nbprod plan`` and the report."""

    notebook: str
    package: str
    cells: tuple[CellPlan, ...]
    stages: tuple[StagePlan, ...]
    params: tuple[Param, ...]
    helpers: tuple[HelperPlan, ...]
    dependencies: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    estimators: tuple[str, ...] = ()
    # The fitted model that scores new data: a training output whose .predict the
    # inference stage calls, or None with the reason.
    predictor: str | None = None
    predictor_reason: str = ""
    serving: Serving | None = None
    serving_reason: str = ""
    # String literals holding likely secrets: read from these environment
    # variables in the generated code (the values are never written).
    secrets: tuple[SecretLiteral, ...] = ()
    # What the proof needs to know of the notebook's values: those read from
    # files and never changed (comparing them proves nothing was computed), those
    # computed from the clock (never evidence of a difference), and those the
    # notebook computed that no stage returns, with why.
    raw_inputs: tuple[str, ...] = ()
    timings: tuple[str, ...] = ()
    unreturned: tuple[tuple[str, str], ...] = ()
    # Paths the notebook reads and writes, as written in it (relative to its folder).
    paths_read: tuple[str, ...] = ()
    paths_written: tuple[str, ...] = ()
    # The parameter through which a stage and its steps get their config section
    # (``config.n_estimators``): "config", unless the notebook uses that name.
    config_argument: str = "config"
    # The parameter through which a stage with many inputs gets them (StagePlan.bundle).
    inputs_argument: str = "inputs"
    # Why every stage is one function (no steps, no shared functions) although the
    # notebook has steps: validation found the restructured code differs from the
    # notebook, and the plain form did not.
    steps_reverted: str = ""
    clones: tuple[ClonePlan, ...] = ()
    # The figures the pipeline saves, in notebook order; the parameter through
    # which a stage and its steps get the folder, and the runtime function that
    # saves them, as the stage modules name them (the notebook's own names are
    # never shadowed).
    figures: tuple[FigurePlan, ...] = ()
    figures_argument: str = "figures_dir"
    figure_saver: str = "save_figures"
    # The input files and, when they are not copied into the project, why.
    data: tuple[DataFile, ...] = ()
    data_referenced: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Plan:
        """The plan :meth:`to_dict` made, also after a JSON round trip (its lists
        become tuples again); ValueError naming the field when ``data`` is not one.
        A lifted value (``Param.value``) is kept as JSON holds it, as config.yaml does.
        """
        plan: Plan = _from_fields(cls, data, "plan")
        return plan

    def loads_from(self) -> dict[Stage, tuple[Stage, ...]]:
        """Per stage, the earlier stages whose outputs it loads: for each of its
        inputs, the last stage before it that makes it (as the generated runtime
        loads them), in the pipeline's order."""
        made_by: dict[str, Stage] = {}
        found = {}
        for s in self.stages:
            makers = {made_by[n] for n in s.inputs if n in made_by}
            found[s.stage] = tuple(t.stage for t in self.stages if t.stage in makers)
            made_by.update(dict.fromkeys(s.outputs, s.stage))
        return found

    def data_keys(self) -> dict[str, str]:
        """Each input file's config key (``group.key``), by its path in the
        project: the path value that is the file, or the folder holding it."""
        found = {}
        for d in self.data:
            for p in self.params:
                if isinstance(p.value, str) and p.kind == "path":
                    if d.path == p.value or d.path.startswith(p.value + "/"):
                        found[d.path] = f"{p.group}.{p.key}"
                        break
        return found

    def stage(self, name: str) -> StagePlan | None:
        return next((s for s in self.stages if s.stage == name), None)

    def scored_keys(self) -> tuple[str, ...]:
        """The config keys (``group.key``) of the input files the rows the
        notebook predicted on were read from: scored, not learned from."""
        serving = self.serving
        if serving is None or serving.made_by != "reader":
            return ()
        return tuple(
            sorted(
                f"{p.group}.{p.key}"
                for p in self.params
                if p.kind == "path" and p.cell == serving.source[0]
            )
        )


@cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _from_fields(cls: type, data: Any, where: str) -> Any:
    """An instance of the dataclass ``cls`` from ``data``, a dict holding exactly
    its fields."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, not {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]
    missing = [n for n in names if n not in data]
    unknown = [k for k in data if k not in names]
    if missing or unknown:
        raise ValueError(
            f"{where}: "
            + "; ".join(
                ([f"missing {', '.join(missing)}"] if missing else [])
                + ([f"unknown {', '.join(map(str, unknown))}"] if unknown else [])
            )
        )
    hints = _field_types(cls)
    return cls(**{n: _typed(hints[n], data[n], f"{where}.{n}") for n in names})


def _typed(hint: Any, value: Any, where: str) -> Any:
    """``value``, as JSON or ``asdict`` holds it, as the type ``hint`` says."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _from_fields(hint, value, where)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _typed(inner, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list, not {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        elif len(args) != len(value):
            raise ValueError(f"{where}: expected {len(args)} items, not {len(value)}")
        return tuple(
            _typed(a, v, f"{where}[{i}]")
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if hint is object:
        return value
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(f"{where}: not one of {args}: {value!r:.40}")
        return value
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise ValueError(f"{where}: not a {hint.__name__}: {value!r:.40}") from None
    if hint in (str, int, bool):
        # bool is an int to isinstance; not to a plan
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise ValueError(f"{where}: expected {hint.__name__}, not {value!r:.40}")
        return value
    raise TypeError(f"{where}: Plan.from_dict cannot read a {hint!r}")
