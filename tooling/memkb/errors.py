"""The typed errors of memkb. The CLI maps each family to an exit code in one place
(memkb.cli.app.EXIT_CODES): findings or refused 1, usage or environment 2."""

from __future__ import annotations


class MemkbError(Exception):
    """Root of every error memkb raises on purpose; carries a message meant for a person."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(MemkbError):
    """The command was called wrongly (bad option, unknown kind, missing argument)."""


class NotFoundError(UsageError):
    """A record named on the command line does not exist: the caller named it wrongly, as
    `ls` treats a missing file (exit 2), not a finding about the KB."""


class RepoError(MemkbError):
    """The repository or environment is not usable (not a KB, git state, lock)."""


class OutputError(RepoError):
    """stdout refused what memkb printed (a full disk, a device gone): the environment's
    fault, not the command's (a closed pipe, `| head`, is not one: memkb stops quietly)."""

    def __init__(self, exc: OSError) -> None:
        super().__init__(
            f"cannot write the output: {exc.strerror or exc}",
            hint="free space where stdout goes, or send the output elsewhere",
        )


class RecordError(MemkbError):
    """A record is invalid or cannot be written; carries the findings that say why."""

    def __init__(
        self, message: str, *, findings: list[object] | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.findings = findings or []
