"""Stage modules as libcst trees: the notebook's own code as functions.

Pure: the plan and the parsed cells in, ``{module name: source}`` out (unformatted;
``format`` runs black and ruff over it).
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import textwrap
import tokenize
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import libcst as cst

from nbprod.convert.analysis import (
    CellFacts,
    Import,
    ParsedCell,
    descendants,
    names_in,
)
from nbprod.convert.analysis.clones import CloneUse
from nbprod.convert.analysis.nodes import dotted
from nbprod.convert.analysis.normalise import EXPLICIT_COMMENT
from nbprod.convert.plan import (
    ClonePlan,
    FigurePlan,
    HeldOut,
    Param,
    Plan,
    Serving,
    ServingPart,
    StagePlan,
    StepPlan,
)
from nbprod.convert.plan.names import cells_text
from nbprod.convert.plan.params import config_class
from nbprod.convert.plan.serving import SERVE_FUNCTION
from nbprod.convert.plan.signatures import step_keys, whole_groups
from nbprod.known_apis import (
    CONTAINER_TARGETS,
    FIT_THEN_APPLY,
    ROW_CONTAINERS,
    matches_any,
)
from nbprod.redact import REDACTED
from nbprod.secrets import find_secrets

_ANNOTATION = {
    "int": "int",
    "float": "float",
    "str": "str",
    "bool": "bool",
    "path": "str",
    "list": "list",
    "tuple": "tuple",
    "dict": "dict",
}


@dataclass(frozen=True)
class _Context:
    plan: Plan
    helper_params: dict[str, tuple[str, ...]]
    # (cell, line, column) -> what replaces the literal there: a config value, or
    # os.environ["NAME"] for a secret
    replacements: dict[tuple[int, int, int], Param | str]
    sections: dict[int, str]  # cell -> the markdown heading above it
    # cell -> first lines of the displays inside its statements, left out
    displays: dict[int, frozenset[int]]
    # (cell, line, column) of a lifted literal -> (line, column) where it ends:
    # a node that starts where it does (the call of ``"d/{}.csv".format(x)``)
    # is not the literal
    ends: dict[tuple[int, int, int], tuple[int, int]]
    # The config group read as ``config.KEY`` (the stage's own section); values of
    # other groups are parameters of their own, named by their key.
    section: str | None = None


# ``f(k=v)``, as black writes a keyword argument.
_NO_SPACE = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""),
    whitespace_after=cst.SimpleWhitespace(""),
)


class _Rewrite(cst.CSTTransformer):
    """Lifted literals become parameters; helpers get the notebook globals they read."""

    def __init__(self, ctx: _Context, parsed: ParsedCell) -> None:
        self.ctx = ctx
        self.parsed = parsed
        self.call_funcs: set[int] = set()
        self.loads: set[int] = set()
        self.used_partial = False

    # libcst types on_leave as returning the node's own type, but any expression may
    # stand where a literal was: a lifted literal becomes its parameter's Name.
    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        pos = self.parsed.positions.get(original_node)
        if pos is not None and isinstance(original_node, cst.BaseExpression):
            at = (self.parsed.cell.number, pos.start.line, pos.start.column)
            found = self.ctx.replacements.get(at)
            end = self.ctx.ends.get(at)
            if end is not None and end != (pos.end.line, pos.end.column):
                found = None  # a node inside the literal's expression
            if isinstance(found, str):
                return cst.parse_expression(found)
            if found is not None:
                if found.group == self.ctx.section:
                    return cst.Attribute(
                        cst.Name(self.ctx.plan.config_argument), cst.Name(found.key)
                    )
                return cst.Name(found.key)
        return super().on_leave(original_node, updated_node)

    def leave_Comment(
        self, original_node: cst.Comment, updated_node: cst.Comment
    ) -> cst.Comment:
        if find_secrets(original_node.value):
            return cst.Comment(f"# ({REDACTED})")
        return updated_node

    def visit_Call(self, node: cst.Call) -> None:
        self.call_funcs.add(id(node.func))

    def leave_SimpleStatementLine(
        self,
        original_node: cst.SimpleStatementLine,
        updated_node: cst.SimpleStatementLine,
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        # A display inside a loop or a function: the notebook rendered it, a
        # script has nothing to show it on (analysis.kinds).
        pos = self.parsed.positions.get(original_node)
        shown = self.ctx.displays.get(self.parsed.cell.number, frozenset())
        if pos is not None and pos.start.line in shown:
            return cst.RemoveFromParent()
        return updated_node

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not updated_node.body:  # it held only displays
            return updated_node.with_changes(
                body=[cst.SimpleStatementLine([cst.Pass()])]
            )
        return updated_node

    def leave_Global(
        self, original_node: cst.Global, updated_node: cst.Global
    ) -> cst.RemovalSentinel:
        # Only top-level code gets here (analyse refuses ``global`` in functions):
        # a no-op in the notebook, it would make a stage's variables module globals.
        return cst.RemoveFromParent()

    def leave_Call(
        self, original_node: cst.Call, updated_node: cst.Call
    ) -> cst.BaseExpression:
        func = original_node.func
        if isinstance(func, cst.Name) and self.ctx.helper_params.get(func.value):
            given = {a.keyword.value for a in updated_node.args if a.keyword}
            extra = [
                cst.Arg(value=cst.Name(g), keyword=cst.Name(g))
                for g in self.ctx.helper_params[func.value]
                if g not in given
            ]
            return updated_node.with_changes(
                args=[*_with_comma(updated_node.args), *extra]
            )
        return updated_node

    def leave_Name(
        self, original_node: cst.Name, updated_node: cst.Name
    ) -> cst.BaseExpression:
        params = self.ctx.helper_params.get(original_node.value)
        if (
            params
            and id(original_node) not in self.call_funcs
            and self._is_load(original_node)
        ):
            self.used_partial = True
            return cst.parse_expression(
                f"functools.partial({original_node.value}, {', '.join(f'{g}={g}' for g in params)})"
            )
        return updated_node

    def _is_load(self, node: cst.Name) -> bool:
        # Only references as values; definitions keep their name.
        return id(node) in self.loads


def _with_comma(args: Sequence[cst.Arg]) -> list[cst.Arg]:
    args = list(args)
    if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
        return args
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return args


def _param_node(name: str, kind: str | None) -> cst.Param:
    annotation = cst.Annotation(cst.Name(_ANNOTATION[kind])) if kind else None
    return cst.Param(cst.Name(name), annotation=annotation)


def _docstring(text: str) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine([cst.Expr(cst.SimpleString(f'"""{text}"""'))])


def generate_modules(
    plan: Plan, parsed: list[ParsedCell], facts: list[CellFacts], imports: list[Import]
) -> tuple[dict[str, str], set[str]]:
    """Source of every stage module, keyed by module name, and the top-level modules they import."""
    roots: set[str] = set()
    by_cell = {pc.cell.number: pc for pc in parsed}
    facts_by_cell = {f.number: f for f in facts}
    params_by_key = {(p.group, p.key): p for p in plan.params}
    replacements: dict[tuple[int, int, int], Param | str] = {
        where: p
        for p in plan.params
        if p.group != "parameters"
        for where in ((p.cell, p.line, p.column), *p.also_at)
    }
    for secret in plan.secrets:
        replacements[(secret.cell, secret.line, secret.column)] = (
            f'os.environ["{secret.env}"]'
        )
    helper_params = {h.name: h.data_params for h in plan.helpers if h.data_params}
    base = _Context(
        plan,
        helper_params,
        replacements,
        {c.number: c.section for c in plan.cells},
        {f.number: frozenset(f.nested_displays) for f in facts if f.nested_displays},
        {
            (f.number, lit.line, lit.column): lit.end
            for f in facts
            for lit in f.literals
            if lit.end != (0, 0)
        },
    )
    helper_module = {h.name: h.stage.module for h in plan.helpers}
    helper_module.update({c.name: c.stage.module for c in plan.clones})
    parts = _parts(plan)
    helper_module.update({p.name: p.stage.module for p in parts})
    helper_module.update({p.bundle: p.stage.module for p in parts if p.bundle})
    if plan.serving is not None and plan.serving.bundle:
        helper_module[plan.serving.bundle] = plan.serving.stage.module
    used_names = {n for f in facts for n in (*f.names_seen, *f.string_reads)} | {
        n for f in facts for h in f.helpers for n in h.free_names
    }
    parameter_lines = {(p.cell, p.line) for p in plan.params if p.group == "parameters"}

    sources: dict[str, str] = {}
    for stage in plan.stages:
        module_name = stage.stage.module
        ctx = dataclasses.replace(base, section=str(stage.stage))
        body: list[cst.SimpleStatementLine | cst.BaseCompoundStatement] = []
        needs_partial = False
        string_names: set[str] = set()
        for helper in (h for h in plan.helpers if h.stage == stage.stage):
            pc = by_cell[helper.cell]
            node = next(
                s
                for s in pc.module.body
                if isinstance(s, (cst.FunctionDef, cst.ClassDef))
                and s.name.value == helper.name
            )
            rewritten, used = _rewrite(ctx, pc, node)
            assert isinstance(rewritten, (cst.FunctionDef, cst.ClassDef))
            needs_partial |= used
            if helper.data_params:
                assert isinstance(rewritten, cst.FunctionDef)
                rewritten = rewritten.with_changes(
                    params=rewritten.params.with_changes(
                        kwonly_params=[
                            *rewritten.params.kwonly_params,
                            *(_param_node(g, None) for g in helper.data_params),
                        ],
                        star_arg=(
                            rewritten.params.star_arg
                            if not isinstance(
                                rewritten.params.star_arg, cst.MaybeSentinel
                            )
                            else cst.ParamStar()
                        ),
                    )
                )
            comment = cst.EmptyLine(
                comment=cst.Comment(f"# From notebook cell {helper.cell}.")
            )
            body.append(
                rewritten.with_changes(
                    leading_lines=[*rewritten.leading_lines, comment]
                )
            )
        for clone in (c for c in plan.clones if c.stage == stage.stage):
            function, used = _clone_function(ctx, clone, by_cell)
            needs_partial |= used
            body.append(function)
        for part in (p for p in parts if p.stage == stage.stage):
            function, used = _part_function(ctx, part, by_cell, facts_by_cell)
            needs_partial |= used
            if part.bundle:
                body.append(
                    _named_tuple(part.bundle, f"What {part.name} reads.", part.inputs)
                )
            body.append(function)
        if stage.cells:
            functions, used = _stage_functions(
                ctx, stage, by_cell, facts_by_cell, params_by_key, parameter_lines
            )
            needs_partial |= used
            body += functions
            for n in stage.cells:
                string_names |= set(facts_by_cell[n].string_reads)
        serving = plan.serving
        if serving is not None and serving.stage == stage.stage:
            # The notebook's own steps from the rows it predicts on to what it
            # serves, for new rows: what ``predict`` runs.
            function, used = _serving_function(
                base, serving, by_cell, facts_by_cell, params_by_key
            )
            needs_partial |= used
            if serving.bundle:
                body.append(
                    _named_tuple(
                        serving.bundle,
                        f"The state the stages saved that {SERVE_FUNCTION} applies.",
                        serving.inputs,
                    )
                )
            body.append(function)
        tree = cst.Module(body=body)
        code = tree.code
        names = _names_in(tree)
        import_lines = _imports_for(names, string_names, imports, used_names, roots)
        if needs_partial:
            import_lines.insert(0, "import functools")
        if "NamedTuple" in names:
            import_lines.insert(0, "from typing import Any, NamedTuple")
        if "os.environ[" in code and "import os" not in import_lines:
            import_lines.insert(0, "import os")
        local_helpers = [
            f"from .{helper_module[n]} import {n}"
            for n in sorted(names)
            if n in helper_module and helper_module[n] != module_name
        ]
        classes = sorted(
            {config_class(g) for g, _ in stage.params} & names
            | {config_class(str(stage.stage))} & names
        )
        if classes:
            local_helpers.insert(0, f"from .config import {', '.join(classes)}")
        if plan.figure_saver in names:
            local_helpers.append(_saver_import(plan))
        header = [
            f'"""{stage.stage.capitalize()} stage of {plan.notebook}: notebook {cells_text(stage.cells)}.',
            "",
            "Generated by nbprod; the code is the notebook's own, "
            + (
                f"in one function per step,\ncalled in order by {stage.function}()."
                if stage.steps
                else "wrapped in a function."
            ),
            '"""',
            "",
        ]
        if any(i.bound == "*" for i in imports):
            header.insert(0, "# ruff: noqa: F403, F405")
        sources[module_name] = (
            "\n".join(header + import_lines + local_helpers) + "\n\n\n" + code
        )
    return sources, roots


