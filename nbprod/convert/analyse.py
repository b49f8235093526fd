"""Per-cell facts from libcst metadata, and the notebook's cross-cell dependencies.

Pure: normalised cells in, facts out. Every code cell is checked with ``compile()``
first, so a syntax error is reported at the notebook's cell and line, and libcst
never sees code CPython would reject.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    BuiltinAssignment,
    FunctionScope,
    GlobalScope,
    ImportAssignment,
    MetadataWrapper,
    PositionProvider,
    ScopeProvider,
)

from nbprod import known_apis as apis
from nbprod.convert.normalise import NormalCell
from nbprod.errors import CellError

STAGE_ORDER = {apis.PRE: 0, apis.TRAIN: 1, apis.INFER: 2, apis.EVAL: 3}
_FORMULA_NAME = re.compile(r"(?<![\w.'\"])([A-Za-z_]\w*)")
_QUERY_NAME = re.compile(r"@([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Signal:
    """A call that points at a stage."""

    stage: str
    api: str
    line: int


@dataclass(frozen=True)
class Import:
    """One name bound by a top-level import."""

    bound: str
    qualified: str
    line: int
    statement: str  # the import statement for this name alone


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


@dataclass(frozen=True)
class Literal:
    """A literal in the code that can become a config value."""

    line: int
    column: int
    kind: str  # kwarg | path | constant | parameter
    name: str  # keyword, variable or file stem it is known by
    callee: str
    value: object
    direction: str = ""  # read | write | path, for paths


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
    names_used: tuple[str, ...] = ()
    names_seen: tuple[str, ...] = ()  # in any statement but imports, dropped ones too
    unseeded: tuple[str, ...] = ()  # "line L: api" for random draws without a seed
    written: tuple[str, ...] = ()  # names used in the paths the cell writes to
    predictors: tuple[str, ...] = ()  # names whose .predict() the cell calls
    loaded: tuple[str, ...] = ()  # names a pandas reader fills from a file
    # names bound, and names changed in place, by top-level (unconditional) statements
    assigned: tuple[str, ...] = ()
    mutated_top: tuple[str, ...] = ()
    statements: tuple[Statement, ...] = ()
    # "line L: exec(...)": code that defines names no analysis can see
    dynamic: tuple[str, ...] = ()


@dataclass
class ParsedCell:
    """A normalised cell, its libcst module and the positions of its nodes."""

    cell: NormalCell
    module: cst.Module
    positions: dict = field(repr=False)
    scopes: dict = field(repr=False, default_factory=dict)
    kept: list[int] = field(
        default_factory=list
    )  # indices of top-level statements kept
    shown: set[int] = field(
        default_factory=set
    )  # last expressions the notebook displayed
    # each top-level statement's kind as classified (display, plot, shown, code...)
    kinds: list[str] = field(default_factory=list)


def check_syntax(cell: NormalCell) -> None:
    """Raise CellError naming the cell and line if CPython rejects the code.

    A full compile, not only a parse: ``return`` or ``yield`` outside a function
    parse (and libcst accepts them) but do not compile."""
    try:
        compile(cell.code, f"cell {cell.number}", "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or 1
        where = f"cell {cell.number}, line {line}"
        if "await" in (exc.msg or "") and _compiles_with_top_level_await(cell.code):
            raise CellError(
                "top-level await (IPython runs it, Python modules cannot)",
                where=where,
                hint="put the async code in an async function and call asyncio.run() on it",
            ) from None
        raise CellError(
            f"syntax error: {exc.msg}",
            where=where,
            hint="fix the cell in Jupyter, or tag it nbprod:skip",
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise CellError(
            f"cell {cell.number} is too deeply nested to analyse "
            f"({exc.__class__.__name__})"
        ) from None


def _compiles_with_top_level_await(code: str) -> bool:
    try:
        compile(
            code,
            "<cell>",
            "exec",
            flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            dont_inherit=True,
        )
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return False
    return True


def parse_cell(cell: NormalCell) -> ParsedCell:
    """Parse a normalised cell with libcst after checking it with ``compile()``."""
    check_syntax(cell)
    try:
        module = cst.parse_module(cell.code)
        # One resolve for both providers: each resolve costs a fixed libcst set-up.
        metadata = MetadataWrapper(module, unsafe_skip_copy=True).resolve_many(
            [PositionProvider, ScopeProvider]
        )
    except (cst.ParserSyntaxError, RecursionError) as exc:
        raise CellError(
            f"cannot be analysed ({exc.__class__.__name__})",
            where=f"cell {cell.number}",
        ) from None
    return ParsedCell(cell, module, metadata[PositionProvider], metadata[ScopeProvider])


def _line(parsed: ParsedCell, node: cst.CSTNode) -> int:
    pos = parsed.positions.get(node)
    return pos.start.line if pos else 0


def _dotted(node: cst.BaseExpression) -> str | None:
    try:
        return get_full_name_for_node(node)
    except Exception:  # noqa: BLE001 - libcst raises on unusual expressions
        return None


def _root_name(node: cst.BaseExpression) -> str | None:
    """``df`` for ``df``, ``df.a``, ``df["a"].b``, ``df.loc[m, "a"]``."""
    while True:
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, cst.Attribute):
            node = node.value
        elif isinstance(node, cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        else:
            return None


def _literal_value(node: cst.BaseExpression) -> tuple[bool, object]:
    """Evaluate a literal expression (numbers, strings, bools, None, containers)."""
    try:
        code = cst.Module([]).code_for_node(node)
        value = ast.literal_eval(code)
    except Exception:  # noqa: BLE001 - anything not a plain literal
        return False, None
    if isinstance(value, (bytes, complex, set, frozenset)):
        return False, None
    return True, value


class _Resolver:
    """Qualified names through the notebook's imports and the types assigned so far.

    libcst's QualifiedNameProvider resolves names through the imports of the module it
    analyses; a notebook cell uses imports made in earlier cells, so the import table
    here is the whole notebook's.
    """

    def __init__(self) -> None:
        self.imports: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self.seeded: set[str] = set()

    def qualify(self, node: cst.BaseExpression) -> str | None:
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.imports:
            base = self.imports[head]
            return f"{base}.{rest}" if rest else base
        if not rest and head in _BUILTIN_CALLS:
            return head
        return None


_BUILTIN_CALLS = frozenset(
    {
        "open",
        "print",
        "display",
        "input",
        "exec",
        "eval",
        "set",
        "frozenset",
        "zip",
        "enumerate",
    }
)


class _CodeVisitor(cst.CSTVisitor):
    """Calls, mutations, deletions and literals in a cell's kept statements."""

    def __init__(self, parsed: ParsedCell, resolver: _Resolver) -> None:
        self.parsed = parsed
        self.resolver = resolver
        self.calls: list[str] = []
        self.signals: list[Signal] = []
        self.effects: set[str] = set()
        self.mutates: list[str] = []
        self.deletes: list[str] = []
        self.string_reads: list[str] = []
        self.name_calls: list[NameCall] = []
        self.literals: list[Literal] = []
        self.estimators: list[str] = []
        self.results: list[str] = []
        self.mutated_top: list[str] = []
        self.unseeded: list[str] = []
        self.written: list[str] = []
        self.predictors: list[str] = []
        self.loaded: list[str] = []
        # Per top-level statement (by index in the cell): what it changes in place,
        # whether it makes rows (reads a file, splits) and whether it reads the clock.
        self.current = -1
        self.mutated_at: dict[int, list[str]] = {}
        self.sources_at: dict[int, str] = {}
        self.clock_at: set[int] = set()
        self.predicts_at: dict[int, list[Prediction]] = {}
        self.name_calls_at: dict[int, list[NameCall]] = {}
        self.top_level = True
        self._assign_target: str | None = None
        self._assign_names: list[str] = []

    # -- helpers -------------------------------------------------------
    def _mutate(self, node: cst.BaseExpression | None) -> None:
        name = _root_name(node) if node is not None else None
        if name and name not in self.resolver.imports:
            self.mutates.append(name)
            self.mutated_at.setdefault(self.current, []).append(name)
            if self.top_level:
                self.mutated_top.append(name)

    def _signal(self, stage: str, api: str, node: cst.CSTNode) -> None:
        self.signals.append(Signal(stage, api, _line(self.parsed, node)))
        # What a signalled call produces is a result worth returning from its stage,
        # when it is surely defined (not inside an if, loop or try).
        if self.top_level:
            self.results.extend(self._assign_names)

    # -- statements ----------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return True

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._assign_targets(target.target)
        self._assign_target = None
        self._assign_names = [n for t in node.targets for n in _target_names(t.target)]
        self._assign_names += [
            r
            for t in node.targets
            if isinstance(t.target, cst.Subscript) and (r := _root_name(t.target))
        ]
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._assign_target = node.targets[0].target.value
            self._record_type(node.targets[0].target.value, node.value)
            ok, value = _literal_value(node.value)
            name = node.targets[0].target.value
            if self.parsed.cell.is_parameters and self.top_level:
                # papermill injects new values for these: all of them go to config.
                if ok and _liftable(value):
                    is_path = isinstance(value, str) and _looks_like_path(value, name)
                    self._literal(
                        node.value,
                        "parameter",
                        name,
                        "",
                        value,
                        "path" if is_path else "",
                    )
            elif ok and isinstance(value, str) and _looks_like_path(value, name):
                self._literal(node.value, "path", name, "", value, "path")
            elif ok and name.isupper() and _liftable(value):
                self._literal(node.value, "constant", name, "", value)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self._assign_target = None
        self._assign_names = []

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._assign_targets(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._assign_targets(node.target)

    def _assign_targets(self, target: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._assign_targets(el.value)
        elif isinstance(target, cst.StarredElement):
            self._assign_targets(target.value)
        elif isinstance(target, (cst.Subscript, cst.Attribute)):
            self._mutate(target)

    def visit_Del(self, node: cst.Del) -> None:
        targets = (
            node.target.elements
            if isinstance(node.target, (cst.Tuple, cst.List))
            else [node.target]
        )
        for t in targets:
            value = t.value if isinstance(t, cst.Element) else t
            if isinstance(value, cst.Name):
                self.deletes.append(value.value)
            else:
                self._mutate(value)

    def _record_type(self, name: str, value: cst.BaseExpression) -> None:
        if isinstance(value, cst.Set) or (
            isinstance(value, cst.Call)
            and self.resolver.qualify(value.func) in {"set", "frozenset"}
        ):
            self.resolver.types[name] = "builtins.set"
            return
        if isinstance(value, cst.Call):
            qual = self.resolver.qualify(value.func)
            if qual:
                self.resolver.types[name] = qual
                return
            method = (
                value.func.attr.value if isinstance(value.func, cst.Attribute) else ""
            )
            root = _root_name(value.func)
            if method == "fit" and root in self.resolver.types:
                self.resolver.types[name] = self.resolver.types[root]
                return
        if isinstance(value, cst.Attribute) and value.attr.value in {
            "best_estimator_",
            "estimator",
        }:
            self.resolver.types[name] = "sklearn.base.BaseEstimator"
            return
        self.resolver.types.pop(name, None)

    # -- calls ---------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        qual = self.resolver.qualify(node.func)
        kwargs = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        inplace = kwargs.get("inplace")
        if (
            isinstance(inplace, cst.Name)
            and inplace.value == "True"
            and isinstance(node.func, cst.Attribute)
        ):
            self._mutate(node.func.value)
        self._strings_in(node)
        if qual:
            self._known_call(node, qual, kwargs, positional)
            method = (
                node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
            )
            if (
                method in apis.PATH_METHODS
                and apis.path_argument(qual) is None
                and not isinstance(node.func.value, cst.Name | cst.Attribute)  # type: ignore[union-attr]
            ):
                # A writer called on a library call's result
                # (``pd.Series(v).to_csv("out.csv")``) writes as a method does.
                self._path_arg(positional, apis.PATH_METHODS[method], method)
            return
        if isinstance(node.func, cst.Name):
            name = node.func.value
            call = NameCall(
                name,
                tuple(
                    a.value.value if isinstance(a.value, cst.Name) else None
                    for a in node.args
                    if a.keyword is None and not a.star
                ),
                _line(self.parsed, node),
            )
            self.name_calls.append(call)
            self.name_calls_at.setdefault(self.current, []).append(call)
            return
        if isinstance(node.func, cst.Attribute):
            self._method_call(node, node.func, kwargs, positional)

    def _known_call(
        self, node: cst.Call, qual: str, kwargs: dict, positional: list
    ) -> None:
        self.calls.append(qual)
        if qual in apis.CLOCK_CALLS:
            self.clock_at.add(self.current)
        if self.top_level and self._assign_names and qual in apis.ROW_SPLITS:
            self.sources_at[self.current] = "split"
        elif self.top_level and self._assign_target and qual in apis.ROW_MAKERS:
            self.sources_at.setdefault(self.current, "literal")
        if qual in apis.MUTATING_FUNCTIONS and positional:
            self._mutate(positional[0])
        if apis.matches_any(qual, apis.PLOT_PATTERNS):
            self.effects.add("plot")
            if qual.endswith("savefig"):
                self.effects.add("write")
        # "print" is a cell's effect only when all it does is print plain values:
        # ``_analyse_cell`` decides from the statement kinds.
        if qual == "display":
            self.effects.add("display")
        signal = apis.call_signal(qual)
        if signal:
            self._signal(signal[0], f"{qual} ({signal[1]})", node)
            if signal[0] == apis.TRAIN and qual.rsplit(".", 1)[-1][:1].isupper():
                self.estimators.append(qual)
        self._randomness(node, qual, kwargs)
        path_spec = apis.path_argument(qual)
        if path_spec is not None:
            self._path_arg(positional, path_spec, qual, kwargs)
        if apis.is_ml_call(qual):
            for key, value in kwargs.items():
                if key in apis.NOT_HYPERPARAMETERS:
                    continue
                ok, literal = _literal_value(value)
                if ok and _liftable(literal):
                    self._literal(value, "kwarg", key, qual, literal)

    def _randomness(self, node: cst.Call, qual: str, kwargs: dict) -> None:
        line = _line(self.parsed, node)
        for prefix, seeder in apis.GLOBAL_RANDOM.items():
            if qual == seeder:
                self.resolver.seeded.add(prefix)
            elif (
                qual.startswith(prefix)
                and prefix not in self.resolver.seeded
                and qual.rsplit(".", 1)[-1]
                not in {"seed", "default_rng", "RandomState", "Generator"}
            ):
                self.unseeded.append(
                    f"line {line}: {qual}() draws from the unseeded global generator"
                )
        if qual.endswith((".default_rng", ".RandomState")) and not node.args:
            self.unseeded.append(f"line {line}: {qual}() without a seed")
        rs = kwargs.get("random_state")
        unset = rs is None or (isinstance(rs, cst.Name) and rs.value == "None")
        if unset and apis.needs_random_state(qual) and qual[:1] != "_":
            self.unseeded.append(
                f"line {line}: {qual.rsplit('.', 1)[-1]}() without random_state"
            )

    def visit_For(self, node: cst.For) -> None:
        # Iterating a set of objects: the order follows their memory addresses.
        iters = [node.iter]
        if isinstance(node.iter, cst.Call) and self.resolver.qualify(
            node.iter.func
        ) in {"zip", "enumerate"}:
            iters = [a.value for a in node.iter.args]
        for it in iters:
            if isinstance(it, cst.Set) or (
                isinstance(it, cst.Name)
                and self.resolver.types.get(it.value) == "builtins.set"
            ):
                line = _line(self.parsed, node)
                self.unseeded.append(
                    f"line {line}: iterates over a set, whose order can change from run to run"
                )

    def _path_arg(
        self,
        positional: list,
        spec: tuple[int, str],
        callee: str,
        kwargs: dict | None = None,
    ) -> None:
        index, direction = spec
        if callee == "open":
            mode = (kwargs or {}).get("mode") or (
                positional[1] if len(positional) > 1 else None
            )
            ok, text = _literal_value(mode) if mode is not None else (True, "r")
            direction = (
                "write"
                if ok and isinstance(text, str) and set(text) & set("wax+")
                else "read"
            )
        self.effects.add("write" if direction == "write" else "read")
        if direction == "read" and self.top_level and callee.startswith("pandas.read_"):
            self.loaded.extend(self._assign_names)
        if (
            direction == "read"
            and self.top_level
            and self._assign_names
            and apis.matches_any(callee, apis.ROW_READERS)
        ):
            self.sources_at[self.current] = "reader"
        if direction == "write" and len(positional) > index:
            # Variables that name where the notebook writes are outputs, not inputs.
            self.written.extend(n.value for n in name_nodes(positional[index]))
        if len(positional) > index:
            ok, value = _literal_value(positional[index])
            if ok and isinstance(value, str) and value and "://" not in value:
                # ``p = Path("cache/x.json")`` is known by its variable; a file handed
                # straight to a reader or writer by its stem.
                constructs_path = callee in {"pathlib.Path", "os.path.join"}
                name = (
                    self._assign_target
                    if constructs_path and self._assign_target
                    else _stem(value)
                )
                self._literal(positional[index], "path", name, callee, value, direction)

    def _method_call(
        self, node: cst.Call, func: cst.Attribute, kwargs: dict, positional: list
    ) -> None:
        method = func.attr.value
        root = _root_name(func.value)
        if root in self.resolver.imports:
            return
        receiver_type = self.resolver.types.get(root or "", "")
        self.calls.append(f"{receiver_type or root or '?'}.{method}")
        if method in apis.MUTATING_METHODS:
            self._mutate(func.value)
        if method in apis.PLOT_METHODS:
            self.effects.add("plot")
        if method in apis.PATH_METHODS:
            self._path_arg(positional, apis.PATH_METHODS[method], method)
        if method in {"mkdir", "touch", "write_text", "write_bytes"} and root:
            self.written.append(root)
        seeded = {"random_state", "seed"} & set(kwargs)
        if (
            method in apis.RANDOM_METHODS
            and not seeded
            and "numpy.random." not in self.resolver.seeded
        ):
            line = _line(self.parsed, node)
            self.unseeded.append(
                f"line {line}: .{method}() draws from the unseeded global generator"
            )
        if method == "fit":
            if receiver_type and apis.matches_any(
                receiver_type, apis.TRANSFORMER_PATTERNS
            ):
                self._signal(
                    apis.PRE,
                    f"{receiver_type.rsplit('.', 1)[-1]}.fit (transformer)",
                    node,
                )
            else:
                what = receiver_type.rsplit(".", 1)[-1] if receiver_type else root
                self._signal(apis.TRAIN, f"{what}.fit (estimator)", node)
                if root and self.top_level:
                    self.results.append(root)
        elif method in apis.METHODS:
            stage, what = apis.METHODS[method]
            self._signal(stage, f".{method} ({what})", node)
            if method in {"predict", "predict_proba"} and isinstance(
                func.value, cst.Name
            ):
                self.predictors.append(func.value.value)
                if method == "predict" and len(positional) == 1 and not kwargs:
                    argument = positional[0]
                    self.predicts_at.setdefault(self.current, []).append(
                        Prediction(
                            func.value.value,
                            cst.Module([]).code_for_node(argument),
                            tuple(dict.fromkeys(n.value for n in name_nodes(argument))),
                        )
                    )

    def _strings_in(self, node: cst.Call) -> None:
        # Names used only inside strings that libraries evaluate: patsy formulas
        # (``"np.log(y) ~ x"``) and pandas ``query``/``eval`` (``"a > @limit"``).
        for arg in node.args:
            ok, value = _literal_value(arg.value)
            if not ok or not isinstance(value, str):
                continue
            if "~" in value:
                self.string_reads.extend(_FORMULA_NAME.findall(value))
            self.string_reads.extend(_QUERY_NAME.findall(value))

    def _literal(
        self,
        node: cst.CSTNode,
        kind: str,
        name: str,
        callee: str,
        value: object,
        direction: str = "",
    ) -> None:
        pos = self.parsed.positions.get(node)
        if pos is None:
            return
        self.literals.append(
            Literal(
                pos.start.line, pos.start.column, kind, name, callee, value, direction
            )
        )


def _stem(path: str) -> str:
    base = path.rstrip("/").rsplit("/", 1)[-1]
    stem = base.split(".", 1)[0] or "data"
    return stem


def _looks_like_path(value: str, name: str) -> bool:
    if not value or "\n" in value or "://" in value or len(value) > 260:
        return False
    lowered = name.lower()
    named = lowered.endswith(("path", "dir", "file", "folder", "filename", "root"))
    shaped = "/" in value or bool(re.search(r"\.[A-Za-z0-9]{1,8}$", value))
    return named and (shaped or value in {".", ".."} or value.isidentifier())


def _liftable(value: object) -> bool:
    if isinstance(value, (bool, int, float, str)):
        return not (isinstance(value, str) and ("\n" in value or len(value) > 200))
    if isinstance(value, (list, tuple)):
        return 0 < len(value) <= 50 and all(
            isinstance(v, (bool, int, float, str)) for v in value
        )
    if isinstance(value, dict):
        return (
            0 < len(value) <= 50
            and all(isinstance(k, str) for k in value)
            and all(
                isinstance(v, (bool, int, float, str))
                or (
                    isinstance(v, (list, tuple))
                    and all(
                        isinstance(x, (bool, int, float, str, type(None))) for x in v
                    )
                )
                for v in value.values()
            )
        )
    return False


# -- statement classification -------------------------------------------------


def _is_import(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _expr_kind(
    expr: cst.BaseExpression, resolver: _Resolver, plot_names: set[str], is_last: bool
) -> str:
    """display | plot | print | shown | code, for a bare expression statement.

    Display-only is a short list, not a guess: a known display or plot API, or a
    value computed by nothing but known pure calls (``known_apis.PURE_METHODS``,
    ``is_pure_call``). Any other call is code: ``tracker.log(x)`` may change
    something a later cell uses."""
    if isinstance(expr, cst.Call):
        qual = resolver.qualify(expr.func)
        if qual == "print":
            if [a.value for a in expr.args] and all(
                isinstance(a.value, cst.Name) and a.value.value == "__doc__"
                for a in expr.args
            ):
                # ``print(__doc__)`` (sphinx-gallery's habit) shows the notebook's
                # own module docstring, which a generated module has differently.
                return "display"
            # Printing is kept; a cell of prints of plain values only prints.
            return "print" if _pure_arguments(expr, resolver) else "code"
        if qual and apis.matches_any(qual, apis.DISPLAY_PATTERNS):
            return "display"
        if qual and apis.matches_any(qual, apis.PLOT_PATTERNS):
            return "plot"
        if isinstance(expr.func, cst.Attribute):
            method = expr.func.attr.value
            chain = _dotted(expr.func) or ""
            if _root_name(expr.func) in plot_names:
                return "plot"
            if method in apis.PLOT_METHODS or ".plot." in f".{chain}.":
                return "plot"
        # Jupyter shows a cell's last value: a metric or a prediction is kept, printed.
        if is_last and _shows_result(expr, resolver):
            return "shown"
    if _pure(expr, resolver):
        return "display"
    return "code"


def _shows_result(expr: cst.Call, resolver: _Resolver) -> bool:
    """A cell's last expression computing a result (``accuracy_score(y, p)``,
    ``model.score(X, y)``) that changes nothing: the notebook displayed it."""
    qual = resolver.qualify(expr.func)
    if qual is not None:
        signal = apis.call_signal(qual)
        return signal is not None and signal[0] == apis.EVAL
    if isinstance(expr.func, cst.Attribute):
        method = expr.func.attr.value
        return (
            method in apis.METHODS
            and apis.METHODS[method][0] in {apis.EVAL, apis.INFER}
            and _pure(expr, resolver)
        )
    return False


_PURE_LEAVES = (
    cst.Name,
    cst.SimpleString,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.Ellipsis,
    cst.Lambda,  # defining one calls nothing
)
_IMPURE_NODES = (cst.NamedExpr, cst.Yield, cst.Await)


def _pure(expr: cst.BaseExpression, resolver: _Resolver) -> bool:
    """Whether evaluating ``expr`` changes nothing: every call in it is a known pure
    method (on a pure receiver) or a known pure library call, with pure arguments.
    ``df.groupby(k).mean().round(1)`` is; ``tracker.log(x)``, ``f(x)`` of a notebook
    function and ``(n := n + 1)`` are not."""
    if isinstance(expr, _PURE_LEAVES):
        return True
    if isinstance(expr, _IMPURE_NODES):
        return False
    if isinstance(expr, cst.Call):
        if any(
            a.keyword is not None and a.keyword.value == "inplace" for a in expr.args
        ):
            return False
        if not _pure_arguments(expr, resolver):
            return False
        func = expr.func
        qual = resolver.qualify(func)
        if qual is not None:
            return apis.is_pure_call(qual)
        if isinstance(func, cst.Name):
            return func.value in apis.PURE_BUILTINS
        if isinstance(func, cst.Attribute):
            return func.attr.value in apis.PURE_METHODS and _pure(func.value, resolver)
        return False
    # Anything else (attributes, subscripts, operators, literals, comprehensions,
    # f-strings): pure when every expression inside it is.
    return all(_pure(child, resolver) for child in _child_expressions(expr))


def _child_expressions(node: cst.CSTNode) -> list[cst.BaseExpression]:
    """The expressions directly below ``node``, looking through the nodes that are
    not expressions (elements, slices, comprehension clauses, f-string parts)."""
    found: list[cst.BaseExpression] = []
    for child in node.children:
        if isinstance(child, cst.BaseExpression):
            found.append(child)
        else:
            found.extend(_child_expressions(child))
    return found


def _pure_arguments(call: cst.Call, resolver: _Resolver) -> bool:
    return all(_pure(arg.value, resolver) for arg in call.args)


def _statement_kind(
    stmt: cst.BaseStatement,
    resolver: _Resolver,
    plot_names: set[str],
    is_last: bool = False,
) -> str:
    if _is_import(stmt):
        return "import"
    if isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, cst.Global) for s in stmt.body
    ):
        return "no-op"  # ``global`` at a notebook's top level changes nothing
    if isinstance(stmt, cst.FunctionDef):
        return "def"
    if isinstance(stmt, cst.ClassDef):
        return "class"
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return "code"
    small = stmt.body[0]
    if isinstance(small, cst.Expr):
        return _expr_kind(small.value, resolver, plot_names, is_last)
    if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
        func = small.value.func
        qual = resolver.qualify(func)
        root = _root_name(func)
        chain = _dotted(func) or ""
        plot_method = isinstance(func, cst.Attribute) and (
            func.attr.value in apis.PLOT_METHODS or ".plot." in f".{chain}."
        )
        if (
            (qual and apis.matches_any(qual, apis.PLOT_PATTERNS))
            or root in plot_names
            or plot_method
        ):
            for t in small.targets:
                for name in _target_names(t.target):
                    plot_names.add(name)
            return "plot"
    return "code"


def _target_names(node: cst.BaseExpression) -> list[str]:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for el in node.elements for n in _target_names(el.value)]
    return []


