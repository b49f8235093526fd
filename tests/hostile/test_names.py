"""Package names derived from notebook file names: ASCII identifiers that are not
keywords, shadow no standard or imported module, and install and import."""

from __future__ import annotations

import keyword
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import run_nbprod
from tests.helpers.notebooks import make_notebook

NAMES = {
    "import": "import_pipeline",  # a keyword
    "os": "os_pipeline",  # the standard library
    "sklearn": "sklearn_pipeline",  # a module the notebook imports
    "test": "test_pipeline",
    "Übersicht Analyse 2024!": "ubersicht_analyse_2024",
    "123 data": "pipeline_123_data",
    "my-notebook (copy)": "my_notebook_copy",
    "データ": "pipeline",  # nothing ASCII is left
}


@pytest.mark.parametrize("stem", NAMES)
def test_safe_package_names(stem: str, tmp_path: Path) -> None:
    nb = make_notebook(
        tmp_path / f"{stem}.ipynb", "import sklearn\nx = 1\ny = x + 1\nprint(y)"
    )
    r = run_nbprod("convert", nb, "--no-validate")  # the default folder: beside it
    assert r.returncode == 0, r.stderr
    package = NAMES[stem]
    assert f"package {package}:" in r.stdout
    assert package.isascii() and package.isidentifier()
    assert not keyword.iskeyword(package) and package not in sys.stdlib_module_names
    out = Path(r.stdout.splitlines()[0].split(" -> ", 1)[1])
    assert out.parent == tmp_path and out.name.isidentifier()
    assert (out / "src" / package / "__init__.py").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([nb.name, out.name])


def test_generated_paths_never_leave_the_output_folder(tmp_path: Path) -> None:
    from nbprod.convert.write import write_tree
    from nbprod.errors import OutputError

    for rel in ("../escape.txt", "/etc/passwd", "src/../../escape.txt"):
        with pytest.raises(OutputError, match="outside the output folder"):
            write_tree(tmp_path / "out", {"README.md": "ok", rel: "x"})
        assert not (tmp_path / "out").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == []
