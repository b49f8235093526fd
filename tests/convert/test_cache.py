"""What convert keeps in the user's cache folder (black's output, the compiled
templates) changes nothing it writes: a conversion from empty caches, one
answered by them, and one whose cache folder cannot be written give the same
files; the cache lives where XDG_CACHE_HOME says, not beside the notebook; and
a conversion run again is really answered from it."""

from __future__ import annotations

import os
from pathlib import Path

from tests.helpers.cli import run_nbprod
from tests.helpers.paths import copy_examples


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _convert(notebooks: Path, out: Path, cache: Path) -> Path:
    """titanic converted without validation into ``out``, caching under ``cache``."""
    done = run_nbprod(
        "convert",
        notebooks / "titanic_mlops_poc.ipynb",
        "-o",
        out,
        "--no-validate",
        env={**os.environ, "XDG_CACHE_HOME": str(cache)},
    )
    assert done.returncode == 0, done.stderr
    return out


def test_converting_with_empty_filled_and_unwritable_caches_writes_the_same(
    tmp_path: Path,
) -> None:
    notebooks = copy_examples(tmp_path)
    before = _tree(notebooks)
    cache = tmp_path / "cache"
    # A file where the cache folder should be: no folder can be made there, even
    # by root (whom a read-only folder does not stop).
    blocked = tmp_path / "blocked"
    blocked.write_text("not a folder\n", encoding="utf-8")
    trees = []
    for name, home in (("cold", cache), ("warm", cache), ("unwritable", blocked)):
        trees.append(_tree(_convert(notebooks, tmp_path / "projects" / name, home)))
        if name == "cold":
            kept = sorted(p.name for p in (cache / "nbprod").iterdir())
            assert [k.split("-")[0] for k in kept] == ["black", "templates"]
            assert list((cache / "nbprod").glob("black-*/*.py"))
            assert list((cache / "nbprod" / "templates").glob("*.cache"))
    assert trees[0] == trees[1] == trees[2]
    assert blocked.read_text(encoding="utf-8") == "not a folder\n"
    assert _tree(notebooks) == before

    # And the warm run was answered by the cache: an entry marked there is what
    # the next conversion writes.
    for entry in (cache / "nbprod").glob("black-*/*.py"):
        entry.write_text("# from the cache\n" + entry.read_text("utf-8"), "utf-8")
    out = _convert(notebooks, tmp_path / "projects" / "marked", cache)
    marked = [p for p in out.rglob("*.py") if p.read_text("utf-8").startswith("# from")]
    assert out / "src" / "titanic_mlops_poc" / "preprocessing.py" in marked