# -- scope analysis -------------------------------------------------------------


class _StatementIndex(cst.CSTVisitor):
    """Map every node to the index of the top-level statement that holds it."""

    def __init__(self) -> None:
        self.index: dict[int, int] = {}
        self.current = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.index[id(node)] = self.current
        return True


def statement_index(module: cst.Module) -> dict[int, int]:
    """The index of the top-level statement holding each node, by ``id``."""
    visitor = _StatementIndex()
    for i, stmt in enumerate(module.body):
        visitor.current = i
        stmt.visit(visitor)
    return visitor.index


@dataclass
class _ScopeFacts:
    reads: list[str] = field(default_factory=list)
    defines: list[str] = field(default_factory=list)
    helper_free: dict[str, tuple[list[str], set[str]]] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)
    # per top-level statement index: every global it loads, every name it binds
    statement_reads: dict[int, list[str]] = field(default_factory=dict)
    statement_writes: dict[int, list[str]] = field(default_factory=dict)


def _scope_facts(pc: ParsedCell, kept: list[int], kinds: list[str]) -> _ScopeFacts:
    """Names read from earlier cells, names defined, each helper's free names,
    every name the cell's code statements use, and the same per statement."""
    module = pc.module
    scopes = pc.scopes
    stmt_of = statement_index(module)
    global_scope = next(
        (s for s in scopes.values() if isinstance(s, GlobalScope)), None
    )
    facts = _ScopeFacts()
    reads, defines, used, helper_free = (
        facts.reads,
        facts.defines,
        facts.used,
        facts.helper_free,
    )
    if global_scope is None:
        return facts
    kept_set = set(kept)
    helper_stmt = {
        i: stmt.name.value
        for i, stmt in enumerate(module.body)
        if i in kept_set and isinstance(stmt, (cst.FunctionDef, cst.ClassDef))
    }
    for name in helper_stmt.values():
        helper_free[name] = ([], set())

    def unconditional_before(ref: Assignment, stmt: int) -> bool:
        ref_stmt = stmt_of.get(id(ref.node), -1)
        if ref_stmt < 0:
            return False
        node = module.body[ref_stmt]
        if ref_stmt < stmt:
            return (
                isinstance(
                    node, (cst.SimpleStatementLine, cst.FunctionDef, cst.ClassDef)
                )
                or kinds[ref_stmt] == "import"
            )
        if ref_stmt == stmt:
            return isinstance(node, (cst.For, cst.With))
        return False

    seen_scopes = {id(s): s for s in scopes.values() if s is not None}
    for scope in seen_scopes.values():
        for access in scope.accesses:
            node = access.node
            stmt = stmt_of.get(id(node))
            if stmt is None or stmt not in kept_set:
                continue
            name = _dotted(node) if not isinstance(node, cst.Name) else node.value
            if not name:
                continue
            name = name.split(".", 1)[0]
            referents = access.referents
            if any(isinstance(r, BuiltinAssignment) for r in referents) and not any(
                isinstance(r, (Assignment, ImportAssignment)) for r in referents
            ):
                continue
            global_refs = [r for r in referents if r.scope is global_scope]
            local_refs = [
                r
                for r in referents
                if r.scope is not global_scope and not isinstance(r, BuiltinAssignment)
            ]
            if stmt not in helper_stmt and kinds[stmt] != "import":
                used.append(name)
                if global_refs or not local_refs:
                    facts.statement_reads.setdefault(stmt, []).append(name)
            if stmt in helper_stmt:
                if local_refs and not global_refs:
                    continue
                helper_free[helper_stmt[stmt]][0].append(name)
                continue
            if local_refs and not global_refs:
                continue
            if any(unconditional_before(r, stmt) for r in global_refs):
                continue
            reads.append(name)
    for assignment in global_scope.assignments:
        if isinstance(assignment, ImportAssignment):
            continue
        stmt = stmt_of.get(id(assignment.node))
        if stmt is None or stmt not in kept_set or stmt in helper_stmt:
            continue
        defines.append(assignment.name)
        facts.statement_writes.setdefault(stmt, []).append(assignment.name)
    return facts


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


