"""Findings rendered for `memkb validate`, and the pieces every report of findings
shares (check, import-legacy): compiler-style text lines, JSON, GitHub workflow
annotations, SARIF 2.1.0 and a markdown summary. Pure functions, no printing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memkb import __version__
from memkb.findings import Finding, Severity
from memkb.report import json_document, json_text
from memkb.rules.codes import CODES

# GitHub shows at most 10 error and 10 warning annotations per step (and 50 per job):
# https://github.com/actions/toolkit/blob/main/docs/problem-matchers.md#limitations
ANNOTATIONS_PER_SEVERITY = 10
SUMMARY_FINDINGS = 200  # rows of a markdown findings table; the rest are counted
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


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
    """The `memkb.validate/1` document: counts and findings."""
    return json_document("validate", findings_body(findings, files))


# ------------------------------------------------------------------------- GitHub


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


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
            lines.append(finding_line(finding))
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
                    "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
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
    where = f"`{finding.path}:{finding.line}:{finding.col}`"
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
