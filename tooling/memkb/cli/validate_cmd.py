"""`memkb validate`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from memkb.cli.app import JSON, app, format_option, handles_errors, output_format, repo_root
from memkb.report import reporter


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"
    markdown = "markdown"


# One line per paragraph: the help renderer wraps lines to the terminal itself.
HELP = (
    "Check every knowledge file: YAML safety, schema, file names, ids and references.\n\n"
    "Prints one line per finding, `path:line:col: severity CODE message`, then a summary; "
    "json has the same fields, github prints workflow annotations, sarif a SARIF 2.1.0 log "
    "for code scanning, markdown a job summary.\n\n"
    "Exit code 0 when there is no error (warnings allowed), 1 when there are errors, 2 for "
    "usage or environment problems, 3 for an unexpected error. `memkb rules` lists every code."
)


@app.command(help=HELP)
@handles_errors
def validate(
    paths: list[str] = typer.Argument(
        None,
        help="Files or folders to report on (default: the whole kb/). The whole KB is "
        "still loaded, so cross-file rules (ids, references) stay correct.",
    ),
    repo: Path | None = typer.Option(
        None,
        "--repo",
        help="Repository to validate (default: the one holding the current directory).",
    ),
    fmt: Format = format_option("validate"),
    as_json: bool = JSON,
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Ignore and do not update the result cache under .git/memkb/."
    ),
    ignore: list[str] = typer.Option(
        [],
        "--ignore",
        help="Do not report this code (repeatable), on top of `ignore` in [tool.memkb] of "
        "pyproject.toml and in kb/.memkb.yaml. Change and safety codes cannot be ignored.",
    ),
    select: list[str] = typer.Option(
        [],
        "--select",
        help="Report only this code (repeatable); ignores still apply on top.",
    ),
) -> None:
    """Check every knowledge file (see HELP)."""
    # The core is imported here, and the engine only when the sealed answer is missing: a
    # warm run of an unchanged KB loads the scan, the answer and the renderer, no rule,
    # loader or schema (tooling/bench/README.md, "Issue 12: the warm run"); the next same
    # command line is answered by memkb.cli.express, before typer loads.
    from datetime import date

    from memkb.cli import express
    from memkb.findings import has_errors
    from memkb.kb.discover import normalize_paths
    from memkb.rules.selection import load_selection
    from memkb.validation import warm

    root = repo_root(repo)
    selection = load_selection(root, ignore, select or None)
    only = normalize_paths(root, paths, Path.cwd()) if paths else None
    today = date.today()
    probe = warm.probe(root, today, express.scanned(root)) if not no_cache else None
    if probe is not None and probe.answer is not None:
        findings, files = selection.apply(probe.answer.findings(only)), probe.answer.files
    else:
        from memkb.kb.snapshot import WorkTree
        from memkb.validation.engine import validate as judge

        result = judge(
            WorkTree(root),
            only=only,
            use_cache=not no_cache,
            today=today,
            selection=selection,
            probe=probe,
        )
        findings, files = result.findings, result.files
    output = reporter("validate", output_format(fmt, as_json))(findings, files)
    status = 1 if has_errors(findings) else 0
    if probe is not None and probe.answer is not None:  # its stats proven: keep the output
        express.remember(root, probe.key, output, status)
    typer.echo(output, nl=False)
    raise typer.Exit(status)
