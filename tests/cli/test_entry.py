"""The console script's start-up: each command imports only what it uses, `--help` lists
every command without importing one, and a command still runs, shows its help and
completes when it is loaded on demand. Behaviour tests (which modules a real process
loaded), never timings: those are tooling/bench/bench_startup.py's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from conftest import probe_modules
from memkb.cli.app import handles_errors
from memkb.cli.commands import COMMAND_MODULES, COMMAND_SUMMARIES
from memkb.cli.group import LazyCommands
from memkb.cli.main import app

MEMKB = str(Path(sys.executable).parent / "memkb")

# Libraries a read command must not pay for (rich: typer's help panels).
HEAVY = ("git", "gitdb", "jsonschema", "ruamel", "rich", "re2", "detect_secrets", "sqlite3")
# What reads a record's file: the YAML readers and memkb's loader.
YAML_READERS = ("yaml", "yaml_rs", "memkb.records")
# What a listing needs and one record does not: the scan of kb/, the caches and hashing.
LISTING = ("memkb.kb.snapshot", "memkb.kb.discover", "memkb.cachefile", "hashlib", "tempfile")
# What only a command's work needs: finding the repository, renderers, JSON (the stdlib json
# is not listed: the probe itself imports it).
COMMAND_WORK = ("memkb.kb", "memkb.report.writes", "memkb.report.rules", "orjson")
WRITE_PATH = ("memkb.write.authoring", "memkb.write.transaction")
# What `show` does not need to read its one file: the write path, and yaml-rs (the bulk
# reader; the reference reader alone reads one record for less than yaml-rs's import).
ONE_FILE = (*WRITE_PATH, "yaml_rs")
# The rule functions: `memkb rules` lists codes and summaries from the registry alone.
RULE_MODULES = ("memkb.rules.base", "memkb.rules.perfile", "memkb.rules.collection")


def run_probe(cwd: Path, *args: str) -> tuple[int, str, set[str]]:
    """Exit code, stdout and the imported modules of `memkb ARGS` run in `cwd`."""
    code, out, _, modules = probe_modules(cwd, *args)
    return code, out, set(modules)


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """The modules of `modules` that are one of `names` or inside one of them."""
    return sorted(m for m in modules if m.split(".")[0] in names or m in names)


def command_modules(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith("memkb.cli.") and m.endswith("_cmd"))


def test_every_command_has_the_summary_its_help_starts_with() -> None:
    group = get_command(app)
    helps = {name: (cmd.help or "") for name, cmd in group.commands.items()}  # type: ignore[attr-defined]
    assert set(COMMAND_SUMMARIES) == set(COMMAND_MODULES) == set(helps)
    for name, summary in COMMAND_SUMMARIES.items():
        assert helps[name].split("\n\n")[0] == summary, f"COMMAND_SUMMARIES['{name}']"


def test_help_lists_every_command_without_importing_any(kb_repo: Path) -> None:
    code, out, modules = run_probe(kb_repo, "--help")
    assert code == 0 and out.startswith("Usage: memkb")
    listed = [line.split()[0] for line in out.split("Commands:\n")[1].splitlines() if line]
    assert listed == list(COMMAND_MODULES)
    assert command_modules(modules) == []
    assert (
        loaded(modules, (*HEAVY, *YAML_READERS, *COMMAND_WORK, "memkb.rules", "memkb.write")) == []
    )


@pytest.mark.parametrize(
    ("args", "allowed_cmd", "forbidden"),
    [
        (["--version"], [], (*HEAVY, *YAML_READERS, *COMMAND_WORK, "memkb.rules", "memkb.write")),
        (
            ["rules"],
            ["memkb.cli.rules_cmd"],
            (*HEAVY, *YAML_READERS, *LISTING, *RULE_MODULES, "memkb.kb", "memkb.write"),
        ),
        (
            ["show", "pattern", "ecommerce_security_first"],
            ["memkb.cli.author_cmd"],
            (*HEAVY, *LISTING, *ONE_FILE, "memkb.gitio", "memkb.rules", "memkb.validation"),
        ),
        (
            ["list", "--kind", "pattern"],
            ["memkb.cli.author_cmd"],
            (*HEAVY, "memkb.gitio", "memkb.validation", "memkb.write.transaction"),
        ),
    ],
    ids=["--version", "rules", "show", "list"],
)
def test_read_commands_import_only_what_they_use(
    kb_repo: Path, args: list[str], allowed_cmd: list[str], forbidden: tuple[str, ...]
) -> None:
    code, out, modules = run_probe(kb_repo, *args)
    assert code == 0 and out
    assert command_modules(modules) == allowed_cmd
    assert loaded(modules, forbidden) == []


def test_a_listing_the_index_answers_reads_no_yaml(kb_repo: Path) -> None:
    first = run_probe(kb_repo, "list", "--kind", "pattern")  # builds .git/memkb/list.cache
    assert first[0] == 0 and "memkb.records.load" in first[2]  # it parsed every file
    code, out, modules = run_probe(kb_repo, "list", "--kind", "pattern")
    assert code == 0 and out == first[1]
    assert loaded(modules, YAML_READERS) == []


def test_a_run_builds_only_the_click_command_it_runs() -> None:
    # memkb.cli.main has registered every command (author_cmd alone about ten); building
    # one inspects its signature and type hints, so the others are not built.
    group = LazyCommands(name="memkb")
    show = group.load("show")
    assert show is not None and show.name == "show"
    assert list(group.commands) == ["show"]
    assert group.load("show") is show  # built once


def test_show_as_json_still_reads_without_git(kb_repo: Path) -> None:
    code, out, modules = run_probe(kb_repo, "show", "pattern", "ecommerce_security_first", "--json")
    assert code == 0 and json.loads(out)["record"]["id"] == "ecommerce_security_first"
    assert loaded(modules, ("git", "gitdb", "memkb.gitio", "memkb.write.transaction")) == []


@pytest.mark.parametrize("args", [["show", "--help"], ["--debug", "show", "--help"]])
def test_a_command_loaded_on_demand_shows_its_own_help(kb_repo: Path, args: list[str]) -> None:
    code, out, modules = run_probe(kb_repo, *args)
    assert code == 0 and "Usage: memkb show [OPTIONS]" in out and "--repo" in out
    assert command_modules(modules) == ["memkb.cli.author_cmd"]


def test_a_misspelt_command_gets_a_did_you_mean(kb_repo: Path) -> None:
    done = subprocess.run([MEMKB, "valdate"], cwd=kb_repo, capture_output=True, text=True)
    assert done.returncode == 2
    assert "No such command 'valdate'. Did you mean 'validate'?" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_command_runs_when_only_the_summaries_were_listed(kb_repo: Path) -> None:
    # `memkb --debug rules`: the first word is an option, the command is found after it.
    done = subprocess.run(
        [MEMKB, "--debug", "rules", "KB304"], cwd=kb_repo, capture_output=True, text=True
    )
    assert done.returncode == 0 and "KB304" in done.stdout


# The console script leaves through os._exit (memkb.cli.entry.main): what Python's exit
# would have done for it must still happen, in a real process.


def test_the_console_script_writes_all_its_output_before_it_leaves(kb_repo: Path) -> None:
    done = subprocess.run([MEMKB, "rules", "--json"], cwd=kb_repo, capture_output=True)
    assert done.returncode == 0, done.stderr
    rules = json.loads(done.stdout)  # the whole document, flushed through a pipe
    assert rules["format"] == "memkb.rules/1" and len(rules["rules"]) > 50


def test_the_console_script_keeps_every_exit_code_and_message(kb_repo: Path) -> None:
    missing = subprocess.run([MEMKB, "show", "pattern", "nope"], cwd=kb_repo, capture_output=True)
    assert missing.returncode == 2
    assert b"no pattern 'nope'" in missing.stderr
    typo = subprocess.run([MEMKB, "valdate"], cwd=kb_repo, capture_output=True)
    assert typo.returncode == 2 and b"Did you mean 'validate'?" in typo.stderr
    bad = kb_repo / "kb" / "patterns" / "broken.yaml"
    bad.write_text("kind: pattern\nid: [unclosed\n")
    found = subprocess.run([MEMKB, "validate"], cwd=kb_repo, capture_output=True)
    assert found.returncode == 1 and b"KB101" in found.stdout


@pytest.mark.parametrize(
    ("code", "status", "printed"), [(None, 0, ""), (0, 0, ""), (3, 3, ""), ("gone", 1, "gone\n")]
)
def test_sys_exit_codes_become_the_status_python_would_give(
    code: object, status: int, printed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from memkb.cli.entry import _status

    assert _status(code) == status
    assert capsys.readouterr().err == printed


def test_every_command_runs_inside_handles_errors() -> None:
    # handles_errors maps failures to exit codes, and turns the cycle collector back on
    # as the command starts (memkb.startup): a command outside it would run without it.
    wrapper = handles_errors(lambda: None).__code__  # every wrapper runs this code
    unwrapped = [
        info.name or info.callback.__name__
        for info in app.registered_commands
        if info.callback is not None and info.callback.__code__ is not wrapper
    ]
    assert unwrapped == []
    assert len(app.registered_commands) >= len(set(COMMAND_MODULES.values()))
