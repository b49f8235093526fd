"""``nbprod init``: a new project from the same templates, starting from a small
working notebook on a dataset scikit-learn ships (nothing is downloaded)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat

from nbprod.commands.convert import Analysis, convert
from nbprod.convert.plan import safe_identifier
from nbprod.errors import NbprodError

CELLS = (
    (
        "markdown",
        "# {name}\n\nA starting point made by `nbprod init`: replace the data and the model with yours,\nthen convert it into a new folder (convert never writes over the folder that holds\nthe notebook): `nbprod convert notebooks/{name}.ipynb -o ../{name}_v2`.",
    ),
    (
        "code",
        "from sklearn.datasets import load_breast_cancer\nfrom sklearn.linear_model import LogisticRegression\nfrom sklearn.metrics import accuracy_score\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler",
    ),
    ("markdown", "## Load data"),
    ("code", "data = load_breast_cancer(as_frame=True)\nX, y = data.data, data.target"),
    (
        "code",
        "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)",
    ),
    ("markdown", "## Train"),
    (
        "code",
        "model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))\nmodel.fit(X_train, y_train)",
    ),
    ("markdown", "## Predict"),
    ("code", "y_pred = model.predict(X_test)"),
    ("markdown", "## Evaluate"),
    (
        "code",
        'accuracy = accuracy_score(y_test, y_pred)\nprint(f"accuracy: {{accuracy:.3f}}")',
    ),
)


def starter_notebook(name: str) -> nbformat.NotebookNode:
    """The starter notebook, with stable cell ids so output stays byte-identical."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, text) in enumerate(CELLS):
        make = (
            nbformat.v4.new_markdown_cell
            if kind == "markdown"
            else nbformat.v4.new_code_cell
        )
        nb.cells.append(make(text.format(name=name), id=f"cell-{i}"))
    made: nbformat.NotebookNode = nb
    return made


def init_project(name: str, output: Path, *, force: bool = False) -> Analysis:
    """Write a new project called ``name`` into ``output``."""
    if safe_identifier(name) != name:
        raise NbprodError(
            f"{name!r} is not a valid package name (try {safe_identifier(name)!r})"
        )
    with tempfile.TemporaryDirectory(prefix="nbprod-init-") as tmp:
        notebook = Path(tmp) / f"{name}.ipynb"
        nbformat.write(starter_notebook(name), str(notebook))
        a, _ = convert(
            notebook,
            output,
            package=name,
            force=force,
            validate=False,
            extra_files={
                f"notebooks/{name}.ipynb": notebook.read_text(encoding="utf-8")
            },
        )
    return a
