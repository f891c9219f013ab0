"""`memkb import-legacy` and `memkb export-legacy`: the orchestrator's legacy JSON memory
into kb/ records, and memory back out in the legacy shapes."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from memkb.cli.app import (
    EXIT_USAGE,
    JSON,
    REPO,
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
    "PATH is one or more memory files or folders (a folder: every *.json and *.md file "
    "in it). Each file's shape is detected: the seed's, one file per section "
    "(success_patterns.json...), nested by category, or one entry per file; --shape "
    "forces one (see docs/import-legacy.md).\n\n"
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
    from memkb.legacy.shapes import Shape
    from memkb.legacy.source import UnreadableLegacy

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
    from memkb.legacy.shapes import NothingImportable

    findings = exc.findings if isinstance(exc, NothingImportable) else [exc.finding]
    if fmt == "json":
        failure = Failure(exc.message, "usage", exc.hint, list[object](findings))
        report_failure(failure, fmt, EXIT_USAGE)
    for finding in findings:
        typer.echo(finding_line(finding), err=True)
    typer.echo("memkb: nothing was written", err=True)
    raise typer.Exit(EXIT_USAGE)


EXPORT_HELP = (
    "Write memory in the legacy JSON shapes that orchestrators still read, with memkb as "
    "the source of truth.\n\n"
    "--shape seed (default): one document with the seed's sections (success_patterns, "
    "failure_patterns, project_templates, learning_metrics, performance_metrics) keyed by "
    "id, with the seed's field names; it re-imports whole with `memkb import-legacy`. "
    "--shape sections: success_patterns.json, failure_patterns.json, project_templates.json "
    "and learning_metrics.json ({version, last_updated, patterns|templates: [...]}) in the "
    "--output directory.\n\n"
    "Knowledge comes from the committed records (HEAD, or --as-of); figures are derived: "
    "posterior success rates and the metrics of `memkb metrics`, last_updated from Git, "
    "project_examples from outcome records (docs/import-legacy.md, Exporting).\n\n"
    "Without --output the seed document goes to stdout. With --output, stdout says what "
    "was written (--format). Never writes into kb/. Exit code 0, or 2 for a bad option, "
    "--output or --as-of."
)


class ExportShape(StrEnum):
    seed = "seed"
    sections = "sections"


@app.command("export-legacy", help=EXPORT_HELP)
@handles_errors
def export_legacy_command(
    shape: ExportShape = typer.Option(
        ExportShape.seed,
        "--shape",
        help="seed (one document, the seed's shape) or sections (a file each).",
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        help="FILE or DIR to write (a DIR for --shape sections; default: stdout).",
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Memory as it was at this date (YYYY-MM-DD, end of day UTC) or revision.",
    ),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Ignore and do not update the caches under .git/memkb/."
    ),
    repo: Path | None = REPO,
    fmt: Format = format_option("export-legacy"),
    as_json: bool = JSON,
) -> None:
    """Write memory in the legacy JSON shapes (see EXPORT_HELP)."""
    from memkb.errors import UsageError
    from memkb.legacy.export import check_output, export_legacy, write_export
    from memkb.report.legacy import export_warnings

    root = repo_root(repo)
    chosen = output_format(fmt, as_json)
    if shape is ExportShape.sections and output is None:
        raise UsageError(
            "--shape sections writes one file per section: it needs --output DIR",
            hint="e.g. --output legacy/",
        )
    target = check_output(root, output, shape.value)
    export = export_legacy(root, shape=shape.value, as_of=as_of, use_cache=not no_cache)
    render = reporter("export-legacy-document", "json")
    texts = {name: render(body) for name, body in export.documents.items()}
    if target is None:
        typer.echo(next(iter(texts.values())), nl=False)
        for line in export_warnings(export):
            typer.echo(f"memkb: {line}", err=True)
        return
    written = [str(p) for p in write_export(target, shape.value, texts)]
    typer.echo(reporter("export-legacy", chosen)(export, written), nl=False)
