"""The figures the notebook draws in pipeline cells: which statement saves each
(a ``plt.show()`` it replaces, or the end of the cell, where Jupyter shows and
closes what a cell drew) and its file name, from what it shows.

Pure: the planned cells in, :class:`FigurePlan` out. The pipeline saves them as
PNG files (``runtime.save_figures``); a figure object is never a stage's result.
"""

from __future__ import annotations

from collections.abc import Mapping

from nbprod import known_apis as apis
from nbprod.convert.plan.cells import HelperFacts, WorkCell
from nbprod.plan import FigurePlan, StagePlan


def drawing_helpers(helper_facts: HelperFacts, imports: Mapping[str, str]) -> set[str]:
    """The notebook's functions that draw: they use a plotting library
    (matplotlib, seaborn, pandas.plotting), or call a function that does."""
    drawing = {
        name
        for name, (h, _) in helper_facts.items()
        if any(
            n in imports and apis.matches_any(imports[n], apis.PLOT_PATTERNS)
            for n in h.free_names
        )
    }
    changed = True
    while changed:
        changed = False
        for name, (h, _) in helper_facts.items():
            if name not in drawing and drawing & set(h.free_names):
                drawing.add(name)
                changed = True
    return drawing


def plan_figures(
    work: list[WorkCell],
    stages: list[StagePlan],
    data_names: set[str],
    drawing: set[str],
) -> tuple[FigurePlan, ...]:
    """A figure for each ``plt.show()`` of a pipeline cell, and one at the end of a
    cell that draws after its last (or has none). Each is named after the first
    of ``data_names`` its plot statements read (``importances`` for
    ``importances.tail(8).plot.barh()``), else after the step that draws it;
    a name taken already gets ``_2``, ``_3``."""
    step_of = {
        cell: step.name if step else stage.function
        for stage in stages
        for step in (stage.steps or (None,))
        for cell in (step.cells if step else stage.cells)
    }
    figures = {n for c in work for n in c.facts.figures}
    found: list[FigurePlan] = []
    taken: set[str] = set()

    def add(cell: int, show: int | None, shown: list[str]) -> None:
        base = next(
            (n for n in shown if n in data_names and n not in figures),
            step_of[cell],
        )
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        found.append(FigurePlan(name, cell, show))

    for c in sorted(work, key=lambda c: c.facts.number):
        f = c.facts
        drew, shown = False, list[str]()
        for st in f.statements:
            plot = st.index in f.draws
            drew |= plot or any(call.name in drawing for call in st.name_calls)
            if plot:
                shown += st.reads
            if st.index in f.shows:
                add(f.number, st.index, shown)
                drew, shown = False, []
        if drew:
            add(f.number, None, shown)
    return tuple(found)
