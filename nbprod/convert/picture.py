"""The plan as a picture: the notebook's code cells, one box per stage holding its
cells (each named by the step or function it went into), the names each
dependency carries on its arrow, and the cells left out greyed with their reason.
Pure: a plan in, Mermaid source, SVG or an HTML page out.

Mermaid is text, so that picture is diffable, and GitHub, GitLab and the
documentation site (Material for MkDocs) draw it where it is shown. The SVG is
drawn here, in Python, with the same facts: the HTML page holds it, and needs
nothing else to show it (no script, no network), offline as well as printed.
Both are deterministic: the same plan, the same bytes.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from xml.sax.saxutils import escape

from nbprod.convert.render import render
from nbprod.plan import CellPlan, Plan
from nbprod.stages import Stage

# Light tints of the Okabe-Ito palette, which colour-blind readers can tell apart.
STAGE_COLOURS = {
    Stage.PREPROCESSING: "#cce3f5",
    Stage.TRAINING: "#fbe3bf",
    Stage.INFERENCE: "#c9ece0",
    Stage.EVALUATION: "#f1d5e6",
}
LEFT_OUT_COLOUR = "#eeeeee"
_NAMES_ON_AN_ARROW = 3
_REASON_WIDTH = 60
_PLAIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,:;()'/-+=*"
)


def mermaid(plan: Plan) -> str:
    """The plan as a Mermaid flowchart."""
    lines = ["flowchart TB"]
    where = _places(plan)
    for s in plan.stages:
        cells = [c for c in plan.cells if c.stage == s.stage]
        lines.append(f'  subgraph {s.stage}["{_text(f"{s.stage}: {s.function}()")}"]')
        lines += [f'    {_node(c)}["{_label(c, where)}"]' for c in cells]
        lines.append("  end")
    left_out = [c for c in plan.cells if c.stage is None]
    if left_out:
        lines.append('  subgraph left_out["not in the pipeline"]')
        lines += [f'    {_node(c)}["{_label(c, where)}"]' for c in left_out]
        lines.append("  end")
    for c in plan.cells:
        carried = dict(c.reads_from)
        for dep in c.depends_on:
            names = carried.get(dep, ())
            if names:
                lines.append(f'  c{dep} -->|"{_text(_names(names))}"| {_node(c)}')
            else:  # it only has to run after that cell, which changes what it read
                lines.append(f"  c{dep} -.-> {_node(c)}")
    for stage, colour in STAGE_COLOURS.items():
        lines.append(f"  classDef {stage} fill:{colour},stroke:#555,color:#111")
    lines.append(
        f"  classDef left_out fill:{LEFT_OUT_COLOUR},stroke:#999,"
        "stroke-dasharray:4 3,color:#666"
    )
    # The boxes neutral, so that colour means the stage of a cell and nothing else.
    for s in plan.stages:
        lines.append(f"  style {s.stage} fill:#fcfcfc,stroke:#888")
    if left_out:
        lines.append("  style left_out fill:#fcfcfc,stroke:#aaa,stroke-dasharray:4 3")
    for stage in STAGE_COLOURS:
        members = [_node(c) for c in plan.cells if c.stage == stage]
        if members:
            lines.append(f"  class {','.join(members)} {stage}")
    if left_out:
        lines.append(f"  class {','.join(_node(c) for c in left_out)} left_out")
    return "\n".join(lines) + "\n"


def html_page(plan: Plan) -> str:
    """A page that shows the plan's picture, drawn in it as SVG, and the same facts
    as a table: it runs no script and requests nothing."""
    picture, width = _drawing(plan)
    return render(
        "plan/plan.html.j2",
        {
            "plan": plan,
            "picture": picture,
            "picture_width": _n(width),
            "colours": {str(s): c for s, c in STAGE_COLOURS.items()},
            "left_out_colour": LEFT_OUT_COLOUR,
            "places": _places(plan),
        },
    )


def _places(plan: Plan) -> dict[int, str]:
    """Each pipeline cell's function: its step, else its stage's function."""
    found = {}
    for s in plan.stages:
        found.update(dict.fromkeys(s.cells, f"{s.function}()"))
        for step in s.steps:
            found.update(dict.fromkeys(step.cells, f"{step.name}()"))
    return found


def _node(c: CellPlan) -> str:
    return f"c{c.number}"


def _label(c: CellPlan, where: dict[int, str]) -> str:
    if c.stage is not None:
        return f"cell {c.number}<br/>{_text(where.get(c.number, ''))}"
    return f"cell {c.number}<br/>{_text(_reason(c))}"


def _reason(c: CellPlan) -> str:
    """Why a cell is left out, cut short for a picture (the table says it all)."""
    reason = c.reason.removeprefix("excluded: ")
    if len(reason) > _REASON_WIDTH:
        reason = reason[: _REASON_WIDTH - 1].rstrip() + "…"
    return reason


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_NAMES_ON_AN_ARROW])
    more = len(names) - _NAMES_ON_AN_ARROW
    return f"{shown} +{more}" if more > 0 else shown


def _text(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label: any other character becomes
    Mermaid's numeric entity (``#35;``), so a quote or a bracket in a reason can
    never end the label or inject markup."""
    return "".join(ch if ch in _PLAIN else f"#{ord(ch)};" for ch in text)


