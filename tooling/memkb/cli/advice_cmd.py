"""`memkb recommend` and `memkb brief`: parse the query, call memkb.advice, render."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from memkb.cli.app import JSON, REPO, app, format_option, handles_errors, output_format, repo_root
from memkb.report import reporter


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


DOMAIN = typer.Option(
    [], "--domain", help="A domain of the project (repeatable; aliases are accepted)."
)
PHASE = typer.Option([], "--phase", help="A phase the advice is for (repeatable).")
DROID = typer.Option([], "--droid", help="A droid available to the project (repeatable).")
TEXT = typer.Option("", "--text", help="Free description of the project, matched by BM25.")
LIMIT = typer.Option(5, "--limit", help="Items per section (templates, patterns, guards).")
AS_OF = typer.Option(
    None,
    "--as-of",
    help="Advice as memory knew it at this date (YYYY-MM-DD, end of day UTC) or revision.",
)


@app.command()
@handles_errors
def recommend(
    domain: list[str] = DOMAIN,
    phase: list[str] = PHASE,
    droid: list[str] = DROID,
    text: str = TEXT,
    limit: int = LIMIT,
    as_of: str | None = AS_OF,
    as_json: bool = JSON,
    fmt: Format = format_option("recommend"),
    repo: Path | None = REPO,
) -> None:
    """Templates, success patterns and failure guards for a project, ranked by relevance
    and evidence, each with its reasons and outcome ids (formulas: docs/advice.md)."""
    from memkb import advice

    query = advice.make_query(domain, phase, droid, text, limit, as_of)
    answer = advice.recommend(repo_root(repo), query)
    typer.echo(reporter("recommend", output_format(fmt, as_json))(answer), nl=False)


@app.command()
@handles_errors
def brief(
    domain: list[str] = DOMAIN,
    phase: list[str] = PHASE,
    droid: list[str] = DROID,
    text: str = TEXT,
    limit: int = LIMIT,
    as_of: str | None = AS_OF,
    max_tokens: int = typer.Option(
        1500, "--max-tokens", help="Budget of the brief in tokens, estimated as ceil(chars/4)."
    ),
    as_json: bool = JSON,
    fmt: Format = format_option("brief"),
    repo: Path | None = REPO,
) -> None:
    """The same advice as a compact Markdown context brief for the orchestrator's prompt,
    headed by the commit, the record ids used and the brief_id (docs/advice.md)."""
    from memkb import advice

    query = advice.make_query(domain, phase, droid, text, limit, as_of)
    answer = advice.brief(repo_root(repo), query, max_tokens)
    typer.echo(reporter("brief", output_format(fmt, as_json))(answer), nl=False)
