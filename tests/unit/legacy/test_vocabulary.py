"""`import-legacy --extend-vocabulary` (memkb.legacy.vocabulary): the names a memory uses
are added to kb/vocabulary.yaml with the records, round-trip; near misses stay errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import BUNDLED_KB, SCHEMAS, git
from memkb.cli.main import app
from memkb.errors import RepoError
from memkb.legacy.importer import import_legacy
from memkb.legacy.vocabulary import UnknownNames, admits, extended_text, sort_unknown
from memkb.validation.engine import validate_repo

TODAY = date(2026, 12, 1)
VOCAB = "kb/vocabulary.yaml"


@pytest.fixture
def repo(empty_kb_repo: Path) -> Path:
    """An empty KB with the bundled vocabulary (a comment added to it), committed."""
    text = (BUNDLED_KB / "vocabulary.yaml").read_text()
    text = text.replace("domains:\n", "# Domains: one per kind of project.\ndomains:\n", 1)
    (empty_kb_repo / VOCAB).write_text(text)
    git(empty_kb_repo, "add", VOCAB)
    git(empty_kb_repo, "commit", "-q", "-m", "vocabulary")
    return empty_kb_repo


def memory(tmp_path: Path, **patterns: dict[str, Any]) -> Path:
    """A legacy memory file (success_patterns.json) holding `patterns`."""
    path = tmp_path / "success_patterns.json"
    path.write_text(json.dumps({"success_patterns": patterns}, indent=2) + "\n")
    return path


def pattern(domains: list[str], phases: list[str], droids: list[str]) -> dict[str, Any]:
    return {
        "domain": domains,
        "applicable_phases": phases,
        "key_droids": droids,
        "success_rate": 0.8,
    }


def codes(result: Any) -> list[tuple[str, str]]:
    return sorted((f.code, f.message) for f in result.findings)


def test_new_names_are_added_with_their_origin_and_the_kb_validates(
    repo: Path, tmp_path: Path
) -> None:
    source = memory(
        tmp_path,
        api_first=pattern(["logistics", "backend"], ["rollout"], ["api-designer"]),
        api_second=pattern(["logistics"], ["rollout"], ["backend-architect"]),
    )
    before = (repo / VOCAB).read_text()
    result = import_legacy(repo, source, extend_vocabulary=True, today=TODAY)
    assert result.ok, result.findings
    assert result.vocabulary_added == {
        "droid": ["api-designer"],
        "domain": ["logistics"],
        "phase": ["rollout"],
    }
    assert result.unknown_names == 0
    after = (repo / VOCAB).read_text()
    origin = "imported from success_patterns.json on 2026-12-01"
    # Every existing line is kept (the comment too); the new entries end their sections.
    new_lines = ("  api-designer:", "  logistics:", "  rollout:", f"    description: {origin}")
    assert [line for line in after.splitlines() if line not in new_lines] == before.splitlines()
    last_droid = "  code-reviewer:\n    description: Reviews changes for correctness and style.\n"
    assert f"{last_droid}  api-designer:\n    description: {origin}\n" in after
    assert f"{origin}\n# Domains: one per kind of project.\ndomains:\n" in after
    assert f"  logistics:\n    description: {origin}\nphases:" in after
    assert after.endswith(f"  rollout:\n    description: {origin}\n")
    # One KB612 per name, where the memory first uses it; no KB604 left.
    assert [c for c, _ in codes(result)] == ["KB612"] * 3
    added = "domain 'logistics' added to kb/vocabulary.yaml (used 2 times, first here)"
    assert ("KB612", added) in codes(result)
    assert not validate_repo(repo).findings


def test_near_misses_stay_errors_and_are_not_added(repo: Path, tmp_path: Path) -> None:
    source = memory(tmp_path, p=pattern(["databse"], ["optimization"], ["backend-architect"]))
    result = import_legacy(repo, source, extend_vocabulary=True, today=TODAY)
    [finding] = result.findings
    assert (finding.code, finding.message) == (
        "KB604",
        "unknown domain 'databse' (did you mean 'database'?)",
    )
    assert finding.hint is not None and "never adds a near miss" in finding.hint
    assert result.vocabulary_added == {} and result.near_misses == 1
    assert (repo / VOCAB).read_bytes() == (repo / VOCAB).read_bytes()
    assert git(repo, "status", "--porcelain", VOCAB) == ""


def test_names_the_schema_forbids_stay_errors(repo: Path, tmp_path: Path) -> None:
    source = memory(tmp_path, p=pattern(["Next.js"], ["QA Phase"], ["backend-architect"]))
    result = import_legacy(repo, source, extend_vocabulary=True, today=TODAY)
    kb604 = {f.message: f.hint for f in result.findings if f.code == "KB604"}
    assert kb604 == {
        "unknown domain 'Next.js'": "'Next.js' cannot be a domain name (kebab-case); rename it",
        "unknown phase 'QA Phase'": "'QA Phase' cannot be a phase name (snake_case); rename it",
    }
    assert result.invalid_names == 2 and result.vocabulary_added == {}
    assert git(repo, "status", "--porcelain", VOCAB) == ""


def test_without_the_flag_the_summary_counts_the_names_and_names_the_flag(
    repo: Path, tmp_path: Path
) -> None:
    source = memory(
        tmp_path, p=pattern(["logistics", "databse"], ["rollout"], ["backend-architect"])
    )
    out = CliRunner().invoke(app, ["import-legacy", str(source), "--repo", str(repo)])
    assert out.exit_code == 1
    lines = out.stdout.splitlines()
    assert lines[-2] == (
        "3 names (droids, domains, phases) not in kb/vocabulary.yaml (1 near miss of an "
        "existing name); --extend-vocabulary would add 2 of them"
    )
    assert sum(" error KB604 " in line for line in lines) == 3
    assert git(repo, "status", "--porcelain", VOCAB) == ""


def test_reimporting_changes_nothing_once_the_names_are_added(repo: Path, tmp_path: Path) -> None:
    source = memory(tmp_path, p=pattern(["logistics"], ["rollout"], ["api-designer"]))
    import_legacy(repo, source, extend_vocabulary=True, today=TODAY)
    vocabulary = (repo / VOCAB).read_bytes()
    again = import_legacy(repo, source, extend_vocabulary=True, today=date(2027, 1, 1))
    assert (again.added, again.updated, again.unchanged) == ([], [], ["kb/patterns/p.yaml"])
    assert again.vocabulary_added == {} and again.findings == []
    assert (repo / VOCAB).read_bytes() == vocabulary


def test_vocabulary_and_records_land_together_or_not_at_all(repo: Path, tmp_path: Path) -> None:
    data = {
        "success_patterns": {"p": pattern(["logistics"], ["rollout"], ["api-designer"])},
        "project_templates": {
            "backend": {
                "template_id": "api_service",
                "phases": [{"phase_name": "Rollout", "droids": ["api-designer"]}],
                "risk_level": "medium",
                "estimated_timeline": "2-4 weeks",
            }
        },
    }
    source = tmp_path / "memory.json"
    source.write_text(json.dumps(data))
    vocabulary = (repo / VOCAB).read_bytes()
    (repo / "kb" / "templates").write_text("not a folder\n")  # the template's write fails
    with pytest.raises(RepoError, match="rolled back"):
        import_legacy(repo, source, extend_vocabulary=True, today=TODAY)
    assert (repo / VOCAB).read_bytes() == vocabulary
    assert not (repo / "kb" / "patterns").exists()


def test_strict_with_an_error_adds_no_name(repo: Path, tmp_path: Path) -> None:
    source = memory(tmp_path, p=pattern(["logistics", "databse"], ["rollout"], ["x-droid"]))
    result = import_legacy(repo, source, extend_vocabulary=True, strict=True, today=TODAY)
    assert result.vocabulary_added == {} and result.written == []
    assert git(repo, "status", "--porcelain") == ""


def test_dry_run_shows_the_grown_vocabulary_and_writes_nothing(repo: Path, tmp_path: Path) -> None:
    source = memory(tmp_path, p=pattern(["logistics"], ["optimization"], ["backend-architect"]))
    out = CliRunner().invoke(
        app,
        ["import-legacy", str(source), "--repo", str(repo), "--extend-vocabulary", "--dry-run"],
    )
    assert out.exit_code == 0, out.stdout
    assert f"--- would write {VOCAB}" in out.stdout
    assert "would add 1 domain to kb/vocabulary.yaml" in out.stdout
    assert git(repo, "status", "--porcelain") == ""


# --- the module's functions ---------------------------------------------------------------


def test_admits_follows_the_vocabulary_schema() -> None:
    schema = json.loads((SCHEMAS / "vocabulary.schema.json").read_text())
    assert admits(schema, "droid", "api-designer")
    assert not admits(schema, "droid", "api_designer")
    assert admits(schema, "phase", "load_testing")
    assert not admits(schema, "phase", "load-testing")
    assert not admits(schema, "domain", "x" * 81)


def test_sort_unknown_tells_typos_invalid_and_new_names_apart() -> None:
    schema = json.loads((SCHEMAS / "vocabulary.schema.json").read_text())
    unknown = UnknownNames()
    for target, name in [("domain", "databse"), ("domain", "Web App"), ("phase", "rollout")]:
        unknown.add(target, name, (0, name))
    known = {"droid": set(), "domain": {"database"}, "phase": {"optimization"}}
    fates = sort_unknown(unknown, known, schema)
    assert fates.typos == {("domain", "databse"): "database"}
    assert fates.invalid == [("domain", "Web App")]
    assert fates.new == [("phase", "rollout")]


def test_extended_text_keeps_every_line_and_creates_a_missing_section() -> None:
    raw = (
        b"kind: vocabulary  # the names\nschema_version: 1\ndroids:\n"
        b"  a-b:\n    description: y  # said so\n# Domains\ndomains:\n  web:\n"
    )
    out = extended_text(raw, {"droid": {"c-d": "from x"}, "phase": {"p_q": "from y: z"}})
    assert out.decode() == (
        "kind: vocabulary  # the names\nschema_version: 1\ndroids:\n"
        "  a-b:\n    description: y  # said so\n  c-d:\n    description: from x\n"
        "# Domains\ndomains:\n  web:\nphases:\n  p_q:\n    description: 'from y: z'\n"
    )
