"""Stage signals: the calls that point a cell at a stage, the estimators it builds
and the results it makes (what a signalled call assigns, what ``.fit`` fits)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst

from nbprod import known_apis as apis
from nbprod.convert.analysis.facts import ParsedCell, Signal
from nbprod.convert.analysis.nodes import line_of, name_nodes, root_name, walk
from nbprod.convert.analysis.resolve import CallSite
from nbprod.convert.analysis.walk import InAssignment
from nbprod.stages import Stage


@dataclass(frozen=True)
class Signals:
    """A cell's stage signals, in order, with its estimators and results."""

    signals: tuple[Signal, ...]
    estimators: tuple[str, ...]
    results: tuple[str, ...]
    unsaveable: tuple[str, ...] = ()  # names bound to values no pickle can save


class SignalsPart(InAssignment):
    """Collects a cell's ``Signals``."""

    def __init__(
        self,
        parsed: ParsedCell,
        imports: Mapping[str, str],
        calls: Mapping[int, CallSite],
    ) -> None:
        self.parsed = parsed
        self.imports = imports
        self.calls = calls
        self.signals: list[Signal] = []
        self.estimators: list[str] = []
        self.results: list[str] = []
        self.unsaveable: list[str] = []

    def result(self) -> Signals:
        return Signals(
            tuple(self.signals),
            tuple(self.estimators),
            tuple(self.results),
            tuple(self.unsaveable),
        )

    def _signal(self, stage: Stage, api: str, node: cst.CSTNode) -> None:
        self.signals.append(Signal(stage, api, line_of(self.parsed, node)))
        # What a signalled call produces is a result worth returning from its stage,
        # when it is surely defined (not inside an if, loop or try).
        if self.top_level:
            self.results.extend(self.assign_names)

    def visit_Assign(self, node: cst.Assign) -> None:
        super().visit_Assign(node)
        # Bound again: what the name holds now is known below (a call that makes
        # an unsaveable value is visited after this).
        self.unsaveable = [n for n in self.unsaveable if n not in self.assign_names]
        # A lambda the source rewrite left a value (``f = (lambda x: x)``): no
        # pickle saves it.
        if isinstance(node.value, cst.Lambda) and self.assign_target:
            self.unsaveable.append(self.assign_target)

    def visit_Call(self, node: cst.Call) -> None:
        site = self.calls[id(node)]
        if site.qual and apis.matches_any(site.qual, apis.UNSAVEABLE):
            self.unsaveable.extend(self.assign_names)
        if site.qual:
            signal = apis.call_signal(site.qual)
            if signal:
                self._signal(signal[0], f"{site.qual} ({signal[1]})", node)
                last = site.qual.rsplit(".", 1)[-1]
                if signal[0] == Stage.TRAINING and last[:1].isupper():
                    self.estimators.append(site.qual)
            return
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        root = root_name(func.value)
        if root in self.imports:
            return
        method, receiver = func.attr.value, site.receiver_type
        if method == "fit":
            if receiver and apis.matches_any(receiver, apis.TRANSFORMER_PATTERNS):
                what = receiver.rsplit(".", 1)[-1]
                self._signal(Stage.PREPROCESSING, f"{what}.fit (transformer)", node)
            else:
                # No root for ``(a or b).fit(x)``: the reason then reads "None.fit".
                model: str | None = receiver.rsplit(".", 1)[-1] if receiver else root
                self._signal(Stage.TRAINING, f"{model}.fit (estimator)", node)
                if root and self.top_level:
                    self.results.append(root)
        elif method in apis.METHODS:
            stage, what = apis.METHODS[method]
            self._signal(stage, f".{method} ({what})", node)

    def end(self, stmt: cst.BaseStatement) -> None:
        fitted = fitting_loop(stmt)
        if fitted:
            self.signals.append(
                Signal(
                    Stage.TRAINING,
                    f"a loop updating {', '.join(fitted)} (hand-written fitting)",
                    line_of(self.parsed, stmt),
                )
            )
            self.results.extend(fitted)


def fitting_loop(stmt: cst.BaseStatement) -> tuple[str, ...]:
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

    walk(stmt.body, V())
    return tuple(found)


def _has_product(node: cst.CSTNode) -> bool:
    products = (cst.Multiply, cst.MatrixMultiply)
    found = False

    class V(cst.CSTVisitor):
        def visit_BinaryOperation(self, n: cst.BinaryOperation) -> None:
            nonlocal found
            found |= isinstance(n.operator, products)

    walk(node, V())
    return found
