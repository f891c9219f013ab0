"""`memkb import-legacy`: what was converted, as text (findings, then a summary) or the
`memkb.import-legacy/1` JSON document."""

from __future__ import annotations

from memkb.findings import Severity
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