def _rewrite(
    ctx: _Context, pc: ParsedCell, node: cst.CSTNode
) -> tuple[cst.CSTNode, bool]:
    rewriter = _Rewrite(ctx, pc)
    rewriter.loads = {id(n) for n in names_in(node, targets=False)}
    result = node.visit(rewriter)
    # Only a ``global`` is ever removed and nothing is flattened; the node rewritten
    # here is a statement, a def or an expression, never a ``global``.
    assert isinstance(result, cst.CSTNode)
    return result, rewriter.used_partial


SHOWN = "# displayed by the notebook"
_LABEL = re.compile(r"^# Notebook cell (\d+)\b")


def cell_lines(source: str) -> dict[int, int]:
    """Each line of a generated module's statements copied from a notebook cell ->
    that cell (-1 for a value the notebook displayed and the pipeline prints): how
    validation tells which cell printed what."""
    comments = {
        token.start[0]: token.string
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    labels = {
        line: int(match.group(1))
        for line, text in comments.items()
        if (match := _LABEL.match(text))
    }
    found: dict[int, int] = {}
    for function in ast.parse(source).body:
        if not isinstance(function, ast.FunctionDef):
            continue
        cell, after = None, function.lineno
        for stmt in function.body:
            for line in range(after, stmt.lineno):
                cell = labels.get(line, cell)
            after = (stmt.end_lineno or stmt.lineno) + 1
            if cell is None:
                continue
            shown = comments.get(after - 1) == SHOWN
            for line in range(stmt.lineno, after):
                found[line] = -1 if shown else cell
    return found


def _stage_functions(
    ctx: _Context,
    stage: StagePlan,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
    params_by_key: dict[tuple[str, str], Param],
    parameter_lines: set[tuple[int, int]],
) -> tuple[list[cst.FunctionDef | cst.ClassDef], bool]:
    """The stage's step functions (with the named tuples of those that return many
    values) and its entry function, which calls them in order; or the entry
    function alone, holding the code, for a one-step stage."""

    figures: dict[int, list[FigurePlan]] = {}
    for figure in ctx.plan.figures:
        figures.setdefault(figure.cell, []).append(figure)

    def code(cells: tuple[int, ...]) -> tuple[list[cst.BaseStatement], bool]:
        order = [
            (number, i)
            for number in cells
            for i in facts_by_cell[number].kept
            if not _definition_or_import(by_cell[number].module.body[i])
            and (number, _start_line(by_cell[number], by_cell[number].module.body[i]))
            not in parameter_lines
        ]
        return _statements(
            ctx, by_cell, facts_by_cell, order, figures, parts=_parts(ctx.plan)
        )

    def draws(cells: tuple[int, ...]) -> tuple[str, ...]:
        # The figures' folder: a parameter of each function that draws.
        drawn = any(n in figures for n in cells)
        return (ctx.plan.figures_argument,) if drawn else ()

    argument = ctx.plan.inputs_argument
    bundle = _bundle_param(ctx, stage.bundle)
    functions: list[cst.FunctionDef | cst.ClassDef] = []
    if stage.bundle:
        functions.append(
            _named_tuple(
                stage.bundle,
                f"What the {stage.stage} stage reads from the stages before it.",
                stage.inputs,
            )
        )
    used_partial = False
    # The names a step of the stage has bound: the others are read from the bundle.
    bound: set[str] = set()

    def ref(name: str) -> cst.BaseExpression:
        if stage.bundle and name in stage.inputs and name not in bound:
            return cst.Attribute(cst.Name(argument), cst.Name(name))
        return cst.Name(name)

    if stage.steps:
        body: list[cst.BaseStatement] = []
        by_keyword: set[tuple[str, str]] = set()
        for step in stage.steps:
            keys = step_keys(stage, step)
            whole = whole_groups(str(ctx.section), keys)
            folder = draws(step.cells)
            if step.shared is None or step.shared.function == step.name:
                made, used = _step_function(
                    ctx, stage, step, code, params_by_key, folder, bundle
                )
                functions += made
                used_partial |= used
            own = [ref(n) for n in step.inputs if n not in step.bundled]
            whole_inputs = [cst.Name(argument)] if step.bundled else []
            body.append(
                _step_call(ctx, step, [*own, *whole_inputs], keys, folder, whole)
            )
            by_keyword.update(k for k in keys if k[0] not in whole)
            bound.update(step.outputs)
        entry_params = _group_params(ctx, stage, draws(stage.cells))
        body[:0] = _unpacked(ctx, tuple(k for k in stage.params if k in by_keyword))
    else:
        body, used_partial = code(stage.cells)
        body[:0] = _from_bundle(argument, stage.inputs if stage.bundle else ())
        bound.update(stage.inputs)
        entry_params = _config_params(
            ctx, stage.params, params_by_key, draws(stage.cells)
        )
    functions.append(
        _function(
            stage.function,
            () if stage.bundle else stage.inputs,
            entry_params,
            body,
            _named(stage.outputs, ref),
            f"Run the {stage.stage} stage (notebook {cells_text(stage.cells)}).",
            "Returns "
            + (
                ", ".join(stage.outputs) + ", by name." if stage.outputs else "nothing."
            ),
            bundle=bundle,
        )
    )
    return functions, used_partial


def _step_function(
    ctx: _Context,
    stage: StagePlan,
    step: StepPlan,
    code: Callable[[tuple[int, ...]], tuple[list[cst.BaseStatement], bool]],
    params_by_key: dict[tuple[str, str], Param],
    folder: tuple[str, ...],
    bundle: cst.Param | None,
) -> tuple[list[cst.FunctionDef | cst.ClassDef], bool]:
    """The step's function (after the named tuple it returns, if any). A step
    whose function other steps share (experiments) takes the helpers that differ
    between them as keyword parameters, named as the notebook named them."""
    statements, used = code(step.cells)
    purpose = (
        step.origin.split(" ", 1)[1].strip("'\"")
        if step.origin.startswith("heading ")
        else step.name.replace("_", " ").capitalize()
    )
    keys = step_keys(stage, step)
    whole = whole_groups(str(ctx.section), keys)
    statements[:0] = _unpacked(ctx, tuple(k for k in keys if k[0] in whole))
    statements[:0] = _from_bundle(ctx.plan.inputs_argument, step.bundled)
    made: list[cst.FunctionDef | cst.ClassDef] = []
    outputs = step.outputs
    returned = _returned(outputs)
    if step.result:
        made.append(_named_tuple(step.result, f"What {step.name} hands on.", outputs))
        returned = cst.Call(
            cst.Name(step.result), [cst.Arg(cst.Name(n)) for n in outputs]
        )
    keywords = _config_params(ctx, keys, params_by_key, folder, whole)
    where = f"notebook {cells_text(step.cells)}"
    if step.shared is not None:
        outputs = step.shared.returns
        returned = _returned(outputs)
        for parameter, helper in step.shared.passes:
            keywords.append(_param_node(parameter, None))
            if helper != parameter:
                statements = [
                    s.visit(_Renamed(helper, parameter)) for s in statements  # type: ignore[misc]
                ]
        again = [
            cell
            for other in stage.steps
            if other is not step
            and other.shared is not None
            and other.shared.function == step.name
            for cell in other.cells
        ]
        helpers = ", ".join(p for p, _ in step.shared.passes)
        where += f"; run again for {cells_text(tuple(again))} with another {helpers}"
        # Its lines are no one cell's: validation files what it prints under
        # the cell of the call that runs it.
        statements = _relabelled(
            statements,
            f"# Notebook {cells_text((*step.cells, *again))}: the same code, "
            f"each with its own {helpers}.",
        )
    made.append(
        _function(
            step.name,
            tuple(n for n in step.inputs if n not in step.bundled),
            keywords,
            statements,
            returned,
            f"{purpose} ({where}).",
            f"Returns {', '.join(outputs) or 'nothing'}.",
            bundle=bundle if step.bundled else None,
        )
    )
    return made, used


def _step_call(
    ctx: _Context,
    step: StepPlan,
    positional: Sequence[str | cst.BaseExpression],
    keys: tuple[tuple[str, str], ...],
    folder: tuple[str, ...],
    whole: AbstractSet[str],
) -> cst.SimpleStatementLine:
    """``a, b = step(x, y, config=config)``: a step, called by its stage; a step
    that shares its function passes its helpers (``prepare_X=prepare_X_age``)
    and leaves out (``_``) what the function returns for the other calls."""
    if step.shared is None:
        return _call(ctx, step.name, positional, keys, step.outputs, folder, whole)
    outputs = tuple(n if n in step.outputs else "_" for n in step.shared.returns)
    passes = ", ".join(f"{v}" for _, v in step.shared.passes)
    label = cst.EmptyLine(
        comment=cst.Comment(f"# Notebook {cells_text(step.cells)}, with {passes}.")
    )
    call = _call(
        ctx,
        step.shared.function,
        positional,
        keys,
        outputs if step.outputs else (),
        folder,
        whole,
        step.shared.passes,
    )
    return call.with_changes(leading_lines=[label])


def _relabelled(
    statements: list[cst.BaseStatement], label: str
) -> list[cst.BaseStatement]:
    """``statements`` with each ``# Notebook cell N`` comment above them
    replaced by ``label``."""
    out: list[cst.BaseStatement] = []
    for stmt in statements:
        assert isinstance(stmt, cst.SimpleStatementLine | cst.BaseCompoundStatement)
        lines = [
            (
                line.with_changes(comment=cst.Comment(label))
                if line.comment is not None and _LABEL.match(line.comment.value)
                else line
            )
            for line in stmt.leading_lines
        ]
        out.append(stmt.with_changes(leading_lines=lines))
    return out


def _named_tuple(name: str, doc: str, fields: tuple[str, ...]) -> cst.ClassDef:
    """``class SplitData(NamedTuple)``: values handed on together, by name."""
    return cst.ClassDef(
        name=cst.Name(name),
        bases=[cst.Arg(cst.Name("NamedTuple"))],
        body=cst.IndentedBlock(
            [
                _docstring(f"{doc}\n    "),
                *(
                    cst.SimpleStatementLine(
                        [
                            cst.AnnAssign(
                                cst.Name(f), cst.Annotation(cst.Name("Any")), None
                            )
                        ],
                        leading_lines=[cst.EmptyLine()] if i == 0 else [],
                    )
                    for i, f in enumerate(fields)
                ),
            ]
        ),
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )


def _bundle_param(ctx: _Context, bundle: str) -> cst.Param | None:
    """``inputs: TrainingInputs``: the parameter a function's inputs come in, when
    they come as one named tuple."""
    if not bundle:
        return None
    return cst.Param(
        cst.Name(ctx.plan.inputs_argument),
        annotation=cst.Annotation(cst.Name(bundle)),
    )


def _bundled(bundle: str, names: tuple[str, ...]) -> Sequence[str | cst.BaseExpression]:
    """The arguments that pass ``names``: as themselves, or in one ``bundle``
    built of them by keyword (``PredictInputs(model=model, ...)``)."""
    if not bundle:
        return names
    return [
        cst.Call(
            cst.Name(bundle),
            [cst.Arg(cst.Name(n), keyword=cst.Name(n), equal=_NO_SPACE) for n in names],
        )
    ]


def _from_bundle(argument: str, names: tuple[str, ...]) -> list[cst.BaseStatement]:
    """``df = inputs.df``: the stage's inputs a function takes whole, bound as the
    names the notebook's code reads them by."""
    return [
        cst.SimpleStatementLine(
            [
                cst.Assign(
                    [cst.AssignTarget(cst.Name(n))],
                    cst.Attribute(cst.Name(argument), cst.Name(n)),
                )
            ]
        )
        for n in names
    ]


def group_argument(group: str) -> str:
    """The parameter through which a stage that calls steps gets another config
    group whole (``parameters_config``): it hands the values on to its steps."""
    return f"{group}_config"


def _group_params(
    ctx: _Context, stage: StagePlan, passed: tuple[str, ...]
) -> list[cst.Param]:
    """A stage that calls steps takes each config group it reads as one typed
    object: its own section as ``config``, the others by :func:`group_argument`."""
    groups = dict.fromkeys(g for g, _ in stage.params)
    out = [
        cst.Param(
            cst.Name(
                ctx.plan.config_argument if g == ctx.section else group_argument(g)
            ),
            annotation=cst.Annotation(cst.Name(config_class(g))),
        )
        for g in sorted(groups, key=lambda g: g != ctx.section)
    ]
    return out + [_param_node(name, "path") for name in passed]


def _unpacked(
    ctx: _Context, keys: tuple[tuple[str, str], ...]
) -> list[cst.BaseStatement]:
    """``seed = parameters_config.seed``: the values of other groups, bound as the
    names the code reads them by."""
    return [
        cst.SimpleStatementLine(
            [
                cst.Assign(
                    [cst.AssignTarget(cst.Name(k))],
                    cst.Attribute(cst.Name(group_argument(g)), cst.Name(k)),
                )
            ]
        )
        for g, k in keys
        if g != ctx.section
    ]


def _named(
    names: tuple[str, ...], ref: Callable[[str], cst.BaseExpression]
) -> cst.BaseExpression | None:
    """``{"a": a, ...}``: a stage's results, as the pipeline saves them; ``ref``
    says how the stage reads each."""
    if not names:
        return None
    return cst.Dict(
        [cst.DictElement(cst.SimpleString(f'"{n}"'), ref(n)) for n in names]
    )


def _returned(names: tuple[str, ...]) -> cst.BaseExpression | None:
    if not names:
        return None
    if len(names) == 1:
        return cst.Name(names[0])
    return cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[])


