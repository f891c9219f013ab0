"""The `memkb` click group of the console script: every command of
memkb.cli.commands.COMMAND_MODULES listed by its summary, and only the one run imported."""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from typer import main as typer_main
from typer._click import Command, Context
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup

from memkb.cli.commands import COMMAND_MODULES, COMMAND_SUMMARIES


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
