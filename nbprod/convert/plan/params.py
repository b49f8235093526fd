"""Config lifting: the literals of each stage (paths, keyword arguments,
constants) and of a papermill parameters cell become config.yaml values, with
readable keys."""

from __future__ import annotations

import keyword
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import NamedTuple

from nbprod.convert.analysis import CellFacts, Literal
from nbprod.convert.plan.cells import WorkCell
from nbprod.convert.plan.dataflow import StageIO
from nbprod.convert.plan.names import safe_identifier, snake
from nbprod.plan import HelperPlan, Param, ParamKind
from nbprod.stages import STAGES, Stage


def config_class(group: str) -> str:
    """The name of the generated dataclass that holds a config group's values."""
    return f"{group.capitalize()}Config"


def lift_params(
    work: list[WorkCell],
    parameter_literals: dict[int, tuple[Literal, ...]],
    existing_paths: frozenset[str],
    notebook_dir: str,
    stage_io: StageIO,
    helpers: list[HelperPlan],
    data_paths: Mapping[str, str],
) -> list[Param]:
    """The config values: the parameters cell's, then each stage's literals."""
    paths = _Paths(
        existing_paths,
        notebook_dir,
        data_paths,
        written_paths([c.facts for c in work]),
    )
    params = _parameters_cell_params(parameter_literals, paths)
    for stage in STAGES:
        members = [c for c in work if c.stage == stage]
        taken = set(stage_io[stage][0]) | {
            n
            for c in members
            for n in (*c.facts.defines, *c.facts.reads, *c.facts.mutates)
        }
        taken |= {h.name for h in helpers} | {stage.command}
        lifted = [c for c in members if c.facts.number not in parameter_literals]
        _lift_stage(params, stage, lifted, taken, paths)
    return params


class _Paths(NamedTuple):
    """Where the notebook's files are, as the project sees them."""

    existing: frozenset[str]  # relative path literals found beside the notebook
    notebook_dir: str  # the notebook's folder, relative to the project
    data_paths: Mapping[str, str]  # an input, as the notebook names it -> its copy
    written: set[str]  # what the notebook writes (normalised)


# What makes two literals of a stage one config value: kind, callee, name, value.
_Setting = tuple[str, str, str, str]


def _parameters_cell_params(
    parameter_literals: dict[int, tuple[Literal, ...]], paths: _Paths
) -> list[Param]:
    """The config values of a papermill parameters cell, in the group of their own."""
    return [
        _literal_param(
            lit,
            lit.name,
            "parameters",
            cell,
            lit.direction == "path",
            paths,
            f"parameters cell: {lit.name} = {lit.value!r}",
        )
        for cell, lits in sorted(parameter_literals.items())
        for lit in lits
    ]


def _literal_param(
    lit: Literal,
    key: str,
    group: str,
    cell: int,
    is_path: bool,
    paths: _Paths,
    source: str,
) -> Param:
    """The config value ``group.key`` that ``lit`` of ``cell`` becomes: its value
    plain (a path rebased onto the project), its kind, where it was, and why."""
    return Param(
        key,
        group,
        _plain(_rebased(lit, is_path, paths)),
        _kind(lit.value, is_path),
        cell,
        lit.line,
        lit.column,
        source,
    )


def _lift_stage(
    params: list[Param],
    stage: Stage,
    members: list[WorkCell],
    taken: set[str],
    paths: _Paths,
) -> None:
    """Add the literals of a stage's cells ``members`` to ``params``: each a new
    value with a key no name of the stage (``taken``) has, or, the same setting
    again, one more place of a value there already."""
    keys: set[str] = set()
    shared: dict[_Setting, int] = {}
    for c in members:
        for lit in c.facts.literals:
            if lit.kind == "parameter" or lit.computed:
                continue
            same = _setting(lit)
            once = lit.kind == "kwarg" or same[1] == "read"
            i = shared[same] if once and same in shared else None
            if i is None:
                i = _read_back(lit, params, stage, paths.written, keys | taken)
                if i is not None and params[i].group != stage:
                    keys.add(params[i].key)
            if i is not None:
                params[i] = replace(
                    params[i],
                    also_at=(
                        *params[i].also_at,
                        (c.facts.number, lit.line, lit.column),
                    ),
                )
                continue
            key = _param_key(lit, keys, taken)
            keys.add(key)
            shared[same] = len(params)
            params.append(_stage_param(lit, key, stage, c.facts.number, paths))


def _setting(lit: Literal) -> _Setting:
    """What ``lit`` sets: the same setting of the same call twice in a stage is
    one config value, as is the same file read twice."""
    if lit.kind == "path" and lit.direction == "read":
        return (lit.kind, "read", "", repr(lit.value))
    return (lit.kind, lit.callee, lit.name, repr(lit.value))


def _read_back(
    lit: Literal,
    params: list[Param],
    stage: Stage,
    written: set[str],
    avoid: set[str],
) -> int | None:
    """The index of the config value of the file that ``lit`` reads back, one
    the notebook writes: ``stage`` reads it under the writer's key, unless that
    key is in ``avoid``."""
    i = _same_file(lit, params, written)
    # Not when the stage already has its own value of that name, or a variable
    # of it is called so (``datapath``, the folder joined from this value: two
    # values, one name).
    if i is not None and params[i].group != stage and params[i].key in avoid:
        return None
    return i


