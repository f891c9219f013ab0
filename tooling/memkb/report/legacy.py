"""`memkb import-legacy`: what was converted, as text (findings, then a summary) or the
`memkb.import-legacy/1` JSON document; `memkb export-legacy`: the exported documents and
what was written."""

from __future__ import annotations

from typing import Any

from memkb.findings import Severity
from memkb.legacy.export import Export
from memkb.legacy.importer import ImportResult
from memkb.report import json_document
from memkb.report.findings import finding_line, findings_body


def render_json(result: ImportResult, strict: bool) -> str:
    """Counts, findings, the files written (skipped, unchanged) and, for a dry run, their
    text."""
    del strict  # the JSON says what was written; --strict only changes the summary line
    extra: dict[str, object] = {
        "dry_run": result.dry_run,
        "written": result.written,
        "skipped": result.skipped,
        "unchanged": result.unchanged,
    }
    if result.dry_run:
        extra["contents"] = {path: result.contents[path] for path in result.written}
    return json_document(
        "import-legacy", findings_body(result.findings, len(result.contents), **extra)
    )


def render_text(result: ImportResult, strict: bool) -> str:
    """One line per finding, the files a dry run would write, then the summary."""
    lines = [finding_line(f) for f in result.findings]
    if result.dry_run:
        for path in result.written:
            lines += [f"--- would write {path}", result.contents[path].rstrip("\n")]
    lines.append(_summary(result, strict))
    return "\n".join(lines) + "\n"


def _summary(result: ImportResult, strict: bool) -> str:
    errors = sum(f.severity is Severity.ERROR for f in result.findings)
    warnings = len(result.findings) - errors
    counts = (
        f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        f"; {len(result.unchanged)} unchanged, {len(result.skipped)} skipped"
    )
    n = len(result.written)
    records = f"{n} record{'s' * (n != 1)}"
    if result.dry_run:
        return f"dry run: would write {records} ({counts}); nothing written"
    if strict and errors:
        return f"--strict: nothing written because of the errors above ({counts})"
    if not n:
        return f"wrote 0 records ({counts})"
    return f"wrote {records} ({counts}); review with git diff and commit"


# ------------------------------------------------------------------ export-legacy


def render_export_document(body: dict[str, Any]) -> str:
    """One exported legacy document: `format` first (memkb.export-legacy/1, the sign the
    importer reads), two-space indent, keys in the order the export built them."""
    return json_document("export-legacy", body)


def render_export_text(export: Export, written: list[str]) -> str:
    """What an export with --output wrote, one line per file, then the warnings."""
    lines = [f"wrote {path}" for path in written]
    lines += export_warnings(export)
    at = export.commit[:12] if export.commit else "no commit"
    lines.append(f"exported the {export.shape} shape of commit {at}")
    return "\n".join(lines) + "\n"


def render_export_json(export: Export, written: list[str]) -> str:
    """The `memkb.export-legacy-written/1` summary of an export with --output."""
    body = {
        "shape": export.shape,
        "commit": export.commit,
        "written": written,
        "omitted_outcomes": export.omitted,
        "unreadable": export.unreadable,
    }
    return json_document("export-legacy-written", body)


def export_warnings(export: Export) -> list[str]:
    """Warnings about what the export could not hold (for stderr or the summary)."""
    lines = []
    if export.omitted and export.shape == "seed":
        lines.append(
            f"warning: {len(export.omitted)} outcome(s) applied no success pattern, and the "
            f"seed shape keeps outcomes as project_examples of patterns: not exported "
            f"({', '.join(export.omitted[:5])}{', ...' if len(export.omitted) > 5 else ''})"
        )
    for path in export.unreadable:
        lines.append(f"warning: {path} cannot be loaded and is not exported (run `memkb validate`)")
    return lines
