"""Which input files travel with the project, and where they go in it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from nbprod.convert.data import input_data


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
