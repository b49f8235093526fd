"""IPython's history names: ``_`` becomes the value it names; the rest are refused.

IPython keeps the last values it showed in ``_``, ``__`` and ``___``, every output
in ``Out[N]`` and ``_N``, every input in ``In[N]`` and ``_iN``. A Python module has
none of them. Where the notebook reads ``_`` and the code tells which value it holds
(the last value an earlier cell showed), that value gets a name in its cell and
``_`` becomes that name:

    cell 3  df.groupby("k").mean()     ->   output_3 = df.groupby("k").mean()
    cell 4  means = _.round(1)              means = output_3.round(1)

Any other read of a history name, and a ``_`` whose value the code does not tell,
is refused by cell and line. A name the notebook assigns itself (``_ = plt.hist(x)``,
``for _ in range(3)``) is an ordinary name from then on: IPython stops updating it.
"""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import Assignment, GlobalScope

from nbprod import known_apis as apis
from nbprod.convert.analysis.edits import Edit
from nbprod.convert.analysis.facts import CellFacts, ParsedCell, Reference
from nbprod.convert.analysis.nodes import names_in
from nbprod.convert.analysis.normalise import SKIP
from nbprod.convert.analysis.scope import global_references
from nbprod.errors import CellError

HISTORY_NAME = re.compile(r"_{1,3}|_\d+|_i{1,3}|_i\d+|_oh|_ih|In|Out")
_HINT = "assign the value to a name in the cell that computes it, and use that name"


def history_edits(
    parsed: list[ParsedCell], facts: list[CellFacts], imports: dict[str, str]
) -> dict[int, list[Edit]]:
    """Edits, by cell index, binding each value ``_`` names; CellError for the
    history reads that cannot be converted. ``imports`` maps bound names to
    qualified ones, to recognise display calls."""
    bound: set[str] = set()
    every = {n for f in facts for n in _binds(f)}
    edits: dict[int, list[Edit]] = {}
    names: dict[int, str] = {}  # cell index -> the name given to its last value
    taken = {n.value for pc in parsed for n in names_in(pc.module)}
    for k, (pc, f) in enumerate(zip(parsed, facts, strict=True)):
        helper_reads = {
            n for h in f.helpers for n in h.free_names if HISTORY_NAME.fullmatch(n)
        }
        cell_reads = {n for n in f.reads if HISTORY_NAME.fullmatch(n)} - bound
        if helper_reads - every or cell_reads:
            for ref in _history_reads(pc, f, cell_reads, helper_reads - every):
                if ref.name != "_" or ref.helper is not None:
                    _refuse(pc, ref)
                j = _shown_before(parsed, facts, k, ref, imports)
                if j not in names:
                    names[j] = _free(f"output_{parsed[j].cell.number}", taken)
                    edits.setdefault(j, []).append(_bind(parsed[j], names[j]))
                edits.setdefault(k, []).append(
                    Edit(ref.line, ref.column, len(ref.name), names[j])
                )
        bound |= _binds(f)
    return edits


def _binds(f: CellFacts) -> set[str]:
    """Names a cell binds, in kept or dropped statements."""
    return (
        set(f.defines)
        | set(f.assigned)
        | {n for d in f.dropped for n in d.binds}
        | {h.name for h in f.helpers}
        | {i.bound for i in f.imports}
    )


def _history_reads(
    pc: ParsedCell, f: CellFacts, cell_reads: set[str], helper_reads: set[str]
) -> list[Reference]:
    """Where the cell reads history names: in kept top-level code before the cell
    binds the name itself, and in helper bodies."""
    first = _first_bindings(pc)
    found = []
    for ref in global_references(pc):
        if ref.helper is not None:
            if ref.name in helper_reads:
                found.append(ref)
        elif ref.name in cell_reads and ref.statement in f.kept:
            limit = first.get(ref.name)
            if (
                limit is None
                or ref.statement < limit
                or (
                    ref.statement == limit
                    and isinstance(pc.module.body[limit], cst.SimpleStatementLine)
                )
            ):
                found.append(ref)
    return found


