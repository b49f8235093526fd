"""Which input files travel with the project, and where they go in it."""

from __future__ import annotations

import hashlib
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from nbprod import known_apis as apis
from nbprod.commands.convert import analyse
from nbprod.convert.data import input_data, split_pattern
from nbprod.notebook import read_notebook
from tests.helpers.notebooks import make_notebook


def _files(root: Path, names: dict[str, bytes]) -> None:
    for name, data in names.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("data/train.csv", "data/train.csv"),
        ("train.csv", "data/train.csv"),
        ("./raw/train.csv", "data/raw/train.csv"),
        ("../shared/data/train.csv", "data/shared/data/train.csv"),
    ],
)
def test_a_copied_file_goes_under_data(
    tmp_path: Path, source: str, target: str
) -> None:
    nb_dir = tmp_path / "a" / "nb"
    nb_dir.mkdir(parents=True)
    _files(nb_dir, {source: b"x,y\n1,2\n"})
    found = input_data(
        nb_dir, [source], mode="copy", limit=1000, relative_dir="../a/nb"
    )
    assert found.targets == {source: target}
    assert found.contents == {target: b"x,y\n1,2\n"}
    (file,) = found.files
    assert (file.source, file.path, file.size, file.copied) == (source, target, 8, True)
    assert file.sha256 == hashlib.sha256(b"x,y\n1,2\n").hexdigest()
    assert found.referenced == ""


def test_a_folder_is_copied_file_by_file(tmp_path: Path) -> None:
    _files(tmp_path, {"images/a.png": b"a", "images/sub/b.png": b"bb"})
    found = input_data(tmp_path, ["images"], mode="copy", limit=10, relative_dir=".")
    assert found.targets == {"images": "data/images"}
    assert sorted(found.contents) == ["data/images/a.png", "data/images/sub/b.png"]


def test_two_sources_that_would_land_on_one_path_get_two(tmp_path: Path) -> None:
    _files(tmp_path, {"train.csv": b"1", "data/train.csv": b"2"})
    found = input_data(
        tmp_path,
        ["train.csv", "data/train.csv"],
        mode="copy",
        limit=10,
        relative_dir=".",
    )
    assert sorted(found.targets.values()) == ["data/train-2.csv", "data/train.csv"]


def test_over_the_limit_every_file_is_referenced_and_nothing_copied(
    tmp_path: Path,
) -> None:
    _files(tmp_path, {"a.csv": b"12345", "b.csv": b"678"})
    found = input_data(
        tmp_path, ["a.csv", "b.csv"], mode="copy", limit=7, relative_dir="../nb"
    )
    assert found.targets == {"a.csv": "../nb/a.csv", "b.csv": "../nb/b.csv"}
    assert found.contents == {}
    assert not any(f.copied for f in found.files)
    assert "over the 0.0 MB limit" in found.referenced


def test_reference_mode_copies_nothing_even_when_small(tmp_path: Path) -> None:
    _files(tmp_path, {"a.csv": b"1"})
    found = input_data(
        tmp_path, ["a.csv"], mode="reference", limit=10, relative_dir=".."
    )
    assert found.targets == {"a.csv": "../a.csv"}
    assert found.contents == {} and found.referenced == "--data reference"


def test_a_path_that_does_not_exist_is_no_input(tmp_path: Path) -> None:
    found = input_data(tmp_path, ["gone.csv"], mode="copy", limit=10, relative_dir=".")
    assert found.files == () and found.targets == {}


def test_a_pattern_copies_the_files_it_matches_in_their_folders(
    tmp_path: Path,
) -> None:
    _files(
        tmp_path,
        {
            "data/parts/a.csv": b"1",
            "data/parts/deep/b.csv": b"2",
            "data/parts/notes.txt": b"3",
        },
    )
    found = input_data(
        tmp_path,
        [],
        patterns=[("data/parts/*.csv", "data/parts/*.csv")],
        mode="copy",
        limit=10,
        relative_dir=".",
    )
    assert found.targets == {"data/parts/*.csv": "data/parts/*.csv"}
    assert found.contents == {"data/parts/a.csv": b"1"}
    assert [(f.source, f.path) for f in found.files] == [
        ("data/parts/a.csv", "data/parts/a.csv")
    ]


@pytest.mark.parametrize(
    ("source", "pattern", "target", "copied"),
    [
        # Path("data/parts").glob("*.csv"): the folder is the config value
        ("data/parts", "data/parts/*.csv", "data/parts", ["data/parts/a.csv"]),
        # glob.glob(os.path.join("data", "parts", "*.csv"))
        ("data", "data/parts/*.csv", "data", ["data/parts/a.csv"]),
        # Path("raw").rglob("*.csv"): at any depth
        ("raw", "raw/**/*.csv", "data/raw", ["data/raw/c.csv", "data/raw/x/d.csv"]),
        ("*.csv", "*.csv", "data/*.csv", ["data/top.csv"]),
        (
            "../shared/*.csv",
            "../shared/*.csv",
            "data/shared/*.csv",
            ["data/shared/e.csv"],
        ),
    ],
)
def test_a_pattern_under_a_folder_keeps_the_folder_layout(
    tmp_path: Path, source: str, pattern: str, target: str, copied: list[str]
) -> None:
    nb_dir = tmp_path / "nb"
    _files(
        nb_dir,
        {
            "data/parts/a.csv": b"a",
            "raw/c.csv": b"c",
            "raw/x/d.csv": b"d",
            "top.csv": b"t",
            "../shared/e.csv": b"e",
        },
    )
    found = input_data(
        nb_dir,
        [],
        patterns=[(source, pattern)],
        mode="copy",
        limit=100,
        relative_dir=".",
    )
    assert found.targets == {source: target}
    assert sorted(found.contents) == copied