def global_references(pc: ParsedCell) -> list[Reference]:
    """Every read of a global name in the cell (builtins aside), in source order."""
    module = pc.module
    stmt_of = statement_index(module)
    callees: set[int] = set()

    class Callees(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            callees.add(id(node.func))

    module.visit(Callees())
    found: list[Reference] = []
    scopes = {id(s): s for s in pc.scopes.values() if s is not None}
    for scope in scopes.values():
        for access in scope.accesses:
            node = access.node
            if not isinstance(node, cst.Name) or id(node) not in stmt_of:
                continue
            referents = access.referents
            if any(r.scope is not r.scope.globals for r in referents):
                continue  # a local, a parameter, a comprehension variable
            if referents and all(isinstance(r, BuiltinAssignment) for r in referents):
                continue
            runtime, inner = False, access.scope
            while inner is not None and not isinstance(inner, GlobalScope):
                runtime |= isinstance(inner, FunctionScope)
                inner = inner.parent
            stmt = stmt_of[id(node)]
            top = module.body[stmt]
            pos = pc.positions[node].start
            found.append(
                Reference(
                    node.value,
                    pos.line,
                    pos.column,
                    stmt,
                    (
                        top.name.value
                        if isinstance(top, (cst.FunctionDef, cst.ClassDef))
                        else None
                    ),
                    runtime,
                    id(node) in callees,
                )
            )
    return sorted(found, key=lambda r: (r.line, r.column))


def name_nodes(node: cst.CSTNode, *, targets: bool = True) -> list[cst.Name]:
    """The Name nodes that name variables in ``node``: not attribute names or
    keywords; with ``targets=False``, not assignment targets or def/class names."""
    found: list[cst.Name] = []

    class V(cst.CSTVisitor):
        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)
            return False

        def visit_Arg(self, n: cst.Arg) -> bool:
            n.value.visit(self)
            return False

        def visit_AssignTarget(self, n: cst.AssignTarget) -> bool:
            return targets

        def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
            return self._definition(n)

        def visit_ClassDef(self, n: cst.ClassDef) -> bool:
            return self._definition(n)

        def _definition(self, n: cst.FunctionDef | cst.ClassDef) -> bool:
            if targets:
                return True
            n.body.visit(self)
            return False

        def visit_Name(self, n: cst.Name) -> None:
            found.append(n)

    node.visit(V())
    return found