def _call(
    ctx: _Context,
    function: str,
    inputs: Sequence[str | cst.BaseExpression],
    keys: tuple[tuple[str, str], ...],
    outputs: tuple[str, ...],
    passed: tuple[str, ...] = (),
    whole: AbstractSet[str] = frozenset(),
    passes: tuple[tuple[str, str], ...] = (),
) -> cst.SimpleStatementLine:
    """``outputs = function(inputs, config=config, key=key)``: a step, called by its
    stage with what it reads (and the ``passed`` parameters of its own, and the
    helpers it ``passes``)."""
    keywords = [group_argument(g) for g in sorted(whole)]
    keywords += [k for g, k in keys if g != ctx.section and g not in whole]
    if any(g == ctx.section for g, _ in keys):
        keywords.insert(0, ctx.plan.config_argument)
    keywords += passed
    return _assigned_call(function, inputs, keywords, outputs, passes)


def _assigned_call(
    function: str,
    positional: Sequence[str | cst.BaseExpression],
    keywords: Sequence[str],
    outputs: tuple[str, ...],
    passes: Sequence[tuple[str, str]] = (),
) -> cst.SimpleStatementLine:
    """``a, b = function(x, y, k=k, p=v)``: each name passed as itself, and
    each of ``passes`` as ``parameter=value``."""
    call = cst.Call(
        cst.Name(function),
        [cst.Arg(cst.Name(n) if isinstance(n, str) else n) for n in positional]
        + [cst.Arg(cst.Name(k), keyword=cst.Name(k), equal=_NO_SPACE) for k in keywords]
        + [
            cst.Arg(cst.Name(v), keyword=cst.Name(k), equal=_NO_SPACE)
            for k, v in passes
        ],
    )
    if not outputs:
        return cst.SimpleStatementLine([cst.Expr(call)])
    target: cst.BaseAssignTargetExpression = (
        cst.Name(outputs[0])
        if len(outputs) == 1
        else cst.Tuple([cst.Element(cst.Name(n)) for n in outputs], lpar=[], rpar=[])
    )
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], call)])


