"""`memkb check`: validate a change to memory (base -> head) for a pull request."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

import typer

from memkb.cli.app import JSON, app, format_option, handles_errors, output_format, repo_root
from memkb.errors import UsageError
from memkb.report import reporter
from memkb.rules.change import Limits
from memkb.validation.check import CheckResult, run_check


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"
    markdown = "markdown"


DEFAULT_LIMITS = Limits()


@app.command()
@handles_errors
def check(
    base: str = typer.Option(
        ..., "--base", help="The revision the change is made against, e.g. origin/main."
    ),
    head: str | None = typer.Option(
        None,
        "--head",
        help="The revision holding the change (default: the working tree, e.g. the pull "
        "request's merge commit that CI checked out).",
    ),
    repo: Path | None = typer.Option(None, "--repo", help="Repository (default: the current)."),
    fmt: Format = format_option("check"),
    as_json: bool = JSON,
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report to this file instead of stdout."
    ),
    summary_file: Path | None = typer.Option(
        None,
        "--summary-file",
        help="Also append the markdown summary to this file (in GitHub Actions: "
        "$GITHUB_STEP_SUMMARY).",
    ),
    risk_output: Path | None = typer.Option(
        None,
        "--risk-output",
        help="Append `risk=<class>` and `ok=<true|false>` to this file (default in GitHub "
        "Actions: $GITHUB_OUTPUT).",
    ),
    max_file_bytes: int = typer.Option(
        DEFAULT_LIMITS.file_bytes, "--max-file-bytes", help="Largest changed file allowed."
    ),
    max_files: int = typer.Option(
        DEFAULT_LIMITS.change_files, "--max-files", help="Most files one change may touch."
    ),
    max_change_bytes: int = typer.Option(
        DEFAULT_LIMITS.change_bytes, "--max-change-bytes", help="Most bytes one change may add."
    ),
    no_metrics: bool = typer.Option(
        False, "--no-metrics", help="Skip the metrics delta (figures before and after)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the validate cache."),
) -> None:
    """Check a change to memory: everything `validate` checks on the head state, plus the
    change rules (permanent ids, append-only outcomes, referenced deletions and
    deprecations, hand-edited figures, schema versions, size limits) and content safety
    (secrets, prompt injection). Prints the risk class: none, evidence, knowledge or
    structure. Exit 0 clean, 1 errors, 2 usage or environment problem.
    """
    if min(max_file_bytes, max_files, max_change_bytes) <= 0:
        raise UsageError("size limits must be positive numbers")
    root = repo_root(repo)
    result = run_check(
        root,
        base,
        head,
        limits=Limits(max_file_bytes, max_files, max_change_bytes),
        use_cache=not no_cache,
        with_metrics=not no_metrics,
    )
    report = reporter("check", output_format(fmt, as_json))(result)
    if output is not None:
        _write(output, report, append=False)
    else:
        typer.echo(report, nl=False)
    if summary_file is not None:
        _write(summary_file, reporter("check", "markdown")(result), append=True)
    _write_risk(result, risk_output)
    raise typer.Exit(0 if result.ok else 1)


def _write_risk(result: CheckResult, risk_output: Path | None) -> None:
    target = risk_output
    if target is None and os.environ.get("GITHUB_OUTPUT"):
        target = Path(os.environ["GITHUB_OUTPUT"])
    if target is not None:
        _write(target, reporter("check-outputs", "text")(result), append=True)


def _write(path: Path, text: str, *, append: bool) -> None:
    try:
        with path.open("a" if append else "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from exc