def _names_seen(module: cst.Module, kinds: list[str]) -> tuple[str, ...]:
    """Every variable-like name in the cell's statements but its imports."""
    seen: dict[str, None] = {}
    for stmt, kind in zip(module.body, kinds, strict=True):
        if kind != "import":
            seen.update(dict.fromkeys(n.value for n in name_nodes(stmt)))
    return tuple(seen)


def _helper_mutations(
    stmt: cst.FunctionDef, parsed: ParsedCell, resolver: _Resolver
) -> list[str]:
    """Names a helper's body changes in place (its parameters, or globals)."""
    visitor = _CodeVisitor(parsed, resolver)
    for inner in stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else []:
        inner.visit(visitor)
    return visitor.mutates


def _params(stmt: cst.FunctionDef) -> tuple[str, ...]:
    p = stmt.params
    return tuple(x.name.value for x in (*p.posonly_params, *p.params))


# -- the notebook ---------------------------------------------------------------


def collect_imports(parsed: list[ParsedCell]) -> list[Import]:
    """Every name bound by a top-level import, in notebook order."""
    found: list[Import] = []
    for pc in parsed:
        found.extend(_implied_imports(pc))
        for stmt in pc.module.body:
            if not _is_import(stmt):
                continue
            line = _line(pc, stmt)
            for small in stmt.body:
                found.extend(_imports_of(small, line))
    return found