def _serving_function(
    ctx: _Context,
    serving: Serving,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
    params_by_key: dict[tuple[str, str], Param],
) -> tuple[cst.FunctionDef, bool]:
    """``predict_new_rows``: the notebook's own steps from the rows it predicted
    on to the value it served, statement by statement; an object it fitted and
    applied at once (``fit_transform``) is applied, as fitted."""
    applied: dict[tuple[int, int], set[str]] = {}
    for cell, index, obj in serving.applied:
        applied.setdefault((cell, index), set()).add(obj)
    statements, used_partial = _statements(
        ctx,
        by_cell,
        facts_by_cell,
        list(serving.steps),
        serving=True,
        applied=applied,
        parts=serving.parts,
        held_out=serving.held_out,
    )
    call_cell, _ = serving.call
    bundle = _bundle_param(ctx, serving.bundle)
    if bundle is not None:
        statements[:0] = _from_bundle(ctx.plan.inputs_argument, serving.inputs)
    function = _function(
        SERVE_FUNCTION,
        (serving.rows,) if bundle else (serving.rows, *serving.inputs),
        _config_params(ctx, serving.params, params_by_key),
        statements,
        cst.parse_expression(serving.served),
        f"What the notebook serves for new rows, given in the form of {serving.rows} "
        f"after notebook cell {serving.source[0]}: {serving.what}, by the steps of "
        f"notebook {cells_text(serving.cells or (call_cell,))}.",
        f"Returns {serving.served}.",
        bundle=bundle,
    )
    return function, used_partial