# The SVG is laid out here, by hand, rather than by a layout library: Graphviz
# needs its system binary, and a plan's graph is layered already (the stages run
# in order), so a column per stage in pipeline order, its cells stacked in
# notebook order, needs none. Every size comes from the length of the text, in a
# monospace font, so the same plan draws the same bytes.
_FONT = 12  # px, a cell's text
_CHAR = 7.4  # px, a character at _FONT px: monospace is 0.6em, and a little room
_TITLE_CHAR = 8.2  # px, a character of a box's title (13px, bold)
_NAME_CHAR = 6.8  # px, a character of the names on an arrow (11px)
_LINE = 16  # px from one line of a cell to the next
_PAD = 7  # px inside a cell, around its text
_CELL_GAP = 12  # px between the cells of a box
_BOX_PAD = 14  # px inside a box, around its cells
_TITLE = 34  # px, a box's title above its cells
_LANE = 44  # px right of a box's cells: the arrows between cells of one stage
_MIN_GAP = 110  # px between two boxes, widened to fit the names on an arrow
_MAX_GAP = 260
_MARGIN = 12
_WRAP = 32  # characters on a line of a cell's reason
_FONTS = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"


@dataclass(frozen=True)
class _Drawn:
    """A box (a stage's, or a cell's) where it is drawn."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w


@dataclass(frozen=True)
class _Column:
    key: str  # the stage, or "left_out"
    title: str
    cells: tuple[CellPlan, ...]
    lines: tuple[tuple[str, ...], ...]  # each cell's lines of text


def svg(plan: Plan) -> str:
    """The plan as an SVG picture: a box per stage, left to right in pipeline
    order, holding its cells in notebook order (each named by the function it
    became), the cells left out in a last box with the reason, and an arrow from
    each cell to each cell that depends on it, with the names it carries (dashed
    when it only orders the two). Nothing in it loads or runs anything."""
    return _drawing(plan)[0]


def _drawing(plan: Plan) -> tuple[str, float]:
    """The SVG, and its width in pixels."""
    where = _places(plan)
    columns = [
        _column(str(s.stage), f"{s.stage}: {s.function}()", plan, s.stage, where)
        for s in plan.stages
    ]
    # A cell is never dropped from the picture, even of a plan without its stage.
    planned = {s.stage for s in plan.stages}
    columns += [
        _column(str(stage), str(stage), plan, stage, where)
        for stage in Stage
        if stage not in planned and any(c.stage == stage for c in plan.cells)
    ]
    if any(c.stage is None for c in plan.cells):
        columns.append(_column("left_out", "not in the pipeline", plan, None, where))
    edges = _edges(plan)
    gap = min(
        _MAX_GAP,
        max([_MIN_GAP] + [len(names) * _NAME_CHAR + 24 for _, _, names in edges]),
    )
    boxes, cells = _place(columns, gap)
    width = (boxes[-1].right if boxes else 0) + _MARGIN
    height = max([b.y + b.h for b in boxes], default=0) + _MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(width)} '
        f'{_n(height)}" width="100%" style="max-width: {_n(width)}px; height: auto" '
        f'role="img" aria-labelledby="plan-picture-title" font-family="{_FONTS}">',
        f'<title id="plan-picture-title">{escape(plan.notebook)}: where every '
        "code cell went</title>",
        "<style>",
        ".stage > rect { fill: none; stroke: #888; }",
        ".stage.left_out > rect { stroke: #aaa; stroke-dasharray: 4 3; }",
        ".stage > text { font-size: 13px; font-weight: bold; fill: #333; }",
        ".cell > rect { stroke: #555; }",
        ".cell text { font-size: 12px; fill: #111; }",
        ".cell .number { font-weight: bold; }",
        ".cell.left_out > rect { stroke: #999; stroke-dasharray: 4 3; }",
        ".cell.left_out text { fill: #555; }",
        ".edge { fill: none; stroke: #444; stroke-width: 1.3; }",
        ".edge.order { stroke-dasharray: 5 4; }",
        ".names { font-size: 11px; fill: #222; stroke: #fff; stroke-width: 3px;"
        " stroke-linejoin: round; paint-order: stroke; }",
        *(f".cell.{s} > rect {{ fill: {c}; }}" for s, c in STAGE_COLOURS.items()),
        f".cell.left_out > rect {{ fill: {LEFT_OUT_COLOUR}; }}",
        "</style>",
        '<defs><marker id="plan-picture-arrow" viewBox="0 0 10 10" refX="9" '
        'refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
        'orient="auto"><path d="M0,1 L9,5 L0,9 z" fill="#444"/></marker></defs>',
        f'<rect width="{_n(width)}" height="{_n(height)}" fill="#fff"/>',
    ]
    paths, labels = _arrows(edges, cells, _column_of(columns))
    # The arrows and their names under the cells: one passing a stage's cells on
    # its way to a later stage goes behind them, and every cell stays readable.
    out += ['<g class="edges">', *paths, "</g>", '<g class="labels">', *labels, "</g>"]
    for column, box in zip(columns, boxes, strict=True):
        out.append(
            f'<g class="stage {column.key}" data-stage="{column.key}">'
            f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.w)}" '
            f'height="{_n(box.h)}" rx="6"/>'
            f'<text x="{_n(box.x + _BOX_PAD)}" y="{_n(box.y + 22)}">'
            f"{escape(column.title)}</text>"
        )
        for c, lines in zip(column.cells, column.lines, strict=True):
            out.append(_cell(c, lines, column.key, cells[c.number]))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n", width


def _column(
    key: str,
    title: str,
    plan: Plan,
    stage: Stage | None,
    where: dict[int, str],
) -> _Column:
    cells = tuple(c for c in plan.cells if c.stage == stage)
    lines = tuple(
        (
            (f"cell {c.number}", where.get(c.number, ""))
            if c.stage is not None
            else (f"cell {c.number}", *textwrap.wrap(_reason(c), _WRAP))
        )
        for c in cells
    )
    return _Column(key, title, cells, lines)


def _place(
    columns: list[_Column], gap: float
) -> tuple[list[_Drawn], dict[int, _Drawn]]:
    """Where each box and each cell is drawn: the boxes as tall as the tallest."""
    cells: dict[int, _Drawn] = {}
    sizes = []
    x: float = _MARGIN
    for column in columns:
        widest = max((len(t) for lines in column.lines for t in lines), default=6)
        cell_w = round(widest * _CHAR + 2 * _PAD)
        box_w = max(
            cell_w + 2 * _BOX_PAD + _LANE,
            len(column.title) * _TITLE_CHAR + 2 * _BOX_PAD,
        )
        y = _MARGIN + _TITLE
        for c, lines in zip(column.cells, column.lines, strict=True):
            h = len(lines) * _LINE + 2 * _PAD
            cells[c.number] = _Drawn(x + _BOX_PAD, y, cell_w, h)
            y += h + _CELL_GAP
        sizes.append((x, box_w, y - _CELL_GAP + _BOX_PAD - _MARGIN))
        x += box_w + gap
    box_h = max((h for _, _, h in sizes), default=0)
    return [_Drawn(x, _MARGIN, w, box_h) for x, w, _ in sizes], cells


def _column_of(columns: list[_Column]) -> dict[int, int]:
    return {c.number: i for i, column in enumerate(columns) for c in column.cells}


_NUMBER = ' class="number"'


def _cell(c: CellPlan, lines: tuple[str, ...], key: str, at: _Drawn) -> str:
    why = f"{c.stage}, {lines[1]}" if c.stage is not None else c.reason
    text = "".join(
        f'<tspan x="{_n(at.x + _PAD)}" y="{_n(at.y + _PAD + 12 + i * _LINE)}"'
        f"{_NUMBER if i == 0 else ''}>{escape(line)}</tspan>"
        for i, line in enumerate(lines)
    )
    return (
        f'<g class="cell {key}" data-cell="{c.number}">'
        f"<title>cell {c.number}: {escape(why)}</title>"
        f'<rect x="{_n(at.x)}" y="{_n(at.y)}" width="{_n(at.w)}" '
        f'height="{_n(at.h)}" rx="4"/><text>{text}</text></g>'
    )


def _edges(plan: Plan) -> list[tuple[int, int, str]]:
    """Every arrow, as the Mermaid flowchart draws it: (from, to, names carried)."""
    out = []
    for c in plan.cells:
        carried = dict(c.reads_from)
        for dep in c.depends_on:
            names = carried.get(dep, ())
            out.append((dep, c.number, _names(names) if names else ""))
    return out


def _arrows(
    edges: list[tuple[int, int, str]],
    cells: dict[int, _Drawn],
    column_of: dict[int, int],
) -> tuple[list[str], list[str]]:
    """Each arrow as a cubic Bézier path, and the names on it: out of the right
    side of a cell into the left side of a later stage's (the other way round
    into an earlier stage's), and between two cells of a stage, out of one's right
    side round into the other's. The ends on one side of a cell are spread along
    it, in the order of the cells at their other ends."""
    drawn = [(a, b, names) for a, b, names in edges if a in cells and b in cells]
    sides = []
    ends: dict[tuple[int, str], list[tuple[float, int, int, int]]] = {}
    for i, (a, b, _) in enumerate(drawn):
        step = column_of[b] - column_of[a]
        side_a, side_b = (
            ("R", "L") if step > 0 else ("L", "R") if step < 0 else ("R", "R")
        )
        sides.append((side_a, side_b))
        ends.setdefault((a, side_a), []).append((cells[b].y, b, i, 0))
        ends.setdefault((b, side_b), []).append((cells[a].y, a, i, 1))
    port: dict[tuple[int, int], float] = {}
    for (number, _), at_side in ends.items():
        at = cells[number]
        for k, (_, _, i, which) in enumerate(sorted(at_side)):
            port[i, which] = at.y + at.h * (k + 1) / (len(at_side) + 1)
    paths, labels = [], []
    for i, (a, b, names) in enumerate(drawn):
        (side_a, side_b), start, end = sides[i], cells[a], cells[b]
        x0 = start.right if side_a == "R" else start.x
        x3 = end.right if side_b == "R" else end.x
        y0, y3 = port[i, 0], port[i, 1]
        if side_a == side_b:  # two cells of a stage: round the right of the column
            bend = min(_LANE + _BOX_PAD - 8, 18 + abs(y3 - y0) / 4) / 0.75
            x1, x2 = x0 + bend, x3 + bend
        else:
            bend = max(abs(x3 - x0) / 2, 30)
            x1, x2 = (x0 + bend, x3 - bend) if side_a == "R" else (x0 - bend, x3 + bend)
        kind = "edge" if names else "edge order"
        what = f": {names}" if names else " (order only)"
        paths.append(
            f'<path class="{kind}" data-from="{a}" data-to="{b}" '
            f'd="M{_n(x0)},{_n(y0)} C{_n(x1)},{_n(y0)} {_n(x2)},{_n(y3)} '
            f'{_n(x3)},{_n(y3)}" marker-end="url(#plan-picture-arrow)">'
            f"<title>cell {a} to cell {b}{escape(what)}</title></path>"
        )
        if names:
            # The middle of the curve: (p0 + 3 p1 + 3 p2 + p3) / 8.
            mx = (x0 + 3 * x1 + 3 * x2 + x3) / 8
            my = (y0 + y3) / 2
            anchor = "start" if side_a == side_b else "middle"
            labels.append(
                f'<text class="names" data-from="{a}" data-to="{b}" '
                f'x="{_n(mx + (4 if anchor == "start" else 0))}" y="{_n(my - 3)}" '
                f'text-anchor="{anchor}">{escape(names)}</text>'
            )
    return paths, labels


def _n(value: float) -> str:
    """A coordinate, to a tenth of a pixel: the same on every machine."""
    return f"{value:.1f}".removesuffix(".0")
