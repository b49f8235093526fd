"""The plan as ``nbprod plan`` prints it: where every cell went and why, each
stage's signature, the helpers, the figures saved, the config values and how
``predict`` scores new rows. Pure: a plan in, lines of text out."""

from __future__ import annotations

from nbprod.convert.plan.names import cells_text
from nbprod.plan import Plan


def describe(plan: Plan) -> list[str]:
    """The plan's lines, after the header line ``nbprod plan`` prints."""
    lines = []
    for c in plan.cells:
        lines.append(f"  cell {c.number:>3}  {c.stage or '-':<13} {c.reason}")
        lines += [f"  {'':>8}  {'':<13} dropped {d}" for d in c.dropped]
    for s in plan.stages:
        # Inputs that come as one named tuple are shown in it.
        inputs = [f"{s.bundle}({', '.join(s.inputs)})"] if s.bundle else s.inputs
        signature = ", ".join([*inputs, *(key for _, key in s.params)])
        returns = ", ".join(s.outputs) or "nothing"
        lines.append(f"{s.stage}: {s.function}({signature}) -> {returns}")
        for step in s.steps:
            takes = ", ".join(
                [
                    *(
                        f"{plan.inputs_argument}.{n}" if n in step.bundled else n
                        for n in step.inputs
                    ),
                    *step.params,
                ]
            )
            gives = ", ".join(step.outputs) or "nothing"
            shared = ""
            if step.shared is not None:
                passes = ", ".join(f"{p}={v}" for p, v in step.shared.passes)
                shared = f"; runs {step.shared.function}() with {passes}"
            lines.append(
                f"  step {step.name}({takes}) -> {gives}  "
                f"[{cells_text(step.cells)}; name from {step.origin}{shared}]"
            )
    for clone in plan.clones:
        takes = ", ".join((clone.frame, *clone.params))
        new_rows = "; predict uses it for new rows" if clone.serving else ""
        lines.append(
            f"shared {clone.name}({takes}) -> {clone.stage}: {clone.origin}{new_rows}"
        )
    for h in plan.helpers:
        extra = (
            f" (notebook globals become parameters: {', '.join(h.data_params)})"
            if h.data_params
            else ""
        )
        later = f", a later definition of {h.original}" if h.original else ""
        lines.append(f"helper {h.name} (cell {h.cell}{later}) -> {h.stage}{extra}")
    stage_of = {c.number: c.stage for c in plan.cells}
    for f in plan.figures:
        where = "at its plt.show()" if f.show is not None else "at the end of the cell"
        lines.append(
            f"figure {f.name}.png: drawn by cell {f.cell} ({stage_of[f.cell]}), "
            f"saved {where}"
        )
    for param in plan.params:
        lines.append(
            f"config {param.group}.{param.key} = {param.value!r}  [{param.source}]"
        )
    serving = plan.serving
    if serving is None:
        lines.append(f"predict: does not score new rows: {plan.serving_reason}")
    else:
        steps = ", ".join(f"cell {c}" for c in serving.cells) or "none"
        state = ", ".join(serving.inputs) or "nothing"
        if serving.bundle:
            state = f"{serving.bundle}({state})"
        lines.append(
            f"predict: serves {serving.what} on new rows of {serving.rows}; "
            f"steps: {steps}; saved state: {state}"
        )
    lines += [f"warning: {w}" for w in plan.warnings]
    return lines
