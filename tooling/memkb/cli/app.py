"""The typer app and what every command shares: finding the repository, the output
options, and the one table that maps every failure to its exit code and message."""

from __future__ import annotations

import functools
import itertools
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

# typer 0.28 vendors click; its exceptions are not re-exported (pinned below 0.29).
from typer._click.exceptions import ClickException

from memkb import startup
from memkb._version import __version__
from memkb.errors import (
    MemkbError,
    NotFoundError,
    OutputError,
    RecordError,
    RepoError,
    UsageError,
)
from memkb.report import formats, reporter

if TYPE_CHECKING:  # the renderers of failures load the rule table: only when one is shown
    from memkb.report.errors import Failure

app = typer.Typer(
    name="memkb",
    help="The persistent memory of an AI orchestrator: YAML records in Git, validated, "
    "written as clean commits and measured from evidence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help, not rich's panels: importing rich costs more than all of typer
    # (about 150 ms of CPU), which `memkb --help` would pay on every call.
    rich_markup_mode=None,
    # --install-completion / --show-completion (bash, zsh, fish, powershell).
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Exit codes, the same for every command (README "Exit codes").
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# Every error family memkb raises on purpose -> (exit code, stable `code` in JSON errors).
# The first matching class wins, so subclasses come before their parents.
EXIT_CODES: list[tuple[type[MemkbError], int, str]] = [
    (NotFoundError, EXIT_USAGE, "not-found"),
    (UsageError, EXIT_USAGE, "usage"),
    (RepoError, EXIT_USAGE, "environment"),
    (RecordError, EXIT_FINDINGS, "refused"),
    (MemkbError, EXIT_USAGE, "usage"),
]

BUG_HINT = (
    "this is a bug in memkb: rerun as `memkb --debug COMMAND ...` (or with MEMKB_DEBUG=1) "
    "for the traceback and report it with the command you ran"
)

REPO = typer.Option(
    None, "--repo", help="Repository (default: the one holding the current directory)."
)
JSON = typer.Option(False, "--json", help="Same as --format json: machine-readable output.")


def format_option(what: str) -> Any:
    """The --format option of a command whose output the registry renders as `what`; its
    type is the command's Format enum, which a test holds equal to formats(what)."""
    return typer.Option(
        "text",
        "--format",
        help=f"Output format: {', '.join(formats(what))} (--json is the same as --format json).",
    )


def output_format(fmt: str, as_json: bool) -> str:
    """The format asked for: --json wins, as it is the same as --format json."""
    return "json" if as_json else fmt


def repo_root(repo: Path | None) -> Path:
    """The repository to work on: --repo if given (it must hold kb/), else the nearest
    directory at or above the current one that holds kb/."""
    from memkb.kb.layout import KB_DIR, find_root  # here: --help and --version need no repo

    if repo is None:
        return find_root(Path.cwd())
    if not (repo / KB_DIR).is_dir():
        raise RepoError(f"{repo} has no kb/ folder", hint="pass the root of a memkb repository")
    return repo.resolve()


def exit_code(exc: MemkbError) -> tuple[int, str]:
    """The exit code and JSON `code` of an error memkb raised on purpose."""
    return next((code, name) for cls, code, name in EXIT_CODES if isinstance(exc, cls))


def report_failure(failure: Failure, fmt: str, status: int) -> NoReturn:
    """Render a failure (JSON on stdout, text on stderr) and exit with `status`."""
    if fmt == "json":
        typer.echo(reporter("error", "json")(failure), nl=False)
    else:
        typer.echo(reporter("error", "text")(failure), nl=False, err=True)
    raise typer.Exit(status)


def failure(
    message: str, code: str, hint: str | None = None, findings: list[object] | None = None
) -> Failure:
    """A Failure to report; its module is imported only when something failed."""
    from memkb.report.errors import Failure

    return Failure(message, code, hint, findings or [])


def fail(exc: MemkbError, fmt: str = "text") -> NoReturn:
    """Report a MemkbError in `fmt` and exit with its code (1 refused, 2 usage/env)."""
    status, code = exit_code(exc)
    findings = exc.findings if isinstance(exc, RecordError) else []
    report_failure(failure(exc.message, code, exc.hint, list(findings)), fmt, status)


# Set by the app callback for the run under way (one run per process, or per CliRunner call).
_debug = {"on": False}


def debugging() -> bool:
    """True with --debug or MEMKB_DEBUG=1: unexpected errors then show their traceback."""
    return _debug["on"] or os.environ.get("MEMKB_DEBUG", "") not in ("", "0")


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: every failure becomes a message (JSON with --json/--format json) and the
    exit code of EXIT_CODES; a bug exits 3 with a one-line hint, not a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        fmt = output_format(str(kwargs.get("fmt", "text")), bool(kwargs.get("as_json")))
        startup.release_collector()  # the command starts: its start-up is over
        try:
            return func(*args, **kwargs)
        except MemkbError as exc:
            fail(exc, fmt)
        except KeyboardInterrupt:
            report_failure(failure("interrupted", "interrupted"), fmt, EXIT_INTERRUPTED)
        except (typer.Exit, typer.Abort, BrokenPipeError):
            raise  # typer's own ways to end a command (an Exit is a RuntimeError); a
            # closed pipe (`| head`) is the entry point's to end quietly
        except OSError as exc:
            if not stdout_refused(exc):
                raise_unexpected(exc, fmt)
            fail(OutputError(exc))  # on stderr: stdout takes no JSON error either
        except Exception as exc:
            raise_unexpected(exc, fmt)

    return wrapper


def raise_unexpected(exc: Exception, fmt: str) -> NoReturn:
    """Report a bug: one line and the hint to rerun with --debug (the traceback then)."""
    if debugging():
        traceback.print_exc()
    message = f"unexpected error: {type(exc).__name__}: {exc}"
    report_failure(failure(message, "internal", BUG_HINT), fmt, EXIT_INTERNAL)


def stdout_refused(exc: OSError) -> bool:
    """True when `exc` is the output refusing what memkb printed (a full disk, a device
    gone), not a failure of memkb's own work: every command prints through click's echo,
    so the error was raised inside it."""
    innermost = None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        innermost = frame.f_code
    return innermost is not None and innermost is echo_code()


@functools.cache
def echo_code() -> object:
    """The code object of click's echo, which typer.echo is."""
    return typer.echo.__code__


def wants_json(argv: list[str]) -> bool:
    """True when the command line asks for JSON, read from the raw words: used when the
    parser itself failed, so no option was parsed."""
    pairs = itertools.pairwise(argv)
    return "--json" in argv or "--format=json" in argv or ("--format", "json") in pairs


def parse_failed(exc: Exception, argv: list[str]) -> int:
    """Report what typer's parser raised (an unknown option, a bad --format value, a
    missing argument; Abort for an unanswered prompt) and return the exit code. Anything
    else reaching the entry point is re-raised."""
    if isinstance(exc, typer.Abort) and isinstance(exc.__context__, KeyboardInterrupt):
        typer.echo("memkb: error: interrupted", err=True)  # Ctrl-C at a prompt
        return EXIT_INTERRUPTED
    if isinstance(exc, typer.Abort):
        typer.echo("memkb: error: aborted", err=True)
        return EXIT_FINDINGS  # refused: the prompt was not answered (end of input)
    if not isinstance(exc, ClickException):
        raise exc
    if not wants_json(argv):
        exc.show()
        return exc.exit_code
    where = getattr(getattr(exc, "ctx", None), "command_path", "memkb")
    problem = failure(exc.format_message(), "usage", f"see `{where} --help`")
    typer.echo(reporter("error", "json")(problem), nl=False)
    return EXIT_USAGE


def _version(value: bool) -> None:
    if value:
        typer.echo(f"memkb {__version__}")
        raise typer.Exit()


@app.callback()
def _group(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print memkb's version and exit.",
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Show the traceback of an unexpected error (same as MEMKB_DEBUG=1).",
    ),
) -> None:
    # A callback keeps `memkb` a group of subcommands even when the console script has
    # registered only the one command being run (typer would otherwise run it bare).
    del version  # handled by its eager callback
    _debug["on"] = debug
