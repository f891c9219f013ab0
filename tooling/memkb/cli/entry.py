"""The console script: imports only the module of the command being run.

Every command module imports part of the core (GitPython, ruamel.yaml, jsonschema...);
importing them all costs about 0.4 s, which would be most of a warm `memkb validate`.
`memkb --help` imports none: it lists the commands from COMMAND_SUMMARIES."""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from typing import Any

from typer import main as typer_main
from typer._click import Command, Context
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup

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


# command name -> the first paragraph of its help: what `memkb --help` lists, without
# importing the command's module. tests/cli/test_entry.py holds it equal to the commands'
# own help; a command missing here is still listed (its module is imported for it).
COMMAND_SUMMARIES: dict[str, str] = {
    "validate": "Check every knowledge file: YAML safety, schema, file names, ids and references.",
    "rules": "List every finding code memkb can report, with what it means; with CODE, show one.",
    "import-legacy": "Convert the orchestrator's legacy JSON memory into records in kb/.",
    "export-legacy": "Write memory in the legacy JSON shapes that orchestrators still read, "
    "with memkb as the source of truth.",
    "new": "Create a pattern, failure or template. Missing required fields are prompted "
    "for at\na terminal; without one, the command fails and lists them.",
    "record": "Record a finished project's outcome as kb/outcomes/<yyyy>/<date>-<slug>.yaml.",
    "set": "Set one field of a record; every other line of the file keeps its bytes.",
    "add": "Append a value to a list field (a best practice, a prevention strategy, a key "
    "droid...).",
    "remove": "Remove a value from a list field.",
    "deprecate": "Mark a record deprecated (kept for history, no longer applied).",
    "rm": "Delete a record no other record refers to (otherwise: deprecate it).",
    "rename": "Refused: ids are permanent. Says how to replace a record instead.",
    "show": "Print one record: its file as written, or its fields as JSON.",
    "list": "List records, filtered by kind, domain, phase and droid; a table, or JSON.",
    "metrics": "Figures derived from outcome records and Git history (formulas: docs/metrics.md).",
    "history": "Every commit that touched one record (following renames): date, author, "
    "agent\n(Memory-Agent trailer) and what changed, field by field.",
    "check": "Check a change to memory: everything `validate` checks on the head state, plus "
    "the\nchange rules (permanent ids, append-only outcomes, referenced deletions and\n"
    "deprecations, hand-edited figures, schema versions, size limits) and content safety\n"
    "(secrets, prompt injection). Prints the risk class: none, evidence, knowledge or\n"
    "structure. Exit 0 clean, 1 errors, 2 usage or environment problem.",
    "recommend": "Templates, success patterns and failure guards for a project, ranked by "
    "relevance\nand evidence, each with its reasons and outcome ids (formulas: "
    "docs/advice.md).",
    "brief": "The same advice as a compact Markdown context brief for the orchestrator's "
    "prompt,\nheaded by the commit, the record ids used and the brief_id (docs/advice.md).",
    "search": "Full-text search over every record of HEAD, ranked by BM25, with the field "
    "and a\nsnippet of each match (docs/search.md). Exit 1 when no record matches.",
    "mcp": "Serve memkb's tools (recommend, brief, search, show, list, metrics, history,\n"
    "validate, record_outcome, propose) and resources to an MCP client over stdio\n"
    "(docs/mcp.md). Needs the extra: pip install 'memkb[mcp]'.",
}


def register(argv: list[str] | None = None) -> None:
    """Import the module of the command named in `argv` (none if no command is named:
    --help, --version, a typo, no arguments), or of every command without `argv`."""
    if argv is None:
        wanted = list(COMMAND_MODULES.values())
    else:
        name = next((arg for arg in argv if not arg.startswith("-")), None)
        wanted = [COMMAND_MODULES[name]] if name in COMMAND_MODULES else []
    for module in dict.fromkeys(wanted):
        importlib.import_module(f"memkb.cli.{module}")


class LazyCommands(TyperGroup):
    """The `memkb` group of the console script: every command of COMMAND_MODULES is
    listed (help, shell completion) by its summary, without importing its module, and
    imported when it runs, shows its own help or completes its options."""

    def list_commands(self, ctx: Context) -> list[str]:
        del ctx  # the same commands in every context
        return list(dict.fromkeys([*COMMAND_MODULES, *self.commands]))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        del ctx
        found = self.commands.get(cmd_name)
        if found is not None or cmd_name not in COMMAND_MODULES:
            return found
        if cmd_name in COMMAND_SUMMARIES:  # listed, not run: resolve_command loads it
            return TyperCommand(cmd_name, help=COMMAND_SUMMARIES[cmd_name])
        return self.load(cmd_name)

    def resolve_command(self, ctx: Context, args: list[str]) -> Any:
        if args and args[0] in COMMAND_MODULES:
            self.load(args[0])
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:  # typer suggests from the commands loaded: none here
            close = difflib.get_close_matches(args[0], COMMAND_MODULES) if args else []
            if close and "Did you mean" not in exc.message:
                shown = ", ".join(repr(name) for name in close)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {shown}?"
            raise

    def load(self, cmd_name: str) -> Command | None:
        """Import the module of `cmd_name` and build its click command, and only its: a
        module registers several (author_cmd about ten), and building one inspects its
        signature and type hints (about 1.5 ms each)."""
        from memkb.cli.app import app

        if cmd_name in self.commands:
            return self.commands[cmd_name]
        importlib.import_module(f"memkb.cli.{COMMAND_MODULES[cmd_name]}")
        for info in app.registered_commands:
            assert info.callback is not None
            if (info.name or typer_main.get_command_name(info.callback.__name__)) == cmd_name:
                self.commands[cmd_name] = typer_main.get_command_from_info(
                    info,
                    pretty_exceptions_short=app.pretty_exceptions_short,
                    rich_markup_mode=app.rich_markup_mode,
                )
        return self.commands.get(cmd_name)


def run() -> None:
    """Console-script entry point: the exit codes of memkb.cli.app.EXIT_CODES, and a bad
    option or value is a usage error (2), a JSON error object with --json."""
    argv = sys.argv[1:]
    try:
        from memkb.cli.app import app, parse_failed

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
    (tests, scripts)."""
    try:
        run()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    os._exit(_flushed(_status(code)))


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
        except (OSError, ValueError):  # a closed pipe, or a stream memkb closed itself
            if stream is sys.stdout and status == 0:
                status = 120
    return status
