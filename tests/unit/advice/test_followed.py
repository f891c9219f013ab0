"""memkb.advice.followed and `memkb record --brief-id`: a brief_id resolves from itself in
any clone holding its commit, followed/ignored are computed from what the outcome applied,
and an unresolved brief_id is refused with nothing written (docs/advice.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import RECORD, git, make_kb_repo
from memkb.advice import make_query, recommend
from memkb.advice.followed import compare_advice, resolve_brief
from memkb.advice.query import Query, brief_id, parse_brief_id
from memkb.cli.main import app
from memkb.errors import RecordError, UsageError
from memkb.write.authoring import record_outcome

runner = CliRunner()
SHOP = make_query(domains=["e-commerce"], phases=["security_first"])
# What the bundled KB advises for SHOP (tests/unit/advice/test_advice.py pins the ranking).
TEMPLATES = ["ecommerce_standard"]
PATTERNS = ["ecommerce_security_first", "authentication_jwt_security_first"]
GUARDS = ["payment_webhook_timeout", "database_migration_failures"]
OUTCOME = {
    "project": "Shop two",
    "outcome": "success",
    "date": "2025-02-01",
    "domains": ["e-commerce"],
    "droids_used": ["security-auditor"],
}


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def test_brief_id_holds_its_commit_and_query_and_reads_back() -> None:
    query = Query(("e-commerce",), ("security_first",), ("security-auditor",),
                  "Payment: webhook/retry ü 100%", 7)  # fmt: skip
    commit = "19e77a0c7ffff4d4f58318d227ec7726df3e244e"
    made = brief_id(commit, query)
    digest = made.split(".")[0]
    assert made == (
        f"{digest}.19e77a0c7fff:domains=e-commerce:phases=security_first:"
        "droids=security-auditor:limit=7:text=Payment%3a%20webhook%2fretry%20%c3%bc%20100%25"
    )
    ref = parse_brief_id(made)
    assert (ref.digest, ref.commit_prefix, ref.query) == (digest, commit[:12], query)
    # No character a shell would take for itself: the id is passed without quotes.
    assert set(made) <= set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.:=,%_-")


def test_advice_resolves_in_another_clone_from_the_id_alone(kb_repo: Path, tmp_path: Path) -> None:
    given = recommend(kb_repo, SHOP)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(kb_repo), str(clone))
    again = resolve_brief(clone, given.brief_id)
    assert again.to_dict() == given.to_dict()


def test_followed_and_ignored_come_from_what_was_applied(kb_repo: Path) -> None:
    advice = recommend(kb_repo, SHOP)
    assert ([i.id for i in advice.templates], [i.id for i in advice.patterns],
            [i.id for i in advice.guards]) == (TEMPLATES, PATTERNS, GUARDS)  # fmt: skip
    outcome = {
        **OUTCOME,
        "template": "ecommerce_standard",
        "patterns_applied": ["ecommerce_security_first", "some_unadvised_pattern"],
        "failures_met": [
            {"failure": "payment_webhook_timeout", "recovered": True,
             "prevention_used": ["Implement robust retry logic"]},
        ],
    }  # fmt: skip
    assert compare_advice(advice, outcome) == {
        "brief_id": advice.brief_id,
        "commit": advice.commit,
        "followed": {"templates": TEMPLATES, "patterns": PATTERNS[:1], "guards": GUARDS[:1]},
        "ignored": {"templates": [], "patterns": PATTERNS[1:], "guards": []},
        "not_met": GUARDS[1:],
    }


def test_another_template_ignores_the_top_one_and_an_unguarded_failure_ignores_its_guard(
    kb_repo: Path,
) -> None:
    advice = recommend(kb_repo, SHOP)
    outcome = {
        **OUTCOME,
        "template": "healthcare_compliance",
        "failures_met": [{"failure": "database_migration_failures", "recovered": False}],
    }
    got = compare_advice(advice, outcome)
    assert got["followed"] == {"templates": [], "patterns": [], "guards": []}
    assert got["ignored"] == {"templates": TEMPLATES, "patterns": PATTERNS,
                              "guards": ["database_migration_failures"]}  # fmt: skip
    assert got["not_met"] == ["payment_webhook_timeout"]


def test_record_stores_the_advice_of_the_brief_commit_not_of_head(kb_repo: Path) -> None:
    given = recommend(kb_repo, SHOP)
    # Memory moves on before the outcome is recorded: the second pattern is deprecated.
    path = kb_repo / "kb/patterns/authentication_jwt_security_first.yaml"
    text = path.read_text().replace("phases:", "status: deprecated\nphases:", 1)
    path.write_text(text)
    git(kb_repo, "commit", "-qam", "deprecate")
    assert [i.id for i in recommend(kb_repo, SHOP).patterns] != PATTERNS
    fields = {**OUTCOME, "patterns_applied": ["ecommerce_security_first"]}
    result = record_outcome(kb_repo, fields, brief_id=given.brief_id)
    doc = yaml.safe_load((kb_repo / result.paths[0]).read_text())
    assert doc["schema_version"] == 2
    assert doc["advice"]["commit"] == given.commit != head(kb_repo)
    assert doc["advice"]["ignored"]["patterns"] == ["authentication_jwt_security_first"]
    assert git(kb_repo, "status", "--porcelain") == ""


def test_a_brief_id_of_a_commit_this_repository_lacks_is_refused(
    kb_repo: Path, tmp_path: Path
) -> None:
    other = make_kb_repo(tmp_path / "other")
    (other / "kb/notes.txt").write_text("another history\n")
    git(other, "add", "-A")
    git(other, "commit", "-qm", "elsewhere")
    foreign = recommend(other, SHOP).brief_id
    before = head(kb_repo)
    with pytest.raises(RecordError, match="which this repository does not have"):
        record_outcome(kb_repo, OUTCOME, brief_id=foreign)
    assert head(kb_repo) == before
    assert git(kb_repo, "status", "--porcelain") == ""


def test_an_altered_brief_id_is_refused(kb_repo: Path) -> None:
    given = recommend(kb_repo, SHOP).brief_id
    altered = given.replace("limit=5", "limit=6")
    with pytest.raises(RecordError, match="does not match its commit and query"):
        resolve_brief(kb_repo, altered)


@pytest.mark.parametrize(
    "bad",
    ["nonsense", "0123456789abcdef.0123456789ab:limit=x", "0123456789abcdef.0123456789ab:zz=1"],
)
def test_a_malformed_brief_id_is_a_usage_error(kb_repo: Path, bad: str) -> None:
    with pytest.raises(UsageError, match="brief_id"):
        resolve_brief(kb_repo, bad)


def test_cli_record_with_brief_id_writes_the_advice_field(kb_repo: Path) -> None:
    given = recommend(kb_repo, SHOP).brief_id
    args = [*RECORD, "--pattern", "ecommerce_security_first", "--brief-id", given]
    result = runner.invoke(app, [*args, "--repo", str(kb_repo), "--json"])
    assert result.exit_code == 0, result.output
    path = json.loads(result.stdout)["paths"][0]
    advice = yaml.safe_load((kb_repo / path).read_text())["advice"]
    assert advice["brief_id"] == given
    assert advice["followed"]["patterns"] == ["ecommerce_security_first"]


@pytest.mark.parametrize(
    ("brief", "code", "message"),
    [
        ("nonsense", 2, "'nonsense' is not a brief_id"),
        ("0123456789abcdef.0123456789ab:limit=5", 1, "which this repository does not have"),
    ],
)
def test_cli_refuses_an_unresolved_brief_id_and_writes_nothing(
    kb_repo: Path, brief: str, code: int, message: str
) -> None:
    before = head(kb_repo)
    result = runner.invoke(app, [*RECORD, "--brief-id", brief, "--repo", str(kb_repo)])
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert head(kb_repo) == before
    assert git(kb_repo, "status", "--porcelain") == ""


def test_an_advice_field_given_by_hand_is_refused(kb_repo: Path) -> None:
    forged = {"brief_id": "x", "commit": "y", "followed": {}, "ignored": {}}
    with pytest.raises(UsageError, match="'advice' field is computed, not given"):
        record_outcome(kb_repo, {**OUTCOME, "advice": forged})
    assert git(kb_repo, "status", "--porcelain") == ""
