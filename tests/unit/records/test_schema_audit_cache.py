"""The audit of the schema files (KB211, KB212, KB406) is cached under .git/memkb/ by
what it reads: the same findings from the cache, and a fresh audit when a schema, a file
it refers to, or memkb's code changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memkb.records import schema as schema_module
from memkb.records.schema import AUDIT_CACHE_FILE, Schemas

SCHEMA = "schemas/pattern.schema.json"


def _audit_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("audited again")

    monkeypatch.setattr(schema_module, "audit_schema", refuse)


def _edit_pattern_schema(repo: Path, prop: str, spec: dict[str, object]) -> None:
    doc = json.loads((repo / SCHEMA).read_text())
    doc["properties"][prop] = spec
    (repo / SCHEMA).write_text(json.dumps(doc, indent=2) + "\n")


def test_a_second_process_reads_the_audit_from_the_cache(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _edit_pattern_schema(kb_repo, "id", {"type": "string", "pattern": "(a)\\1"})
    first = Schemas(kb_repo).findings()
    assert [f.code for f in first] == ["KB212"]
    assert (kb_repo / ".git/memkb" / AUDIT_CACHE_FILE).is_file()
    _audit_refused(monkeypatch)
    assert Schemas(kb_repo).findings() == first


def test_a_changed_schema_is_audited_again(kb_repo: Path) -> None:
    assert Schemas(kb_repo).findings() == []
    _edit_pattern_schema(kb_repo, "id", {"$ref": "https://example.com/x.json"})
    assert [f.code for f in Schemas(kb_repo).findings()] == ["KB211"]


def test_a_changed_file_a_schema_refers_to_is_audited_again(kb_repo: Path) -> None:
    common = kb_repo / "schemas/common.json"
    common.write_text('{"$defs": {"text": {"type": "string"}}}\n')
    _edit_pattern_schema(kb_repo, "id", {"$ref": "common.json#/$defs/text"})
    assert Schemas(kb_repo).findings() == []
    common.write_text('{"$defs": {"other": {"type": "string"}}}\n')  # the target is gone
    assert [f.code for f in Schemas(kb_repo).findings()] == ["KB211"]


def test_a_damaged_cache_is_an_audit(kb_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Schemas(kb_repo).findings()
    (kb_repo / ".git/memkb" / AUDIT_CACHE_FILE).write_bytes(b"memkb-cache-v2\nbroken")
    calls: list[str] = []
    real = schema_module.audit_schema
    monkeypatch.setattr(schema_module, "audit_schema", lambda *a: calls.append(a[0]) or real(*a))
    assert Schemas(kb_repo).findings() == []
    assert len(calls) == 6


def test_a_folder_outside_git_gets_no_cache_folder(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    for kind in ("pattern", "failure", "template", "outcome", "vocabulary", "expectation"):
        (tmp_path / f"schemas/{kind}.schema.json").write_text('{"type": "object"}\n')
    assert Schemas(tmp_path).findings() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schemas"]