class _Applied(cst.CSTTransformer):
    """``obj.fit_transform(x)`` -> ``obj.transform(x)``: on new rows, an object
    the notebook fitted and applied at once is applied as it was fitted."""

    def __init__(self, objects: AbstractSet[str]) -> None:
        self.objects = objects

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        method = original_node.attr.value
        if (
            method in FIT_THEN_APPLY
            and isinstance(original_node.value, cst.Name)
            and original_node.value.value in self.objects
        ):
            return updated_node.with_changes(attr=cst.Name(FIT_THEN_APPLY[method]))
        return updated_node


class _Unlabelled(cst.CSTTransformer):
    """``xgb.DMatrix(X, label=y)`` -> ``xgb.DMatrix(X)``: new rows come without
    the target, and a booster's predictions do not depend on it."""

    def __init__(self, imports: Mapping[str, str]) -> None:
        self.imports = imports

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        name = dotted(original_node.func) or ""
        head, _, rest = name.partition(".")
        qual = self.imports.get(head, "")
        qual = f"{qual}.{rest}" if qual and rest else qual
        if not (qual and matches_any(qual, ROW_CONTAINERS)):
            return updated_node
        args = [
            a
            for a in updated_node.args
            if a.keyword is None or a.keyword.value not in CONTAINER_TARGETS
        ]
        if args:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(args=args)


