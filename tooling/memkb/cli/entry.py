"""The console script: imports only the module of the command being run.

Every command module imports part of the core (GitPython, ruamel.yaml, jsonschema...);
importing them all costs about 0.4 s, which would be most of a warm `memkb validate`."""

from __future__ import annotations

import importlib
import sys

# command name -> module under memkb.cli that registers it. Listed explicitly, not
# discovered; tests check that it names every command.
COMMAND_MODULES: dict[str, str] = {
    "validate": "validate_cmd",
    "rules": "rules_cmd",
    "import-legacy": "legacy_cmd",
    "export-legacy": "legacy_cmd",
    "new": "author_cmd",
    "record": "author_cmd",
    "set": "author_cmd",
    "add": "author_cmd",
    "remove": "author_cmd",
    "deprecate": "author_cmd",
    "rm": "author_cmd",
    "rename": "author_cmd",
    "show": "author_cmd",
    "list": "author_cmd",
    "metrics": "metrics_cmd",
    "history": "metrics_cmd",
    "check": "check_cmd",
    "recommend": "advice_cmd",
    "brief": "advice_cmd",
    "search": "search_cmd",
    "mcp": "mcp_cmd",
}


def register(argv: list[str] | None = None) -> None:
    """Import the module of the command named in `argv`, none for a bare `--version`,
    or every module if no command is recognised (for --help, a typo, or no arguments)."""
    name = next((arg for arg in argv or [] if not arg.startswith("-")), None)
    if name is None and "--version" in (argv or []):
        return  # answered by the app callback alone
    wanted = [COMMAND_MODULES[name]] if name in COMMAND_MODULES else COMMAND_MODULES.values()
    for module in dict.fromkeys(wanted):
        importlib.import_module(f"memkb.cli.{module}")


def run() -> None:
    """Console-script entry point: the exit codes of memkb.cli.app.EXIT_CODES, and a bad
    option or value is a usage error (2), a JSON error object with --json."""
    argv = sys.argv[1:]
    try:
        from memkb.cli.app import app, parse_failed

        register(argv)
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