def _same_file(lit: Literal, params: list[Param], written: set[str]) -> int | None:
    """The index of the config value of the same file as ``lit``, when the
    notebook writes that file: a file one cell writes and another reads back is
    one config value."""
    if lit.kind != "path" or not isinstance(lit.value, str):
        return None
    value = posixpath.normpath(lit.value)
    if value not in written:
        return None
    return next(
        (
            i
            for i, p in enumerate(params)
            if p.kind == "path"
            and p.group != "parameters"
            and isinstance(p.value, str)
            and posixpath.normpath(p.value) == value
        ),
        None,
    )


def _stage_param(
    lit: Literal, key: str, stage: Stage, cell: int, paths: _Paths
) -> Param:
    """The config value ``key`` of ``stage`` that ``lit`` of ``cell`` becomes."""
    is_path = lit.kind == "path"
    if lit.kind == "kwarg":
        what = f"{lit.callee.rsplit('.', 1)[-1]}({lit.name}=...)"
    elif lit.kind == "constant":
        what = f"{lit.name} = ..."
    else:
        what = f"path {lit.value!r}"
    source = f"cell {cell}, line {lit.line}: {what}"
    return _literal_param(lit, key, stage, cell, is_path, paths, source)


def _rebased(lit: Literal, is_path: bool, paths: _Paths) -> object:
    """The value of ``lit`` as the project reads it: a path to a copied input
    or folder is the copy's, one found beside the notebook is found from the
    project too."""
    value = lit.value
    if is_path and isinstance(value, str) and value in paths.data_paths:
        return paths.data_paths[value]
    # A folder the notebook reads files under: its copy, where those files
    # are (even where it also writes in it, as the notebook did).
    folder = _copied_folder(value, paths.data_paths) if is_path else None
    if folder is not None:
        return folder
    # A file read where it is (not copied). Not a folder the code only
    # names: what it makes of it may be written to (PROJECT_ROOT_DIR = "."
    # then images saved under it), and the user's folder is never written.
    if (
        is_path
        and lit.direction == "read"
        and isinstance(value, str)
        and not posixpath.isabs(value)
        and value in paths.existing
        and posixpath.normpath(value) not in paths.written
    ):
        return posixpath.normpath(posixpath.join(paths.notebook_dir, value))
    return value


def written_paths(facts: Sequence[CellFacts]) -> set[str]:
    """The paths the notebook writes (normalised). They are the pipeline's own,
    inside the project, even where a later cell reads them back (and whether or
    not an earlier run of the notebook left them beside it): dataflow, not inputs."""
    written_names = {n for f in facts for n in f.written}
    return {
        posixpath.normpath(lit.value)
        for f in facts
        for lit in f.literals
        if lit.kind in {"path", "parameter"}
        and isinstance(lit.value, str)
        and (lit.direction == "write" or lit.name in written_names)
    }


def used_params(
    params: list[Param], cells: set[int], stage: str
) -> tuple[tuple[str, str], ...]:
    """(group, key) of the config values the stage's cells use: its own group's,
    and a file path another stage writes that this one reads back."""
    return tuple(
        (p.group, p.key)
        for p in params
        if p.group != "parameters"
        and (p.group == stage or ({w[0] for w in p.also_at} & cells))
        and ({p.cell} | {w[0] for w in p.also_at}) & cells
    )


def _copied_folder(value: object, data_paths: Mapping[str, str]) -> str | None:
    """Where the files read under the folder ``value`` were copied, with the
    folders below it kept (``datasets`` -> ``data/datasets``), if they were."""
    if not isinstance(value, str) or not value.strip("./"):
        return None
    prefix = posixpath.normpath(value) + "/"
    for source, target in sorted(data_paths.items()):
        rest = posixpath.normpath(source).removeprefix(prefix)
        if rest != posixpath.normpath(source) and target.endswith(f"/{rest}"):
            return target[: -len(rest) - 1]
    return None


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _param_key(lit: Literal, keys: set[str], taken: set[str]) -> str:
    if lit.kind == "kwarg":
        candidates = [lit.name, f"{snake(lit.callee.rsplit('.', 1)[-1])}_{lit.name}"]
    elif lit.kind == "constant":
        candidates = [lit.name.lower()]
    else:
        base = safe_identifier(lit.name, fallback="path")
        candidates = [
            (
                base
                if base.endswith(("path", "dir", "file", "folder", "root"))
                else f"{base}_path"
            )
        ]
    for cand in candidates:
        if not cand.isidentifier() or keyword.iskeyword(cand):
            cand = safe_identifier(cand, fallback="value")
        # A path assigned to a variable keeps the variable's name: ``params_path =
        # Path(params_path)`` reads the config value, then rebinds it as the notebook did.
        if cand not in keys and (
            cand not in taken or (lit.kind == "path" and cand == lit.name)
        ):
            return cand
    base = safe_identifier(candidates[-1], fallback="value")
    i = 2
    while f"{base}_{i}" in keys or f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


_KINDS: tuple[tuple[type, ParamKind], ...] = (
    (bool, "bool"),  # before int: a bool is an int to isinstance
    (int, "int"),
    (float, "float"),
    (str, "str"),
    (list, "list"),
    (tuple, "tuple"),
    (dict, "dict"),
)


def _kind(value: object, is_path: bool) -> ParamKind:
    if is_path:
        return "path"
    return next((kind for t, kind in _KINDS if isinstance(value, t)), "str")
