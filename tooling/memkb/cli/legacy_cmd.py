"""`memkb import-legacy`: the orchestrator's legacy JSON memory into kb/ records."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import NoReturn

import typer

from memkb.cli.app import (
    EXIT_USAGE,
    JSON,
    app,
    format_option,
    handles_errors,
    output_format,
    repo_root,
    report_failure,
)
from memkb.legacy.importer import import_legacy
from memkb.legacy.shapes import NothingImportable, Shape
from memkb.legacy.source import UnreadableLegacy
from memkb.report import reporter
from memkb.report.errors import Failure
from memkb.report.findings import finding_line

# One line per paragraph: the help renderer wraps lines to the terminal itself.
HELP = (
    "Convert the orchestrator's legacy JSON memory into records in kb/.\n\n"
    "PATH is one or more memory files or folders (a folder: every *.json and *.md file "
    "in it). Each file's shape is detected: the seed's, one file per section "
    "(success_patterns.json...), nested by category, or one entry per file; --shape "
    "forces one (see docs/import-legacy.md).\n\n"
    "Success patterns, failure patterns and project templates become records; each "
    "pattern's project examples become outcome records; declared figures (success_rate, "
    "success_probability) become weighted priors; learning and performance metrics are "
    "derived by `memkb metrics` and are not imported.\n\n"
    "Every defect is reported at the legacy file's line and column: "
    "FILE:line:col: severity CODE message (codes KB601-KB611, see docs/import-legacy.md).\n\n"
    "Nothing is committed: review the new files with git status / git diff, then commit "
    "them.\n\n"
    "Exit code 0 when there is no error, 1 when there are errors (records are still "
    "written unless --strict), 2 when no file given can be read and classified (then "
    "nothing is written)."
)


class ShapeChoice(StrEnum):
    seed = "seed"
    sections = "sections"
    nested = "nested"
    entry = "entry"


class Format(StrEnum):
    text = "text"
    json = "json"


@app.command("import-legacy", help=HELP)
@handles_errors
def import_legacy_command(
    paths: list[Path] = typer.Argument(
        ...,
        metavar="PATH...",
        help="Legacy memory files (JSON, or a text with ```json blocks like the seed) and "
        "folders of them.",
        show_default=False,
    ),
    shape: ShapeChoice | None = typer.Option(
        None,
        "--shape",
        help="Read every file in this shape instead of detecting it: seed, sections (one "
        "file per section), nested (by category) or entry (one entry per file).",
        case_sensitive=False,
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
    fmt: Format = format_option("import-legacy"),
    as_json: bool = JSON,
) -> None:
    """Convert the orchestrator's legacy JSON memory into records in kb/ (see HELP)."""
    root = repo_root(repo)
    chosen = output_format(fmt, as_json)
    try:
        result = import_legacy(
            root,
            paths,
            shape=Shape(shape.value) if shape else None,
            force=force,
            strict=strict,
            dry_run=dry_run,
        )
    except UnreadableLegacy as exc:
        _unreadable(exc, chosen)
    typer.echo(reporter("import-legacy", chosen)(result, strict), nl=False)
    raise typer.Exit(0 if result.ok else 1)


def _unreadable(exc: UnreadableLegacy, fmt: str) -> NoReturn:
    """Nothing was read: the finding that says why, then exit 2."""
    findings = exc.findings if isinstance(exc, NothingImportable) else [exc.finding]
    if fmt == "json":
        failure = Failure(exc.message, "usage", exc.hint, list[object](findings))
        report_failure(failure, fmt, EXIT_USAGE)
    for finding in findings:
        typer.echo(finding_line(finding), err=True)
    typer.echo("memkb: nothing was written", err=True)
    raise typer.Exit(EXIT_USAGE)