def _implied_imports(pc: ParsedCell) -> list[Import]:
    """Modules the normalised code uses without importing them (``%env`` became
    ``os.environ[...] = ...``): imported as if the cell had done it."""
    line = next((m.line for m in pc.cell.magics if m.action == "environment"), 1)
    return [Import(m, m, line, f"import {m}") for m in pc.cell.imports]


def _imports_of(small: cst.BaseSmallStatement, line: int) -> list[Import]:
    code = cst.Module([]).code_for_node
    out: list[Import] = []
    if isinstance(small, cst.Import):
        for alias in small.names:
            full = code(alias.name)
            if alias.asname:
                bound = code(alias.asname.name)
                out.append(Import(bound, full, line, f"import {full} as {bound}"))
            else:
                out.append(
                    Import(
                        full.split(".")[0], full.split(".")[0], line, f"import {full}"
                    )
                )
    elif isinstance(small, cst.ImportFrom):
        module = ("." * len(small.relative)) + (
            code(small.module) if small.module else ""
        )
        if isinstance(small.names, cst.ImportStar):
            out.append(Import("*", f"{module}.*", line, f"from {module} import *"))
            return out
        for alias in small.names:
            name = code(alias.name)
            bound = code(alias.asname.name) if alias.asname else name
            stmt = f"from {module} import {name}" + (
                f" as {bound}" if alias.asname else ""
            )
            out.append(Import(bound, f"{module}.{name}", line, stmt))
    return out


