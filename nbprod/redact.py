"""Secrets in a notebook's code: found, moved to environment variables in the
generated code, and kept out of every file, report and message nbprod writes.

A string literal holding a likely secret (``nbprod.secrets``) becomes
``os.environ["NAME"]``, NAME taken from the variable, keyword or dict key it is
given to; the values stay in memory, only to run the pipeline during validation.
"""

from __future__ import annotations

import re

import libcst as cst

from nbprod.convert.analysis import ParsedCell
from nbprod.convert.analysis.nodes import walk
from nbprod.errors import CellError
from nbprod.plan import SecretLiteral
from nbprod.secrets import find_secrets

REDACTED = "<secret removed by nbprod>"


def _env_name(hint: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "_", hint).strip("_").upper()
    return name if name and not name[0].isdigit() else f"SECRET_{name}".rstrip("_")


class _Finder(cst.CSTVisitor):
    def __init__(self, pc: ParsedCell) -> None:
        self.pc = pc
        self.hints: dict[int, str] = {}  # id(string node) -> name it is given to
        self.found: list[tuple[int, int, str, str, str]] = (
            []
        )  # line, col, kind, hint, value

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self.hints[id(node.value)] = node.targets[0].target.value

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.hints[id(node.value)] = node.keyword.value

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if isinstance(node.key, cst.SimpleString):
            key = node.key.evaluated_value
            if isinstance(key, str):
                self.hints[id(node.value)] = key

    def _string(self, node: cst.SimpleString | cst.ConcatenatedString) -> bool:
        value = node.evaluated_value
        if isinstance(value, str):
            name = self.hints.get(id(node))
            # As lint sees it in the cell: quoted (the high-entropy check looks
            # for quoted strings), after the name it is given to (the keyword
            # check: ``db_password = "..."``).
            quoted = f'"{value}"' if '"' not in value and "\n" not in value else value
            secrets = find_secrets(f"{name} = {quoted}" if name else quoted)
            if secrets:
                pos = self.pc.positions[node].start
                hint = name or secrets[0].kind
                self.found.append((pos.line, pos.column, secrets[0].kind, hint, value))
        return False

    visit_SimpleString = visit_ConcatenatedString = _string

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        secrets = find_secrets(node.value)
        if secrets:
            pos = self.pc.positions[node].start
            raise CellError(
                f"a likely secret ({secrets[0].kind}) inside an f-string cannot be "
                "moved to an environment variable",
                where=f"cell {self.pc.cell.number}, line {pos.line}",
                hint="assign the secret to a variable of its own first",
            )


def find_secret_literals(
    parsed: list[ParsedCell],
) -> tuple[tuple[SecretLiteral, ...], dict[str, str]]:
    """The secret literals of the notebook, in order, and each variable's value.
    The same value keeps one variable; names are made unique."""
    literals: list[SecretLiteral] = []
    values: dict[str, str] = {}
    by_value: dict[str, str] = {}
    for pc in parsed:
        finder = _Finder(pc)
        walk(pc.module, finder)
        for line, column, kind, hint, value in finder.found:
            env = by_value.get(value)
            if env is None:
                base = env = _env_name(hint)
                n = 2
                while env in values:
                    env, n = f"{base}_{n}", n + 1
                values[env] = by_value[value] = value
            literals.append(SecretLiteral(pc.cell.number, line, column, kind, env))
    return tuple(literals), values


def contains(text: str | bytes, values: dict[str, str]) -> bool:
    """Whether ``text`` holds any of the secret ``values``."""
    if isinstance(text, bytes):
        return any(v.encode("utf-8") in text for v in values.values())
    return any(v in text for v in values.values())


def redact(text: str, values: dict[str, str]) -> str:
    """``text`` with every secret value replaced by a marker."""
    for value in sorted(values.values(), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text
