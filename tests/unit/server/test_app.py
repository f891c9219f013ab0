"""memkb.server.app through the MCP SDK's in-memory client: every tool and resource, the
structured output equal to the CLI's --json, bad input as tool errors with the server
still answering, and a commit from another process seen by the next call (docs/mcp.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from typer.testing import CliRunner

from conftest import RECORD, git
from memkb.cli.main import app
from memkb.server.app import MAX_NAMES, build_server
from memkb.server.calls import Memory
from memkb.server.schemas import OUTPUT

runner = CliRunner()
MEMKB = shutil.which("memkb", path=str(Path(sys.executable).parent)) or "memkb"
PATTERN = "authentication_jwt_security_first"
READ_TOOLS = ["recommend", "brief", "search", "show", "list", "metrics", "history", "validate"]
NEW_PATTERN = {
    "id": "mcp_demo_pattern",
    "title": "Demo over MCP",
    "description": "A pattern an orchestrator proposed over MCP.",
    "domains": ["finance"],
    "phases": ["testing_qa"],
    "key_droids": ["security-auditor"],
}


def talk(memory: Memory, script: Callable[[Client], Awaitable[Any]]) -> Any:
    """Run `script` against a fresh server for `memory` over the in-memory transport."""

    async def main() -> Any:
        async with Client(build_server(memory)) as client:
            return await script(client)

    return anyio.run(main)


def call(memory: Memory, name: str, args: dict[str, Any] | None = None) -> Any:
    return talk(memory, lambda client: client.call_tool(name, args or {}))


def cli_json(repo: Path, *args: str) -> dict[str, Any]:
    done = runner.invoke(app, [*args, "--json", "--repo", str(repo)])
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def error_of(result: Any) -> dict[str, Any]:
    """The memkb.error/1 document of a refused call."""
    assert result.is_error
    doc: dict[str, Any] = json.loads(result.content[0].text)
    assert doc["format"] == "memkb.error/1"
    return doc["error"]


# -- listing ------------------------------------------------------------------------------


def test_tools_are_listed_with_schemas_and_read_only_hints(kb_repo: Path) -> None:
    tools = talk(Memory(kb_repo), lambda c: c.list_tools()).tools
    by_name = {tool.name: tool for tool in tools}
    assert sorted(by_name) == sorted([*READ_TOOLS, "record_outcome", "propose"])
    for name in READ_TOOLS:
        assert by_name[name].annotations.read_only_hint is True
    for name in ("record_outcome", "propose"):
        assert by_name[name].annotations.read_only_hint is False
    for name, tool in by_name.items():
        assert tool.output_schema == OUTPUT[name]
        assert tool.input_schema["type"] == "object"
        assert tool.description
    assert by_name["search"].input_schema["required"] == ["query"]


def test_read_only_serves_no_write_tool(kb_repo: Path) -> None:
    tools = talk(Memory(kb_repo, read_only=True), lambda c: c.list_tools()).tools
    assert sorted(t.name for t in tools) == sorted(READ_TOOLS)
    result = call(Memory(kb_repo, read_only=True), "propose", {"kind": "pattern", "record": {}})
    assert result.is_error and "Unknown tool: propose" in result.content[0].text


# -- read tools: the CLI's JSON -------------------------------------------------------------

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "recommend",
        {"domains": ["ecommerce"], "phases": ["security_first"], "limit": 2},
        ["recommend", "--domain", "ecommerce", "--phase", "security_first", "--limit", "2"],
    ),
    (
        "brief",
        {"domains": ["finance"], "max_tokens": 600},
        ["brief", "--domain", "finance", "--max-tokens", "600"],
    ),
    ("search", {"query": "jwt", "kinds": ["pattern"]}, ["search", "jwt", "--kind", "pattern"]),
    ("show", {"kind": "pattern", "id": PATTERN}, ["show", "pattern", PATTERN]),
    ("list", {"kind": "failure"}, ["list", "--kind", "failure"]),
    ("metrics", {}, ["metrics"]),
    ("history", {"kind": "pattern", "id": PATTERN}, ["history", "pattern", PATTERN]),
    ("validate", {}, ["validate"]),
]


@pytest.mark.parametrize(("tool", "args", "argv"), CASES, ids=[c[0] for c in CASES])
def test_read_tool_output_is_the_cli_json(
    kb_repo: Path, tool: str, args: dict[str, Any], argv: list[str]
) -> None:
    result = call(Memory(kb_repo), tool, args)
    assert not result.is_error, result.content[0].text
    expected = cli_json(kb_repo, *argv)
    assert result.structured_content == expected
    assert json.loads(result.content[0].text) == expected
    jsonschema.validate(result.structured_content, OUTPUT[tool])


def test_search_without_a_match_is_an_empty_answer_not_an_error(kb_repo: Path) -> None:
    result = call(Memory(kb_repo), "search", {"query": "zyxwvutsrq"})
    assert not result.is_error
    assert result.structured_content["hits"] == []


# -- bad input: a tool error naming the problem, and the server still answers ---------------

BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("no_such_tool", {}, "Unknown tool: no_such_tool"),
    ("recommend", {"domains": "finance"}, "Input should be a valid list"),
    ("recommend", {"limit": "many"}, "limit"),
    ("recommend", {"limit": 0}, "greater than or equal to 1"),
    ("recommend", {"text": "x" * 5000}, "at most 4000 characters"),
    ("recommend", {"domains": ["finance"] * (MAX_NAMES + 1)}, "at most 100 items"),
    ("search", {"query": "jwt " * 2000}, "at most 4000 characters"),
    ("show", {"kind": "spaceship", "id": PATTERN}, "kind"),
    ("show", {"kind": "pattern", "id": "x" * 201}, "at most 200 characters"),
    ("history", {}, "Field required"),
]


@pytest.mark.parametrize(("tool", "args", "says"), BAD_CALLS)
def test_bad_arguments_are_tool_errors_and_the_server_stays_up(
    kb_repo: Path, tool: str, args: dict[str, Any], says: str
) -> None:
    async def script(client: Client) -> tuple[Any, Any]:
        bad = await client.call_tool(tool, args)
        good = await client.call_tool("list", {"kind": "template"})
        return bad, good

    bad, good = talk(Memory(kb_repo), script)
    assert bad.is_error
    assert says in bad.content[0].text
    assert not good.is_error and good.structured_content["format"] == "memkb.list/1"


def test_unknown_domain_is_a_memkb_error_with_a_did_you_mean(kb_repo: Path) -> None:
    async def script(client: Client) -> tuple[Any, Any]:
        bad = await client.call_tool("recommend", {"domains": ["fnance"]})
        good = await client.call_tool("recommend", {"domains": ["finance"]})
        return bad, good

    bad, good = talk(Memory(kb_repo), script)
    error = error_of(bad)
    assert error["message"] == "unknown domain 'fnance' (did you mean 'finance'?)"
    assert error["code"] == "usage"
    assert not good.is_error


def test_missing_record_is_a_not_found_tool_error(kb_repo: Path) -> None:
    error = error_of(call(Memory(kb_repo), "show", {"kind": "pattern", "id": "nope"}))
    assert error["code"] == "not-found"
    assert "kb/patterns/nope.yaml does not exist" in error["message"]


def test_a_broken_kb_gives_findings_and_tool_errors_not_a_dead_server(kb_repo: Path) -> None:
    (kb_repo / "kb" / "patterns" / f"{PATTERN}.yaml").write_text("id: [unclosed\n")

    async def script(client: Client) -> tuple[Any, Any, Any]:
        validated = await client.call_tool("validate", {})
        shown = await client.call_tool("show", {"kind": "pattern", "id": PATTERN})
        listed = await client.call_tool("list", {"kind": "template"})
        return validated, shown, listed

    validated, shown, listed = talk(Memory(kb_repo), script)
    assert not validated.is_error
    assert validated.structured_content["ok"] is False
    assert any(f["code"] == "KB101" for f in validated.structured_content["findings"])
    assert error_of(shown)["code"] == "refused"
    assert not listed.is_error


# -- resources ------------------------------------------------------------------------------


def test_record_resource_is_the_yaml_file(kb_repo: Path) -> None:
    uri = f"memkb://record/pattern/{PATTERN}"
    result = talk(Memory(kb_repo), lambda c: c.read_resource(uri))
    text = (kb_repo / "kb" / "patterns" / f"{PATTERN}.yaml").read_text()
    assert result.contents[0].text == text
    assert result.contents[0].mime_type == "application/yaml"


def test_resource_templates_are_listed(kb_repo: Path) -> None:
    found = talk(Memory(kb_repo), lambda c: c.list_resource_templates()).resource_templates
    assert sorted(t.uri_template for t in found) == [
        "memkb://brief{?domains,phases,droids,text,limit,max_tokens}",
        "memkb://record/{kind}/{id}",
    ]


def test_brief_resource_is_the_brief_markdown(kb_repo: Path) -> None:
    uri = "memkb://brief?domains=finance,security&limit=2"
    result = talk(Memory(kb_repo), lambda c: c.read_resource(uri))
    expected = cli_json(
        kb_repo, "brief", "--domain", "finance", "--domain", "security", "--limit", "2"
    )
    assert result.contents[0].text == expected["markdown"]


def test_bad_resource_uri_is_an_error_and_the_server_stays_up(kb_repo: Path) -> None:
    async def script(client: Client) -> tuple[str, Any]:
        try:
            await client.read_resource("memkb://record/pattern/nope")
        except MCPError as exc:
            message = str(exc)
        else:
            message = ""
        return message, await client.read_resource(f"memkb://record/pattern/{PATTERN}")

    message, good = talk(Memory(kb_repo), script)
    assert "no pattern 'nope'" in message
    assert good.contents[0].text.startswith("# yaml-language-server")


def test_brief_resource_with_unknown_domain_is_an_error(kb_repo: Path) -> None:
    async def script(client: Client) -> str:
        try:
            await client.read_resource("memkb://brief?domains=fnance")
        except MCPError as exc:
            return str(exc)
        return ""

    assert "unknown domain 'fnance' (did you mean 'finance'?)" in talk(Memory(kb_repo), script)


# -- warm, and fresh: another process's commit is seen by the next call ---------------------


def test_a_commit_by_another_process_is_seen_by_the_next_call(kb_repo: Path) -> None:
    def record_elsewhere() -> None:
        subprocess.run(
            [MEMKB, *RECORD, "--repo", str(kb_repo)],
            check=True,
            capture_output=True,
        )

    async def script(client: Client) -> tuple[Any, Any, Any]:
        first = await client.call_tool("recommend", {"domains": ["e-commerce"]})
        await anyio.to_thread.run_sync(record_elsewhere)
        second = await client.call_tool("recommend", {"domains": ["e-commerce"]})
        listed = await client.call_tool("list", {"kind": "outcome"})
        return first, second, listed

    before = git(kb_repo, "rev-parse", "HEAD").strip()
    first, second, listed = talk(Memory(kb_repo), script)
    after = git(kb_repo, "rev-parse", "HEAD").strip()
    assert before != after
    assert first.structured_content["commit"] == before
    assert second.structured_content["commit"] == after
    assert "2025-05-05-shop" in [r["id"] for r in listed.structured_content["records"]]


def test_calls_sent_without_waiting_all_get_their_answer(kb_repo: Path) -> None:
    asks = [("recommend", {"domains": ["finance"]}), ("search", {"query": "jwt"})] * 3
    asks += [("validate", {}), ("list", {})]

    async def script(client: Client) -> list[Any]:
        results: list[Any] = [None] * len(asks)

        async def ask(i: int, name: str, args: dict[str, Any]) -> None:
            results[i] = await client.call_tool(name, args)

        async with anyio.create_task_group() as group:
            for i, (name, args) in enumerate(asks):
                group.start_soon(ask, i, name, args)
        return results

    results = talk(Memory(kb_repo), script)
    for (name, _), result in zip(asks, results, strict=True):
        assert not result.is_error, result.content[0].text
        assert result.structured_content["format"] == f"memkb.{name}/1"
