"""`memkb metrics` and `memkb history`: parse options, call memkb.history, render."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from memkb.cli.app import app, handles_errors, repo_root
from memkb.errors import UsageError
from memkb.report.findings import markdown_cell

UNKNOWN = "unknown"
PROGRESS_MIN = 500  # commits or records: below this the work is too quick for a bar


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


REPO = typer.Option(
    None, "--repo", help="Repository (default: the one holding the current directory)."
)
JSON = typer.Option(False, "--json", help="Same as --format json: machine-readable output.")
FORMAT = typer.Option(Format.text, "--format", help="text (tables), json or markdown.")


def _fmt(value: Any) -> str:
    """One cell: None is 'unknown', floats get 3 decimals, lists and dicts are joined."""
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value + 0.0:.3f}".replace("-0.000", "0.000")  # no "-0.000" for a tiny loss
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) or "-"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], markdown: bool) -> str:
    """A text table with aligned columns, or a GitHub markdown table."""
    cells = [[_fmt(c) for c in row] for row in rows]
    if markdown and not cells:
        return "_none_\n"
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(map(markdown_cell, row)) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    if not cells:
        return "(none)\n"
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    out = [headers, *cells]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in out
    )


def _section(title: str, body: str, markdown: bool) -> str:
    return f"\n### {title}\n\n{body}" if markdown else f"\n{title}\n{body}"


def _pairs(figures: dict[str, Any], markdown: bool) -> str:
    return table(["figure", "value"], list(figures.items()), markdown)


def _interval(row: dict[str, Any]) -> str:
    iv = row["interval_90"]
    return UNKNOWN if iv is None else f"{iv[0]:.3f}-{iv[1]:.3f}"


def _prior(row: dict[str, Any]) -> str:
    p = row["prior"]
    return "-" if p is None else f"{p['rate']:.3f} (w {_fmt(p['weight'])})"


def _day(stamp: str | None) -> str | None:
    return stamp[:10] if stamp else None


# Each table of the report: title, key in the report, column headers, row builder.
TABLES: list[tuple[str, str, list[str], Callable[[dict[str, Any]], list[Any]]]] = [
    ("Success patterns", "patterns",
     ["pattern", "status", "applied", "success", "partial", "failure", "observed", "prior",
      "posterior", "90% interval", "first seen", "last changed"],
     lambda r: [r["id"], r["status"], r["applications"], r["successes"], r["partials"],
                r["failures"], r["observed_rate"], _prior(r), r["posterior_mean"],
                _interval(r), _day(r["first_seen"]), _day(r["last_changed"])]),
    ("Templates", "templates",
     ["template", "status", "uses", "success", "partial", "failure", "realised", "declared",
      "posterior", "90% interval"],
     lambda r: [r["id"], r["status"], r["uses"], r["successes"], r["partials"], r["failures"],
                r["observed_rate"], r["declared"], r["posterior_mean"], _interval(r)]),
    ("Failure patterns", "failures",
     ["failure", "status", "occurrences", "recoveries", "recovery rate", "prevention used"],
     lambda r: [r["id"], r["status"], r["occurrences"], r["recoveries"], r["recovery_rate"],
                r["prevention_used"]]),
    ("Droids", "droids", ["droid", "projects", "success rate"],
     lambda r: [r["id"], r["projects"], r["success_rate"]]),
]  # fmt: skip


def render_report(rep: dict[str, Any], markdown: bool) -> str:
    """The full metrics report as text tables or markdown."""
    asof = rep["as_of"]
    where = f"{asof['commit'][:10]} ({asof['date']})" if asof["commit"] else "no commit yet"
    since = f", outcomes since {rep['since']}" if rep["since"] else ""
    head = f"memkb metrics as of {where}{since}"
    out = f"## {head}\n" if markdown else head + "\n"
    out += _section("Learning metrics", _pairs(rep["learning_metrics"], markdown), markdown)
    out += _section("Performance metrics", _pairs(rep["performance_metrics"], markdown), markdown)
    for title, key, headers, row in TABLES:
        out += _section(title, table(headers, [row(r) for r in rep[key]], markdown), markdown)
    if rep["skipped"]:
        skipped = [[s["path"], s["reason"]] for s in rep["skipped"]]
        out += _section(
            "Skipped (unreadable) records", table(["path", "reason"], skipped, markdown), markdown
        )
    return out


SERIES_COLUMNS = [
    ("learning_metrics", "total_projects"),
    ("learning_metrics", "success_rate"),
    ("learning_metrics", "learning_effectiveness"),
    ("learning_metrics", "pattern_application_rate"),
    ("learning_metrics", "failure_recovery_rate"),
    ("performance_metrics", "user_satisfaction"),
]


def render_series(rep: dict[str, Any], markdown: bool) -> str:
    """The monthly learning curve as one table."""
    rows = [
        [p["month"], *(p[group][name] for group, name in SERIES_COLUMNS)] for p in rep["series"]
    ]
    head = "memkb metrics by month (as known at each month's end)"
    return (f"## {head}\n\n" if markdown else head + "\n") + table(
        ["month", *(name for _, name in SERIES_COLUMNS)], rows, markdown
    )


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


def _emit(
    data: dict[str, Any], fmt: Format, as_json: bool, render: Callable[[dict[str, Any], bool], str]
) -> None:
    if as_json or fmt is Format.json:
        # One line: json's C encoder only runs without indent, and a 10,000-record
        # report takes 3x longer to indent than to compute from a warm cache.
        typer.echo(json.dumps(data, ensure_ascii=False))
    else:
        typer.echo(render(data, fmt is Format.markdown), nl=False)


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
    fmt: Format = FORMAT,
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
        _emit(history.series(root, **kwargs), fmt, as_json, render_series)
    else:
        _emit(history.report(root, **kwargs), fmt, as_json, render_report)


def render_history(rep: dict[str, Any], markdown: bool) -> str:
    """One record's commits, newest first, with the field-level summary of each."""
    head = f"{rep['kind']} {rep['id']} ({rep['path']}): {len(rep['commits'])} commit(s)"
    if markdown:
        rows = [
            [
                c["commit"][:10],
                c["date"],
                c["author"],
                c["agent"] or "-",
                c["change"],
                "; ".join(c["summary"]) or "-",
            ]
            for c in rep["commits"]
        ]
        return f"## {head}\n\n" + table(
            ["commit", "date", "author", "agent", "change", "summary"], rows, True
        )
    out = head + "\n"
    for c in rep["commits"]:
        agent = f" via {c['agent']}" if c["agent"] else ""
        out += f"\n{c['commit'][:10]}  {c['date']}  {c['author']}{agent}  {c['change']}\n"
        out += "".join(f"    {line}\n" for line in c["summary"])
    return out


@app.command("history")
@handles_errors
def history_cmd(
    kind: str = typer.Argument(..., help="pattern, failure, template, outcome or vocabulary."),
    record_id: str = typer.Argument(..., metavar="ID", help="The record's id."),
    as_json: bool = JSON,
    fmt: Format = FORMAT,
    repo: Path | None = REPO,
) -> None:
    """Every commit that touched one record (following renames): date, author, agent
    (Memory-Agent trailer) and what changed, field by field."""
    from memkb import history

    root = repo_root(repo)
    _emit(history.record_history(root, kind, record_id), fmt, as_json, render_history)
