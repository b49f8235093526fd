"""The example notebooks are teaching material: each runs top to bottom in a fresh
Jupyter kernel, on a copy, with nothing downloaded."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.helpers.paths import EXAMPLE_NOTEBOOKS, copy_examples

pytestmark = pytest.mark.kernel


@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_example_runs_in_a_fresh_kernel(
    tmp_path: Path, notebook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    folder = copy_examples(tmp_path)
    nb = nbformat.read(str(folder / notebook.name), as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
