"""``made_once``, the tests' way of sharing a conversion: made by the first caller
of the session, read back as it was by every other, made again if it raised."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.shared import made_once


def test_the_first_caller_makes_it_and_the_others_read_what_it_made(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    calls: list[Path] = []

    def make(folder: Path) -> subprocess.CompletedProcess:
        calls.append(folder)
        (folder / "made.txt").write_text("once", encoding="utf-8")
        return subprocess.CompletedProcess(["make", folder], 3, "out\n", "err\n")

    name = f"test-made-once-{id(calls)}"
    first = made_once(tmp_path_factory, name, make)
    second = made_once(tmp_path_factory, name, make)
    assert len(calls) == 1
    assert first[0] == second[0] == calls[0]
    assert (first[0] / "made.txt").read_text(encoding="utf-8") == "once"
    for folder, done in (first, second):
        assert (done.args, done.returncode, done.stdout, done.stderr) == (
            ["make", str(folder)],
            3,
            "out\n",
            "err\n",
        )


def test_a_make_that_raised_is_made_again_from_an_empty_folder(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    def broken(folder: Path) -> subprocess.CompletedProcess:
        (folder / "half.txt").write_text("half", encoding="utf-8")
        raise RuntimeError("interrupted")

    def make(folder: Path) -> subprocess.CompletedProcess:
        assert list(folder.iterdir()) == []
        return subprocess.CompletedProcess(["make"], 0, "", "")

    name = f"test-made-again-{id(broken)}"
    with pytest.raises(RuntimeError, match="interrupted"):
        made_once(tmp_path_factory, name, broken)
    folder, done = made_once(tmp_path_factory, name, make)
    assert done.returncode == 0 and list(folder.iterdir()) == []
