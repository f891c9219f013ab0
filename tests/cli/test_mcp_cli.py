"""`memkb mcp` as a real process: the SDK's stdio client starts it, lists the tools and
asks for advice; without the SDK it says how to install it (exit 2); no other command
and no `import memkb` loads the SDK."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from conftest import git

MEMKB = shutil.which("memkb", path=str(Path(sys.executable).parent)) or "memkb"


def run_memkb(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    """`memkb ARGS` in a subprocess; with `code`, that Python runs first (to hide the SDK)."""
    if code is None:
        return subprocess.run([MEMKB, *args], capture_output=True, text=True, timeout=120)
    script = f"{code}\nimport sys\nsys.argv = ['memkb', *{list(args)!r}]\n"
    script += "from memkb.cli.entry import run\nrun()\n"
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )


def test_stdio_server_lists_tools_and_recommends(kb_repo: Path) -> None:
    params = StdioServerParameters(
        command=MEMKB, args=["mcp", "--repo", str(kb_repo), "--read-only"], env=dict(os.environ)
    )

    async def main() -> tuple[Any, Any]:
        async with Client(params) as client:
            tools = await client.list_tools()
            advice = await client.call_tool("recommend", {"domains": ["finance"], "limit": 2})
            return tools, advice

    tools, advice = anyio.run(main)
    names = sorted(tool.name for tool in tools.tools)
    assert names == sorted(
        ["recommend", "brief", "search", "show", "list", "metrics", "history", "validate"]
    )
    assert not advice.is_error, advice.content[0].text
    cli = run_memkb(
        "recommend", "--domain", "finance", "--limit", "2", "--json", "--repo", str(kb_repo)
    )
    assert advice.structured_content == json.loads(cli.stdout)
    assert advice.structured_content["commit"] == git(kb_repo, "rev-parse", "HEAD").strip()


def test_without_the_sdk_it_says_how_to_install_it(kb_repo: Path) -> None:
    done = run_memkb("mcp", "--repo", str(kb_repo), code="import sys; sys.modules['mcp'] = None")
    assert done.returncode == 2
    assert "memkb mcp needs the MCP SDK, which is not installed" in done.stderr
    assert "pip install 'memkb[mcp]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_other_command_imports_the_sdk(kb_repo: Path) -> None:
    argv = ["recommend", "--domain", "finance", "--repo", str(kb_repo)]
    probe = (
        "import sys, memkb, memkb.cli.main\n"
        "from typer.testing import CliRunner\n"
        f"done = CliRunner().invoke(memkb.cli.main.app, {argv!r})\n"
        "assert done.exit_code == 0, done.output\n"
        "heavy = ('mcp', 'mcp_types', 'pydantic', 'starlette')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_bad_options_are_usage_errors(tmp_path: Path, kb_repo: Path) -> None:
    done = run_memkb("mcp", "--repo", str(tmp_path))
    assert done.returncode == 2
    assert "has no kb/ folder" in done.stderr
    done = run_memkb("mcp", "--repo", str(kb_repo), "--agent", "bad\nMemory-Id: x")
    assert done.returncode == 2
    assert "--agent" in done.stderr
    done = run_memkb("mcp", "--repo", str(tmp_path), "--json")
    assert done.returncode == 2
    error = json.loads(done.stdout)
    assert error["format"] == "memkb.error/1" and error["error"]["code"] == "environment"
