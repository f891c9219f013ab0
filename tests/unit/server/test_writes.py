"""The write tools of memkb.server over the SDK's in-memory client: record_outcome commits
like `memkb record`, propose commits on memory/proposals/<id> only (new record or changed
fields, optionally pushed) with the check of that branch, and every refusal is a tool
error with the findings while Git stays as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from test_app import NEW_PATTERN, call, error_of

from conftest import git, make_kb_repo
from memkb.errors import UsageError
from memkb.limits import MAX_FILE_BYTES
from memkb.server.calls import Memory
from memkb.server.schemas import OUTPUT

OUTCOME = {
    "project": "Shop over MCP",
    "outcome": "success",
    "domains": ["ecommerce"],
    "droids_used": ["security-auditor"],
    "date": "2025-06-01",
    "timeline": {"planned_days": 10, "actual_days": 9},
    "quality_score": 0.9,
}


def state(repo: Path) -> tuple[str, str, str]:
    """HEAD, every branch and the work tree's status: what a refused write must keep."""
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        git(repo, "status", "--porcelain"),
    )


# -- record_outcome -------------------------------------------------------------------------


def test_record_outcome_commits_with_trailers(kb_repo: Path) -> None:
    result = call(Memory(kb_repo, agent="ai:orchestrator"), "record_outcome", OUTCOME)
    assert not result.is_error, result.content[0].text
    body = result.structured_content
    jsonschema.validate(body, OUTPUT["record_outcome"])
    assert body["id"] == "2025-06-01-shop-over-mcp"
    assert body["branch"] == "main"
    assert body["commit"] == git(kb_repo, "rev-parse", "HEAD").strip()
    message = git(kb_repo, "log", "-1", "--format=%B")
    assert "Memory-Kind: outcome" in message
    assert "Memory-Id: 2025-06-01-shop-over-mcp" in message
    assert "Memory-Agent: ai:orchestrator" in message
    text = (kb_repo / "kb/outcomes/2025/2025-06-01-shop-over-mcp.yaml").read_text()
    assert "domains: [e-commerce]" in text  # the alias became the canonical name
    assert "planned_days: 10\n" in text  # a whole number stays one, as with `memkb record`


def test_refused_outcome_lists_every_finding_and_writes_nothing(kb_repo: Path) -> None:
    before = state(kb_repo)
    bad = {**OUTCOME, "droids_used": ["security-auditr"], "notes": "key AKIAIOSFODNN7EXAMPLE"}
    error = error_of(call(Memory(kb_repo), "record_outcome", bad))
    assert error["code"] == "refused"
    codes = sorted(f["code"] for f in error["findings"])
    assert codes == ["KB304", "KB501"]
    assert all(
        f["path"] == "kb/outcomes/2025/2025-06-01-shop-over-mcp.yaml" for f in error["findings"]
    )
    assert state(kb_repo) == before


def test_record_outcome_rejects_bad_types_before_writing(kb_repo: Path) -> None:
    before = state(kb_repo)
    result = call(Memory(kb_repo), "record_outcome", {**OUTCOME, "quality_score": 7})
    assert result.is_error and "quality_score" in result.content[0].text
    result = call(Memory(kb_repo), "record_outcome", {**OUTCOME, "brief_id": "not-an-id"})
    assert result.is_error and "brief_id" in result.content[0].text
    assert state(kb_repo) == before


def test_record_outcome_with_the_brief_id_stores_what_was_followed(kb_repo: Path) -> None:
    memory = Memory(kb_repo)
    brief = call(memory, "brief", {"domains": ["e-commerce"], "phases": ["security_first"]})
    assert not brief.is_error, brief.content[0].text
    brief_id = brief.structured_content["brief_id"]
    given = {**OUTCOME, "template": "ecommerce_standard", "brief_id": brief_id}
    result = call(memory, "record_outcome", given)
    assert not result.is_error, result.content[0].text
    doc = yaml.safe_load((kb_repo / "kb/outcomes/2025/2025-06-01-shop-over-mcp.yaml").read_text())
    assert doc["advice"]["brief_id"] == brief_id
    assert doc["advice"]["followed"]["templates"] == ["ecommerce_standard"]


