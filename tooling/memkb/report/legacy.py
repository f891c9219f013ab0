"""`memkb import-legacy`: what was converted, as text (findings, then a summary) or the
`memkb.import-legacy/1` JSON document; `memkb export-legacy`: the exported documents and
what was written."""

from __future__ import annotations

from typing import Any

from memkb.findings import Severity
from memkb.kb.layout import VOCABULARY_FILE
from memkb.legacy.export import Export
from memkb.legacy.importer import ImportResult
from memkb.report import json_document
from memkb.report.findings import finding_line, findings_body


def render_json(result: ImportResult, strict: bool) -> str:
    """Counts, findings, the record files added, updated, unchanged and skipped (`written`
    is added + updated), the vocabulary names added or still unknown, the commit, and, for
    a dry run, the text of every file it would write."""
    del strict  # the JSON says what was written; --strict only changes the summary line
    extra: dict[str, object] = {
        "dry_run": result.dry_run,
        "written": result.written,
        "added": result.added,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
        "vocabulary_added": result.vocabulary_added,
        "unknown_names": result.unknown_names,
        "near_misses": result.near_misses,
        "invalid_names": result.invalid_names,
        "commit": result.commit,
        "not_committed": result.not_committed,
        "uncommitted": result.uncommitted,
    }
    if result.dry_run:
        extra["contents"] = result.files
    return json_document(
        "import-legacy", findings_body(result.findings, len(result.contents), **extra)
    )


def render_text(result: ImportResult, strict: bool) -> str:
    """One line per finding, the files a dry run would write, then the summary."""
    lines = [finding_line(f) for f in result.findings]
    if result.dry_run:
        for path, text in result.files.items():
            lines += [f"--- would write {path}", text.rstrip("\n")]
    lines += _vocabulary_lines(result)
    lines.append(_summary(result, strict))
    return "\n".join(lines) + "\n"


def _vocabulary_lines(result: ImportResult) -> list[str]:
    """What the import did, or could do, to the vocabulary: one line each."""
    lines = []
    if result.vocabulary_added:
        counts = ", ".join(
            _plural(len(names), target) for target, names in result.vocabulary_added.items()
        )
        verb = "would add" if result.dry_run else "added"
        lines.append(f"{verb} {counts} to {VOCABULARY_FILE}")
    n = result.unknown_names
    if n:
        why = []
        if result.near_misses == 1:
            why.append("1 near miss of an existing name")
        elif result.near_misses:
            why.append(f"{result.near_misses} near misses of existing names")
        if result.invalid_names:
            why.append(_plural(result.invalid_names, "invalid name"))
        line = f"{_plural(n, 'name')} (droids, domains, phases) not in {VOCABULARY_FILE}"
        line += f" ({', '.join(why)})" if why else ""
        addable = n - result.near_misses - result.invalid_names
        if addable and not result.extend_vocabulary:
            line += f"; --extend-vocabulary would add {addable} of them"
        lines.append(line)
    return lines


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _summary(result: ImportResult, strict: bool) -> str:
    errors = sum(f.severity is Severity.ERROR for f in result.findings)
    warnings = len(result.findings) - errors
    counts = (
        f"{len(result.added)} added, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged, {len(result.skipped)} skipped; "
        f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    )
    records = _plural(len(result.written), "record")
    if result.dry_run:
        return f"dry run: would write {records} ({counts}); nothing written"
    if result.not_committed == "errors above":
        return f"--commit: nothing written or committed because of the errors above ({counts})"
    if strict and errors:
        return f"--strict: nothing written because of the errors above ({counts})"
    if result.commit:
        earlier = len(result.uncommitted)
        also = f", with {_plural(earlier, 'record')} an earlier import wrote" if earlier else ""
        return f"wrote {records} ({counts}); committed {result.commit[:12]}{also}"
    if not result.files:
        idle = "; nothing to commit" if result.not_committed else ""
        return f"wrote 0 records ({counts}){idle}"
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
