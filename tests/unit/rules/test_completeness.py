"""KB320/KB321: what a pattern or template lacks for advice, once the schema (version 3)
no longer requires it; and a record of an older schema version is a clear KB201."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import git
from memkb.findings import Severity
from memkb.rules.base import FileContext, Issue
from memkb.rules.registry import REGISTRY
from memkb.validation.engine import validate_repo
from memkb.write.authoring import add_item

PATTERN = {"kind": "pattern", "schema_version": 3, "id": "react_component", "domains": ["frontend"]}
TEMPLATE = {"kind": "template", "schema_version": 3, "id": "next_app", "domains": ["frontend"]}
W = Severity.WARNING


def ctx(doc: dict[str, object], kind: str = "pattern") -> FileContext:
    folder = f"kb/{kind}s"
    return FileContext(f"{folder}/{doc['id']}.yaml", kind, doc)


def test_pattern_without_droids_and_phases_gets_two_warnings() -> None:
    path = "kb/patterns/react_component.yaml"
    assert REGISTRY["KB320"](ctx(PATTERN)) == [
        Issue(path, ("id",), "KB320",
              "pattern react_component has no key_droids: advice cannot staff it", W,
              "add some with `memkb add pattern react_component key_droids NAME`", True),
        Issue(path, ("id",), "KB320",
              "pattern react_component has no phases: advice never matches it by phase", W,
              "add some with `memkb add pattern react_component phases NAME`", True),
    ]  # fmt: skip


def test_empty_list_is_reported_at_its_key() -> None:
    [issue] = REGISTRY["KB320"](ctx({**PATTERN, "phases": ["build"], "key_droids": []}))
    assert (issue.path, issue.message) == (
        ("key_droids",),
        "pattern react_component has an empty key_droids: advice cannot staff it",
    )


def test_complete_or_deprecated_pattern_is_silent() -> None:
    full = {**PATTERN, "phases": ["build"], "key_droids": ["frontend-developer"]}
    assert REGISTRY["KB320"](ctx(full)) == []
    assert REGISTRY["KB320"](ctx({**PATTERN, "status": "deprecated"})) == []
    assert REGISTRY["KB320"](ctx({**TEMPLATE}, "template")) == []


def test_template_without_phases_and_risk_level() -> None:
    issues = REGISTRY["KB321"](ctx(TEMPLATE, "template"))
    assert [(i.code, i.severity, i.message) for i in issues] == [
        ("KB321", W, "template next_app has no phases: it plans no phase and staffs no droid"),
        ("KB321", W, "template next_app has no risk_level: the brief cannot say how risky "
                     "the project is"),
    ]  # fmt: skip
    assert "memkb set template next_app risk_level" in (issues[1].hint or "")
    phases = [{"phase": "build", "name": "Build", "droids": ["frontend-developer"]}]
    assert REGISTRY["KB321"](ctx({**TEMPLATE, "phases": phases, "risk_level": "low"},
                                 "template")) == []  # fmt: skip


def write(repo: Path, relpath: str, text: str) -> None:
    (repo / relpath).write_text(text, encoding="utf-8")


def test_validate_reports_the_gaps_as_warnings_at_their_lines(kb_repo: Path) -> None:
    header = "# yaml-language-server: $schema=../../schemas/pattern.schema.json\n"
    body = "kind: pattern\nschema_version: 3\nid: bare\ndomains: [frontend]\nphases: []\n"
    write(kb_repo, "kb/patterns/bare.yaml", header + body)
    result = validate_repo(kb_repo, use_cache=False)
    assert result.ok
    assert [(f.path, f.line, f.col, f.code, f.severity) for f in result.findings] == [
        ("kb/patterns/bare.yaml", 4, 1, "KB320", W),
        ("kb/patterns/bare.yaml", 6, 1, "KB320", W),
    ]


def test_following_the_hint_clears_the_warning(kb_repo: Path) -> None:
    write(kb_repo, "kb/patterns/bare.yaml",
          "# yaml-language-server: $schema=../../schemas/pattern.schema.json\n"
          "kind: pattern\nschema_version: 3\nid: bare\ndomains: [frontend]\n"
          "phases: [security_first]\n")  # fmt: skip
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "bare")
    assert [f.code for f in validate_repo(kb_repo, use_cache=False).findings] == ["KB320"]
    add_item(kb_repo, "pattern", "bare", "key_droids", "frontend-developer")
    assert validate_repo(kb_repo, use_cache=False).findings == []


@pytest.mark.parametrize("kind", ["pattern", "failure", "template"])
def test_an_older_schema_version_says_how_to_migrate(kb_repo: Path, kind: str) -> None:
    relpath = sorted((kb_repo / "kb" / f"{kind}s").iterdir())[0]
    text = relpath.read_text().replace("schema_version: 3\n", "schema_version: 2\n")
    relpath.write_text(text)
    [finding] = validate_repo(kb_repo, use_cache=False).findings
    assert (finding.code, finding.line, finding.col) == ("KB201", 3, 17)
    assert finding.message == "schema_version 2 is older than this schema's version 3"
    assert "docs/validation.md" in (finding.hint or "")
