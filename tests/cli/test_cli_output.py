"""One way to render: every command takes --format and --json, JSON follows one
convention (a versioned `format` key, RFC 3339 UTC timestamps, null for missing values,
two-space indent), and the renderers sit behind one registry in memkb.report."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from conftest import git
from memkb.cli.main import app
from memkb.kb.index import Record
from memkb.report import REPORTERS, formats, json_text, reporter

runner = CliRunner()
PATTERN = "ecommerce_security_first"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def invoke(repo: Path, *args: str) -> Any:
    return runner.invoke(app, [*args, "--repo", str(repo)])


def document(repo: Path, *args: str, code: int = 0) -> dict[str, Any]:
    """The JSON a command prints, checked against the one convention."""
    result = invoke(repo, *args)
    assert result.exit_code == code, result.output
    text = result.stdout
    doc: dict[str, Any] = json.loads(text)
    assert text.startswith('{\n  "format": "memkb.'), "the format key comes first"
    assert text == json_text(doc), "one writer, one indent style"
    return doc


def timestamps(value: Any) -> list[str]:
    """Every string under a key named like a time (date, first_seen, last_changed...)."""
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            if isinstance(item, str) and key in {"date", "first_seen", "last_changed"}:
                out.append(item)
            else:
                out += timestamps(item)
        return out
    if isinstance(value, list):
        return [s for item in value for s in timestamps(item)]
    return []


def test_validate_takes_json_like_format_json(kb_repo: Path) -> None:
    doc = document(kb_repo, "validate", "--json")
    assert doc["format"] == "memkb.validate/1" and doc["ok"] is True and doc["files"] == 8
    assert document(kb_repo, "validate", "--format", "json") == doc


def break_a_droid(repo: Path) -> None:
    path = repo / f"kb/patterns/{PATTERN}.yaml"
    path.write_text(path.read_text().replace("security-auditor", "security-airditor", 1))


def test_validate_renders_sarif_github_and_markdown(kb_repo: Path) -> None:
    break_a_droid(kb_repo)
    sarif = invoke(kb_repo, "validate", "--format", "sarif")
    assert sarif.exit_code == 1
    log = json.loads(sarif.stdout)
    assert log["version"] == "2.1.0"
    [result] = log["runs"][0]["results"]
    assert result["ruleId"] == "KB304"
    region = result["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == f"kb/patterns/{PATTERN}.yaml"
    github = invoke(kb_repo, "validate", "--format", "github")
    assert github.exit_code == 1
    assert github.stdout.startswith(f"::error file=kb/patterns/{PATTERN}.yaml,line=")
    markdown = invoke(kb_repo, "validate", "--format", "markdown")
    assert markdown.exit_code == 1
    assert "## memkb validate failed: 1 error" in markdown.stdout
    assert f"`kb/patterns/{PATTERN}.yaml:" in markdown.stdout and "| KB304 |" in markdown.stdout


def test_rules_takes_format_and_json() -> None:
    result = runner.invoke(app, ["rules", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["format"] == "memkb.rules/1"
    assert any(r["code"] == "KB304" and r["summary"] for r in doc["rules"])
    assert runner.invoke(app, ["rules", "--format", "json"]).stdout == result.stdout


def test_writes_show_and_list_follow_the_convention(kb_repo: Path) -> None:
    args = ["set", "pattern", PATTERN, "title", "Security first", "--json"]
    written = document(kb_repo, *args)
    assert written["format"] == "memkb.set/1" and written["commit"]
    shown = document(kb_repo, "show", "pattern", PATTERN, "--format", "json")
    assert shown["format"] == "memkb.show/1"
    assert shown["record"]["title"] == "Security first"
    listed = document(kb_repo, "list", "--kind", "pattern", "--json")
    assert listed["format"] == "memkb.list/1"
    assert PATTERN in [r["id"] for r in listed["records"]]


def test_a_missing_value_is_null_not_an_empty_string() -> None:
    untitled = Record(kind="pattern", id="x", relpath="kb/patterns/x.yaml", doc={})
    [row] = json.loads(reporter("list", "json")([untitled]))["records"]
    assert row["title"] is None
    assert reporter("list", "text")([untitled]).splitlines()[1].rstrip() == "pattern  x   active"


def test_timestamps_are_utc_with_z_in_metrics_and_history(kb_repo: Path) -> None:
    # A commit made in another time zone is still reported in UTC.
    path = kb_repo / f"kb/patterns/{PATTERN}.yaml"
    path.write_text(path.read_text() + "# touched in another time zone\n")
    env = {"GIT_COMMITTER_DATE": "2025-06-01T12:00:00+02:00"}
    git(kb_repo, "commit", "-qam", "touch", env=env)
    history = document(kb_repo, "history", "pattern", PATTERN, "--json")
    assert history["format"] == "memkb.history/1"
    assert history["commits"][0]["date"] == "2025-06-01T10:00:00Z"
    report = document(kb_repo, "metrics", "--json")
    assert report["format"] == "memkb.metrics/1"
    stamps = timestamps(history) + timestamps(report) + [report["as_of"]["date"]]
    assert stamps and all(STAMP.match(s) for s in stamps), stamps
    series = document(kb_repo, "metrics", "--series", "month", "--json")
    assert series["format"] == "memkb.metrics-series/1"


def test_import_legacy_and_check_documents(kb_repo: Path, tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.json"
    legacy.write_text('{"success_patterns": {}}')
    imported = document(kb_repo, "import-legacy", str(legacy), "--dry-run", "--json")
    assert imported["format"] == "memkb.import-legacy/1"
    checked = document(kb_repo, "check", "--base", "main", "--json")
    assert checked["format"] == "memkb.check/1" and checked["ok"] is True


def test_rename_refusal_is_a_json_error(kb_repo: Path) -> None:
    result = invoke(kb_repo, "rename", "pattern", PATTERN, "other", "--json")
    assert result.exit_code == 2  # ids are permanent: renaming is not an operation
    error = json.loads(result.stdout)
    assert error["format"] == "memkb.error/1" and "memkb deprecate" in error["error"]["hint"]


def commands() -> list[Any]:
    group = get_command(app)
    return [group.commands[name] for name in sorted(group.commands)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", commands(), ids=lambda c: c.name)
def test_every_command_takes_format_and_json(command: Any) -> None:
    options = {opt for param in command.params for opt in param.opts}
    assert {"--format", "--json"} <= options, command.name


def test_every_format_choice_is_a_registered_renderer() -> None:
    """Each command's --format enum offers exactly what the registry can render."""
    for command in commands():
        [param] = [p for p in command.params if "--format" in p.opts]
        choices = list(param.type.choices)
        assert choices[0] == "text" and "json" in choices, command.name
        known = [what for what, table in REPORTERS.items() if list(table) == choices]
        assert known, f"{command.name}: {choices} matches no renderer table"


def test_every_registered_renderer_resolves() -> None:
    for what in REPORTERS:
        for fmt in formats(what):
            func = reporter(what, fmt)
            assert callable(func) and inspect.getmodule(func).__name__.startswith("memkb.report.")


def test_no_cli_module_renders_json_itself() -> None:
    """The CLI parses and picks a renderer: json.dumps lives in memkb.report only."""
    import memkb.cli

    for module in Path(memkb.cli.__file__).parent.glob("*.py"):
        text = module.read_text()
        assert "json.dumps" not in text and "import json" not in text, module.name


def test_json_text_is_the_stdlib_layout_and_takes_what_orjson_refuses() -> None:
    value = {"é": [1, 0.1, None, {"a": []}], "nested": {"b": True}, "rate": 0.885}
    assert json_text(value) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(json_text({"tiny": 1e-07})) == {"tiny": 1e-07}  # spelled 1e-7
    huge = {"n": 2**70, 3: "non-string key"}
    assert json.loads(json_text(huge)) == {"n": 2**70, "3": "non-string key"}
