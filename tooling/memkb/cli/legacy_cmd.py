"""`memkb import-legacy`: the orchestrator's legacy JSON memory into kb/ records."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from memkb.cli.app import app, handles_errors, repo_root
from memkb.findings import Severity
from memkb.legacy.importer import ImportResult, import_legacy
from memkb.legacy.source import UnreadableLegacy
from memkb.report.findings import finding_line, render_json

# One line per paragraph: the help renderer wraps lines to the terminal itself.
HELP = (
    "Convert the orchestrator's legacy JSON memory into records in kb/.\n\n"
    "Success patterns, failure patterns and project templates become records; each "
    "pattern's project examples become outcome records; declared figures (success_rate, "
    "success_probability) become weighted priors; learning and performance metrics are "
    "derived by `memkb metrics` and are not imported.\n\n"
    "Every defect is reported at the legacy file's line and column: "
    "FILE:line:col: severity CODE message (codes KB601-KB611, see docs/import-legacy.md).\n\n"
    "Nothing is committed: review the new files with git status / git diff, then commit "
    "them.\n\n"
    "Exit code 0 when there is no error, 1 when there are errors (records are still "
    "written unless --strict), 2 when the file cannot be read or holds no JSON or no "
    "memory section (then nothing is written)."
)


class Format(StrEnum):
    text = "text"
    json = "json"


@app.command("import-legacy", help=HELP)
@handles_errors
def import_legacy_command(
    file: Path = typer.Argument(
        ...,
        help="The legacy memory: a JSON file, or a text with ```json blocks (like the seed).",
        show_default=False,
    ),
    repo: Path | None = typer.Option(
        None,
        "--repo",
        help="Repository to import into (default: the one holding the current directory).",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Replace records that already exist and differ (default: keep them and report KB606).",
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Write nothing at all if any error is found (default: "
        "write every record, defective ones included, so `memkb validate` shows them).",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the files that would be written, and their text; write nothing.",
    ),
    fmt: Format = typer.Option(
        Format.text, "--format", help="Output format: text (one line per finding) or json."
    ),
) -> None:
    """Convert the orchestrator's legacy JSON memory into records in kb/ (see HELP)."""
    root = repo_root(repo)
    try:
        result = import_legacy(
            root, file, force=force, strict=strict, dry_run=dry_run, display=str(file)
        )
    except UnreadableLegacy as exc:
        _unreadable(exc, fmt)
        raise typer.Exit(2) from None
    if fmt is Format.json:
        typer.echo(_as_json(result), nl=False)
    else:
        typer.echo(_as_text(result, strict), nl=False)
    raise typer.Exit(0 if result.ok else 1)


def _unreadable(exc: UnreadableLegacy, fmt: Format) -> None:
    if fmt is Format.json:
        typer.echo(render_json([exc.finding], 0, written=[], skipped=[], unchanged=[]), nl=False)
        return
    typer.echo(finding_line(exc.finding), err=True)
    typer.echo("memkb: nothing was written", err=True)


def _as_json(result: ImportResult) -> str:
    extra: dict[str, object] = {
        "dry_run": result.dry_run,
        "written": result.written,
        "skipped": result.skipped,
        "unchanged": result.unchanged,
    }
    if result.dry_run:
        extra["contents"] = {path: result.contents[path] for path in result.written}
    return render_json(result.findings, len(result.contents), **extra)


def _as_text(result: ImportResult, strict: bool) -> str:
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
