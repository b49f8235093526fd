"""What each top-level statement of a cell is (import, def, display, plot, print,
shown, code...), and which of them the pipeline keeps.

Display-only is a short list, not a guess: displays, no-ops, and the plots of a
cell that computes nothing else leave the pipeline, unless kept code needs what
they bind or they draw random numbers (dropping them would change every number
drawn after). A cell that computes and draws keeps its plots: the pipeline saves
the figures they draw (``reports/figures``), as the notebook showed them.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from nbprod import known_apis as apis
from nbprod.convert.analysis.facts import Dropped, ParsedCell
from nbprod.convert.analysis.nodes import (
    bound_names,
    code_of,
    descendants,
    dotted,
    is_import,
    line_of,
    names_in,
    root_name,
    target_names,
    walk,
)
from nbprod.convert.analysis.randomness import verdict
from nbprod.convert.analysis.resolve import Resolver
from nbprod.stages import Stage


@dataclass(frozen=True)
class Kinds:
    """Each statement's kind, and what is kept of a cell."""

    classified: tuple[str, ...]  # as classified, by statement index
    kinds: tuple[str, ...]  # the same, with kept displays and plots as "code"
    kept: tuple[int, ...]  # indices of the statements kept
    shown: frozenset[int]  # kept last expressions the notebook displayed
    dropped: tuple[Dropped, ...]
    # kept top-level ``plt.show()`` calls: where the notebook showed (and Jupyter
    # closed) the figures drawn so far
    shows: tuple[int, ...] = ()
    # kept plot statements that draw (not a style setting, a show or a close)
    draws: tuple[int, ...] = ()
    # names kept plot statements bind (``fig, ax = plt.subplots()``): figure
    # objects, drawn and saved where they are made, never a stage's result
    figures: tuple[str, ...] = ()
    # first lines of the displays inside kept statements (a loop, a function):
    # left out of the pipeline as top-level displays are
    nested_displays: tuple[int, ...] = ()


def sort_statements(pc: ParsedCell, resolver: Resolver, keep: frozenset[str]) -> Kinds:
    """Classify a cell's statements and keep all but displays, no-ops and the
    plots of a cell that computes nothing else, unless kept code reads what they
    bind (``keep``: names later cells need)."""
    module = pc.module
    plot_names: set[str] = set()
    last = len(module.body) - 1
    classified = tuple(
        _statement_kind(stmt, resolver, plot_names, i == last)
        for i, stmt in enumerate(module.body)
    )
    # A cell that computes and draws is a pipeline step whose figures are saved; a
    # cell that only draws (or saves a figure itself) is as before.
    computes = any(k in {"code", "shown"} for k in classified) and not any(
        q.split(".")[0] in apis.UNSAVED_PLOT_LIBRARIES
        for n in names_in(module)
        if (q := resolver.imports.get(n.value))
    )
    keeps = _keep_or_drop(
        module, classified, keep, computes or "savefig" in pc.cell.code, resolver
    )
    kinds = list(classified)
    dropped: list[Dropped] = []
    kept: list[int] = []
    for i, (stmt, kind) in enumerate(zip(module.body, classified, strict=True)):
        if not keeps[i]:
            text = code_of(stmt).strip().split("\n")[0]
            binds = tuple(sorted(bound_names(stmt)))
            dropped.append(Dropped(line_of(pc, stmt), kind, text[:80], binds))
        else:
            if kind in {"display", "plot"}:
                kinds[i] = "code"
            kept.append(i)
    shown = frozenset(i for i in kept if kinds[i] == "shown")
    plots = [i for i in kept if classified[i] == "plot"]
    calls = {i: _called(module.body[i], resolver) for i in plots}
    shows = tuple(i for i in plots if calls[i] == "matplotlib.pyplot.show")
    draws = tuple(
        i
        for i in plots
        if not (calls[i] and apis.matches_any(calls[i], apis.PLOT_SETTINGS))
    )
    figures = tuple(
        dict.fromkeys(n for i in plots for n in sorted(bound_names(module.body[i])))
    )
    nested = sorted(
        (line_of(pc, inner), code_of(inner).strip().split("\n")[0])
        for i in kept
        if not isinstance(module.body[i], cst.SimpleStatementLine)
        for inner in descendants(module.body[i])
        if _is_display(inner, resolver)
    )
    dropped += [Dropped(line, "display", text[:80]) for line, text in nested]
    return Kinds(
        classified,
        tuple(kinds),
        tuple(kept),
        shown,
        tuple(dropped),
        shows,
        draws,
        figures,
        tuple(line for line, _ in nested),
    )


