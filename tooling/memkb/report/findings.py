"""Renderers: the same findings as text lines (compiler style) or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from memkb.findings import Finding, Severity


def finding_line(finding: Finding) -> str:
    """`path:line:col: severity CODE message; hint: ...` — one line, grep-able."""
    hint = f"; hint: {finding.hint}" if finding.hint else ""
    return (
        f"{finding.path}:{finding.line}:{finding.col}: {finding.severity.value} "
        f"{finding.code} {finding.message}{hint}"
    )


def summary_line(findings: Sequence[Finding], files: int, what: str = "files") -> str:
    """The closing line of a text report, e.g. `checked 8 files: clean`."""
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = len(findings) - errors
    if not findings:
        return f"checked {files} {what}: clean"
    return (
        f"checked {files} {what}: {errors} error{'s' * (errors != 1)}, "
        f"{warnings} warning{'s' * (warnings != 1)}"
    )


def markdown_cell(text: str) -> str:
    """Text safe inside a markdown table cell: pipes escaped, no HTML tag, one line."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def render_text(findings: Sequence[Finding], files: int) -> str:
    """Every finding on its own line, then the summary line."""
    return "\n".join([*map(finding_line, findings), summary_line(findings, files)]) + "\n"


def render_json(findings: Sequence[Finding], files: int, **extra: Any) -> str:
    """A JSON object with the counts and every finding with the same fields as the text."""
    errors = sum(f.severity is Severity.ERROR for f in findings)
    body = {
        "ok": errors == 0,
        "files": files,
        "errors": errors,
        "warnings": len(findings) - errors,
        **extra,
        "findings": [f.as_dict() for f in findings],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[..., str]] = {"text": render_text, "json": render_json}
