"""The CLI a person expects: --version, -h, shell completion, help text on every
command, option and argument, every command documented, py.typed shipped, and a start-up
that imports only what the command needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from conftest import PROJECT
from memkb._version import __version__
from memkb.cli.main import app

ROOT = PROJECT
MEMKB = str(Path(sys.executable).parent / "memkb")
runner = CliRunner()


def walk() -> list[tuple[str, Any]]:
    """(`memkb name`, click command) for the group and every command under it."""
    group = get_command(app)
    found = [("memkb", group)]
    found += [(f"memkb {name}", cmd) for name, cmd in sorted(group.commands.items())]  # type: ignore[attr-defined]
    return found


@pytest.mark.parametrize(("name", "command"), walk(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_option_and_argument_has_help(name: str, command: Any) -> None:
    assert (command.help or "").strip(), f"{name} has no help text"
    bare = [
        param.opts[0] if param.opts else param.name
        for param in command.params
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert not bare, f"{name}: no help text on {bare}"


def test_every_command_is_documented() -> None:
    docs = (ROOT / "README.md").read_text() + "".join(
        p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))
    )
    missing = [name for name, _ in walk()[1:] if f"`{name}" not in docs]
    assert not missing, f"not in README.md or docs/*.md: {missing}"


def test_version_without_importing_any_command() -> None:
    probe = (
        "import sys; sys.argv = ['memkb', '--version']; from memkb.cli import entry\n"
        "try:\n    entry.run()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('memkb.cli.') and m.endswith('_cmd')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout == f"memkb {__version__}\n[]\n"
    installed = subprocess.run([MEMKB, "--version"], capture_output=True, text=True)
    assert (installed.returncode, installed.stdout) == (0, f"memkb {__version__}\n")


@pytest.mark.parametrize("args", [["-h"], ["validate", "-h"], ["set", "-h"]])
def test_short_help(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "Usage: memkb" in result.stdout
    assert result.stdout == runner.invoke(app, [*args[:-1], "--help"]).stdout


def test_format_help_lists_the_allowed_values() -> None:
    result = runner.invoke(app, ["validate", "--help"], env={"COLUMNS": "200"})
    assert "text|json|github|sarif|markdown" in result.stdout


def test_shell_completion(tmp_path: Path) -> None:
    # typer finds the shell among memkb's ancestors (shellingham), not from an argument: run
    # it under bash ("; exit" keeps bash from exec-ing memkb in its place), or a test run
    # whose parent is not a shell (a backgrounded job) has none to find.
    script = subprocess.run(
        ["bash", "-c", '"$0" --show-completion; exit $?', MEMKB],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert script.returncode == 0 and "_MEMKB_COMPLETE=complete_bash" in script.stdout
    env = {**os.environ, "_MEMKB_COMPLETE": "complete_bash", "COMP_WORDS": "memkb val",
           "COMP_CWORD": "1"}  # fmt: skip
    words = subprocess.run([MEMKB], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert words.stdout.split() == ["validate"]
    env |= {"COMP_WORDS": "memkb validate --format s", "COMP_CWORD": "3"}
    values = subprocess.run([MEMKB], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert values.stdout.split() == ["sarif"]


def test_py_typed_ships_in_the_package() -> None:
    """memkb/py.typed exists and is package data, so a built wheel holds it and type
    checkers use memkb's annotations (PEP 561). Building a wheel here would need the
    network for a newer setuptools; the lead's check is `pip wheel .` (see README)."""
    import tomllib

    assert (ROOT / "tooling/memkb/py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["memkb"]


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    readme = (PROJECT / "README.md").read_text()
    block = readme.split("## Two commands", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert commands[1] in (PROJECT / ".ci" / "run").read_text().splitlines()
