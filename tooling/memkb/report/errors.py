"""A failed command, rendered: for a person on stderr, or a JSON error object that an
agent reads on stdout (`memkb.error/1`). The CLI decides the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memkb.findings import Finding
from memkb.report import json_document
from memkb.report.findings import finding_line


@dataclass(frozen=True)
class Failure:
    """What went wrong: the message, what to do, a stable kind (`usage`, `not-found`,
    `environment`, `refused`, `internal`, `interrupted`) and any findings that say why."""

    message: str
    code: str
    hint: str | None = None
    findings: list[object] = field(default_factory=list)


def _finding_text(item: object) -> str:
    return finding_line(item) if isinstance(item, Finding) else str(item)


def _finding_data(item: object) -> dict[str, Any]:
    return item.as_dict() if isinstance(item, Finding) else {"message": str(item)}


def render_text(failure: Failure) -> str:
    """`memkb: error: ...`, one indented line per finding, then the hint."""
    lines = [f"memkb: error: {failure.message}"]
    lines += [f"  {_finding_text(item)}" for item in failure.findings]
    if failure.hint:
        lines.append(f"  hint: {failure.hint}")
    return "\n".join(lines) + "\n"


def render_json(failure: Failure) -> str:
    """`{"format": "memkb.error/1", "error": {message, hint, code, findings}}`."""
    error = {
        "message": failure.message,
        "hint": failure.hint,
        "code": failure.code,
        "findings": [_finding_data(item) for item in failure.findings],
    }
    return json_document("error", {"error": error})
