"""The CLI's one error type: a failure to report in one line, never a traceback."""

from __future__ import annotations


class CliError(Exception):
    """A failure to report in one line; the process exits with ``exit_code``."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
