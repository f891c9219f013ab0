"""`memkb rules`: the finding codes. Imports only the registry, so it starts fast (it is
the baseline of bare start-up in the benchmarks)."""

from __future__ import annotations

from enum import StrEnum

import typer

from memkb.cli.app import JSON, app, format_option, handles_errors, output_format
from memkb.report import reporter
from memkb.rules.registry import REGISTRY, lookup


class Format(StrEnum):
    text = "text"
    json = "json"


@app.command()
@handles_errors
def rules(
    code: str | None = typer.Argument(
        None, help="A code such as KB304: show its summary, scope, severity and doc."
    ),
    fmt: Format = format_option("rules"),
    as_json: bool = JSON,
) -> None:
    """List every finding code memkb can report, with what it means; with CODE, show one."""
    chosen = [lookup(code)] if code is not None else list(REGISTRY.values())
    render = reporter("rules", output_format(fmt, as_json))
    typer.echo(render(chosen, one=code is not None), nl=False)