def _definition_or_import(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) or (
        isinstance(stmt, cst.SimpleStatementLine)
        and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)
    )


def _start_line(pc: ParsedCell, node: cst.CSTNode) -> int:
    pos = pc.positions.get(node)
    return pos.start.line if pos is not None else 0


@dataclass(frozen=True)
class _ServeCall:
    """Where the notebook made the value it serves: now a call of the serving
    function, so that the serving path exists once."""

    serving: Serving


def _with_serving_call(
    serving: Serving | None, items: list[tuple[int, int] | _CloneCall | _PartCall]
) -> list[tuple[int, int] | _CloneCall | _PartCall | _ServeCall]:
    """``items`` with the serving steps replaced by one call of the serving
    function, when they are all here, one after the other, and the stage calls it
    (``Serving.called_by_stage``)."""
    if serving is None or not serving.called_by_stage:
        return list(items)
    steps = set(serving.steps)
    at = [
        k
        for k, item in enumerate(items)
        if (isinstance(item, tuple) and item in steps)
        or (isinstance(item, _CloneCall) and set(item.use.statements) <= steps)
    ]
    covered: set[tuple[int, int]] = set()
    for k in at:
        item = items[k]
        if isinstance(item, _CloneCall):
            covered |= set(item.use.statements)
        elif isinstance(item, tuple):
            covered.add(item)
    if not at or covered != steps or at != list(range(at[0], at[-1] + 1)):
        return list(items)
    return [*items[: at[0]], _ServeCall(serving), *items[at[-1] + 1 :]]


def _serve_call(ctx: _Context, serving: Serving) -> cst.SimpleStatementLine:
    """``served = predict_new_rows(rows, model, ..., config=config)``; a column
    served from the rows frame (``rows["p"] = ...``) is put there again."""
    line = _call(
        ctx,
        SERVE_FUNCTION,
        [serving.rows, *_bundled(serving.bundle, serving.inputs)],
        serving.params,
        (),
    )
    call = line.body[0]
    target = cst.parse_expression(serving.served)
    assert isinstance(call, cst.Expr)
    assert isinstance(target, cst.Name | cst.Subscript)
    return line.with_changes(body=[cst.Assign([cst.AssignTarget(target)], call.value)])


# Where the serving function takes the new rows for the held-out part of the
# notebook's split.
NEW_ROWS_HELD_OUT = "the new rows are all held out: the notebook's split"


def _parts(plan: Plan) -> tuple[ServingPart, ...]:
    return plan.serving.parts if plan.serving is not None else ()


@dataclass(frozen=True)
class _PartCall:
    """Where a stage (or the serving function) ran a run of serving steps: now a
    call of the function both share."""

    part: ServingPart


def _with_part_calls(
    parts: Sequence[ServingPart], items: list[tuple[int, int] | _CloneCall]
) -> list[tuple[int, int] | _CloneCall | _PartCall]:
    """``items`` with each serving part they hold whole, one statement after the
    other, replaced by its call."""
    out: list[tuple[int, int] | _CloneCall | _PartCall] = list(items)
    for part in parts:
        first = part.statements[0]
        if first not in out:
            continue
        k = out.index(first)
        if out[k : k + len(part.statements)] == list(part.statements):
            out[k : k + len(part.statements)] = [_PartCall(part)]
    return out


def _part_function(
    ctx: _Context,
    part: ServingPart,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
) -> tuple[cst.FunctionDef, bool]:
    """The run of serving steps as the function the stage and the serving
    function both call."""
    statements, used_partial = _statements(
        ctx, by_cell, facts_by_cell, list(part.statements)
    )
    cells = tuple(dict.fromkeys(cell for cell, _ in part.statements))
    bundle = _bundle_param(ctx, part.bundle)
    if bundle is not None:
        statements[:0] = _from_bundle(ctx.plan.inputs_argument, part.inputs)
    function = _function(
        part.name,
        () if bundle else part.inputs,
        [],
        statements,
        _returned(part.outputs),
        f"The notebook's own steps of {cells_text(cells)}, run by the "
        f"{part.stage} stage and by {SERVE_FUNCTION} for new rows: one copy, so "
        "that training and serving stay the same.",
        f"Returns {', '.join(part.outputs) or 'nothing'}.",
        bundle=bundle,
    )
    return function, used_partial


@dataclass(frozen=True)
class _CloneCall:
    """Where one copy of a factored clone ran: now a call of its function."""

    clone: ClonePlan
    use: CloneUse


