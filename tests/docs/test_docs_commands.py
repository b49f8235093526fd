"""Every shell session the documentation shows is run, and prints what the page
says it prints: a lesson can never describe output the tool no longer gives.

The rules for writing them are in ``tests/docs_commands.py``. Each page runs in a
scratch folder holding a copy of ``examples/``, with a virtual environment of its
own that sees this one's packages, so ``pip install -e ".[dev]"`` on a page
installs the generated project there, offline, and nowhere else. A first
conversion several pages share is made once for the session (``_converted_once``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.docs_commands import blocks, commands, matches
from tests.helpers.paths import ROOT
from tests.helpers.project import fresh_environment
from tests.helpers.shared import made_once

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
RUNNABLE = [p for p in PAGES if any(b.language == "console" for b in blocks(p))]
# Commands a page runs through the page's own interpreter, so that what
# `pip install` put in its environment is what they see. (Not ruff: a binary,
# whose `python -m ruff` would find this wrapper and run itself for ever.)
MODULE_COMMANDS = ("pip", "pytest", "dvc", "pre-commit", "black")


def _page_id(page: Path) -> str:
    return page.relative_to(DOCS).as_posix()


def test_every_shell_block_is_run_or_says_why_not() -> None:
    shown = [b for p in PAGES for b in blocks(p) if b.language != "console"]
    unexplained = [f"{b.page}:{b.line}" for b in shown if not b.not_run]
    assert not unexplained, "shell blocks neither `console` nor <!-- not run: -->"
    assert RUNNABLE, "no page runs anything"
    for page in RUNNABLE:
        for block in blocks(page):
            if block.language == "console":
                assert commands(block), f"{page}:{block.line}: an empty console block"


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        (("a", "b"), ["a", "b", ""], True),
        (("a", "...", "d"), ["a", "b", "c", "d"], True),
        (("a", "...", "d"), ["a", "d"], True),
        (("took ... s",), ["took 1.5 s"], True),
        (("a", "b"), ["a", "c"], False),
        (("a",), ["a", "b"], False),
        (("...", "z"), ["a", "b"], False),
        # A hook's line of dots: one elision; not matching must not backtrack
        # through every way of splitting the dots (that took minutes).
        (("lint" + "." * 60 + "Skipped",), ["lint" + "." * 40 + "Skipped"], True),
        (("lint" + "." * 60 + "Skipped",), ["lint" + "." * 80 + "Passed"], False),
    ],
)
def test_shown_output_is_matched_line_for_line_with_elisions(
    expected: tuple[str, ...], actual: list[str], result: bool
) -> None:
    assert matches(expected, actual) is result


def test_a_console_block_splits_into_commands_exit_codes_and_output(
    tmp_path: Path,
) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- not run: shown only -->\n```bash\nrm -rf /\n```\n\n"
        "```console\n$ echo a \\\n> b\na b\n$ false  # exits 1\n```\n",
        encoding="utf-8",
    )
    shown, run = blocks(page)
    assert shown.not_run == "shown only"
    first, second = commands(run)
    assert (first.text, first.expected, first.exit_code) == (
        "echo a \\\nb",
        ("a b",),
        0,
    )
    assert (second.expected, second.exit_code) == ((), 1)


@pytest.mark.e2e
@pytest.mark.parametrize("page", RUNNABLE, ids=_page_id)
def test_the_commands_of_a_page_print_what_it_shows(
    tmp_path: Path, page: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path / "work"
    _copy_examples(work)
    env = _environment(tmp_path / "venv")
    cwd = work
    fresh = _digest(work)
    for block in blocks(page):
        if block.language != "console":
            continue
        for command in commands(block):
            where = f"{page.relative_to(ROOT)}:{command.line}: $ {command.text}"
            if command.text.startswith("cd ") and "&&" not in command.text:
                cwd = (cwd / command.text[3:].strip()).resolve()
                assert cwd.is_dir() and cwd.is_relative_to(work), where
                continue
            if (
                command.text.startswith("nbprod convert ")
                and cwd == work
                and _digest(work) == fresh
            ):
                done = _converted_once(tmp_path_factory, command.text, work, env)
            else:
                done = _run(command.text, cwd, env)
            printed = done.stdout.splitlines()
            assert (
                done.returncode == command.exit_code
            ), f"{where}\nexit {done.returncode}\n{done.stdout[-3000:]}"
            if command.expected:
                assert matches(command.expected, printed), (
                    f"{where}\nthe page shows:\n"
                    + "\n".join(command.expected)
                    + "\nit printed:\n"
                    + done.stdout
                )


def _run(text: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", text],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )


def _converted_once(
    tmp_path_factory: pytest.TempPathFactory,
    text: str,
    work: Path,
    env: dict[str, str],
) -> subprocess.CompletedProcess:
    """``text``, an ``nbprod convert``, run in ``work`` while it holds only the
    fresh copy of examples/.

    Several pages start by converting the same notebook so (titanic, validated:
    a kernel run and a pipeline run). From the same files the command writes the
    same files, with no path of the folder in them, and prints the same lines;
    nbprod runs as the same interpreter whatever the page's venv. So it is run
    once for the session, and each page gets the folder and the output it would
    have made itself."""

    def make(folder: Path) -> subprocess.CompletedProcess:
        _copy_examples(folder / "work")
        return _run(text, folder / "work", env)

    name = "docs-" + hashlib.sha256(text.encode()).hexdigest()[:16]
    made, done = made_once(tmp_path_factory, name, make)
    shutil.rmtree(work)
    shutil.copytree(made / "work", work, symlinks=True)
    return done


def _copy_examples(work: Path) -> None:
    shutil.copytree(
        ROOT / "examples",
        work / "examples",
        ignore=shutil.ignore_patterns("cache", "results", "__pycache__"),
    )


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _environment(venv: Path) -> dict[str, str]:
    """A virtual environment of the page's own that sees this one's packages
    (:func:`fresh_environment`), with pip and the tools on its PATH; nothing is
    downloaded."""
    _, fresh = fresh_environment(venv)
    for name in MODULE_COMMANDS:
        module = name.replace("-", "_")
        script = venv / "bin" / name
        script.write_text(f'#!/bin/sh\nexec "{venv}/bin/python" -m {module} "$@"\n')
        script.chmod(0o755)
    # As at a terminal of 80 columns, not on CI (where pytest, for one, prints
    # its short summary untruncated): the pages show what a user sees.
    env = {k: v for k, v in fresh.items() if k not in {"CI", "BUILD_NUMBER"}}
    return {
        **env,
        "PATH": os.pathsep.join(
            [str(venv / "bin"), str(Path(sys.executable).parent), os.environ["PATH"]]
        ),
        "VIRTUAL_ENV": str(venv),
        "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_QUIET": "1",
        "NO_COLOR": "1",
        "COLUMNS": "80",
        "GIT_AUTHOR_NAME": "Student",
        "GIT_AUTHOR_EMAIL": "student@example.com",
        "GIT_COMMITTER_NAME": "Student",
        "GIT_COMMITTER_EMAIL": "student@example.com",
    }
