"""Errors that speak to users, and the exit codes they map to (one handler, in the CLI)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    DONE = 0  # contained, or clean
    FAILED = 1
    BAD_INPUT = 2  # nothing was mutated
    PARTIAL = 3  # partially contained: work outstanding; re-running the case resumes


class RevokerError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code = ExitCode.FAILED

    def diagnostics(self) -> str:
        return str(self)


class BadInput(RevokerError):
    """Input the user can fix. Names the file and the field, and is raised before any
    provider is touched."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None):
        self.source, self.field = source, field
        where = ":".join(part for part in (source, field) if part)
        super().__init__(f"{where}: {message}" if where else message)


class CaseError(RevokerError):
    """The case directory is unusable (tampered ledger, wrong identity on resume…)."""