def _is_display(node: cst.CSTNode, resolver: Resolver) -> bool:
    """``display(x)`` on a line of its own, of values only read: Jupyter
    renders it, and a script has nothing to show it on."""
    if not (
        isinstance(node, cst.SimpleStatementLine)
        and len(node.body) == 1
        and isinstance(node.body[0], cst.Expr)
        and isinstance(node.body[0].value, cst.Call)
    ):
        return False
    call = node.body[0].value
    qual = resolver.qualify(call.func)
    return bool(
        qual
        and apis.matches_any(qual, apis.DISPLAY_PATTERNS)
        and _pure_arguments(call, resolver)
    )


def _called(stmt: cst.BaseStatement, resolver: Resolver) -> str:
    """What a statement that is one call calls (``matplotlib.pyplot.show`` for
    ``plt.show()``), as qualified through the imports; else ""."""
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, cst.Call)
    ):
        return resolver.qualify(stmt.body[0].value.func) or ""
    return ""


def _expr_kind(
    expr: cst.BaseExpression, resolver: Resolver, plot_names: set[str], is_last: bool
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
            chain = dotted(expr.func) or ""
            if root_name(expr.func) in plot_names:
                return "plot"
            if method in apis.PLOT_METHODS or ".plot." in f".{chain}.":
                return "plot"
        # Jupyter shows a cell's last value: a metric or a prediction is kept, printed.
        if is_last and _shows_result(expr, resolver):
            return "shown"
    if _pure(expr, resolver):
        return "display"
    return "code"


def _shows_result(expr: cst.Call, resolver: Resolver) -> bool:
    """A cell's last expression computing a result (``accuracy_score(y, p)``,
    ``model.score(X, y)``) that changes nothing: the notebook displayed it."""
    qual = resolver.qualify(expr.func)
    if qual is not None:
        signal = apis.call_signal(qual)
        return signal is not None and signal[0] == Stage.EVALUATION
    if isinstance(expr.func, cst.Attribute):
        method = expr.func.attr.value
        return (
            method in apis.METHODS
            and apis.METHODS[method][0] in {Stage.EVALUATION, Stage.INFERENCE}
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


def _pure(expr: cst.BaseExpression, resolver: Resolver) -> bool:
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


def _pure_arguments(call: cst.Call, resolver: Resolver) -> bool:
    return all(_pure(arg.value, resolver) for arg in call.args)


def _statement_kind(
    stmt: cst.BaseStatement,
    resolver: Resolver,
    plot_names: set[str],
    is_last: bool = False,
) -> str:
    if is_import(stmt):
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
        root = root_name(func)
        chain = dotted(func) or ""
        plot_method = isinstance(func, cst.Attribute) and (
            func.attr.value in apis.PLOT_METHODS or ".plot." in f".{chain}."
        )
        if (
            (qual and apis.matches_any(qual, apis.PLOT_PATTERNS))
            or root in plot_names
            or plot_method
        ):
            for t in small.targets:
                for name in target_names(t.target):
                    plot_names.add(name)
            return "plot"
    return "code"


def _draws_random(stmt: cst.CSTNode, resolver: Resolver) -> bool:
    """Whether a statement draws random numbers without a seed (a plot of
    ``process.generate_sample(50)``, a ``df.sample(3)`` display): dropping it would
    change every random number drawn after it from the global generator."""
    found = False

    class V(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            call = verdict(node, resolver)
            found |= call is not None and call.draw is not apis.Draw.SEEDS

    walk(stmt, V())
    return found


def _keep_or_drop(
    module: cst.Module,
    kinds: tuple[str, ...],
    keep: frozenset[str],
    keep_plots: bool,
    resolver: Resolver,
) -> list[bool]:
    """Which statements stay: all but displays, no-ops and (unless ``keep_plots``)
    plots, unless kept code needs them."""
    keeps = [
        k not in {"display", "plot", "no-op"}
        or (k == "plot" and keep_plots)
        or _draws_random(stmt, resolver)
        for stmt, k in zip(module.body, kinds, strict=True)
    ]
    if all(keeps):
        return keeps
    names = [{n.value for n in names_in(stmt)} for stmt in module.body]
    bound = [bound_names(stmt) for stmt in module.body]
    changed = True
    while changed:
        changed = False
        used = set(keep).union(*(n for n, k in zip(names, keeps, strict=True) if k))
        for i in range(len(keeps)):
            if not keeps[i] and bound[i] & used:
                keeps[i] = changed = True
    return keeps
