"""The console script: imports only the module of the command being run.

Every command module imports part of the core (ruamel.yaml, jsonschema-rs, the rules...);
importing them all costs about 0.4 s, which would be most of a warm `memkb validate`.
`memkb --help` imports none: it lists the commands from memkb.cli.commands (the click group
that does so is memkb.cli.group, imported with typer only when a command runs). A repeated
`memkb validate` of an unchanged KB imports not even typer (memkb.cli.express)."""

from __future__ import annotations

import contextlib
import os
import sys

EXIT_ENVIRONMENT = 2  # memkb.cli.app.EXIT_USAGE: the usage or environment error


def run() -> None:
    """Console-script entry point: the exit codes of memkb.cli.app.EXIT_CODES, and a bad
    option or value is a usage error (2), a JSON error object with --json."""
    argv = sys.argv[1:]
    try:
        from memkb.cli.app import app, parse_failed
        from memkb.cli.group import LazyCommands

        if argv[:1] == ["validate"]:  # its output may be kept for the next same run
            from memkb.cli import express

            express.started(argv)
        # No module is imported before typer builds the group: the group would then
        # build every command the module registers. LazyCommands imports the one run.
        app.info.cls = LazyCommands
        status = app(standalone_mode=False)  # typer.Exit(n) returns n instead of exiting
    except BrokenPipeError:  # output piped into `head`; nothing left to say
        sys.stderr.close()
        return
    except KeyboardInterrupt:  # before or after a command ran (import, parsing)
        sys.stderr.write("memkb: error: interrupted\n")
        sys.exit(130)
    except Exception as exc:  # click's own: an unknown option, a bad value, Abort
        sys.exit(parse_failed(exc, argv))
    sys.exit(status if isinstance(status, int) else 0)


def main() -> None:
    """The console script: `run`, then leave without Python's finalisation.

    Every object still alive would be freed one by one and every module torn down, for a
    process about to end: 12 to 15 ms of CPU of every memkb process (as much as
    `python -c "import typer"` pays for it), 50 to 80 ms after a cold `memkb metrics`,
    whose history cache is then in memory. Nothing memkb does is left to finalisation:
    files, locks and journals are closed by their `with` blocks, its threads are daemons,
    and a git child still reading (a `cat-file --batch`) sees its input end and exits.
    `run` keeps raising SystemExit for callers that run memkb inside their own process
    (tests, scripts).

    A `memkb validate` that was already answered on an unchanged KB is answered again by
    memkb.cli.express before typer is imported (typer is two thirds of a start-up).

    The start-up runs with Python's cycle collector off (memkb.startup)."""
    from memkb import startup

    startup.hold_collector()
    try:
        code: object = _express(sys.argv[1:])
        if code is None:
            run()
            code = 0
    except SystemExit as exc:
        code = exc.code
    except BrokenPipeError:  # the express answer's output piped into `head`
        code = 120
    except OSError as exc:  # the express answer's output refused (a full disk)
        code = _output_failed(exc)
    os._exit(_flushed(_status(code)))


def _express(argv: list[str]) -> int | None:
    """The exit status of `argv` answered by memkb.cli.express, or None to run it."""
    if argv[:1] != ["validate"]:
        return None
    try:
        from memkb.cli import express

        return express.answer(argv)
    except KeyboardInterrupt:
        sys.stderr.write("memkb: error: interrupted\n")
        return 130


def _status(code: object) -> int:
    """The exit status Python gives `sys.exit(code)`: a message is printed, then 1."""
    if code is None or isinstance(code, int):
        return code or 0
    sys.stderr.write(f"{code}\n")
    return 1


def _flushed(status: int) -> int:
    """`status`, once what is buffered for stdout and stderr is written; 120 (as Python
    exits) when stdout cannot take it any more (a closed pipe)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a closed pipe, or a stream memkb closed
            if stream is sys.stdout and status == 0:
                status = 120
        except OSError as exc:  # stdout refused the output (a full disk): say so, once
            if stream is sys.stdout and status != EXIT_ENVIRONMENT:
                status = _output_failed(exc)
    return status


def _output_failed(exc: OSError) -> int:
    """Report that stdout refused the output (memkb.errors.OutputError) on stderr; 2."""
    from memkb.errors import OutputError
    from memkb.report.errors import Failure, render_text

    error = OutputError(exc)
    with contextlib.suppress(OSError):
        sys.stderr.write(render_text(Failure(error.message, "environment", error.hint)))
        sys.stderr.flush()
    return EXIT_ENVIRONMENT
