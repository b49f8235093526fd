"""The plan as a picture: the notebook's code cells as a Mermaid flowchart, one box
per stage holding its cells (each named by the step or function it went into),
the names each dependency carries on its arrow, and the cells left out greyed with
their reason. Pure: a plan in, Mermaid source or an HTML page out.

Mermaid is text, so the picture is deterministic and diffable; GitHub, GitLab and
the documentation site (Material for MkDocs) draw it where it is shown, and the
HTML page loads the Mermaid library, pinned, to draw it in a browser.
"""

from __future__ import annotations

from nbprod.convert.plan import CellPlan, Plan
from nbprod.convert.render import render
from nbprod.stages import Stage

# Light tints of the Okabe-Ito palette, which colour-blind readers can tell apart.
STAGE_COLOURS = {
    Stage.PREPROCESSING: "#cce3f5",
    Stage.TRAINING: "#fbe3bf",
    Stage.INFERENCE: "#c9ece0",
    Stage.EVALUATION: "#f1d5e6",
}
LEFT_OUT_COLOUR = "#eeeeee"
# The Mermaid release the HTML page loads, and its file's Subresource Integrity
# hash: the browser runs that file or nothing.
MERMAID_VERSION = "12.3.0"
MERMAID_URL = (
    f"https://cdn.jsdelivr.net/npm/mermaid@{MERMAID_VERSION}/dist/mermaid.min.js"
)
MERMAID_INTEGRITY = (
    "sha384-HHW54r639fK42Ip0coGF3mz8oSiGn0eEoWNTLs75X7H63pLSDBa0Tqs0RwGmLlXE"
)
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
    """A page that draws the plan in a browser, with the same facts as a table
    for a reader without JavaScript (or without the network)."""
    return render(
        "plan/plan.html.j2",
        {
            "plan": plan,
            "diagram": mermaid(plan),
            "colours": {str(s): c for s, c in STAGE_COLOURS.items()},
            "left_out_colour": LEFT_OUT_COLOUR,
            "places": _places(plan),
            "mermaid_url": MERMAID_URL,
            "mermaid_integrity": MERMAID_INTEGRITY,
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
    reason = c.reason.removeprefix("excluded: ")
    if len(reason) > _REASON_WIDTH:
        reason = reason[: _REASON_WIDTH - 1].rstrip() + "…"
    return f"cell {c.number}<br/>{_text(reason)}"


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_NAMES_ON_AN_ARROW])
    more = len(names) - _NAMES_ON_AN_ARROW
    return f"{shown} +{more}" if more > 0 else shown


def _text(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label: any other character becomes
    Mermaid's numeric entity (``#35;``), so a quote or a bracket in a reason can
    never end the label or inject markup."""
    return "".join(ch if ch in _PLAIN else f"#{ord(ch)};" for ch in text)
