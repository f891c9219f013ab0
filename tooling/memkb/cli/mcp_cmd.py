"""`memkb mcp`: serve the memory over the Model Context Protocol (stdio)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from memkb.cli.app import JSON, REPO, app, handles_errors, repo_root
from memkb.errors import UsageError

INSTALL_HINT = "install the extra: pip install 'memkb[mcp]'"


class Format(StrEnum):  # how a failure to start is reported (the "error" renderers)
    text = "text"
    json = "json"


@app.command()
@handles_errors
def mcp(
    repo: Path | None = REPO,
    agent: str | None = typer.Option(
        None,
        "--agent",
        help="Who writes, for the Memory-Agent trailer of the server's commits "
        "(default: $MEMKB_AGENT, else human:<login>).",
    ),
    read_only: bool = typer.Option(
        False, "--read-only", help="Serve the read tools only: no record_outcome, no propose."
    ),
    fmt: Format = typer.Option(
        "text",
        "--format",
        help="How a failure to start is reported: text (stderr) or json (a memkb.error/1 "
        "document on stdout); once serving, stdout speaks MCP's JSON-RPC only.",
    ),
    as_json: bool = JSON,
) -> None:
    """Serve memkb's tools (recommend, brief, search, show, list, metrics, history,
    validate, record_outcome, propose) and resources to an MCP client over stdio
    (docs/mcp.md). Needs the extra: pip install 'memkb[mcp]'."""
    try:
        from memkb.server.app import serve  # imported here: the SDK costs every other command
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] != "mcp":
            raise
        raise UsageError(
            "memkb mcp needs the MCP SDK, which is not installed", hint=INSTALL_HINT
        ) from None
    from memkb.server.calls import Memory
    from memkb.write.transaction import agent_name

    del fmt, as_json  # they shape a failure to start (handles_errors)
    root = repo_root(repo)
    if agent is not None:
        agent_name(agent)  # a name no trailer can carry is refused before serving
    serve(Memory(root, agent=agent, read_only=read_only))
