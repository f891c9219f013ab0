"""Reporters of `memkb check`: one CheckResult rendered as text, JSON, GitHub workflow
commands, SARIF 2.1.0 or a markdown pull-request summary. Pure functions, no printing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from memkb.advice.expectations import AdviceMove
from memkb.history import summarize
from memkb.kb.layout import location_of
from memkb.records.changes import FileChange
from memkb.report import findings as report
from memkb.report import json_document
from memkb.report.chart import learning_curve
from memkb.report.findings import (
    finding_line,
    markdown_cell,
    markdown_code,
    printable,
    summary_line,
)
from memkb.validation.check import CheckResult
from memkb.validation.delta import Delta, Move

# ---------------------------------------------------------------- what changed


def record_label(change: FileChange) -> str:
    """`pattern x`, `outcome 2025-...`, or the path for a file that is not a record."""
    if change.kind is None or change.path.endswith("/.memkb-allow.yaml"):
        return change.path
    if change.kind == "vocabulary":
        return "vocabulary"
    old = location_of(change.old_path).stem if change.old_path else None
    new = location_of(change.path).stem
    if change.status == "renamed" and old and old != new:
        return f"{change.old_kind} {old} -> {change.kind} {new}"
    return f"{change.kind} {new}"


def change_verb(change: FileChange) -> str:
    """The change's status, or `deprecated` for a record whose status became deprecated."""
    if change.status == "modified" and change.kind is not None:
        old, new = change.old_doc, change.new_doc
        if (new or {}).get("status") == "deprecated" and (old or {}).get("status") != "deprecated":
            return "deprecated"
    return change.status


def field_changes(change: FileChange) -> list[str]:
    """Field-level summary of the change, e.g. ['best_practices: +1 item']."""
    if change.status == "added":
        return ["new record" if change.kind else "new file"]
    if change.status == "deleted":
        return ["removed"]
    if change.path.startswith("schemas/") or change.kind is None:
        return ["content changed"]
    old, new = change.old_doc, change.new_doc
    fields = summarize(old, new) if old is not None and new is not None else []
    moved = [f"from {change.old_path}"] if change.old_path != change.path else []
    return moved + fields or ["no field changed"]


def changes_json(result: CheckResult) -> list[dict[str, Any]]:
    """The change list as plain data."""
    return [
        {
            "status": change_verb(c),
            "path": c.path,
            "old_path": c.old_path,
            "kind": c.kind,
            "fields": field_changes(c),
        }
        for c in result.changes
    ]


def delta_json(result: CheckResult) -> dict[str, Any] | None:
    """The metrics delta as plain data (None when it was not computed)."""
    if result.delta is None:
        return None if result.delta_error is None else {"error": result.delta_error}
    return {
        "outcomes_before": result.delta.outcomes_before,
        "outcomes_after": result.delta.outcomes_after,
        "moves": [vars(m) for m in result.delta.moves],
        "rates": {"before": result.delta.rates_before, "after": result.delta.rates_after},
    }


# ------------------------------------------------------------------ text and JSON


def render_text(result: CheckResult) -> str:
    """Changes, findings (one per line, compiler style), exceptions, risk, summary."""
    head = result.head[:12] if result.head else "working tree"
    merged = " (merged into the base)" if result.merged else ""
    lines = [f"memkb check: {result.base[:12]} -> {head}{merged} ({len(result.changes)} changed)"]
    for change in result.changes:
        lines.append(
            printable(
                f"  {change_verb(change):10} {change.path}: {'; '.join(field_changes(change))}"
            )
        )
    lines += [finding_line(f) for f in result.findings]
    lines += [
        f"allowed: {finding_line(a.finding)} (reason: {printable(a.reason)})"
        for a in result.allowed
    ]
    moves = result.delta.moves if result.delta else []
    lines += [printable(f"metrics: {_move_text(m)}") for m in moves]
    lines += [printable(f"advice: {advice_move_text(m)}") for m in result.advice_delta]
    lines.append(
        f"risk: {result.risk}"
        + (f" ({printable('; '.join(result.risk_reasons))})" if result.risk_reasons else "")
    )
    lines.append(summary_line(result.findings, result.files))
    return "\n".join(lines) + "\n"


def render_json(result: CheckResult) -> str:
    """The result as one JSON object: counts, risk, changes, findings, exceptions, delta."""
    errors = result.errors
    body = {
        "ok": result.ok,
        "base": result.base,
        "head": result.head,
        "merge_base": result.fork,
        "merged": result.merged,
        "risk": result.risk,
        "risk_reasons": result.risk_reasons,
        "files": result.files,
        "errors": errors,
        "warnings": len(result.findings) - errors,
        "changes": changes_json(result),
        "other_paths": result.other_paths,
        "findings": [f.as_dict() for f in result.findings],
        "allowed": [{**a.finding.as_dict(), "reason": a.reason} for a in result.allowed],
        "metrics_delta": delta_json(result),
        "advice_delta": [
            {**vars(m), "before": list(m.before), "after": list(m.after)}
            for m in result.advice_delta
        ],
    }
    return json_document("check", body)


def _move_text(move: Move) -> str:
    return f"{move.subject} {move.figure}: {_fmt(move.before)} -> {_fmt(move.after)}{_diff(move)}"