def test_a_pattern_whose_folder_would_hold_other_inputs_gets_its_own(
    tmp_path: Path,
) -> None:
    # x.csv beside the notebook lands in data/, where the project's data/*.csv
    # would match it: the pattern's files go to a folder of their own.
    _files(tmp_path, {"x.csv": b"x", "data/y.csv": b"y"})
    found = input_data(
        tmp_path,
        ["x.csv"],
        patterns=[("data/*.csv", "data/*.csv")],
        mode="copy",
        limit=10,
        relative_dir=".",
    )
    assert found.targets == {"x.csv": "data/x.csv", "data/*.csv": "data-2/*.csv"}
    assert sorted(found.contents) == ["data-2/y.csv", "data/x.csv"]


def test_a_file_both_read_and_matched_is_copied_once(tmp_path: Path) -> None:
    _files(tmp_path, {"data/parts/a.csv": b"a", "data/parts/b.csv": b"b"})
    found = input_data(
        tmp_path,
        ["data/parts/a.csv"],
        patterns=[("data/parts/*.csv", "data/parts/*.csv")],
        mode="copy",
        limit=10,
        relative_dir=".",
    )
    assert found.targets["data/parts/*.csv"] == "data/parts/*.csv"
    assert [f.path for f in found.files] == ["data/parts/a.csv", "data/parts/b.csv"]


def test_a_pattern_is_referenced_like_a_file(tmp_path: Path) -> None:
    _files(tmp_path, {"data/parts/a.csv": b"a"})
    found = input_data(
        tmp_path,
        [],
        patterns=[("data/parts/*.csv", "data/parts/*.csv"), ("data", "data/parts/*")],
        mode="reference",
        limit=10,
        relative_dir="../nb",
    )
    assert found.targets == {
        "data/parts/*.csv": "../nb/data/parts/*.csv",
        "data": "../nb/data",
    }
    assert found.contents == {}
    assert {f.path for f in found.files} == {"../nb/data/parts/a.csv"}


def test_a_pattern_that_matches_nothing_is_no_input(tmp_path: Path) -> None:
    _files(tmp_path, {"data/a.txt": b"a"})
    found = input_data(
        tmp_path,
        [],
        patterns=[("data/*.csv", "data/*.csv"), ("gone/*.csv", "gone/*.csv")],
        mode="copy",
        limit=10,
        relative_dir=".",
    )
    assert found.files == () and found.targets == {}


@pytest.mark.parametrize(
    ("pattern", "split"),
    [
        ("data/parts/*.csv", ("data/parts", "*.csv")),
        ("./data/*/x.csv", ("data", "*/x.csv")),
        ("*.csv", (".", "*.csv")),
        ("data/**/*.csv", ("data", "**/*.csv")),
        ("data/part[12].csv", ("data", "part[12].csv")),
        ("data/x.csv", ("data", "x.csv")),
        ("/srv/data/*.csv", ("/srv/data", "*.csv")),
        ("/*.csv", ("/", "*.csv")),
    ],
)
def test_a_pattern_splits_where_its_wildcards_start(
    pattern: str, split: tuple[str, str]
) -> None:
    assert split_pattern(pattern) == split


# One reader of each family of the known-API table, as a notebook calls it: each
# is a data input (its path lifted into config.yaml and its file copied into data/),
# signals preprocessing, and makes rows for the serving path.
READERS = [
    ("import pandas as pd", "pd.read_csv", "pandas.read_csv", "csv"),
    ("import pandas as pd", "pd.read_parquet", "pandas.read_parquet", "parquet"),
    ("import polars as pl", "pl.read_csv", "polars.read_csv", "csv"),
    ("import polars as pl", "pl.read_parquet", "polars.read_parquet", "parquet"),
    ("import polars as pl", "pl.read_ndjson", "polars.read_ndjson", "jsonl"),
    ("import polars as pl", "pl.scan_csv", "polars.scan_csv", "csv"),
    ("import polars as pl", "pl.scan_parquet", "polars.scan_parquet", "parquet"),
    ("from pyarrow import csv", "csv.read_csv", "pyarrow.csv.read_csv", "csv"),
    (
        "import pyarrow.parquet as pq",
        "pq.read_table",
        "pyarrow.parquet.read_table",
        "parquet",
    ),
    (
        "import pyarrow.feather as feather",
        "feather.read_table",
        "pyarrow.feather.read_table",
        "feather",
    ),
    (
        "from pyarrow import feather",
        "feather.read_feather",
        "pyarrow.feather.read_feather",
        "feather",
    ),
    (
        "import pyarrow.json as pajson",
        "pajson.read_json",
        "pyarrow.json.read_json",
        "json",
    ),
    (
        "import pyarrow.dataset as ds",
        "ds.dataset",
        "pyarrow.dataset.dataset",
        "parquet",
    ),
    ("import numpy as np", "np.load", "numpy.load", "npy"),
    ("import numpy as np", "np.loadtxt", "numpy.loadtxt", "txt"),
    ("import numpy as np", "np.genfromtxt", "numpy.genfromtxt", "csv"),
    ("from numpy import fromfile", "fromfile", "numpy.fromfile", "bin"),
]


