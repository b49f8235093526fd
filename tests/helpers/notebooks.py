"""Notebooks built in code, and the case files' ``# %%`` format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat


def make_notebook(
    path: Path,
    *sources: str,
    kernel: str = "python3",
    language: str = "python",
    tags: dict[int, list[str]] | None = None,
) -> Path:
    """Write a notebook whose code cells hold ``sources`` (markdown if a source starts with '#md ')."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(
        new_notebook(*sources, kernel=kernel, language=language, tags=tags), str(path)
    )
    return path


def new_notebook(
    *sources: str,
    kernel: str = "python3",
    language: str = "python",
    tags: dict[int, list[str]] | None = None,
) -> nbformat.NotebookNode:
    """A notebook of ``sources``: code cells, and markdown cells written
    ``"#md TEXT"``; ``tags`` by cell index."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": kernel,
        "display_name": kernel,
        "language": language,
    }
    nb.metadata["language_info"] = {"name": language}
    for i, src in enumerate(sources):
        if src.startswith("#md "):
            nb.cells.append(nbformat.v4.new_markdown_cell(src[4:]))
        else:
            cell = nbformat.v4.new_code_cell(src)
            if tags and i in tags:
                cell.metadata["tags"] = tags[i]
            nb.cells.append(cell)
    return nb


# A cell marker of a case file (tests/cases): ``# %%``, ``# %% [markdown]``,
# ``# %% tags=[...]``, ``# %% [plan]``, ``# %% [module NAME]``.
_MARK = re.compile(r"^# %%(?: \[(?P<section>[^\]]+)\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def parse_case(text: str) -> tuple[str, list[nbformat.NotebookNode], dict[str, str]]:
    """The case's description, its notebook cells, and its expected sections."""
    head, _, rest = text.partition("\n# %%")
    description = "\n".join(line.removeprefix("# ") for line in head.splitlines())
    cells: list[nbformat.NotebookNode] = []
    expected: dict[str, str] = {}
    for chunk in ("# %%" + rest).split("\n# %%"):
        chunk = chunk if chunk.startswith("# %%") else "# %%" + chunk
        mark, _, body = chunk.partition("\n")
        match = _MARK.match(mark)
        assert match, f"not a cell marker: {mark!r}"
        section, tags = match.group("section"), match.group("tags")
        body = body.strip("\n")
        if section is None:
            cell = nbformat.v4.new_code_cell(body)
            if tags:
                cell.metadata["tags"] = json.loads(tags)
            cells.append(cell)
        elif section == "markdown":
            lines = [
                line.removeprefix("#").removeprefix(" ") for line in body.splitlines()
            ]
            cells.append(nbformat.v4.new_markdown_cell("\n".join(lines)))
        else:
            expected[section] = body
    return description, cells, expected
