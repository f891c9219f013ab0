"""`memkb check` on a schema change that accepts more than before: `structure` risk, and
every widening reported field by field, even when schema_version was bumped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checkcases import CURRENT, PATTERN, TODAY, head_branch
from conftest import git
from memkb.validation.check import run_check

SCHEMA = "schemas/pattern.schema.json"


def changed_schema(repo: Path, edit: Any) -> dict[str, str | None]:
    """The pattern schema with schema_version bumped by one and `edit(doc)` applied, and every
    pattern record migrated to that version (so only the widening can be reported)."""
    doc = json.loads((repo / SCHEMA).read_text())
    doc["properties"]["schema_version"] = {"const": CURRENT + 1}
    edit(doc)
    changes: dict[str, str | None] = {SCHEMA: json.dumps(doc, indent=2) + "\n"}
    for path in (repo / "kb/patterns").glob("*.yaml"):
        text = path.read_text()
        text = text.replace(f"schema_version: {CURRENT}", f"schema_version: {CURRENT + 1}")
        changes[str(path.relative_to(repo))] = text
    return changes


def widen_kind_and_open(doc: dict[str, Any]) -> None:
    doc["properties"]["kind"] = {"enum": ["pattern", "failure"]}
    doc["additionalProperties"] = True


def test_loosened_schema_with_a_version_bump_is_structure_risk_field_by_field(
    kb_repo: Path,
) -> None:
    changes = changed_schema(kb_repo, widen_kind_and_open)
    changes[PATTERN] = str(changes[PATTERN]) + "sneaky_field: 1\n"
    head_branch(kb_repo, "loosen", changes)
    result = run_check(kb_repo, "main", "loosen", today=TODAY)
    assert result.risk == "structure"
    assert f'{SCHEMA}: properties.kind: const "pattern" widened to enum ["pattern", "failure"]' in (
        result.risk_reasons
    )
    assert f"{SCHEMA}: schema: additionalProperties false opened to true" in result.risk_reasons
    warnings = [f for f in result.findings if f.code == "KB412"]
    assert {f.message for f in warnings} == {
        'properties.kind: const "pattern" widened to enum ["pattern", "failure"]',
        "schema: additionalProperties false opened to true",
    }
    assert all(f.path == SCHEMA and f.line > 1 for f in warnings)
    assert result.ok  # a reviewed widening may merge; it is never silent


def test_each_kind_of_widening_is_named(kb_repo: Path) -> None:
    def loosen(doc: dict[str, Any]) -> None:
        doc["required"] = [r for r in doc["required"] if r != "domains"]
        doc["$defs"]["snake_id"]["maxLength"] = 200
        doc["$defs"]["pattern_prior"]["properties"]["weight"]["minimum"] = -5
        doc["properties"]["domains"]["type"] = ["array", "null"]
        doc["properties"]["domains"].pop("minItems")

    head_branch(kb_repo, "loosen-more", changed_schema(kb_repo, loosen))
    result = run_check(kb_repo, "main", "loosen-more", today=TODAY)
    messages = {f.message for f in result.findings if f.code == "KB412"}
    assert "schema: required no longer lists domains" in messages
    assert "properties.id: maxLength 80 relaxed to 200" in messages
    assert "properties.prior.properties.weight: minimum 0 relaxed to -5" in messages
    assert 'properties.domains: type "array" widened to ["array", "null"]' in messages
    assert "properties.domains: minItems 1 removed" in messages
    assert result.risk == "structure"


def test_narrowing_a_schema_is_not_a_widening_and_records_are_judged_by_it(
    kb_repo: Path,
) -> None:
    def narrow(doc: dict[str, Any]) -> None:
        doc["properties"]["key_droids"]["maxItems"] = 1

    head_branch(kb_repo, "narrow", changed_schema(kb_repo, narrow))
    result = run_check(kb_repo, "main", "narrow", today=TODAY)
    assert not [f for f in result.findings if f.code == "KB412"]
    # Every head record is validated against the head schema: this one has 3 droids.
    assert any(f.path == PATTERN and f.code == "KB201" for f in result.findings)
    assert not result.ok


def test_widening_a_shared_definitions_file_is_reported(kb_repo: Path) -> None:
    shared = "schemas/common.json"
    (kb_repo / shared).write_text('{"$defs": {"short": {"type": "string", "maxLength": 5}}}\n')
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "shared definitions")
    head_branch(kb_repo, "shared", {shared: '{"$defs": {"short": {"type": "string"}}}\n'})
    result = run_check(kb_repo, "main", "shared", today=TODAY)
    assert f"{shared}: $defs.short: maxLength 5 removed" in result.risk_reasons
    assert result.risk == "structure"