def test_a_brief_id_that_does_not_resolve_is_refused(kb_repo: Path) -> None:
    memory = Memory(kb_repo)
    brief_id = call(memory, "brief", {"domains": ["e-commerce"]}).structured_content["brief_id"]
    forged = ("0" if brief_id[0] != "0" else "1") + brief_id[1:]  # the checksum no longer fits
    before = state(kb_repo)
    result = call(memory, "record_outcome", {**OUTCOME, "brief_id": forged})
    assert result.is_error and "brief" in result.content[0].text
    assert state(kb_repo) == before


def test_a_record_larger_than_a_knowledge_file_is_refused(kb_repo: Path) -> None:
    before = state(kb_repo)
    huge = {**NEW_PATTERN, "best_practices": ["x" * 1000] * (MAX_FILE_BYTES // 1000)}
    error = error_of(call(Memory(kb_repo), "propose", {"kind": "pattern", "record": huge}))
    assert f"a record may hold at most {MAX_FILE_BYTES}" in error["message"]
    assert state(kb_repo) == before


def test_read_only_memory_refuses_writes_in_python_too(kb_repo: Path) -> None:
    with pytest.raises(UsageError, match="read-only"):
        Memory(kb_repo, read_only=True).record_outcome(OUTCOME)


# -- propose --------------------------------------------------------------------------------


def propose(repo: Path, record: dict[str, Any], **extra: Any) -> Any:
    args = {"kind": "pattern", "record": record, **extra}
    return call(Memory(repo, agent="ai:orchestrator"), "propose", args)


def test_propose_a_new_pattern_commits_on_a_proposal_branch_only(kb_repo: Path) -> None:
    head = git(kb_repo, "rev-parse", "HEAD").strip()
    result = propose(kb_repo, NEW_PATTERN)
    assert not result.is_error, result.content[0].text
    body = result.structured_content
    jsonschema.validate(body, OUTPUT["propose"])
    branch = "memory/proposals/mcp_demo_pattern"
    assert body["branch"] == branch
    assert body["base"] == head
    tip = git(kb_repo, "rev-parse", branch).strip()
    assert [w["commit"] for w in body["writes"]] == [tip]
    assert body["writes"][0]["format"] == "memkb.new/1"  # as `memkb new --branch` says
    assert git(kb_repo, "rev-parse", "HEAD").strip() == head  # main did not move
    assert git(kb_repo, "branch", "--show-current").strip() == "main"
    assert not (kb_repo / "kb/patterns/mcp_demo_pattern.yaml").exists()
    assert "Memory-Agent: ai:orchestrator" in git(kb_repo, "log", "-1", "--format=%B", branch)
    check = body["check"]
    assert check["ok"] is True and check["head"] == tip
    assert [c["path"] for c in check["changes"]] == ["kb/patterns/mcp_demo_pattern.yaml"]


def test_propose_a_change_sets_each_field_on_the_branch(kb_repo: Path) -> None:
    change = {
        "id": "ecommerce_security_first",
        "title": "Proposed title",
        "phases": ["security_first"],
    }
    result = propose(kb_repo, change)
    assert not result.is_error, result.content[0].text
    body = result.structured_content
    assert [w["action"] for w in body["writes"]] == ["update", "update"]
    assert {w["format"] for w in body["writes"]} == {"memkb.set/1"}
    branch = body["branch"]
    shown = git(kb_repo, "show", f"{branch}:kb/patterns/ecommerce_security_first.yaml")
    assert "title: Proposed title" in shown
    assert (
        "Proposed title" not in (kb_repo / "kb/patterns/ecommerce_security_first.yaml").read_text()
    )
    assert body["check"]["changes"][0]["status"] == "modified"


def test_propose_twice_adds_to_the_same_proposal_branch(kb_repo: Path) -> None:
    first = propose(kb_repo, NEW_PATTERN).structured_content
    again = propose(kb_repo, {"id": "mcp_demo_pattern", "title": "Second thoughts"})
    assert not again.is_error, again.content[0].text
    second = again.structured_content
    assert second["branch"] == first["branch"]
    parent = git(kb_repo, "rev-parse", f"{second['writes'][0]['commit']}^").strip()
    assert parent == first["writes"][0]["commit"]
    assert second["check"]["changes"][0]["status"] == "added"  # still new against main


def test_refused_proposal_lists_findings_and_creates_no_branch(kb_repo: Path) -> None:
    before = state(kb_repo)
    bad = {**NEW_PATTERN, "phases": ["testing"], "description": "token ghp_" + "a" * 36}
    error = error_of(propose(kb_repo, bad))
    assert error["code"] == "refused"
    assert sorted(f["code"] for f in error["findings"]) == ["KB304", "KB501"]
    assert state(kb_repo) == before


def test_propose_on_the_checked_out_proposal_branch_is_refused(kb_repo: Path) -> None:
    git(kb_repo, "switch", "-q", "-c", "memory/proposals/mcp_demo_pattern")
    before = state(kb_repo)
    error = error_of(propose(kb_repo, NEW_PATTERN))
    assert "never committed on the checked-out branch" in error["message"]
    assert state(kb_repo) == before


@pytest.mark.parametrize(
    ("kind", "record", "says"),
    [
        ("outcome", NEW_PATTERN, "Input should be 'pattern', 'failure' or 'template'"),
        ("pattern", {"title": "no id"}, "the proposed record has no id"),
        ("pattern", {"id": "main"}, "is not valid; nothing was written"),
        ("pattern", {"id": "ecommerce_security_first"}, "gives no field to change"),
        ("pattern", {"id": "../escape", "title": "x"}, "'../escape' is not a record id"),
    ],
)
def test_bad_proposals_are_tool_errors(kb_repo: Path, kind: str, record: Any, says: str) -> None:
    before = state(kb_repo)
    result = call(Memory(kb_repo), "propose", {"kind": kind, "record": record})
    assert result.is_error
    assert says in result.content[0].text
    assert state(kb_repo) == before


def test_propose_with_push_publishes_the_branch(tmp_path: Path) -> None:
    seed = make_kb_repo(tmp_path / "seed")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(remote))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    result = propose(clone, NEW_PATTERN, push=True)
    assert not result.is_error, result.content[0].text
    body = result.structured_content
    assert body["pushed_to"] == "origin"
    published = git(remote, "rev-parse", "refs/heads/memory/proposals/mcp_demo_pattern").strip()
    assert published == body["writes"][0]["commit"]
    assert git(remote, "rev-parse", "refs/heads/main") == git(seed, "rev-parse", "HEAD")
    assert json.loads(result.content[0].text) == body


def test_a_change_refused_on_its_second_field_leaves_no_commit(kb_repo: Path) -> None:
    before = state(kb_repo)
    change = {"id": "ecommerce_security_first", "title": "Fine", "phases": ["no_such_phase"]}
    error = error_of(propose(kb_repo, change))
    assert [f["code"] for f in error["findings"]] == ["KB304"]
    assert state(kb_repo) == before  # the branch the first field created is gone


def test_a_refused_change_puts_an_existing_proposal_back(kb_repo: Path) -> None:
    first = propose(kb_repo, {"id": "ecommerce_security_first", "title": "First"})
    branch = first.structured_content["branch"]
    before = state(kb_repo)
    change = {"id": "ecommerce_security_first", "title": "Second", "phases": ["no_such_phase"]}
    assert propose(kb_repo, change).is_error
    assert state(kb_repo) == before
    shown = git(kb_repo, "show", f"{branch}:kb/patterns/ecommerce_security_first.yaml")
    assert "title: First" in shown
