"""Renderers: the same findings as text lines (compiler style) or JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from memkb.findings import Finding, Severity

# Characters that end a line somewhere (C0/C1 controls, DEL, U+2028/2029) or reorder what
# a reader sees (bidi controls). A file name or text holding one could start a line of its
# own in a report: a forged GitHub workflow command (`::stop-commands::`) or heading.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` on one line: every control character shown as an escape (`\\n`, `\\x1b`)."""
    return _UNPRINTABLE.sub(lambda m: _ESCAPES.get(m[0]) or _escape(m[0]), text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def finding_line(finding: Finding) -> str:
    """`path:line:col: severity CODE message; hint: ...` — one line, grep-able, with every
    control character escaped (so no text can start a line of its own)."""
    hint = f"; hint: {finding.hint}" if finding.hint else ""
    return printable(
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
    """Text safe inside a markdown table cell: pipes escaped, no HTML tag, one line (a line
    break would end the table and could start a heading)."""
    return printable(text.replace("\n", " ")).replace("|", "\\|").replace("<", "&lt;")


def markdown_code(text: str) -> str:
    """`text` as an inline code span that holds whatever it contains: on one line, pipes
    escaped (GitHub tables split on them even in code), fenced by more backticks than
    it holds."""
    body = printable(text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", body)), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


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
