"""Reports cannot be forged: every path, id and free text is escaped for the format it goes
into (GitHub workflow commands, markdown, SARIF, text); a file name with a control
character is a finding; a knowledge file's suffix is `.yaml` exactly."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from typer.testing import CliRunner

from checkcases import PATTERN, TODAY, head_branch
from conftest import git
from memkb.cli.main import app
from memkb.findings import error
from memkb.report.check import render_github, render_markdown, render_sarif, render_text
from memkb.validation.check import CheckResult, run_check
from memkb.validation.engine import validate_repo

runner = CliRunner()
FORGED = "x\n::stop-commands::pwned\n::notice title=memkb::all clear\r## memkb check passed\n"
EVIL_PATH = f"kb/patterns/{FORGED}.yaml"
LINE_BREAKS = re.compile(r"\r\n|\r|\n")


def evil_check(repo: Path) -> CheckResult:
    """A pull request adding a pattern whose file name forges commands and a heading."""
    text = (repo / PATTERN).read_text().replace("ecommerce_security_first", "x")
    head_branch(repo, "forged", {EVIL_PATH: text})
    return run_check(repo, "main", "forged", today=TODAY)


def forged_lines(text: str) -> list[str]:
    """Lines (split as GitHub and markdown split them) that a forger put there."""
    lines = LINE_BREAKS.split(text)
    return [
        ln
        for ln in lines
        if ln.startswith(("::stop-commands", "::notice", "## memkb check passed"))
    ]


def test_file_name_with_control_characters_is_a_finding(kb_repo: Path) -> None:
    result = evil_check(kb_repo)
    assert any(f.code == "KB314" and f.path == EVIL_PATH for f in result.findings)
    assert not result.ok


def test_github_output_escapes_every_path_and_message(kb_repo: Path) -> None:
    result = evil_check(kb_repo)
    # Annotated findings, and more than ten (the rest are plain log lines).
    extra = [error(EVIL_PATH, "KB201", f"msg {i}\n::notice::forged") for i in range(12)]
    text = render_github(replace(result, findings=result.findings + extra))
    assert forged_lines(text) == []
    assert all(not ln.startswith("::") or ln.startswith(("::error ", "::warning ")) for ln in
               LINE_BREAKS.split(text))  # fmt: skip
    assert "%0A%3A%3Astop-commands%3A%3Apwned" in text  # file= property: ':' escaped too


def test_markdown_summary_cannot_gain_a_heading_or_a_command(kb_repo: Path) -> None:
    result = evil_check(kb_repo)
    extra = [error(EVIL_PATH, "KB201", "x `y` | z\n## memkb check passed")]
    text = render_markdown(replace(result, findings=result.findings + extra))
    assert text.startswith("## memkb check failed")
    assert forged_lines(text) == []
    assert not any(ln.startswith("::") for ln in LINE_BREAKS.split(text))


def test_text_output_cannot_gain_a_command(kb_repo: Path) -> None:
    result = evil_check(kb_repo)
    assert forged_lines(render_text(result)) == []
    got = runner.invoke(app, ["validate", "--repo", str(kb_repo), "--no-cache"])
    assert got.exit_code in (0, 1) and forged_lines(got.output) == []


def test_sarif_uris_are_percent_encoded(kb_repo: Path) -> None:
    result = evil_check(kb_repo)
    log = json.loads(render_sarif(result))
    uris = [
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for res in log["runs"][0]["results"]
        for loc in res["locations"]
    ]
    assert "kb/patterns/x%0A%3A%3Astop-commands%3A%3Apwned" in " ".join(uris)
    assert all(re.fullmatch(r"[A-Za-z0-9/._~%-]+", uri) for uri in uris), uris


def test_upper_case_suffix_is_validated_and_refused(kb_repo: Path) -> None:
    text = (kb_repo / PATTERN).read_text().replace("ecommerce_security_first", "shouty")
    for name, suffix in (("shouty", "YAML"), ("mixed", "Yaml"), ("short", "yml")):
        body = text.replace("id: shouty", f"id: {name}")
        (kb_repo / f"kb/patterns/{name}.{suffix}").write_text(body + "unknown_field: 1\n")
    result = validate_repo(kb_repo, use_cache=False)
    for name, suffix in (("shouty", "YAML"), ("mixed", "Yaml"), ("short", "yml")):
        path = f"kb/patterns/{name}.{suffix}"
        found = {f.code for f in result.findings if f.path == path}
        assert found == {"KB311", "KB201"}, (path, found)
    # check sees the same files, from the working tree and from a commit.
    worktree = run_check(kb_repo, "main", today=TODAY)
    git(kb_repo, "checkout", "-q", "-b", "shouty")
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "shouty")
    committed = run_check(kb_repo, "main", "shouty", today=TODAY)
    for checked in (worktree, committed):
        assert {(f.path, f.code) for f in checked.findings} >= {
            ("kb/patterns/shouty.YAML", "KB311"),
            ("kb/patterns/shouty.YAML", "KB201"),
        }
        assert not checked.ok


def test_history_text_cannot_gain_a_line_from_a_commit_author() -> None:
    from memkb.report.metrics import render_history_text

    rep = {
        "kind": "pattern",
        "id": "p",
        "path": "kb/patterns/p.yaml",
        "commits": [
            {
                "commit": "0" * 40,
                "date": "2026-01-01T00:00:00Z",
                "author": "Eve\n::stop-commands::x",
                "agent": "bot\n::notice::forged",
                "change": "modified",
                "summary": ["title: a\n::error::b"],
            }
        ],
    }
    lines = render_history_text(rep).splitlines()
    assert not any(line.lstrip().startswith("::") for line in lines)
    assert any("Eve\\n::stop-commands::x" in line for line in lines)


def test_list_text_cannot_gain_a_line_from_a_title() -> None:
    from memkb.kb.index import Record
    from memkb.report.writes import render_list_text

    doc = {"kind": "pattern", "id": "p", "title": "T\n::error::forged", "domains": ["x"]}
    lines = render_list_text([Record("pattern", "p", "kb/patterns/p.yaml", doc, ())]).splitlines()
    assert not any(line.startswith("::") for line in lines)


def test_printable_escapes_every_character_its_fast_path_lets_through() -> None:
    # printable() returns text as is when str.isprintable() holds: that must never let one
    # of the characters it escapes through (C0/C1 controls, DEL, line separators, bidi).
    from memkb.report.findings import _UNPRINTABLE, printable

    escaped = [chr(c) for c in range(0x110000) if _UNPRINTABLE.fullmatch(chr(c))]
    assert len(escaped) == 32 + 33 + 2 + 2 + 5 + 4
    for char in escaped:
        assert not char.isprintable() and printable(f"a{char}b") != f"a{char}b"
    assert printable("plain text, é ü 中") == "plain text, é ü 中"