def _first_bindings(pc: ParsedCell) -> dict[str, int]:
    """The first top-level statement binding each global name of the cell."""
    scope = next((s for s in pc.scopes.values() if isinstance(s, GlobalScope)), None)
    if scope is None:
        return {}
    stmt_of = pc.statement_of
    first: dict[str, int] = {}
    for assignment in scope.assignments:
        if not isinstance(assignment, Assignment):
            continue  # a builtin: no node
        stmt = stmt_of.get(id(assignment.node))
        if stmt is not None:
            first[assignment.name] = min(first.get(assignment.name, stmt), stmt)
    return first


def _refuse(pc: ParsedCell, ref: Reference) -> None:
    what = {"In": "In[...]", "Out": "Out[...]"}.get(ref.name, ref.name)
    kind = "input" if ref.name == "In" or ref.name.startswith("_i") else "output"
    inside = f" (inside {ref.helper})" if ref.helper else ""
    raise CellError(
        f"{what}{inside} is IPython's {kind} history, which a Python module does not have",
        where=f"cell {pc.cell.number}, line {ref.line}",
        hint=_HINT,
    )


def _shown_before(
    parsed: list[ParsedCell],
    facts: list[CellFacts],
    k: int,
    ref: Reference,
    imports: dict[str, str],
) -> int:
    """The index of the cell whose last value ``_`` holds when cell ``k`` runs:
    the nearest earlier cell that showed a value (cells that show nothing, or
    show None, leave ``_`` as it was). Refused when the code does not tell."""
    where = f"cell {parsed[k].cell.number}, line {ref.line}"
    for j in range(k - 1, -1, -1):
        pc, kinds = parsed[j], facts[j].kinds
        number = pc.cell.number
        if pc.cell.explicit == SKIP:
            raise _unknown(
                where, f"cell {number} is skipped, so what it showed is unknown"
            )
        if pc.cell.display_magic or not pc.module.body:
            continue
        last = pc.module.body[-1]
        if any(m.line > pc.positions[last].end.line for m in pc.cell.magics):
            raise _unknown(where, f"cell {number} ends with a magic")
        shown = _last_expression(last)
        if shown is None:
            continue  # shows nothing: an assignment, a loop, a value ended by ``;``
        value = shown.value
        callee = _callee(value) if isinstance(value, cst.Call) else None
        if kinds[-1] == "print" or (
            callee and callee.rsplit(".", 1)[-1] in apis.RETURNS_NONE
        ):
            continue  # None: IPython leaves ``_`` as it was
        display_call = callee is not None and apis.matches_any(
            _qualified(callee, imports), apis.DISPLAY_PATTERNS
        )
        if kinds[-1] == "shown" or (kinds[-1] == "display" and not display_call):
            return j
        text = cst.Module([]).code_for_node(value).split("\n")[0][:60]
        raise _unknown(where, f"cell {number} ends with {text}, which may be None")
    raise CellError(
        "_ is IPython's last output, and no earlier cell shows a value",
        where=where,
        hint=_HINT,
    )


def _unknown(where: str, why: str) -> CellError:
    return CellError(
        f"_ is IPython's last output, and the code does not tell which value it is ({why})",
        where=where,
        hint=_HINT,
    )


def _last_expression(stmt: cst.BaseStatement) -> cst.Expr | None:
    """The expression IPython shows at the end of a cell, if it shows one."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return None
    small = stmt.body[-1]
    if not isinstance(small, cst.Expr) or isinstance(small.semicolon, cst.Semicolon):
        return None
    return small


def _callee(call: cst.Call) -> str | None:
    try:
        return cst.helpers.get_full_name_for_node(call.func)
    except Exception:  # noqa: BLE001 - libcst raises on unusual expressions
        return None


def _qualified(dotted: str, imports: dict[str, str]) -> str:
    head, _, rest = dotted.partition(".")
    base = imports.get(head, head)
    return f"{base}.{rest}" if rest else base


def _bind(pc: ParsedCell, name: str) -> Edit:
    """Give the cell's last value a name: ``df.head()`` -> ``name = df.head()``."""
    shown = _last_expression(pc.module.body[-1])
    assert shown is not None
    pos = pc.positions[shown].start
    return Edit(pos.line, pos.column, 0, f"{name} = ")


def _free(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate)
    return candidate