def analyse_notebook(
    cells: list[NormalCell],
) -> tuple[list[CellFacts], list[ParsedCell]]:
    """Facts for every code cell, in order, and the parsed cells for generation.

    Two rewrites of the source run first, when the notebook needs them: later
    definitions of a name get names of their own (``versions``), and IPython's
    ``_`` becomes the value it names (``history``). The rewritten cells are then
    analysed as if the notebook had been written that way."""
    # Both build on this module's facts.
    from nbprod.convert.edits import apply_edits
    from nbprod.convert.history import history_edits
    from nbprod.convert.versions import versioned_definitions

    parsed = [parse_cell(c) for c in cells]
    edits, originals = versioned_definitions(parsed)
    facts, parsed = _analyse_parsed(parsed, {})
    imports = {imp.bound: imp.qualified for imp in collect_imports(parsed)}
    for k, more in history_edits(parsed, facts, imports).items():
        edits.setdefault(k, []).extend(more)
    if edits:
        parsed = [
            (
                parse_cell(replace(pc.cell, code=apply_edits(pc.cell.code, edits[k])))
                if k in edits
                else pc
            )
            for k, pc in enumerate(parsed)
        ]
        facts, parsed = _analyse_parsed(parsed, originals)
    _refuse_dynamic_names(parsed, facts)
    return facts, parsed


def _analyse_parsed(
    parsed: list[ParsedCell], originals: dict[str, str]
) -> tuple[list[CellFacts], list[ParsedCell]]:
    imports = collect_imports(parsed)
    facts = _analyse_all(parsed, imports, frozenset(), originals)
    # A plot or display statement is dropped only while no kept code reads what it
    # binds (``fig, axs = plt.subplots()`` then a kept loop over ``axs``).
    needed = _needed_bindings(facts)
    if needed:
        facts = _analyse_all(parsed, imports, needed, originals)
    return facts, parsed


def _analyse_all(
    parsed: list[ParsedCell],
    imports: list[Import],
    keep: frozenset[str],
    originals: dict[str, str],
) -> list[CellFacts]:
    resolver = _Resolver()
    resolver.imports = {imp.bound: imp.qualified for imp in imports}
    return [_analyse_cell(pc, resolver, keep, originals) for pc in parsed]


def _needed_bindings(facts: list[CellFacts]) -> frozenset[str]:
    """Names bound only by dropped statements that a later cell's kept code reads."""
    needed: set[str] = set()
    bound_by_drop: set[str] = set()
    for f in facts:
        needed |= bound_by_drop & set(f.reads)
        defined = set(f.defines)
        bound_by_drop = (bound_by_drop - defined) | {
            n for d in f.dropped for n in d.binds
        }
    return frozenset(needed)


