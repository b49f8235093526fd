"""The one family of user-facing errors; ``cli`` alone turns them into messages."""

from __future__ import annotations


class NbprodError(Exception):
    """A problem the user can fix; printed as one line, never as a traceback."""

    exit_code = 2

    def __init__(self, message: str, *, where: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} ({self.hint})" if self.hint else text


class NotebookError(NbprodError):
    """The input is not a notebook nbprod can read."""


class CellError(NbprodError):
    """A code cell cannot be converted (syntax error, unsupported magic)."""


class OutputError(NbprodError):
    """The output folder cannot be written as asked."""


class InternalError(NbprodError):
    """nbprod made something wrong (code that does not compile): a bug to report,
    not the user's to fix. Exit 3, and nothing is written."""

    exit_code = 3

    def __init__(self, message: str, *, where: str = "") -> None:
        super().__init__(
            message,
            where=where,
            hint="a bug in nbprod; nothing was written; please report it with the notebook",
        )