def _statements(
    ctx: _Context,
    by_cell: dict[int, ParsedCell],
    facts_by_cell: dict[int, CellFacts],
    order: list[tuple[int, int]],
    figures: dict[int, list[FigurePlan]] | None = None,
    *,
    serving: bool = False,
    applied: dict[tuple[int, int], set[str]] | None = None,
    parts: Sequence[ServingPart] = (),
    held_out: HeldOut | None = None,
) -> tuple[list[cst.BaseStatement], bool]:
    """The statements at ``order`` ((cell, index) in the cell's module), rewritten,
    each copy of a factored clone a call of its function; a label names the cell
    each run of statements came from (it also maps printed output back to the
    cell). Those whose value the notebook displayed are printed; ``figures`` by
    cell, saved where the notebook showed them."""
    statements: list[cst.BaseStatement] = []
    used_partial = False
    current = None
    saved_at = {(f.cell, f.show): f for fs in (figures or {}).values() for f in fs}

    def end_of(cell: int | None) -> None:
        # Jupyter shows, and closes, what a cell drew when the cell ends.
        if cell is not None and (cell, None) in saved_at:
            statements.append(
                _save(
                    ctx.plan,
                    saved_at[(cell, None)],
                    "shown at the end of the notebook cell",
                )
            )

    items = _with_serving_call(
        None if serving else ctx.plan.serving,
        _with_part_calls(parts, _with_clone_calls(ctx.plan.clones, order, serving)),
    )
    for item in items:
        rewritten: cst.SimpleStatementLine | cst.BaseCompoundStatement
        if isinstance(item, _PartCall):
            number = item.part.statements[0][0]
            rewritten = _assigned_call(
                item.part.name,
                _bundled(item.part.bundle, item.part.inputs),
                (),
                item.part.outputs,
            )
        elif held_out is not None and item == held_out.step:
            # New rows are not split: all of them are the part held out.
            number = held_out.step[0]
            rewritten = cst.parse_statement(
                f"{held_out.name} = {held_out.array}  # {NEW_ROWS_HELD_OUT}\n"
            )
            if applied and item in applied:
                glue = rewritten.visit(_Applied(applied[item]))
                assert isinstance(glue, cst.SimpleStatementLine)
                rewritten = glue
        elif isinstance(item, _ServeCall):
            number = item.serving.steps[0][0]
            rewritten = _serve_call(ctx, item.serving)
        elif isinstance(item, tuple) and item in saved_at:
            number = item[0]
            rewritten = _save(ctx.plan, saved_at[item], "the notebook's plt.show()")
        elif isinstance(item, _CloneCall):
            number = item.use.statements[0][0]
            rewritten = _clone_call(item.clone, item.use)
        else:
            number, i = item
            pc = by_cell[number]
            node, used = _rewrite(ctx, pc, pc.module.body[i])
            used_partial |= used
            if applied and (number, i) in applied:
                applied_node = node.visit(_Applied(applied[(number, i)]))
                assert isinstance(applied_node, cst.CSTNode)
                node = applied_node
            if serving:
                imports = {
                    imp.bound: imp.qualified
                    for f in facts_by_cell.values()
                    for imp in f.imports
                }
                unlabelled = node.visit(_Unlabelled(imports))
                assert isinstance(unlabelled, cst.CSTNode)
                node = unlabelled
            assert isinstance(node, cst.SimpleStatementLine | cst.BaseCompoundStatement)
            rewritten = node
            if i in facts_by_cell[number].shown and isinstance(
                rewritten, cst.SimpleStatementLine
            ):
                # The notebook displayed this value; the pipeline prints it.
                expr = rewritten.body[0]
                assert isinstance(expr, cst.Expr)
                printed = cst.Call(cst.Name("print"), [cst.Arg(expr.value)])
                rewritten = rewritten.with_changes(
                    body=[expr.with_changes(value=printed)],
                    trailing_whitespace=cst.TrailingWhitespace(
                        whitespace=cst.SimpleWhitespace("  "),
                        comment=cst.Comment(SHOWN),
                    ),
                )
        first = (
            item.use.statements[0]
            if isinstance(item, _CloneCall)
            else (
                item.serving.steps[0]
                if isinstance(item, _ServeCall)
                else item.part.statements[0] if isinstance(item, _PartCall) else item
            )
        )
        if first == (number, 0):
            rewritten = rewritten.with_changes(
                leading_lines=[
                    *_cell_comments(by_cell[number]),
                    *rewritten.leading_lines,
                ]
            )
        if number != current:
            end_of(current)
            current = number
            section = ctx.sections.get(number, "")
            label = (
                f"# Notebook cell {number}" + (f": {section}" if section else "") + "."
            )
            rewritten = rewritten.with_changes(
                leading_lines=[
                    cst.EmptyLine(),
                    cst.EmptyLine(comment=cst.Comment(label)),
                    *rewritten.leading_lines,
                ]
            )
        statements.append(rewritten)
    end_of(current)
    return statements, used_partial


def _cell_comments(cell: ParsedCell) -> list[cst.EmptyLine]:
    """The comments a cell opens with, which libcst keeps in the module's header,
    not on the first statement: the notebook's own words, kept above that
    statement wherever it goes, but the ``# nbprod: STAGE`` mark (for nbprod)."""
    return [
        line
        for line in cell.module.header
        if line.comment is not None and not EXPLICIT_COMMENT.match(line.comment.value)
    ]


def _save(plan: Plan, figure: FigurePlan, where: str) -> cst.SimpleStatementLine:
    """``save_figures(figures_dir, "NAME")``: the figures drawn so far, saved as
    PNG files and closed, where the notebook showed them (said by ``where``)."""
    call = cst.parse_expression(
        f'{plan.figure_saver}({plan.figures_argument}, "{figure.name}")'
    )
    return cst.SimpleStatementLine(
        [cst.Expr(call)],
        trailing_whitespace=cst.TrailingWhitespace(
            whitespace=cst.SimpleWhitespace("  "),
            comment=cst.Comment(f"# {where}"),
        ),
    )


def _saver_import(plan: Plan) -> str:
    alias = "" if plan.figure_saver == "save_figures" else f" as {plan.figure_saver}"
    return f"from .runtime import save_figures{alias}"


