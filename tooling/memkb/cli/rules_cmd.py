"""`memkb rules`: the finding codes. Imports only the registry, so it starts fast (it is
the baseline of bare start-up in the benchmarks)."""

from __future__ import annotations

import typer

from memkb.cli.app import app, handles_errors
from memkb.report.rules import render_json, render_list, render_one
from memkb.rules.registry import REGISTRY, lookup


@app.command()
@handles_errors
def rules(
    code: str | None = typer.Argument(
        None, help="A code such as KB304: show its summary, scope, severity and doc."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """List every finding code memkb can report, with what it means; with CODE, show one."""
    chosen = [lookup(code)] if code is not None else list(REGISTRY.values())
    if as_json:
        typer.echo(render_json(chosen), nl=False)
    else:
        typer.echo(render_one(chosen[0]) if code is not None else render_list(chosen), nl=False)
