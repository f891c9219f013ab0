"""The typer app and what every command shares: finding the repository and turning
MemkbError into a message and an exit code instead of a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from memkb.errors import MemkbError, RecordError, RepoError
from memkb.kb.layout import KB_DIR, find_root

app = typer.Typer(
    name="memkb",
    help="The persistent memory of an AI orchestrator: YAML records in Git, validated, "
    "written as clean commits and measured from evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def repo_root(repo: Path | None) -> Path:
    """The repository to work on: --repo if given (it must hold kb/), else the nearest
    directory at or above the current one that holds kb/."""
    if repo is None:
        return find_root(Path.cwd())
    if not (repo / KB_DIR).is_dir():
        raise RepoError(f"{repo} has no kb/ folder", hint="pass the root of a memkb repository")
    return repo.resolve()


def fail(exc: MemkbError) -> None:
    """Print a MemkbError for a person and exit with its code (1 findings, 2 usage/env)."""
    typer.echo(f"memkb: error: {exc.message}", err=True)
    if isinstance(exc, RecordError):
        for finding in exc.findings:
            typer.echo(f"  {finding}", err=True)
    if exc.hint:
        typer.echo(f"  hint: {exc.hint}", err=True)
    raise typer.Exit(exc.exit_code)


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: turn MemkbError into a message and exit code instead of a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MemkbError as exc:
            fail(exc)
        except KeyboardInterrupt:
            typer.echo("memkb: interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


@app.callback()
def _group() -> None:
    # A callback keeps `memkb` a group of subcommands even when the console script has
    # registered only the one command being run (typer would otherwise run it bare).
    pass