def _with_clone_calls(
    clones: tuple[ClonePlan, ...], order: list[tuple[int, int]], serving: bool
) -> list[tuple[int, int] | _CloneCall]:
    """``order`` with each copy of a clone it holds whole replaced by a call: at
    its first shared statement, after the statements moved before it."""
    positions = {where: k for k, where in enumerate(order)}
    at: dict[tuple[int, int], list[tuple[int, int] | _CloneCall]] = {}
    skip: set[tuple[int, int]] = set()
    for clone in clones:
        uses = [clone.second] if serving else [clone.first, clone.second]
        if serving and not clone.serving:
            continue
        for use in uses:
            members = [*use.statements, *use.hoisted]
            if not all(w in positions for w in members):
                continue
            moved = sorted(use.hoisted, key=positions.__getitem__)
            at[use.statements[0]] = [*moved, _CloneCall(clone, use)]
            skip.update(members)
    items: list[tuple[int, int] | _CloneCall] = []
    for where in order:
        if where in at:
            items += at[where]
        elif where not in skip:
            items.append(where)
    return items


def _clone_call(clone: ClonePlan, use: CloneUse) -> cst.SimpleStatementLine:
    """``frame = clean_rows(frame, name=name, ...)``."""
    return _assigned_call(clone.name, (use.frame,), clone.params, (use.frame,))


def _clone_function(
    ctx: _Context, clone: ClonePlan, by_cell: dict[int, ParsedCell]
) -> tuple[cst.FunctionDef, bool]:
    """The shared statements as one function of the frame, from the first copy,
    the frame's name made the function's parameter."""
    body: list[cst.BaseStatement] = []
    used_partial = False
    for number, i in clone.first.statements:
        pc = by_cell[number]
        node, used = _rewrite(ctx, pc, pc.module.body[i])
        used_partial |= used
        renamed = node.visit(_Renamed(clone.first.frame, clone.frame))
        assert isinstance(renamed, cst.SimpleStatementLine)
        body.append(renamed.with_changes(leading_lines=[]))
    cells = sorted({c for c, _ in (*clone.first.statements, *clone.second.statements)})
    function = _function(
        clone.name,
        (clone.frame,),
        [_param_node(n, None) for n in clone.params],
        body,
        cst.Name(clone.frame),
        f"{clone.origin[0].upper()}{clone.origin[1:]}: one function for both"
        + (", and for new rows" if clone.serving else "")
        + f" (notebook {cells_text(tuple(cells))}).",
        f"Returns {clone.frame}.",
    )
    return function, used_partial


class _Renamed(cst.CSTTransformer):
    """A variable renamed; attribute and keyword names that spell it stay."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == self.old:
            return updated_node.with_changes(value=self.new)
        return updated_node

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)


def _config_params(
    ctx: _Context,
    keys: tuple[tuple[str, str], ...],
    params_by_key: dict[tuple[str, str], Param],
    passed: tuple[str, ...] = (),
    whole: AbstractSet[str] = frozenset(),
) -> list[cst.Param]:
    """The config a function reads: its stage's section as one typed parameter,
    then the ``whole`` other groups as one each, then each value of another group
    (a papermill parameter, a file another stage writes) by its key, then the
    ``passed`` folders (the figures')."""
    out = []
    if any(group == ctx.section for group, _ in keys):
        out.append(
            cst.Param(
                cst.Name(ctx.plan.config_argument),
                annotation=cst.Annotation(cst.Name(config_class(str(ctx.section)))),
            )
        )
    out += [
        cst.Param(
            cst.Name(group_argument(g)),
            annotation=cst.Annotation(cst.Name(config_class(g))),
        )
        for g in sorted(whole)
    ]
    for group, key in keys:
        if group != ctx.section and group not in whole:
            param = params_by_key.get((group, key))
            out.append(_param_node(key, param.kind if param else None))
    out += [_param_node(name, "path") for name in passed]
    return out


def _function(
    name: str,
    inputs: tuple[str, ...],
    config_params: list[cst.Param],
    statements: list[cst.BaseStatement],
    returned: cst.BaseExpression | None,
    purpose: str,
    returns: str,
    *,
    bundle: cst.Param | None = None,
) -> cst.FunctionDef:
    body = list(statements)
    if returned is not None:
        body.append(
            cst.SimpleStatementLine(
                [cst.Return(returned)], leading_lines=[cst.EmptyLine()]
            )
        )
    if not body:
        body.append(cst.SimpleStatementLine([cst.Pass()]))
    returns_text = "\n    ".join(
        textwrap.wrap(returns, width=80, break_on_hyphens=False)
    )
    purpose_text = "\n    ".join(
        textwrap.wrap(purpose, width=80, break_on_hyphens=False)
    )
    doc = f"{purpose_text}\n\n    {returns_text}\n    "
    params = cst.Parameters(
        params=[*(_param_node(n, None) for n in inputs), *([bundle] if bundle else [])],
        star_arg=cst.ParamStar() if config_params else cst.MaybeSentinel.DEFAULT,
        kwonly_params=config_params,
    )
    return cst.FunctionDef(
        name=cst.Name(name),
        params=params,
        body=cst.IndentedBlock(body=[_docstring(doc), *body]),
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )


def _names_in(tree: cst.Module) -> set[str]:
    return {n.value for n in descendants(tree) if isinstance(n, cst.Name)}


def _imports_for(
    names: set[str],
    string_names: set[str],
    imports: list[Import],
    used_anywhere: set[str],
    roots: set[str],
) -> list[str]:
    """The notebook's import statements this module needs, in notebook order."""
    chosen: list[str] = []
    needed = names | string_names
    roots_used = {
        imp.qualified.split(".")[0]
        for imp in imports
        if imp.bound in needed and imp.bound != "*"
    }
    for imp in imports:
        if imp.bound == "*":
            line = imp.statement
        elif imp.bound in names:
            line = imp.statement
        elif imp.bound in string_names:
            # Used inside a string a library evaluates (a patsy formula, a query).
            line = imp.statement + "  # noqa: F401"
        elif (
            imp.bound not in used_anywhere and imp.qualified.split(".")[0] in roots_used
        ):
            # Imported for its side effect (e.g. sklearn.experimental.enable_*).
            line = imp.statement + "  # noqa: F401"
        else:
            continue
        if line not in chosen:
            chosen.append(line)
            if not imp.qualified.startswith("."):
                roots.add(imp.qualified.split(".")[0])
    return chosen
