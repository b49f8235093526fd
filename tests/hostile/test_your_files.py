"""The user's files: nothing overwritten without --force, symlinks never followed,
an interrupted run's old tree put back, the notebook never modified."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.helpers.cli import run_nbprod
from tests.helpers.notebooks import make_notebook
from tests.helpers.paths import copy_examples

SOURCES = ("import math", "radius = 2.0\narea = math.pi * radius**2\nprint(area)")


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_symlinked_output_folder_is_never_followed(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "nb" / "circle.ipynb", *SOURCES)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "thesis.tex").write_text("years of work")
    (tmp_path / "out").symlink_to(elsewhere, target_is_directory=True)
    for target in (tmp_path / "out", tmp_path / "out" / "project"):
        r = run_nbprod("convert", nb, "-o", target, "--force", "--no-validate")
        assert r.returncode == 2
        assert r.stderr.strip() == (
            f"nbprod: error: {target}: the output path goes through a symbolic link"
        )
    assert _tree(elsewhere) == {"thesis.tex": b"years of work"}
    assert (tmp_path / "out").is_symlink()


def test_an_interrupted_runs_old_tree_is_put_back_before_anything_else(
    tmp_path: Path,
) -> None:
    """A kill between the two renames of --force leaves the target absent and
    the previous project in .NAME.old-*/tree; the next run restores it first."""
    nb = make_notebook(tmp_path / "nb" / "circle.ipynb", *SOURCES)
    moved = tmp_path / ".project.old-x1y2" / "tree"
    moved.mkdir(parents=True)
    (moved / "notes.md").write_text("the previous project")
    r = run_nbprod("convert", nb, "-o", tmp_path / "project", "--no-validate")
    assert r.returncode == 2 and "exists and is not empty" in r.stderr
    assert _tree(tmp_path / "project") == {"notes.md": b"the previous project"}
    assert not (tmp_path / ".project.old-x1y2").exists()


def test_stale_partial_trees_of_killed_runs_are_removed(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "nb" / "circle.ipynb", *SOURCES)
    stale, fresh = tmp_path / ".project.nbprod-old1", tmp_path / ".project.nbprod-new1"
    for folder in (stale, fresh):
        (folder / "src").mkdir(parents=True)
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    r = run_nbprod("convert", nb, "-o", tmp_path / "project", "--no-validate")
    assert r.returncode == 0, r.stderr
    assert not stale.exists() and fresh.exists()  # a live run's may be in use


@pytest.mark.kernel
def test_no_command_modifies_the_notebook_or_its_folder(tmp_path: Path) -> None:
    notebooks = copy_examples(tmp_path)
    nb = notebooks / "parameters_cell.ipynb"
    before = _tree(notebooks)
    stamp = nb.stat().st_mtime_ns
    digest = hashlib.sha256(nb.read_bytes()).hexdigest()
    out = tmp_path / "project"
    for command in (
        ["plan", nb],
        ["lint", nb],
        ["convert", nb, "-o", out],
        ["validate", nb, out],
        ["convert", nb, "-o", out, "--force", "--no-validate"],
    ):
        r = run_nbprod(*command, cwd=tmp_path)
        assert r.returncode in (0, 1), (command, r.stderr)
        assert hashlib.sha256(nb.read_bytes()).hexdigest() == digest, command
        assert nb.stat().st_mtime_ns == stamp, command
    # Validation runs the notebook in its folder, where it writes its own outputs:
    # only files the notebook itself makes may appear, none may change.
    after = _tree(notebooks)
    assert {k: v for k, v in after.items() if k in before} == before
    assert all(k.startswith(("results/", "cache/")) for k in set(after) - set(before))