def _bound_names(stmt: cst.BaseStatement) -> set[str]:
    """Names a statement surely binds: its own assignments, and those of a ``with``
    block's plain statements (the block always runs)."""
    if isinstance(stmt, cst.With) and isinstance(stmt.body, cst.IndentedBlock):
        # Not the ``as`` targets: a file handle is no result.
        names: set[str] = set()
        for inner in stmt.body.body:
            names |= _bound_names(inner)
        return names
    if not isinstance(stmt, cst.SimpleStatementLine):
        return set()
    names: set[str] = set()
    for small in stmt.body:
        if isinstance(small, cst.Assign):
            for t in small.targets:
                names.update(_target_names(t.target))
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            names.update(_target_names(small.target))
    return names


def _draws_random(stmt: cst.CSTNode, resolver: _Resolver) -> bool:
    """Whether a statement draws from a global random generator (a plot of
    ``process.generate_sample(50)``, a ``df.sample(3)`` display): dropping it would
    change every random number drawn after it."""
    found = False

    class V(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            qual = resolver.qualify(node.func)
            if qual is not None:
                last = qual.rsplit(".", 1)[-1]
                found |= any(
                    qual.startswith(prefix) and last not in apis.SEEDING
                    for prefix in apis.GLOBAL_RANDOM
                )
            elif (
                isinstance(node.func, cst.Attribute)
                and node.func.attr.value in apis.RANDOM_METHODS
            ):
                found |= not any(
                    a.keyword is not None
                    and a.keyword.value in {"random_state", "seed"}
                    for a in node.args
                )

    stmt.visit(V())
    return found


def _keep_or_drop(
    module: cst.Module,
    kinds: list[str],
    keep: frozenset[str],
    saves_figure: bool,
    resolver: _Resolver,
) -> list[bool]:
    """Which statements stay: all but displays, plots and no-ops, unless kept code
    needs them."""
    keeps = [
        k not in {"display", "plot", "no-op"}
        or (k == "plot" and saves_figure)
        or _draws_random(stmt, resolver)
        for stmt, k in zip(module.body, kinds, strict=True)
    ]
    if all(keeps):
        return keeps
    names = [{n.value for n in name_nodes(stmt)} for stmt in module.body]
    bound = [_bound_names(stmt) for stmt in module.body]
    changed = True
    while changed:
        changed = False
        used = set(keep).union(*(n for n, k in zip(names, keeps, strict=True) if k))
        for i in range(len(keeps)):
            if not keeps[i] and bound[i] & used:
                keeps[i] = changed = True
    return keeps


def _refuse_global_in_functions(pc: ParsedCell) -> None:
    """``global X`` inside a function or class: in the project the function is at
    a module's level and the notebook's globals are a stage function's locals, so
    what it assigns would never reach the code that reads it. Refused by line."""
    found: list[cst.Global] = []

    class Inside(cst.CSTVisitor):
        def __init__(self) -> None:
            self.depth = 0

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.depth += 1

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            self.depth -= 1

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            self.depth += 1

        def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
            self.depth -= 1

        def visit_Global(self, node: cst.Global) -> None:
            if self.depth:
                found.append(node)

    pc.module.visit(Inside())
    if found:
        names = ", ".join(n.name.value for n in found[0].names)
        raise CellError(
            f"global {names} inside a function: in the project, functions live in "
            "modules and the notebook's variables in stage functions, so the "
            "assignment would not reach the code that reads it",
            where=f"cell {pc.cell.number}, line {_line(pc, found[0])}",
            hint="return the value from the function and assign it where it is called",
        )


_DYNAMIC = frozenset({"exec", "eval", "globals", "vars", "locals"})


def _dynamic_definitions(pc: ParsedCell) -> tuple[str, ...]:
    """Where the cell may define names no analysis sees: ``exec``, ``eval``,
    ``globals()``, ``vars()``, ``locals()`` (as "line L: exec(...)")."""
    found: list[str] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Name) and func.value in _DYNAMIC:
                if func.value == "vars" and node.args:
                    return  # vars(obj) reads an object's attributes
                found.append(f"line {_line(pc, node)}: {func.value}(...)")

    pc.module.visit(Calls())
    return tuple(found)


def _refuse_dynamic_names(parsed: list[ParsedCell], facts: list[CellFacts]) -> None:
    """A name read that no cell defines, in a notebook that defines names through
    ``exec``, ``eval`` or ``globals()``: the pipeline would stop on a NameError.
    Refused where the name is read, naming where names are made dynamically."""
    sites = [f"cell {f.number}, {d}" for f in facts for d in f.dynamic]
    if not sites or any(i.bound == "*" for f in facts for i in f.imports):
        return  # without them, or with a star import, every name is accounted for
    defined = {
        n
        for f in facts
        for n in (
            *f.defines,
            *f.assigned,
            *(b for d in f.dropped for b in d.binds),
            *(h.name for h in f.helpers),
            *(i.bound for i in f.imports),
        )
    }
    for pc, f in zip(parsed, facts, strict=True):
        read = {*f.reads, *(n for h in f.helpers for n in h.free_names)} - defined
        for ref in global_references(pc) if read else ():
            if ref.name in read and (
                ref.helper is not None or ref.statement in pc.kept
            ):
                raise CellError(
                    f"{ref.name} is read here but no cell defines it; the notebook "
                    f"defines names dynamically ({sites[0]})",
                    where=f"cell {pc.cell.number}, line {ref.line}",
                    hint=f"assign {ref.name} in the code instead of through "
                    "exec, eval or globals()",
                )


