"""Authoring commands end to end: real repos, the real CLI, byte-for-byte round-trip edits."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import git, make_kb_repo
from memkb.cli.main import app
from memkb.records.edit import assign, edit_text
from memkb.validation.engine import validate_repo
from memkb.write.authoring import set_field, slugify

PATTERN = "kb/patterns/ecommerce_security_first.yaml"
FAILURE = "kb/failures/payment_webhook_timeout.yaml"

# Comments, odd quoting, 4-space indentation, flow lists, a folded string and a
# blank line: everything ruamel might be tempted to normalise.
HAND_WRITTEN = """\
# yaml-language-server: $schema=../../schemas/pattern.schema.json
# Written by hand; keep this header.
kind: pattern
schema_version: 3
id: hand_written   # permanent
title: 'Single quoted'
description: >
    Folded text that
    spans lines.

domains: [e-commerce,   finance]   # odd spacing kept
phases:
    - security_first
key_droids:
    - "security-auditor"    # quoted on purpose
    - backend-architect
best_practices:
    - Audit first
prior: {success_rate: 0.5, weight: 3}
"""


def run(repo: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--repo", str(repo)], input=stdin)
    return result.exit_code, result.output


def diff_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.fixture
def hand_repo(kb_repo: Path) -> Path:
    (kb_repo / "kb/patterns/hand_written.yaml").write_text(HAND_WRITTEN)
    git(kb_repo, "add", ".")
    git(kb_repo, "commit", "-qm", "hand-written pattern")
    return kb_repo


def test_set_changes_only_the_edited_line(hand_repo: Path) -> None:
    code, out = run(hand_repo, "set", "pattern", "hand_written", "title", "New title")
    assert code == 0, out
    after = (hand_repo / "kb/patterns/hand_written.yaml").read_text()
    # ruamel keeps the value's quoting style: only the one line changes.
    assert diff_lines(HAND_WRITTEN, after) == ["-title: 'Single quoted'", "+title: 'New title'"]


def test_add_and_remove_touch_only_the_list_item(hand_repo: Path) -> None:
    assert run(hand_repo, "add", "pattern", "hand_written", "key_droids", "code-reviewer")[0] == 0
    path = hand_repo / "kb/patterns/hand_written.yaml"
    assert diff_lines(HAND_WRITTEN, path.read_text()) == ["+    - code-reviewer"]
    assert (
        run(hand_repo, "remove", "pattern", "hand_written", "key_droids", "code-reviewer")[0] == 0
    )
    assert path.read_text() == HAND_WRITTEN
    assert git(hand_repo, "log", "-2", "--format=%s").splitlines() == [
        "memory(pattern): update hand_written",
        "memory(pattern): update hand_written",
    ]


def test_nested_set_and_deprecate_keep_the_rest(hand_repo: Path) -> None:
    # prior.source: the one prior key a merged record may change (KB405 fixes the figures).
    assert run(hand_repo, "set", "pattern", "hand_written", "prior.source", "ticket 5")[0] == 0
    code, out = run(
        hand_repo,
        "deprecate",
        "pattern",
        "hand_written",
        "--superseded-by",
        "ecommerce_security_first",
    )
    assert code == 0, out
    after = (hand_repo / "kb/patterns/hand_written.yaml").read_text()
    assert diff_lines(HAND_WRITTEN, after) == [
        "+status: deprecated",
        "+superseded_by: ecommerce_security_first",
        "-prior: {success_rate: 0.5, weight: 3}",
        "+prior: {success_rate: 0.5, weight: 3, source: ticket 5}",
    ]
    # New keys go where the schema's field order puts them, not at the end.
    assert after.index("superseded_by:") < after.index("domains:")
    assert "Memory-Action: deprecate" in git(hand_repo, "show", "-s", "--format=%B")


@pytest.mark.parametrize(
    "relpath", [PATTERN, FAILURE, "kb/templates/ecommerce_standard.yaml", "kb/vocabulary.yaml"]
)
def test_an_edit_of_any_bundled_record_adds_exactly_one_line(kb_repo: Path, relpath: str) -> None:
    before = (kb_repo / relpath).read_text()
    after = edit_text(
        before.encode(),
        relpath,
        ["description"],
        lambda parent, key: parent.__setitem__(key, "Round trip"),
    ).decode()
    assert diff_lines(before, after) == ["+description: Round trip"]


def test_a_new_field_lands_in_schema_order(kb_repo: Path) -> None:
    assert (
        run(kb_repo, "set", "pattern", "ecommerce_security_first", "title", "Audit first")[0] == 0
    )
    lines = (kb_repo / PATTERN).read_text().splitlines()
    assert lines[3:6] == [
        "id: ecommerce_security_first",
        "title: Audit first",
        "domains: [e-commerce, finance, healthcare]",
    ]


def test_invalid_edit_writes_nothing_and_names_the_place(kb_repo: Path) -> None:
    before = (kb_repo / PATTERN).read_bytes()
    code, out = run(
        kb_repo, "add", "pattern", "ecommerce_security_first", "key_droids", "security-airditor"
    )
    assert code == 1
    assert f"{PATTERN}:" in out and "security-airditor" in out
    assert (kb_repo / PATTERN).read_bytes() == before
    assert git(kb_repo, "status", "--porcelain") == ""


def test_new_from_stdin_json_matches_house_style(kb_repo: Path) -> None:
    record = {
        "id": "agent_made",
        "domains": ["e-commerce"],
        "phases": ["security_first"],
        "key_droids": ["security-auditor"],
        "best_practices": ["Audit first"],
    }
    code, out = run(
        kb_repo,
        "new",
        "pattern",
        "--from",
        "-",
        "--json",
        "--agent",
        "orchestrator",
        stdin=json.dumps(record),
    )
    assert code == 0, out
    assert json.loads(out)["paths"] == ["kb/patterns/agent_made.yaml"]
    text = (kb_repo / "kb/patterns/agent_made.yaml").read_text()
    assert text.startswith(
        "# yaml-language-server: $schema=../../schemas/pattern.schema.json\n"
        "kind: pattern\nschema_version: 3\nid: agent_made\n"
    )
    assert git(kb_repo, "show", "-s", "--format=%s").strip() == "memory(pattern): add agent_made"
    assert validate_repo(kb_repo).ok


def test_new_with_options_and_existing_id_refused(kb_repo: Path) -> None:
    code, out = run(
        kb_repo,
        "new",
        "failure",
        "cache_stampede",
        "--cause",
        "Cold cache",
        "--prevention",
        "Warm the cache",
        "--domain",
        "performance",
    )
    assert code == 0, out
    code, out = run(
        kb_repo, "new", "failure", "cache_stampede", "--cause", "x", "--prevention", "y"
    )
    assert code == 1 and "exists already" in out


def test_new_without_terminal_lists_missing_fields(kb_repo: Path) -> None:
    code, out = run(kb_repo, "new", "failure", "half_done", "--domain", "e-commerce")
    assert code == 2
    assert (
        "missing required field(s) for a new failure: common_causes, prevention_strategies" in out
    )
    assert not (kb_repo / "kb/failures/half_done.yaml").exists()


def test_new_pattern_without_droids_or_phases_is_written_with_warnings(kb_repo: Path) -> None:
    # Optional since schema version 3: the write succeeds and says what advice lacks.
    code, out = run(kb_repo, "new", "pattern", "half_done", "--domain", "e-commerce")
    assert code == 0, out
    assert "warning KB320 pattern half_done has no key_droids" in out
    assert "warning KB320 pattern half_done has no phases" in out
    assert (kb_repo / "kb/patterns/half_done.yaml").exists()


def test_new_at_a_terminal_prompts_for_missing_fields(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memkb.cli import author_cmd

    monkeypatch.setattr(author_cmd, "stdin_is_terminal", lambda: True)
    code, out = run(
        kb_repo,
        "new",
        "failure",
        "asked_for",
        "--domain",
        "e-commerce",
        stdin="Cold cache, Thundering herd\nWarm the cache\n",
    )
    assert code == 0, out
    assert "common_causes (lists: comma-separated):" in out
    text = (kb_repo / "kb/failures/asked_for.yaml").read_text()
    assert "common_causes:\n  - Cold cache\n  - Thundering herd\nprevention_strategies:\n" in text


def test_record_cli_with_failures_and_timeline(kb_repo: Path) -> None:
    code, out = run(
        kb_repo,
        "record",
        "--project",
        "Shop Two",
        "--date",
        "2025-02-03",
        "--outcome",
        "partial",
        "--domain",
        "e-commerce",
        "--droid",
        "security-auditor",
        "--template",
        "ecommerce_standard",
        "--pattern",
        "ecommerce_security_first",
        "--recovered",
        "payment_webhook_timeout:retried with backoff",
        "--failure",
        "database_migration_failures",
        "--planned-days",
        "10",
        "--actual-days",
        "12.5",
        "--quality",
        "0.8",
        "--errors",
        "2",
        "--satisfaction",
        "0.9",
        "--json",
    )
    assert code == 0, out
    relpath = json.loads(out)["paths"][0]
    assert relpath == "kb/outcomes/2025/2025-02-03-shop-two.yaml"
    shown = json.loads(run(kb_repo, "show", "outcome", "2025-02-03-shop-two", "--json")[1])
    shown = shown["record"]
    assert shown["failures_met"] == [
        {"failure": "database_migration_failures", "recovered": False},
        {"failure": "payment_webhook_timeout", "recovered": True, "how": "retried with backoff"},
    ]
    assert shown["timeline"] == {"planned_days": 10, "actual_days": 12.5}


def test_rm_refuses_a_referenced_record_and_deletes_a_free_one(kb_repo: Path) -> None:
    code, out = run(kb_repo, "rm", "pattern", "ecommerce_security_first")
    assert code == 1
    assert "kb/outcomes/2025/2025-01-20-shumica-marketplace.yaml: patterns_applied.0" in out
    assert (kb_repo / PATTERN).exists()
    assert (
        run(kb_repo, "new", "failure", "short_lived", "--cause", "a", "--prevention", "b")[0] == 0
    )
    code, out = run(kb_repo, "rm", "failure", "short_lived")
    assert code == 0, out
    assert not (kb_repo / "kb/failures/short_lived.yaml").exists()
    assert git(kb_repo, "show", "--name-status", "--format=%s").split() == [
        "memory(failure):",
        "delete",
        "short_lived",
        "D",
        "kb/failures/short_lived.yaml",
    ]


def test_rename_is_refused_with_the_way_out(kb_repo: Path) -> None:
    code, out = run(kb_repo, "rename", "pattern", "ecommerce_security_first", "shop_first")
    assert code == 2
    assert "permanent" in out and "deprecate pattern ecommerce_security_first" in out


def test_outcomes_are_append_only(kb_repo: Path) -> None:
    code, out = run(
        kb_repo, "set", "outcome", "2025-01-20-shumica-marketplace", "outcome", "failure"
    )
    assert code == 2 and "append-only" in out


def test_set_refuses_permanent_fields(kb_repo: Path) -> None:
    with pytest.raises(Exception, match="permanent"):
        set_field(kb_repo, "pattern", "ecommerce_security_first", "id", "other")


def test_list_filters_and_json(kb_repo: Path) -> None:
    code, out = run(kb_repo, "list", "--kind", "pattern", "--droid", "security-auditor", "--json")
    assert code == 0
    ids = [row["id"] for row in json.loads(out)["records"]]
    assert ids == ["authentication_jwt_security_first", "ecommerce_security_first"]
    code, out = run(kb_repo, "list", "--domain", "e-commerce")
    assert code == 0
    assert out.splitlines()[0].split() == ["KIND", "ID", "STATUS", "DOMAINS", "TITLE"]
    assert "template  ecommerce_standard" in out


def test_show_prints_the_file(kb_repo: Path) -> None:
    code, out = run(kb_repo, "show", "pattern", "ecommerce_security_first")
    assert code == 0
    assert out == f"# {PATTERN}\n" + (kb_repo / PATTERN).read_text()
    code, out = run(kb_repo, "show", "pattern", "no_such")
    assert code == 2 and "no pattern 'no_such'" in out


def test_no_commit_edits_chain_in_the_work_tree(kb_repo: Path) -> None:
    for field, value in (("title", "One"), ("description", "Two")):
        code, out = run(
            kb_repo, "set", "pattern", "ecommerce_security_first", field, value, "--no-commit"
        )
        assert code == 0, out
    assert len(git(kb_repo, "log", "--format=%H").split()) == 1
    text = (kb_repo / PATTERN).read_text()
    assert "title: One" in text and "description: Two" in text


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60))
def test_any_value_round_trips_and_keeps_every_other_line(value: str) -> None:
    after = edit_text(
        HAND_WRITTEN.encode(), "x.yaml", ["title"], lambda p, k: assign(p, k, value)
    ).decode()
    assert yaml.safe_load(after) == {**yaml.safe_load(HAND_WRITTEN), "title": value}
    kept = [line for line in HAND_WRITTEN.splitlines() if not line.startswith("title:")]
    lines = iter(after.splitlines())
    assert all(line in lines for line in kept)  # every other line, in order, unchanged


@pytest.mark.parametrize(
    ("project", "slug"),
    [("Café Ünïcode", "cafe-unicode"), ("  Big -- Shop!  ", "big-shop"), ("日本", "project")],
)
def test_slugs_are_ascii_kebab_case(project: str, slug: str) -> None:
    assert slugify(project) == slug


def test_cli_branch_and_push(tmp_path: Path) -> None:
    seed = make_kb_repo(tmp_path / "seed")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(remote))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))

    code, out = run(
        clone,
        "set",
        "pattern",
        "ecommerce_security_first",
        "title",
        "Proposed",
        "--branch",
        "memory/proposal",
        "--push",
        "--json",
    )
    assert code == 0, out
    result = json.loads(out)
    assert (result["branch"], result["pushed_to"]) == ("memory/proposal", "origin")
    assert git(remote, "rev-parse", "memory/proposal").strip() == result["commit"]
    assert git(clone, "branch", "--show-current").strip() == "main"
    assert "title:" not in (clone / PATTERN).read_text()


def test_new_refuses_a_record_of_another_kind(kb_repo: Path) -> None:
    code, out = run(
        kb_repo,
        "new",
        "pattern",
        "--from",
        "-",
        stdin='{"kind": "failure", "id": "x", "common_causes": ["a"]}',
    )
    assert code == 2 and "says kind 'failure'" in out
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_show_reads_only_its_own_file_and_reports_a_broken_one(kb_repo: Path) -> None:
    (kb_repo / "kb/patterns/zz_broken.yaml").write_text("kind: pattern\nid: [unclosed\n")
    code, out = run(kb_repo, "show", "pattern", "ecommerce_security_first", "--json")
    assert code == 0 and json.loads(out)["record"]["id"] == "ecommerce_security_first"
    code, out = run(kb_repo, "show", "pattern", "zz_broken")
    assert code == 1 and "kb/patterns/zz_broken.yaml:3:1: error KB101" in out


def test_an_id_that_is_a_path_is_refused_and_nothing_changes(kb_repo: Path) -> None:
    code, out = run(
        kb_repo,
        "new",
        "pattern",
        "lonely",
        "--title",
        "T",
        "--description",
        "D",
        "--domain",
        "e-commerce",
        "--phase",
        "security_first",
        "--droid",
        "security-auditor",
    )
    assert code == 0, out
    head = git(kb_repo, "rev-parse", "HEAD")
    # Before: the file was deleted from the work tree by a commit that changed nothing.
    code, out = run(kb_repo, "rm", "failure", "../patterns/lonely")
    assert code == 2 and "'../patterns/lonely' is not a record id" in out
    assert (kb_repo / "kb/patterns/lonely.yaml").exists()
    assert git(kb_repo, "rev-parse", "HEAD") == head
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


@pytest.mark.parametrize("command", ["show", "rm"])
def test_an_id_too_long_for_a_file_name_is_a_usage_error(kb_repo: Path, command: str) -> None:
    # Before: an OSError (File name too long) traceback.
    code, out = run(kb_repo, command, "pattern", "a" * 300)
    assert code == 2 and "is not a record id" in out


def test_show_of_an_unknown_kind_is_a_usage_error(kb_repo: Path) -> None:
    code, out = run(kb_repo, "show", "widget", "x")
    assert code == 2 and "unknown kind 'widget'" in out


def test_rename_of_an_unknown_kind_says_so(kb_repo: Path) -> None:
    # Before: "widget ids are permanent", with a hint to run `memkb new widget`.
    code, out = run(kb_repo, "rename", "widget", "x", "y")
    assert code == 2 and "unknown kind 'widget'" in out


def test_a_misspelled_kind_names_the_kinds_that_apply(kb_repo: Path) -> None:
    # Before: `list --kind patterns` printed "0 record(s)" and exited 0.
    code, out = run(kb_repo, "list", "--kind", "patterns")
    assert code == 2 and "unknown kind 'patterns'" in out
    code, out = run(kb_repo, "set", "patterns", "x", "title", "T")
    assert code == 2 and "use one of: pattern, failure, template, vocabulary" in out


def test_setting_a_field_to_its_current_value_commits_nothing(kb_repo: Path) -> None:
    args = ("set", "pattern", "ecommerce_security_first", "title", "Same")
    assert run(kb_repo, *args)[0] == 0
    head = git(kb_repo, "rev-parse", "HEAD")
    # Before: a second, empty commit whose trailers told history "update".
    code, out = run(kb_repo, *args)
    assert code == 1 and f"{PATTERN} holds that already" in out
    assert git(kb_repo, "rev-parse", "HEAD") == head


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ("set", "pattern", "ecommerce_security_first", "prior", "{weight: 1, weight: 2}"),
            None,
            "duplicate key 'weight'",
        ),
        (("new", "pattern", "--from", "-"), "id: one\nid: two\n", "duplicate key 'id'"),
        (
            # --yaml: the items of best_practices are text, taken as given without it
            (
                "add",
                "pattern",
                "ecommerce_security_first",
                "best_practices",
                "&a [x, *a]",
                "--yaml",
            ),
            None,
            "expands too far through its aliases",
        ),
    ],
)
def test_a_value_yaml_cannot_hold_is_a_usage_error(
    kb_repo: Path, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    # Before: an AttributeError or a RecursionError traceback.
    code, out = run(kb_repo, *args, stdin=stdin)
    assert code == 2 and message in out
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_key_too_long_for_yaml_is_refused_without_a_traceback(kb_repo: Path) -> None:
    # Before: render's ValueError escaped as a traceback.
    code, out = run(
        kb_repo,
        *("new", "pattern", "long_key", "--title", "T", "--description", "D"),
        *("--domain", "e-commerce", "--phase", "security_first", "--droid", "security-auditor"),
        *("--field", f"{'k' * 1001}=1"),
    )
    assert code == 1 and "mapping key too long to write as YAML" in out
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_input_that_is_not_utf8_is_a_usage_error(kb_repo: Path, tmp_path: Path) -> None:
    # Before: a UnicodeDecodeError (a file) or UnicodeEncodeError (a value) traceback.
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"id: caf\xe9\n")
    code, out = run(kb_repo, "new", "pattern", "--from", str(latin1))
    assert code == 2 and "latin1.yaml is not UTF-8 (byte 0xe9)" in out
    undecodable = b"caf\xe9".decode("utf-8", "surrogateescape")  # how argv carries it
    code, out = run(kb_repo, "set", "pattern", "ecommerce_security_first", "title", undecodable)
    assert code == 2 and "the value given is not UTF-8 text" in out
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_list_item_with_no_value_is_a_finding_not_a_traceback(kb_repo: Path) -> None:
    # Before: ruamel's indentation guess raised IndexError on the line "  -".
    args = ("add", "pattern", "ecommerce_security_first", "best_practices", "~", "--yaml")
    code, out = run(kb_repo, *args)
    assert code == 1 and "is not valid; nothing was written" in out
    path = kb_repo / PATTERN
    path.write_text(path.read_text() + "best_practices:\n  -\n")  # written by hand
    code, out = run(
        kb_repo, "set", "pattern", "ecommerce_security_first", "title", "T", "--no-commit"
    )
    assert code == 1 and "is not valid; nothing was written" in out


def test_setting_a_folded_text_replaces_its_lines(hand_repo: Path) -> None:
    # Before: ruamel re-indents the folded text, so the hunk's end was not found and
    # the new description was inserted above the old one (a duplicate key; traceback).
    code, out = run(hand_repo, "set", "pattern", "hand_written", "description", "Short")
    assert code == 0, out
    after = (hand_repo / "kb/patterns/hand_written.yaml").read_text()
    assert diff_lines(HAND_WRITTEN, after) == [
        "-description: >",
        "-    Folded text that",
        "-    spans lines.",
        "+description: >-",
        "+  Short",
    ]


def test_a_value_ruamel_cannot_write_back_is_refused(hand_repo: Path) -> None:
    # Before: ruamel wrote `weight: ? x` into the flow mapping and the read-back check
    # died on its own ParserError.
    code, out = run(hand_repo, "set", "pattern", "hand_written", "prior.weight", "'? x'")
    assert code == 1 and "would not read back as the values given" in out
    assert (hand_repo / "kb/patterns/hand_written.yaml").read_text() == HAND_WRITTEN


def test_a_proposal_branch_is_judged_by_its_own_records(kb_repo: Path) -> None:
    """A pattern created on a proposal branch can be cited by the next write on that
    branch, though the checked-out main does not have it (and the reverse is refused)."""
    new = json.dumps(
        {
            "id": "branch_only",
            "domains": ["e-commerce"],
            "phases": ["security_first"],
            "key_droids": ["security-auditor"],
        }
    )
    code, output = run(kb_repo, "new", "pattern", "--from", "-", "--branch", "memory/p", stdin=new)
    assert code == 0, output
    record = [
        "record",
        "--project",
        "Branch Shop",
        "--date",
        "2025-02-03",
        "--outcome",
        "success",
        "--domain",
        "e-commerce",
        "--droid",
        "security-auditor",
        "--pattern",
        "branch_only",
    ]
    code, output = run(kb_repo, *record, "--branch", "memory/p")
    assert code == 0, output
    assert "branch_only" in git(
        kb_repo, "show", "memory/p:kb/outcomes/2025/2025-02-03-branch-shop.yaml"
    )
    code, output = run(kb_repo, *record)  # on main, the pattern does not exist
    assert code == 1 and "unknown pattern 'branch_only'" in output
