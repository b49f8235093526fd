"""Data inputs of the common libraries, through the real CLI and a real kernel
(issue 23, item 5): a notebook that reads its data with polars, one that reads
every file a glob matches, one that computes its paths from a folder
(issue 24, item 3), and one that names its file in a variable, convert with validation equal, carry their input files in the
project's data/, and the generated pipeline runs from the project folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import kernels_left, run_with_kernels
from tests.helpers.notebooks import make_notebook
from tests.helpers.project import run_project

pytestmark = [pytest.mark.e2e, pytest.mark.kernel]

POLARS = (
    "import polars as pl\nfrom sklearn.linear_model import LinearRegression",
    'train = pl.read_csv("data/train.csv")\n'
    'extra = pl.scan_csv("data/extra.csv").filter(pl.col("x") > 0).collect()',
    'rows = pl.concat([train, extra])\nX = rows.select("x").to_numpy()\n'
    'y = rows["y"].to_numpy()\nmodel = LinearRegression().fit(X, y)',
)
GLOB = (
    "import glob\nfrom pathlib import Path\n\nimport pandas as pd\n"
    "from sklearn.linear_model import LinearRegression",
    'parts = pd.concat([pd.read_csv(f) for f in sorted(glob.glob("data/parts/*.csv"))],'
    " ignore_index=True)\n"
    "more = pd.concat([pd.read_csv(p) for p in sorted("
    'Path("data/more").glob("*.csv"))], ignore_index=True)',
    "rows = pd.concat([parts, more], ignore_index=True)\n"
    'model = LinearRegression().fit(rows[["x"]], rows["y"])',
)
COMPUTED = (
    "import os\nfrom pathlib import Path\n\nimport pandas as pd\n"
    "from sklearn.linear_model import LinearRegression",
    'data_dir = os.path.join("data", "")\nparts = Path("data") / "parts"',
    'train = pd.read_csv(data_dir + "train.csv")\n'
    'extra = pd.read_csv(f"{data_dir}extra.csv")\n'
    'a = pd.read_csv(parts / "a.csv")\n'
    'b = pd.read_csv(os.path.join(data_dir, "parts", "b.csv"))',
    "rows = pd.concat([train, extra, a, b], ignore_index=True)\n"
    'model = LinearRegression().fit(rows[["x"]], rows["y"])',
)
# The commonest habit of all: the path in a variable, read a line later.
NAMED = (
    "import pandas as pd\nfrom sklearn.linear_model import LinearRegression",
    '# read the data\npath = "data/train.csv"\ntrain = pd.read_csv(path)',
    'model = LinearRegression().fit(train[["x"]], train["y"])',
)
FILES = {
    "data/train.csv": "x,y\n1,3.1\n2,4.9\n3,7.2\n4,8.8\n",
    "data/extra.csv": "x,y\n-1,0\n5,11.1\n6,12.8\n",
    "data/parts/a.csv": "x,y\n1,3.0\n2,5.1\n",
    "data/parts/b.csv": "x,y\n3,6.9\n4,9.2\n",
    "data/parts/notes.txt": "not data\n",
    "data/more/c.csv": "x,y\n5,11.0\n",
}


@pytest.mark.parametrize(
    ("cells", "config", "copied"),
    [
        (
            POLARS,
            {"train_path": "data/train.csv", "extra_path": "data/extra.csv"},
            ["data/extra.csv", "data/train.csv"],
        ),
        (
            GLOB,
            {"parts_path": "data/parts/*.csv", "more_path": "data/more"},
            ["data/more/c.csv", "data/parts/a.csv", "data/parts/b.csv"],
        ),
        (
            COMPUTED,
            # The folders point at the copies; the code joins the names as it did.
            {"data_dir": "data", "parts_path": "data"},
            [
                "data/extra.csv",
                "data/parts/a.csv",
                "data/parts/b.csv",
                "data/train.csv",
            ],
        ),
        (NAMED, {"path": "data/train.csv"}, ["data/train.csv"]),
    ],
    ids=["polars", "glob", "computed", "named"],
)
def test_a_notebooks_data_inputs_travel_with_the_project_and_it_runs(
    tmp_path: Path, cells: tuple[str, ...], config: dict[str, str], copied: list[str]
) -> None:
    if "polars" in cells[0]:
        pytest.importorskip("polars")
    nb = make_notebook(tmp_path / "nb" / "poc.ipynb", *cells)
    for name, text in FILES.items():
        (nb.parent / name).parent.mkdir(parents=True, exist_ok=True)
        (nb.parent / name).write_text(text, encoding="utf-8")
    out = tmp_path / "project"
    result = run_with_kernels(tmp_path, "convert", nb, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "nbprod-report.json").read_text(encoding="utf-8"))
    assert report["validation"]["status"] == "equal"
    statuses = {c["name"]: c["status"] for c in report["validation"]["comparisons"]}
    assert statuses["model"] == "equal"
    assert kernels_left(tmp_path) == []
    found = sorted(p.relative_to(out).as_posix() for p in (out / "data").rglob("*"))
    assert [p for p in found if (out / p).is_file()] == copied
    params = {
        p["key"]: p["value"] for p in report["plan"]["params"] if p["kind"] == "path"
    }
    assert params == config
    # The notebook's own data stays where it is; the project reads its copy.
    (nb.parent / "data").rename(nb.parent / "moved")
    run = run_project(out, "run")
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_folder_the_code_writes_under_is_the_projects_not_the_notebooks(
    tmp_path: Path,
) -> None:
    # The book's habit: a root folder, then figures saved under a folder made
    # from it. Validation runs the pipeline; the user's folder stays as it was.
    nb = make_notebook(
        tmp_path / "nb" / "poc.ipynb",
        "import os\nimport pandas as pd\nfrom sklearn.linear_model import LinearRegression",
        'PROJECT_ROOT_DIR = "."\n'
        'IMAGES_PATH = os.path.join(PROJECT_ROOT_DIR, "images", "fundamentals")\n'
        "os.makedirs(IMAGES_PATH, exist_ok=True)",
        'rows = pd.read_csv("data/train.csv")\n'
        'model = LinearRegression().fit(rows[["x"]], rows["y"])\n'
        'rows.describe().to_csv(os.path.join(IMAGES_PATH, "summary.csv"))',
    )
    (nb.parent / "data").mkdir()
    (nb.parent / "data" / "train.csv").write_text(FILES["data/train.csv"])
    before = sorted(p.relative_to(nb.parent).as_posix() for p in nb.parent.rglob("*"))
    out = tmp_path / "project"
    result = run_with_kernels(tmp_path, "convert", nb, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    after = sorted(p.relative_to(nb.parent).as_posix() for p in nb.parent.rglob("*"))
    assert after == before
    assert (out / "images" / "fundamentals" / "summary.csv").is_file() is False
    run = run_project(out, "run")
    assert run.returncode == 0, run.stdout + run.stderr
    assert (out / "images" / "fundamentals" / "summary.csv").is_file()
    assert (
        sorted(p.relative_to(nb.parent).as_posix() for p in nb.parent.rglob("*"))
        == before
    )
