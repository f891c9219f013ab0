"""`memkb metrics` and `memkb history`: parse options, call memkb.history, render."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from memkb.cli.app import JSON, REPO, app, format_option, handles_errors, output_format, repo_root
from memkb.errors import UsageError
from memkb.report import reporter

PROGRESS_MIN = 500  # commits or records: below this the work is too quick for a bar


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


def progress_bar() -> Callable[[str, int, int], None] | None:
    """A stderr progress callback when stderr is a terminal, else None (pipes stay clean).

    Drawn only for long work (PROGRESS_MIN items), redrawn at most ten times a second;
    each phase (commits walked, then records read) ends its line when complete."""
    if not sys.stderr.isatty():
        return None
    last = [0.0]

    def show(what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if total < PROGRESS_MIN or (now - last[0] < 0.1 and done < total):
            return
        last[0] = now
        width = 30
        filled = width * min(done, total) // max(total, 1)
        sys.stderr.write(
            f"\rreading history [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what}"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _emit(what: str, data: dict[str, Any], fmt: str, as_json: bool) -> None:
    typer.echo(reporter(what, output_format(fmt, as_json))(data), nl=False)


@app.command()
@handles_errors
def metrics(
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Figures as memory knew them at this date (YYYY-MM-DD, end of day UTC) or revision.",
    ),
    since: str | None = typer.Option(
        None, "--since", help="Only outcomes dated on or after this date (YYYY-MM-DD)."
    ),
    series: str | None = typer.Option(
        None,
        "--series",
        help="Time series: 'month' gives the figures as known at the end of each month.",
    ),
    as_json: bool = JSON,
    fmt: Format = format_option("metrics"),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Ignore and do not update the history cache under .git/memkb/."
    ),
    repo: Path | None = REPO,
) -> None:
    """Figures derived from outcome records and Git history (formulas: docs/metrics.md).

    Learning and performance metrics with the seed's names, then per pattern, template,
    failure pattern and droid. A figure without data is 'unknown' (null in JSON).
    """
    from memkb import history  # imported here: other commands need not pay for it

    root = repo_root(repo)
    if series not in (None, "month"):
        raise UsageError(f"unknown series '{series}'", hint="use --series month")
    kwargs: dict[str, Any] = {
        "as_of": as_of,
        "since": since,
        "use_cache": not no_cache,
        "progress": progress_bar(),
    }
    if series:
        _emit("metrics-series", history.series(root, **kwargs), fmt, as_json)
    else:
        _emit("metrics", history.report(root, **kwargs), fmt, as_json)


@app.command("history")
@handles_errors
def history_cmd(
    kind: str = typer.Argument(..., help="pattern, failure, template, outcome or vocabulary."),
    record_id: str = typer.Argument(..., metavar="ID", help="The record's id."),
    as_json: bool = JSON,
    fmt: Format = format_option("history"),
    repo: Path | None = REPO,
) -> None:
    """Every commit that touched one record (following renames): date, author, agent
    (Memory-Agent trailer) and what changed, field by field."""
    from memkb import history

    root = repo_root(repo)
    _emit("history", history.record_history(root, kind, record_id), fmt, as_json)
