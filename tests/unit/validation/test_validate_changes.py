"""validate_changes (the write path's check) agrees with a full validate on the written files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from conftest import PROJECT
from memkb.kb.snapshot import WorkTree
from memkb.validation.engine import validate_changes, validate_repo

OUTCOME = """\
# yaml-language-server: $schema=../../../schemas/outcome.schema.json
kind: outcome
schema_version: 2
id: {id}
project: Demo
date: {date}
outcome: success
domains: [{domain}]
patterns_applied: [{pattern}]
droids_used: [{droid}]
"""
PATH = "kb/outcomes/2025/2025-02-01-demo.yaml"


def outcome(**fields: str) -> bytes:
    values = {
        "id": "2025-02-01-demo",
        "date": "2025-02-01",
        "domain": "e-commerce",
        "pattern": "ecommerce_security_first",
        "droid": "security-auditor",
        **fields,
    }
    return OUTCOME.format(**values).encode()


CASES = {
    "valid": {PATH: outcome()},
    "misspelled droid": {PATH: outcome(droid="security-airditor")},
    "alias": {PATH: outcome(domain="ecommerce")},
    "unknown pattern": {PATH: outcome(pattern="ecommerce_security_frist")},
    "future date": {
        "kb/outcomes/2027/2027-02-01-demo.yaml": outcome(id="2027-02-01-demo", date="2027-02-01")
    },
    "wrong name": {"kb/outcomes/2025/2025-02-01-other.yaml": outcome()},
    "duplicate key": {PATH: outcome() + b"outcome: failure\n"},
    "schema": {PATH: outcome().replace(b"outcome: success", b"outcome: great")},
    "edit of a pattern": {
        "kb/patterns/ecommerce_security_first.yaml": (
            PROJECT / "kb/patterns/ecommerce_security_first.yaml"
        )
        .read_bytes()
        .replace(b"finance", b"financ")
    },
    "deletion falls back": {"kb/patterns/ecommerce_security_first.yaml": None},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_findings_as_a_full_validate(kb_repo: Path, name: str) -> None:
    overlay = CASES[name]
    today = date(2026, 1, 1)
    full = validate_repo(kb_repo, overlay=overlay, today=today, use_cache=False)
    quick = validate_changes(WorkTree(kb_repo), overlay, today=today)
    if name == "deletion falls back":
        assert quick.findings == full.findings and not quick.ok
        return
    assert quick.findings == [f for f in full.findings if f.path in overlay]
    assert (name == "valid") == (quick.findings == [])


def test_reads_only_what_it_needs(kb_repo: Path) -> None:
    for index in range(50):
        (kb_repo / f"kb/failures/unrelated_{index}.yaml").write_text("not: [valid\n")
    quick = validate_changes(WorkTree(kb_repo), {PATH: outcome()})
    assert quick.findings == [] and quick.files == 1
    assert not validate_repo(kb_repo, use_cache=False).ok  # the broken files are there


def test_paths_may_name_files_that_exist_only_in_the_overlay(kb_repo: Path) -> None:
    result = validate_repo(kb_repo, [PATH], overlay={PATH: outcome(droid="nobody")})
    assert [(f.path, f.code) for f in result.findings] == [(PATH, "KB304")]


def test_a_valid_outcome_lists_no_kind_folder(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every pattern, failure and template id is read only when a finding may need it.
    from memkb.validation import engine

    def refuse(*_args: object) -> None:
        raise AssertionError("listed every id")

    monkeypatch.setattr(engine, "_id_stubs", refuse)
    assert validate_changes(WorkTree(kb_repo), {PATH: outcome()}).findings == []


def test_a_new_pattern_holding_another_ones_id_is_a_duplicate(kb_repo: Path) -> None:
    source = PROJECT / "kb/patterns/ecommerce_security_first.yaml"
    overlay = {"kb/patterns/copy_of_it.yaml": source.read_bytes()}
    today = date(2026, 1, 1)
    full = validate_repo(kb_repo, overlay=overlay, today=today, use_cache=False)
    quick = validate_changes(WorkTree(kb_repo), overlay, today=today)
    assert quick.findings == [f for f in full.findings if f.path in overlay]
    assert "KB303" in {f.code for f in quick.findings}
