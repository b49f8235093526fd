"""The shapes a stage module's code takes: functions with their docstrings and
keyword-only config, the named tuples values are handed on in, and the calls between
them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet

import libcst as cst

from nbprod.convert.generate.rewrite import Context
from nbprod.convert.plan.signatures import (
    ANNOTATION,
    Keyword,
    function_keywords,
    group_argument,
)
from nbprod.plan import Param

# ``f(k=v)``, as black writes a keyword argument.
_NO_SPACE = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""),
    whitespace_after=cst.SimpleWhitespace(""),
)


def param_node(name: str, kind: str | None) -> cst.Param:
    """``name: int``: a parameter, annotated by the config value's ``kind``."""
    annotation = cst.Annotation(cst.Name(ANNOTATION[kind])) if kind else None
    return cst.Param(cst.Name(name), annotation=annotation)


def _docstring(text: str) -> cst.SimpleStatementLine:
    """A docstring of ``text``, as a statement."""
    return cst.SimpleStatementLine([cst.Expr(cst.SimpleString(f'"""{text}"""'))])


def function_def(
    name: str,
    inputs: tuple[str, ...],
    keywords: list[cst.Param],
    statements: list[cst.BaseStatement],
    returned: cst.BaseExpression | None,
    purpose: str,
    returns: str,
    *,
    bundle: cst.Param | None = None,
) -> cst.FunctionDef:
    """``def name(inputs, *, keywords)``: ``statements`` then ``return returned``,
    under a docstring of ``purpose`` and ``returns``; the inputs come as one
    ``bundle`` parameter instead, when given."""
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
        params=[*(param_node(n, None) for n in inputs), *([bundle] if bundle else [])],
        star_arg=cst.ParamStar() if keywords else cst.MaybeSentinel.DEFAULT,
        kwonly_params=keywords,
    )
    return cst.FunctionDef(
        name=cst.Name(name),
        params=params,
        body=cst.IndentedBlock(body=[_docstring(doc), *body]),
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )


def named_tuple(name: str, doc: str, fields: tuple[str, ...]) -> cst.ClassDef:
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


def bundle_param(ctx: Context, bundle: str) -> cst.Param | None:
    """``inputs: TrainingInputs``: the parameter a function's inputs come in, when
    they come as one named tuple."""
    if not bundle:
        return None
    return cst.Param(
        cst.Name(ctx.plan.inputs_argument),
        annotation=cst.Annotation(cst.Name(bundle)),
    )


def bundled_args(
    bundle: str, names: tuple[str, ...]
) -> Sequence[str | cst.BaseExpression]:
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


def from_bundle(argument: str, names: tuple[str, ...]) -> list[cst.BaseStatement]:
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


def unpacked(
    ctx: Context, keys: tuple[tuple[str, str], ...]
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


def config_params(
    ctx: Context,
    keys: tuple[tuple[str, str], ...],
    params_by_key: dict[tuple[str, str], Param],
    passed: tuple[str, ...] = (),
    whole: AbstractSet[str] = frozenset(),
) -> list[cst.Param]:
    """The config parameters of a function reading ``keys`` (its stage's section
    whole, the ``whole`` other groups each as one, the rest by key), then the
    ``passed`` figures' folder, as :func:`function_keywords` decides them."""
    return keyword_params(
        function_keywords(
            ctx.section or "",
            keys,
            config_argument=ctx.plan.config_argument,
            figures_argument=passed[0] if passed else "",
            kinds={k: p.kind for k, p in params_by_key.items()},
            draws=bool(passed),
            whole=sorted(whole),
        )
    )


def keyword_params(keywords: Sequence[Keyword]) -> list[cst.Param]:
    """``name: Annotation`` for each keyword parameter."""
    return [
        cst.Param(
            cst.Name(k.name),
            annotation=cst.Annotation(cst.Name(k.annotation)) if k.annotation else None,
        )
        for k in keywords
    ]


def named_results(
    names: tuple[str, ...], ref: Callable[[str], cst.BaseExpression]
) -> cst.BaseExpression | None:
    """``{"a": a, ...}``: a stage's results, as the pipeline saves them; ``ref``
    says how the stage reads each."""
    if not names:
        return None
    return cst.Dict(
        [cst.DictElement(cst.SimpleString(f'"{n}"'), ref(n)) for n in names]
    )


def returned_value(names: tuple[str, ...]) -> cst.BaseExpression | None:
    """``a`` or ``a, b``: what a function returns, if anything."""
    if not names:
        return None
    if len(names) == 1:
        return cst.Name(names[0])
    return cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[])


def config_call(
    ctx: Context,
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
    return assigned_call(function, inputs, keywords, outputs, passes)


def assigned_call(
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
