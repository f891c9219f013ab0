"""`memkb search`: parse options, call memkb.search, render. Exit 1 when nothing matches,
as grep does, so a script can test for a match without reading the output."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from memkb.cli.app import (
    EXIT_FINDINGS,
    JSON,
    REPO,
    app,
    format_option,
    handles_errors,
    output_format,
    repo_root,
)
from memkb.report import reporter


class Format(StrEnum):
    text = "text"
    json = "json"


@app.command()
@handles_errors
def search(
    query: str = typer.Argument(
        ..., help="Words to find, all of them, in any field; plain text, not FTS5 syntax."
    ),
    kind: list[str] | None = typer.Option(
        None, "--kind", help="Only this kind: pattern, failure, template or outcome (repeatable)."
    ),
    limit: int = typer.Option(10, "--limit", help="At most this many records (default 10)."),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Search memory as it was at this date (YYYY-MM-DD, end of day UTC) or revision.",
    ),
    fmt: Format = format_option("search"),
    as_json: bool = JSON,
    repo: Path | None = REPO,
) -> None:
    """Full-text search over every record of HEAD, ranked by BM25, with the field and a
    snippet of each match (docs/search.md). Exit 1 when no record matches."""
    from memkb.search import run  # imported here: other commands need not load sqlite3

    result = run(repo_root(repo), query, kinds=kind, limit=limit, as_of=as_of)
    typer.echo(reporter("search", output_format(fmt, as_json))(result), nl=False)
    if not result.hits:
        raise typer.Exit(EXIT_FINDINGS)
