"""NBP006 secret: a token, key or password in a cell's source, in an output, or in
the notebook's or a cell's metadata. What looks like a secret is
``nbprod.secrets.find_secrets``; messages never quote the value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from nbprod.lint.finding import Finding, Settings
from nbprod.lint.rules.rule import Rule, about_cell
from nbprod.lint.rules.walk import Notebook, output_text
from nbprod.secrets import Secret, find_secrets

NBP006 = Rule("NBP006", "secret", "a token, key or password in the notebook")


def check(nb: Notebook, settings: Settings) -> Iterator[Finding]:
    """Secrets in every cell's source (markdown too), in code cells' outputs, and
    in metadata."""
    for c in nb.cells:
        for secret in find_secrets(c.source):
            yield Finding(
                c.number,
                secret.line,
                secret.col,
                NBP006.code,
                f"possible secret ({secret.kind}) in the source: read it from an "
                "environment variable, and rotate it if it was ever shared",
            )
    for c in nb.code:
        kinds = {s.kind for out in c.data.get("outputs", []) for s in _in_output(out)}
        for kind in sorted(kinds):
            yield about_cell(
                c.number,
                NBP006.code,
                f"possible secret ({kind}) in an output: clear the output, and "
                "rotate the secret if it was ever shared",
            )
    places = [(0, nb.data.get("metadata"))]
    places += [(c.number, c.data.get("metadata")) for c in nb.cells]
    for number, metadata in places:
        if metadata:
            for kind in sorted({s.kind for s in find_secrets(json.dumps(metadata))}):
                yield about_cell(
                    number,
                    NBP006.code,
                    f"possible secret ({kind}) in the "
                    + ("notebook's" if number == 0 else "cell's")
                    + " metadata: remove it, and rotate it if it was ever shared",
                )


def _in_output(out: dict[str, Any]) -> Iterator[Secret]:
    """The secrets in one output's text: a stream, an error's value and traceback,
    text/plain and JSON data (text/html repeats text/plain, much larger: not
    scanned)."""
    kind = out.get("output_type")
    texts: list[str] = []
    if kind == "stream":
        texts.append(output_text(out.get("text", "")))
    elif kind == "error":
        texts += [str(out.get("evalue", "")), *map(str, out.get("traceback", []))]
    for mime, value in (out.get("data") or {}).items():
        if mime == "text/plain" or mime.endswith("json"):
            texts.append(output_text(value))
    for text in texts:
        yield from find_secrets(text)
