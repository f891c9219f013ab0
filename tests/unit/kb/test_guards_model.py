"""The data model for guards (issue 9 item 6): failures name the domains and phases they
threaten and their warning signs; patterns and templates name the failures they guard
against. Every name is a checked reference, and memkb writes the current schema_version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SCHEMAS
from memkb.kb.layout import SCHEMA_VERSIONS
from memkb.validation.engine import validate_repo

FAILURE = """\
# yaml-language-server: $schema=../../schemas/failure.schema.json
kind: failure
schema_version: 3
id: f_new
domains: [e-commerce]
phases: [{phase}]
warning_signs:
  - Orders stay pending
common_causes: [Timeouts]
prevention_strategies: [Retries]
"""

PATTERN = """\
# yaml-language-server: $schema=../../schemas/pattern.schema.json
kind: pattern
schema_version: 3
id: p_new
domains: [e-commerce]
phases: [security_first]
key_droids: [security-auditor]
guards: [{guard}]
"""

TEMPLATE = """\
# yaml-language-server: $schema=../../schemas/template.schema.json
kind: template
schema_version: 3
id: t_new
domains: [e-commerce]
phases:
  - phase: security_first
    name: Security
    droids: [security-auditor]
risk_level: low
guards: [{guard}]
"""


def write(repo: Path, relpath: str, text: str) -> None:
    (repo / relpath).write_text(text, encoding="utf-8")


def located(repo: Path) -> list[tuple[str, int, int, str, str]]:
    result = validate_repo(repo, use_cache=False)
    return [(f.path, f.line, f.col, f.code, f.message) for f in result.findings]


def test_failure_with_known_phase_and_warning_signs_is_clean(kb_repo: Path) -> None:
    write(kb_repo, "kb/failures/f_new.yaml", FAILURE.format(phase="testing_qa"))
    assert located(kb_repo) == []


def test_failure_phase_is_a_checked_reference(kb_repo: Path) -> None:
    write(kb_repo, "kb/failures/f_new.yaml", FAILURE.format(phase="testing_q"))
    assert located(kb_repo) == [
        (
            "kb/failures/f_new.yaml",
            6,
            10,
            "KB304",
            "unknown phase 'testing_q' (did you mean 'testing_qa'?)",
        )
    ]


def test_pattern_guards_name_failures(kb_repo: Path) -> None:
    write(kb_repo, "kb/patterns/p_new.yaml", PATTERN.format(guard="payment_webhook_timeout"))
    assert located(kb_repo) == []
    write(kb_repo, "kb/patterns/p_new.yaml", PATTERN.format(guard="payment_webhook_timout"))
    assert located(kb_repo) == [
        (
            "kb/patterns/p_new.yaml",
            8,
            10,
            "KB304",
            "unknown failure 'payment_webhook_timout' (did you mean 'payment_webhook_timeout'?)",
        )
    ]


def test_template_guards_name_failures(kb_repo: Path) -> None:
    write(kb_repo, "kb/templates/t_new.yaml", TEMPLATE.format(guard="no_such_failure"))
    [(path, line, col, code, message)] = located(kb_repo)
    assert (path, line, col, code) == ("kb/templates/t_new.yaml", 11, 10, "KB304")
    assert message == "unknown failure 'no_such_failure'"


@pytest.mark.parametrize("kind", sorted(SCHEMA_VERSIONS))
def test_written_schema_version_is_the_schemas_own(kind: str) -> None:
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSIONS[kind]


def test_bundled_failures_say_where_they_threaten() -> None:
    import yaml

    doc = yaml.safe_load((SCHEMAS.parent / "kb/failures/payment_webhook_timeout.yaml").read_text())
    assert doc["domains"] == ["e-commerce", "finance"]
    assert doc["phases"] and doc["warning_signs"]
