"""Findings are data: every rule produces them, every reporter renders them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place. `path` is relative to the repository root, POSIX style."""

    path: str
    line: int
    col: int
    severity: Severity
    code: str
    message: str
    hint: str | None = None

    def as_tuple(self) -> tuple[str, int, int, str, str, str, str | None]:
        """Plain-data form, for caches."""
        return (
            self.path,
            self.line,
            self.col,
            self.severity.value,
            self.code,
            self.message,
            self.hint,
        )

    @classmethod
    def from_tuple(cls, data: tuple[Any, ...]) -> Finding:
        path, line, col, severity, code, message, hint = data
        return cls(path, line, col, Severity(severity), code, message, hint)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data


def error(
    path: str, code: str, message: str, *, line: int = 1, col: int = 1, hint: str | None = None
) -> Finding:
    """Shorthand for an error finding."""
    return Finding(path, line, col, Severity.ERROR, code, message, hint)


def warning(
    path: str, code: str, message: str, *, line: int = 1, col: int = 1, hint: str | None = None
) -> Finding:
    """Shorthand for a warning finding."""
    return Finding(path, line, col, Severity.WARNING, code, message, hint)


def is_finding_tuple(data: object) -> bool:
    """True when `data` has the shape of `Finding.as_tuple()`, so `Finding.from_tuple` can
    read it: what a cache must prove before its findings are trusted."""
    return (
        isinstance(data, tuple)
        and len(data) == 7
        and all(isinstance(v, str) for v in data[3:6])
        and data[3] in _SEVERITIES
        and isinstance(data[0], str)
        and type(data[1]) is int
        and type(data[2]) is int
        and (data[6] is None or isinstance(data[6], str))
    )


_SEVERITIES = frozenset(s.value for s in Severity)


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding is an error (warnings alone do not fail a run)."""
    return any(f.severity is Severity.ERROR for f in findings)
