"""Cases for `memkb check` tests: the bundled KB's paths, a valid outcome, and head branches
built from a dict of changes (shared by the check, report, safety and workflow tests)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from conftest import PROJECT, git
from memkb.kb.layout import SCHEMA_VERSIONS
from memkb.validation.check import CheckResult, run_check

TODAY = date(2026, 1, 1)
PATTERN = "kb/patterns/ecommerce_security_first.yaml"
CURRENT = SCHEMA_VERSIONS["pattern"]  # the pattern schema's version today
UNUSED = "kb/patterns/performance_database_optimization.yaml"
OUTCOME = "kb/outcomes/2025/2025-01-20-shumica-marketplace.yaml"


def outcome_text(oid: str, *, result: str = "success", notes: str | None = None) -> str:
    """A valid outcome record citing ecommerce_security_first."""
    lines = [
        "# yaml-language-server: $schema=../../../schemas/outcome.schema.json",
        "kind: outcome",
        "schema_version: 2",
        f"id: {oid}",
        "project: Acme Shop",
        f"date: {oid[:10]}",
        f"outcome: {result}",
        "domains: [e-commerce]",
        "patterns_applied: [ecommerce_security_first]",
        "droids_used: [security-auditor, backend-architect]",
    ]
    if notes is not None:
        lines.append(f"notes: {json.dumps(notes)}")
    return "\n".join(lines) + "\n"


def outcome_path(oid: str) -> str:
    return f"kb/outcomes/{oid[:4]}/{oid}.yaml"


def edit(repo: Path, changes: Mapping[str, str | None]) -> None:
    """Write (or, for None, delete) files in the working tree."""
    for path, text in changes.items():
        target = repo / path
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)


def head_branch(repo: Path, name: str, changes: Mapping[str, str | None]) -> str:
    """Commit `changes` on a new branch off main, then check main out again."""
    git(repo, "checkout", "-q", "-b", name, "main")
    edit(repo, changes)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"change {name}")
    git(repo, "checkout", "-q", "main")
    return name


def check(repo: Path, changes: Mapping[str, str | None], **kwargs: object) -> CheckResult:
    """run_check of a head branch holding `changes` against main."""
    name = f"case-{len(git(repo, 'branch').splitlines())}"
    head_branch(repo, name, changes)
    return run_check(repo, "main", name, today=TODAY, **kwargs)  # type: ignore[arg-type]


def codes(result: CheckResult) -> list[str]:
    return sorted({f.code for f in result.findings})


def text_of(repo: Path, path: str) -> str:
    return (repo / path).read_text()


def golden(name: str, text: str) -> None:
    """`text` equals tests/golden/<name> (MEMKB_UPDATE_GOLDEN=1 rewrites the file)."""
    path = PROJECT / "tests" / "golden" / name
    if os.environ.get("MEMKB_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()