def _fmt(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return str(value)


def _diff(move: Move) -> str:
    numbers = (int, float)
    if isinstance(move.before, numbers) and isinstance(move.after, numbers):
        change = move.after - move.before
        return f" ({'+' if change >= 0 else ''}{_fmt(float(change))})"
    return ""


# ------------------------------------------------------------------------- GitHub


def render_outputs(result: CheckResult) -> str:
    """Step outputs for $GITHUB_OUTPUT: `risk=<class>` and `ok=<true|false>`."""
    return f"risk={result.risk}\nok={str(result.ok).lower()}\n"


def render_github(result: CheckResult) -> str:
    """Annotations for the first 10 errors and 10 warnings (GitHub's per-step cap); every
    other finding as a plain log line, and a note that the job summary lists them all."""
    lines = report.annotation_lines(result.findings)
    lines.append(f"risk: {result.risk}")
    lines.append(summary_line(result.findings, result.files))
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------- SARIF


def sarif_log(result: CheckResult) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one run, the rules used, one result per finding (waived findings
    carry an external suppression with the exception's reason)."""
    every = [(f, None) for f in result.findings] + [(a.finding, a.reason) for a in result.allowed]
    return report.sarif_log(every, {"risk": result.risk, "riskReasons": result.risk_reasons})


def render_sarif(result: CheckResult) -> str:
    """The SARIF log as indented JSON."""
    return report.sarif_text(sarif_log(result))


# ----------------------------------------------------------------------- markdown


def render_markdown(result: CheckResult) -> str:
    """A pull-request summary: verdict and risk, what memory learns (records added,
    changed field by field, deprecated, removed), the metrics delta, the findings."""
    parts = [
        _md_header(result),
        _md_changes(result),
        _md_delta(result),
        _md_advice(result),
        _md_findings(result),
    ]
    return "\n".join(p for p in parts if p)


def _md_header(result: CheckResult) -> str:
    errors, warnings = result.errors, len(result.findings) - result.errors
    verdict = "passed" if result.ok else f"failed: {errors} error{'s' * (errors != 1)}"
    head = f"`{result.head[:12]}`" if result.head else "the working tree"
    head += " merged into the base" if result.merged else ""
    lines = [
        f"## memkb check {verdict}",
        "",
        f"**Risk: `{result.risk}`**"
        + (f" — {markdown_cell('; '.join(result.risk_reasons))}" if result.risk_reasons else ""),
        "",
        f"Base `{result.base[:12]}` → {head}: {len(result.changes)} knowledge file(s) "
        f"changed, {result.files} validated, {errors} error(s), {warnings} warning(s).",
        "",
    ]
    return "\n".join(lines)


def _md_changes(result: CheckResult) -> str:
    if not result.changes:
        return "No knowledge file changed.\n"
    rows = ["### What memory learns", "", "| change | record | what changed |", "|---|---|---|"]
    for change in result.changes:
        label, what = markdown_cell(record_label(change)), "; ".join(field_changes(change))
        rows.append(f"| {change_verb(change)} | {label} | {markdown_cell(what)} |")
    return "\n".join(rows) + "\n"


def _md_delta(result: CheckResult) -> str:
    if result.delta_error:
        return f"### Metrics delta\n\nNot computed: {markdown_cell(result.delta_error)}\n"
    if result.delta is None:
        return ""
    if not result.delta.moves:
        return "### Metrics delta\n\nNo derived figure moves.\n"
    rows = ["### Metrics delta", "", "| subject | figure | before | after | change |"]
    rows.append("|---|---|---|---|---|")
    for move in result.delta.moves:
        change = _diff(move).strip(" ()") or "—"
        rows.append(
            f"| {markdown_cell(move.subject)} | {move.figure} | {_fmt(move.before)} | "
            f"{_fmt(move.after)} | {change} |"
        )
    return "\n".join(rows) + "\n" + _md_curve(result.delta)


def _md_curve(delta: Delta) -> str:
    """The two learning rates at base and head as a chart, when either one moves."""
    before, after = delta.rates_before, delta.rates_after
    if before == after:
        return ""
    points: list[dict[str, object]] = [
        {"label": label, "learning_metrics": rates, "advice": rates}
        for label, rates in (("base", before), ("head", after))
    ]
    return "\n" + learning_curve(points, "Success rate and advice followed: base and head")


def advice_move_text(move: AdviceMove) -> str:
    """`e-commerce / security_first: top pattern a -> b` (or the whole list when the top
    stays and the rest moves)."""
    before, after = move.before, move.after
    if before[:1] != after[:1]:
        what = f"top {move.section[:-1]} {_ids(before[:1])} -> {_ids(after[:1])}"
    else:
        what = f"{move.section} {_ids(before)} -> {_ids(after)}"
    return f"{move.query}: {what} (expectation {move.expectation})"


def _ids(ids: tuple[str, ...]) -> str:
    return ", ".join(ids) or "none"


def _md_advice(result: CheckResult) -> str:
    """What the change makes the orchestrator do differently, query by query."""
    if not result.advice_delta:
        return ""
    rows = ["### Advice delta", "", "| query | section | before | after |", "|---|---|---|---|"]
    for move in result.advice_delta:
        rows.append(
            f"| {markdown_cell(move.query)} ({markdown_cell(move.expectation)}) | "
            f"{move.section} | {markdown_cell(_ids(move.before))} | "
            f"{markdown_cell(_ids(move.after))} |"
        )
    return "\n".join(rows) + "\n"


def _md_findings(result: CheckResult) -> str:
    rows = report.markdown_findings(result.findings)
    if result.allowed:
        rows += ["### Reviewed exceptions used", "", "| where | code | reason |", "|---|---|---|"]
        for item in result.allowed:
            f = item.finding
            rows.append(
                f"| {markdown_code(f'{f.path}:{f.line}:{f.col}')} | {f.code} | "
                f"{markdown_cell(item.reason)} |"
            )
        rows.append("")
    return "\n".join(rows)


REPORTERS: dict[str, Callable[[CheckResult], str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
    "markdown": render_markdown,
}

__all__: Sequence[str] = ("REPORTERS", "render_markdown", "sarif_log")
