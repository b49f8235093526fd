"""The sandbox a notebook runs in during validation: a copy of its folder, of the
inputs it reads from outside it, and room above it for what it writes there."""

from __future__ import annotations

from pathlib import Path

from nbprod.validate.execute import SPARE_LEVELS, sandbox


def test_the_notebook_folder_is_copied_without_what_is_not_input(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "user" / "work"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "train.csv").write_text("a\n1\n")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref")
    (folder / "project").mkdir()
    (folder / "project" / "config.yaml").write_text("x: 1")
    notebook = folder / "poc.ipynb"
    notebook.write_text("{}")
    copy = sandbox(notebook, tmp_path / "box", exclude=[folder / "project"])
    assert copy.is_relative_to(tmp_path / "box")
    assert sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*")) == [
        "data",
        "data/train.csv",
        "poc.ipynb",
    ]
    assert (copy / "data" / "train.csv").read_text() == "a\n1\n"
    assert not (copy / "data" / "train.csv").is_symlink()


def test_inputs_above_the_folder_keep_their_relative_place(tmp_path: Path) -> None:
    shared = tmp_path / "user" / "shared"
    shared.mkdir(parents=True)
    (shared / "raw.csv").write_text("a\n2\n")
    (tmp_path / "user" / "secret.txt").write_text("not read")
    folder = tmp_path / "user" / "work" / "nb"
    folder.mkdir(parents=True)
    notebook = folder / "poc.ipynb"
    notebook.write_text("{}")
    copy = sandbox(
        notebook,
        tmp_path / "box",
        reads=["../../shared/raw.csv", "/etc/hosts", "out/x.csv"],
    )
    assert (copy / "../../shared/raw.csv").resolve().read_text() == "a\n2\n"
    assert not (copy / "../../secret.txt").exists()
    # What the notebook writes up to SPARE_LEVELS folders above its highest
    # read still lands inside the sandbox.
    top = copy.joinpath(*[".."] * (2 + SPARE_LEVELS)).resolve()
    assert top == (tmp_path / "box").resolve()
