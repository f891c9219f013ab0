"""`memkb import-legacy`: the orchestrator's legacy JSON memory into kb/ records."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

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
from memkb.report import reporter
from memkb.report.errors import Failure
from memkb.report.findings import finding_line

if TYPE_CHECKING:
    from memkb.legacy.source import UnreadableLegacy

# One line per paragraph: the help renderer wraps lines to the terminal itself.
HELP = (
    "Convert the orchestrator's legacy JSON memory into records in kb/.\n\n"
    "Success patterns, failure patterns and project templates become records; each "
    "pattern's project examples become outcome records; declared figures (success_rate, "
    "success_probability) become weighted priors; learning and performance metrics are "
    "derived by `memkb metrics` and are not imported.\n\n"
    "Every defect is reported at the legacy file's line and column: "
    "FILE:line:col: severity CODE message (codes KB601-KB612, see docs/import-legacy.md).\n\n"
    "Names of droids, domains and phases that kb/vocabulary.yaml lacks are errors "
    "(KB604); --extend-vocabulary adds them to it instead, except near misses of existing "
    "names.\n\n"
    "The summary counts record files added, updated (--force), unchanged and skipped; "
    "running the same import twice changes nothing.\n\n"
    "Nothing is committed unless --commit: review the new files with git status / git "
    "diff, then commit them.\n\n"
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
    extend_vocabulary: bool = typer.Option(
        False,
        "--extend-vocabulary",
        help="Add the droids, domains and phases the memory uses and kb/vocabulary.yaml "
        "lacks to it (KB612), each with a description saying where it came from; near "
        "misses of existing names stay errors (KB604, with 'did you mean').",
    ),
    commit: bool = typer.Option(
        False,
        "--commit",
        help="Commit the imported records and the vocabulary as one commit with "
        "Memory-Action: import, Memory-Agent and Memory-Source trailers; only when there "
        "is no error (default: write the files and commit nothing).",
    ),
    agent: str | None = typer.Option(
        None,
        "--agent",
        help="Who imports, for the Memory-Agent trailer of --commit "
        "(default: $MEMKB_AGENT, else human:<login>).",
    ),
    fmt: Format = format_option("import-legacy"),
    as_json: bool = JSON,
) -> None:
    """Convert the orchestrator's legacy JSON memory into records in kb/ (see HELP)."""
    # The importer (GitPython, the schemas, ruamel) loads only when the command runs.
    from memkb.legacy.importer import import_legacy
    from memkb.legacy.source import UnreadableLegacy

    root = repo_root(repo)
    chosen = output_format(fmt, as_json)
    try:
        result = import_legacy(
            root,
            file,
            force=force,
            strict=strict,
            dry_run=dry_run,
            display=str(file),
            extend_vocabulary=extend_vocabulary,
            commit=commit,
            agent=agent,
        )
    except UnreadableLegacy as exc:
        _unreadable(exc, chosen)
    typer.echo(reporter("import-legacy", chosen)(result, strict), nl=False)
    raise typer.Exit(0 if result.ok else 1)


def _unreadable(exc: UnreadableLegacy, fmt: str) -> NoReturn:
    """Nothing was read: the finding that says why, then exit 2."""
    if fmt == "json":
        failure = Failure(exc.message, "usage", exc.hint, [exc.finding])
        report_failure(failure, fmt, EXIT_USAGE)
    typer.echo(finding_line(exc.finding), err=True)
    typer.echo("memkb: nothing was written", err=True)
    raise typer.Exit(EXIT_USAGE)