def test_every_row_reader_of_the_table_is_tested() -> None:
    tested = [qual for _, _, qual, _ in READERS]
    untested = [
        p for p in apis.ROW_READERS if not any(fnmatchcase(q, p) for q in tested)
    ]
    assert untested == []


@pytest.mark.parametrize(
    ("imports", "call", "qual", "ext"), READERS, ids=[r[2] for r in READERS]
)
def test_a_readers_literal_path_is_an_input_lifted_and_copied(
    tmp_path: Path, imports: str, call: str, qual: str, ext: str
) -> None:
    nb = make_notebook(
        tmp_path / "nb" / "poc.ipynb", imports, f'rows = {call}("data/train.{ext}")'
    )
    _files(nb.parent, {f"data/train.{ext}": b"bytes"})
    a = analyse(read_notebook(nb), tmp_path / "project")
    assert [(p.key, p.value, p.kind) for p in a.plan.params] == [
        ("train_path", f"data/train.{ext}", "path")
    ]
    assert a.data == {f"data/train.{ext}": b"bytes"}
    assert a.plan.cells[1].reason == f"calls {qual} (data reader)"
    assert [s.source for s in a.facts[1].statements] == ["reader"]


# A glob over a folder, as notebooks write it: the files it matches are copied with
# their folders, and what the notebook names (the pattern or its folder) is the
# config value, pointing into the project's data/.
GLOBS = [
    (
        "import glob",
        'files = sorted(glob.glob("data/parts/*.csv"))',
        ("parts_path", "data/parts/*.csv"),
        ["data/parts/a.csv", "data/parts/b.csv"],
    ),
    (
        "import glob",
        'files = list(glob.iglob("data/parts/*.csv"))',
        ("parts_path", "data/parts/*.csv"),
        ["data/parts/a.csv", "data/parts/b.csv"],
    ),
    (
        "import glob\nimport os",
        'files = glob.glob(os.path.join("data", "parts", "*.csv"))',
        ("files_path", "data"),
        ["data/parts/a.csv", "data/parts/b.csv"],
    ),
    (
        "from pathlib import Path",
        'files = sorted(Path("data/parts").glob("*.csv"))',
        ("files_path", "data/parts"),
        ["data/parts/a.csv", "data/parts/b.csv"],
    ),
    (
        "import pathlib",
        'files = sorted(pathlib.Path("data").rglob("*.csv"))',
        ("files_path", "data"),
        ["data/other.csv", "data/parts/a.csv", "data/parts/b.csv"],
    ),
]


@pytest.mark.parametrize(("imports", "code", "param", "copied"), GLOBS)
def test_a_glob_over_a_folder_is_an_input_folder(
    tmp_path: Path,
    imports: str,
    code: str,
    param: tuple[str, str],
    copied: list[str],
) -> None:
    nb = make_notebook(tmp_path / "nb" / "poc.ipynb", imports, code)
    _files(
        nb.parent,
        {
            "data/parts/a.csv": b"a",
            "data/parts/b.csv": b"b",
            "data/parts/notes.txt": b"n",
            "data/other.csv": b"o",
        },
    )
    a = analyse(read_notebook(nb), tmp_path / "project")
    assert [(p.key, p.value) for p in a.plan.params] == [param]
    assert sorted(a.data) == copied
    assert sorted(d.source for d in a.plan.data) == copied


def test_a_glob_over_a_folder_the_notebook_writes_in_is_no_input(
    tmp_path: Path,
) -> None:
    # The pipeline must find the files it writes itself there, not copies of the
    # ones an earlier run of the notebook left.
    nb = make_notebook(
        tmp_path / "nb" / "poc.ipynb",
        "import glob\nimport pandas as pd",
        'pd.DataFrame({"a": [1]}).to_csv("out/run.csv")\n'
        'files = glob.glob("out/*.csv")',
    )
    _files(nb.parent, {"out/old.csv": b"stale"})
    a = analyse(read_notebook(nb), tmp_path / "project")
    assert a.data == {} and a.plan.data == ()
    assert [(p.key, p.value) for p in a.plan.params] == [
        ("run_path", "out/run.csv"),
        ("out_path", "out/*.csv"),
    ]
