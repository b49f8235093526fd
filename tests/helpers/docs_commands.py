"""The shell sessions shown in the documentation, read from its Markdown.

A fenced block in ``console`` is runnable: each line starting with ``$ `` is a
command (a trailing ``\\`` continues it on the next line), and the lines after it,
up to the next command, are what it prints. In what it prints, a line ``...``
stands for any number of lines and ``...`` inside a line for any text. A command
ending in ``# exits N`` must exit with N, any other with 0. ``$ cd DIR`` changes
the folder of the commands after it.

Any other shell block (``bash``, ``sh``, ``shell``) must be announced by a comment
``<!-- not run: why -->`` on the line before it, so a command that is only shown
says so in the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHELL_LANGUAGES = ("bash", "sh", "shell", "console")
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>[^\n]*)$")
_EXIT = re.compile(r"\s+#\s*exits\s+(\d+)\s*$")


@dataclass(frozen=True)
class Command:
    """One ``$`` line of a console block and what the page says it prints."""

    page: Path
    line: int
    text: str
    expected: tuple[str, ...]
    exit_code: int


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence
    language: str
    body: tuple[str, ...]
    not_run: str  # the reason given, when it is only shown


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page`` in a shell language, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        language = match["info"].split()[0] if match["info"].strip() else ""
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if language in SHELL_LANGUAGES:
            before = lines[i - 1].strip() if i else ""
            reason = re.fullmatch(r"<!--\s*not run:\s*(.+?)\s*-->", before)
            found.append(
                Block(
                    page,
                    i + 1,
                    language,
                    tuple(line[indent:] for line in lines[i + 1 : end]),
                    reason[1] if reason else "",
                )
            )
        i = end + 1
    return found


def commands(block: Block) -> list[Command]:
    """The commands of a console block with the output shown for each."""
    found: list[Command] = []
    body = list(block.body)
    i = 0
    while i < len(body):
        if not body[i].startswith("$ "):
            raise ValueError(
                f"{block.page}:{block.line + i + 1}: output before any command"
            )
        start = i
        text = body[i][2:]
        while text.endswith("\\") and i + 1 < len(body):
            i += 1  # the backslash stays: bash joins the lines
            text += "\n" + body[i].removeprefix("> ")
        i += 1
        expected: list[str] = []
        while i < len(body) and not body[i].startswith("$ "):
            expected.append(body[i])
            i += 1
        code = _EXIT.search(text)
        found.append(
            Command(
                block.page,
                block.line + start + 1,
                text,
                tuple(expected),
                int(code[1]) if code else 0,
            )
        )
    return found


def _line_pattern(line: str) -> str:
    """One shown line as a pattern, each ``...`` any text. A run of dots (a
    pre-commit hook's ``lint.........Skipped``) is one elision, not many: many
    ``.*`` in a row backtrack exponentially, which took minutes on one line."""
    return ".*".join(re.escape(part) for part in re.split(r"(?:\.\.\.)+", line))


def matches(expected: tuple[str, ...], actual: list[str]) -> bool:
    """Whether ``actual`` lines are what ``expected`` shows (``...`` elided)."""
    want = [line.rstrip() for line in expected]
    got = [line.rstrip() for line in actual]
    while want and not want[-1]:
        want.pop()
    while got and not got[-1]:
        got.pop()
    pattern = "".join(
        r"(?:.*\n)*?" if line.strip() == "..." else _line_pattern(line) + r"\n"
        for line in want
    )
    return re.fullmatch(pattern, "".join(f"{line}\n" for line in got)) is not None
