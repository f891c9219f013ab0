"""Findings rendered for `memkb validate`, and the pieces every report of findings
shares (check, import-legacy): compiler-style text lines, JSON, GitHub workflow
annotations, SARIF 2.1.0 and a markdown summary. Pure functions, no printing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from memkb._version import __version__
from memkb.findings import Finding, Severity
from memkb.report import json_document, json_text

# GitHub shows at most 10 error and 10 warning annotations per step (and 50 per job):
# https://github.com/actions/toolkit/blob/main/docs/problem-matchers.md#limitations
ANNOTATIONS_PER_SEVERITY = 10
SUMMARY_FINDINGS = 200  # rows of a markdown findings table; the rest are counted
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

# Characters that end a line somewhere (C0/C1 controls, DEL, U+2028/2029) or reorder what
# a reader sees (bidi controls). A file name or text holding one could start a line of its
# own in a report: a forged GitHub workflow command (`::stop-commands::`) or heading.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` on one line: every control character shown as an escape (`\\n`, `\\x1b`)."""
    if text.isprintable():  # holds none of them (all are Cc, Cf, Zl or Zp): the usual case
        return text
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


def findings_body(findings: Sequence[Finding], files: int, **extra: Any) -> dict[str, Any]:
    """The counts and every finding with the same fields as the text, as plain data."""
    errors = sum(f.severity is Severity.ERROR for f in findings)
    return {
        "ok": errors == 0,
        "files": files,
        "errors": errors,
        "warnings": len(findings) - errors,
        **extra,
        "findings": [f.as_dict() for f in findings],
    }


def render_json(findings: Sequence[Finding], files: int) -> str:
    """The `memkb.validation.engine/1` document: counts and findings."""
    return json_document("validate", findings_body(findings, files))


# ------------------------------------------------------------------------- GitHub


def _escape_data(text: str) -> str:
    """GitHub's escaping of a workflow command's message (actions/toolkit command.ts)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _log_line(text: str) -> str:
    """A plain log line that the runner cannot read as a workflow command: one line, and
    never starting with `::`."""
    line = printable(text)
    return f" {line}" if line.startswith("::") else line


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    """One workflow command, e.g. `::error file=kb/x.yaml,line=3,col=5,title=KB402::...`."""
    hint = f" (hint: {finding.hint})" if finding.hint else ""
    props = (
        f"file={_escape_property(finding.path)},line={finding.line},col={finding.col},"
        f"title={_escape_property(f'memkb {finding.code}')}"
    )
    return f"::{finding.severity.value} {props}::{_escape_data(finding.message + hint)}"


def annotation_lines(findings: Sequence[Finding]) -> list[str]:
    """Annotations for the first 10 errors and 10 warnings (GitHub's per-step cap); every
    other finding as a plain log line, and a note that they were not annotated."""
    shown = {Severity.ERROR: 0, Severity.WARNING: 0}
    lines, overflow = [], 0
    for finding in findings:
        if shown[finding.severity] < ANNOTATIONS_PER_SEVERITY:
            shown[finding.severity] += 1
            lines.append(annotation(finding))
        else:
            overflow += 1
            lines.append(_log_line(finding_line(finding)))
    if overflow:
        lines.append(
            f"{overflow} more finding(s) were not annotated: GitHub shows "
            f"{ANNOTATIONS_PER_SEVERITY} errors and {ANNOTATIONS_PER_SEVERITY} warnings per "
            "step. All are listed above and in the job summary."
        )
    return lines


def render_github(findings: Sequence[Finding], files: int) -> str:
    """Workflow annotations, then the summary line."""
    return "\n".join([*annotation_lines(findings), summary_line(findings, files)]) + "\n"


# -------------------------------------------------------------------------- SARIF


def sarif_log(
    every: Sequence[tuple[Finding, str | None]], properties: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one run, the rules used, one result per finding; a finding
    paired with a reason was waived and carries an external suppression saying why."""
    from memkb.rules.codes import CODES  # the whole rule table: only SARIF names rules

    codes = sorted({f.code for f, _ in every})
    rules = [
        {"id": code, "name": code, "shortDescription": {"text": CODES.get(code, code)}}
        for code in codes
    ]
    results = [_sarif_result(f, codes.index(f.code), reason) for f, reason in every]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "memkb",
                "version": __version__,
                "rules": rules,
            }
        },
        "results": results,
    }
    if properties is not None:
        run["properties"] = properties
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _sarif_result(finding: Finding, rule_index: int, reason: str | None) -> dict[str, Any]:
    hint = f" Hint: {finding.hint}" if finding.hint else ""
    out: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": "error" if finding.severity is Severity.ERROR else "warning",
        "message": {"text": finding.message + hint},
        "locations": [
            {
                "physicalLocation": {
                    # A relative URI reference (RFC 3986): every other character encoded.
                    "artifactLocation": {
                        "uri": quote(finding.path, safe="/"),
                        "uriBaseId": "%SRCROOT%",
                    },
                    "region": {"startLine": finding.line, "startColumn": finding.col},
                }
            }
        ],
    }
    if reason is not None:
        out["suppressions"] = [{"kind": "external", "justification": reason}]
    return out


def sarif_text(log: dict[str, Any]) -> str:
    """A SARIF log as indented JSON (SARIF has its own schema: no memkb `format` key)."""
    return json_text(log)


def render_sarif(findings: Sequence[Finding], files: int) -> str:
    """The findings as a SARIF 2.1.0 log."""
    del files  # SARIF lists results, not the files that had none
    return sarif_text(sarif_log([(f, None) for f in findings]))


# ----------------------------------------------------------------------- markdown


def markdown_finding_row(finding: Finding) -> str:
    """One row of a findings table: icon, `path:line:col`, code, message and hint."""
    icon = "❌" if finding.severity is Severity.ERROR else "⚠️"
    hint = f" — {finding.hint}" if finding.hint else ""
    where = markdown_code(f"{finding.path}:{finding.line}:{finding.col}")
    return f"| {icon} | {where} | {finding.code} | {markdown_cell(finding.message + hint)} |"


def markdown_findings(findings: Sequence[Finding]) -> list[str]:
    """The `### Findings` table (at most SUMMARY_FINDINGS rows), or nothing."""
    if not findings:
        return []
    rows = ["### Findings", "", "| | where | code | message |", "|---|---|---|---|"]
    rows += [markdown_finding_row(f) for f in findings[:SUMMARY_FINDINGS]]
    more = len(findings) - SUMMARY_FINDINGS
    if more > 0:
        rows.append(f"\n…and {more} more (see the log or the SARIF report).")
    return [*rows, ""]


def render_markdown(findings: Sequence[Finding], files: int) -> str:
    """A summary for a pull request or a job: verdict, counts, the findings table."""
    errors = sum(f.severity is Severity.ERROR for f in findings)
    verdict = "passed" if not errors else f"failed: {errors} error{'s' * (errors != 1)}"
    head = [f"## memkb validate {verdict}", "", summary_line(findings, files) + ".", ""]
    return "\n".join(head + markdown_findings(findings))
