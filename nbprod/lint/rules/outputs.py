"""NBP007 error-output and NBP008 large-output: what a code cell's saved outputs say
about the run and weigh in the file. (Secrets in outputs are NBP006's.)"""

from __future__ import annotations

from collections.abc import Iterator

from nbprod.lint.finding import Finding, Settings
from nbprod.lint.rules.rule import Rule, about_cell
from nbprod.lint.rules.walk import Notebook, output_text

NBP007 = Rule("NBP007", "error-output", "an error saved in a cell's output")
NBP008 = Rule("NBP008", "large-output", "a cell's outputs are over the size limit")


def check(nb: Notebook, settings: Settings) -> Iterator[Finding]:
    """Each saved error, and each cell whose outputs' text and data are over
    ``max-output-kb``."""
    for c in nb.code:
        size = 0
        for out in c.data.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                size += len(output_text(out.get("text", "")))
            elif kind == "error":
                size += len(str(out.get("evalue", "")))
                size += sum(len(str(line)) for line in out.get("traceback", []))
                yield about_cell(
                    c.number,
                    NBP007.code,
                    f"saved error output ({out.get('ename', 'error')}): the notebook "
                    "did not run cleanly (fix and re-run it, or clear the output)",
                )
            for value in (out.get("data") or {}).values():
                size += len(output_text(value))
        if size > settings.max_output_kb * 1024:
            yield about_cell(
                c.number,
                NBP008.code,
                f"outputs are {size / 1024:.0f} KB (limit {settings.max_output_kb} "
                "KB): clear them, or save large results to files",
            )