def _analyse_cell(
    pc: ParsedCell,
    resolver: _Resolver,
    keep: frozenset[str],
    originals: dict[str, str],
) -> CellFacts:
    module = pc.module
    _refuse_global_in_functions(pc)
    plot_names: set[str] = set()
    last = len(module.body) - 1
    kinds = [
        _statement_kind(stmt, resolver, plot_names, i == last)
        for i, stmt in enumerate(module.body)
    ]
    pc.kinds = list(kinds)
    keeps = _keep_or_drop(module, kinds, keep, "savefig" in pc.cell.code, resolver)
    dropped: list[Dropped] = []
    kept: list[int] = []
    for i, (stmt, kind) in enumerate(zip(module.body, kinds, strict=True)):
        if not keeps[i]:
            text = cst.Module([]).code_for_node(stmt).strip().split("\n")[0]
            dropped.append(
                Dropped(
                    _line(pc, stmt), kind, text[:80], tuple(sorted(_bound_names(stmt)))
                )
            )
        else:
            if kind in {"display", "plot"}:
                kinds[i] = "code"
            kept.append(i)
    pc.kept = kept
    pc.shown = {i for i in kept if kinds[i] == "shown"}
    scope = _scope_facts(pc, kept, kinds)
    reads, defines, helper_free, names_used = (
        scope.reads,
        scope.defines,
        scope.helper_free,
        scope.used,
    )

    visitor = _CodeVisitor(pc, resolver)
    cell_helpers: list[Helper] = []
    for i in kept:
        stmt = module.body[i]
        if kinds[i] in {"def", "class"}:
            assert isinstance(stmt, (cst.FunctionDef, cst.ClassDef))
            name = stmt.name.value
            free, _ = helper_free.get(name, ([], set()))
            if isinstance(stmt, cst.FunctionDef):
                params = _params(stmt)
                mutated = _helper_mutations(stmt, pc, resolver)
                mut_params = tuple(
                    sorted({params.index(m) for m in mutated if m in params})
                )
                mut_globals = tuple(
                    sorted({m for m in mutated if m not in params and m in free})
                )
            else:
                params, mut_params, mut_globals = (), (), ()
            helper = Helper(
                name,
                "function" if isinstance(stmt, cst.FunctionDef) else "class",
                _line(pc, stmt),
                params,
                tuple(dict.fromkeys(n for n in free if n != name)),
                mut_params,
                mut_globals,
                originals.get(name, ""),
            )
            cell_helpers.append(helper)
            # Decorators and default values run at definition time.
            for deco in stmt.decorators:
                deco.visit(visitor)
        elif kinds[i] != "import":
            visitor.top_level = isinstance(stmt, cst.SimpleStatementLine)
            visitor.current = i
            stmt.visit(visitor)
            fitted = _fitting_loop(stmt)
            if fitted:
                visitor.signals.append(
                    Signal(
                        apis.TRAIN,
                        f"a loop updating {', '.join(fitted)} (hand-written fitting)",
                        _line(pc, stmt),
                    )
                )
                visitor.results.extend(fitted)
    has_code = any(kinds[i] not in {"import", "def", "class"} for i in kept)
    cell_imports = tuple(_implied_imports(pc)) + tuple(
        imp
        for i in kept
        if kinds[i] == "import"
        for small in module.body[i].body
        for imp in _imports_of(small, _line(pc, module.body[i]))
    )
    effects = set(visitor.effects)
    if any(d.kind == "plot" for d in dropped):
        effects.add("plot")
    if any(d.kind == "display" for d in dropped):
        effects.add("display")
    if kinds and all(kinds[i] == "print" for i in kept) and kept:
        effects.add("print")
    return CellFacts(
        number=pc.cell.number,
        reads=tuple(dict.fromkeys(reads)),
        defines=tuple(dict.fromkeys(defines)),
        mutates=tuple(dict.fromkeys(visitor.mutates)),
        deletes=tuple(dict.fromkeys(visitor.deletes)),
        string_reads=tuple(dict.fromkeys(visitor.string_reads)),
        calls=tuple(dict.fromkeys(visitor.calls)),
        signals=tuple(visitor.signals),
        effects=tuple(sorted(effects)),
        imports=cell_imports,
        helpers=tuple(cell_helpers),
        name_calls=tuple(visitor.name_calls),
        literals=tuple(visitor.literals),
        dropped=tuple(dropped),
        has_code=has_code,
        estimators=tuple(dict.fromkeys(visitor.estimators)),
        results=tuple(dict.fromkeys(visitor.results)),
        mutated_top=tuple(dict.fromkeys(visitor.mutated_top)),
        unseeded=tuple(visitor.unseeded),
        written=tuple(dict.fromkeys(visitor.written)),
        predictors=tuple(dict.fromkeys(visitor.predictors)),
        loaded=tuple(dict.fromkeys(visitor.loaded)),
        names_used=tuple(dict.fromkeys(names_used)),
        names_seen=_names_seen(module, kinds),
        dynamic=_dynamic_definitions(pc),
        assigned=tuple(
            dict.fromkeys(
                n
                for i in kept
                if kinds[i] != "import"
                for n in sorted(_bound_names(module.body[i]))
            )
        ),
        statements=tuple(
            _statement(pc, i, scope, visitor)
            for i in kept
            if kinds[i] not in {"import", "def", "class"}
        ),
    )


def _statement(
    pc: ParsedCell, index: int, scope: _ScopeFacts, visitor: _CodeVisitor
) -> Statement:
    node = pc.module.body[index]
    pos = pc.positions.get(node)
    return Statement(
        index=index,
        line=pos.start.line if pos else 0,
        end_line=pos.end.line if pos else 0,
        reads=tuple(dict.fromkeys(scope.statement_reads.get(index, ()))),
        writes=tuple(dict.fromkeys(scope.statement_writes.get(index, ()))),
        mutates=tuple(dict.fromkeys(visitor.mutated_at.get(index, ()))),
        simple=isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1,
        source=visitor.sources_at.get(index, ""),
        clock=index in visitor.clock_at,
        predicts=tuple(dict.fromkeys(visitor.predicts_at.get(index, ()))),
        name_calls=tuple(visitor.name_calls_at.get(index, ())),
    )


def _fitting_loop(stmt: cst.BaseStatement) -> tuple[str, ...]:
    """Names a top-level ``for ... in range(...)`` or ``while`` loop updates from
    themselves with products (``w -= lr * grad``, ``w = w - lr * X.T @ e``): the
    fitted state of a hand-written training loop, a result like a model object."""
    if isinstance(stmt, cst.For):
        it = stmt.iter
        if not (
            isinstance(it, cst.Call)
            and isinstance(it.func, cst.Name)
            and it.func.value == "range"
        ):
            return ()
    elif not isinstance(stmt, cst.While):
        return ()
    found: dict[str, None] = {}

    class V(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if isinstance(node.target, cst.Name) and _has_product(node.value):
                found[node.target.value] = None

        def visit_Assign(self, node: cst.Assign) -> None:
            if len(node.targets) != 1 or not isinstance(
                node.targets[0].target, cst.Name
            ):
                return
            name = node.targets[0].target.value
            if _has_product(node.value) and name in {
                n.value for n in name_nodes(node.value)
            }:
                found[name] = None

    stmt.body.visit(V())
    return tuple(found)


def _has_product(node: cst.CSTNode) -> bool:
    products = (cst.Multiply, cst.MatrixMultiply)
    found = False

    class V(cst.CSTVisitor):
        def visit_BinaryOperation(self, n: cst.BinaryOperation) -> None:
            nonlocal found
            found |= isinstance(n.operator, products)

    node.visit(V())
    return found
