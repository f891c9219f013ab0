"""import_legacy and `memkb import-legacy`: the seed round trip, every defect, every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import BUNDLED_KB, LEGACY_SEED, commit_bundled_vocabulary, git
from memkb.cli.app import exit_code
from memkb.cli.main import app
from memkb.errors import RepoError
from memkb.findings import Severity
from memkb.legacy.importer import ImportResult, import_legacy
from memkb.legacy.source import UnreadableLegacy
from memkb.records.load import load_bytes
from memkb.validation.engine import validate_repo

# The records the seed became: the bundled KB but its vocabulary and its expectations
# (written after the import, about the advice of those records).
SEED_FILES = sorted(
    p.relative_to(BUNDLED_KB.parent).as_posix()
    for p in BUNDLED_KB.rglob("*.yaml")
    if p.name != "vocabulary.yaml" and p.parent.name != "expectations"
)
AIRDITOR_FILE = "kb/patterns/authentication_jwt_security_first.yaml"
# Fields the seed never had, added to kb/ by hand when the schemas went to version 2 (the
# data model for guards): the importer cannot know them, so it writes the records without.
ADDED_IN_KB = {"failure": ("domains", "phases", "warning_signs"), "pattern": ("guards",),
               "template": ("guards",)}  # fmt: skip


def without_added_fields(text: str) -> str:
    """`text` (a bundled record) without the top-level fields of ADDED_IN_KB for its kind."""
    kind = next(line[6:] for line in text.splitlines() if line.startswith("kind: "))
    dropped = ADDED_IN_KB.get(kind, ())
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        if not line.startswith((" ", "\t")):
            skipping = line.split(":", 1)[0] in dropped
        if not skipping:
            kept.append(line)
    return "".join(kept)


MIGRATED_FILES = sorted(
    rel for rel in SEED_FILES
    if without_added_fields((BUNDLED_KB.parent / rel).read_text())
    != (BUNDLED_KB.parent / rel).read_text()
)  # fmt: skip


@pytest.fixture
def repo(empty_kb_repo: Path) -> Path:
    """An empty KB holding only the bundled vocabulary (so names are checked), committed."""
    return commit_bundled_vocabulary(empty_kb_repo)


def pattern(**fields: Any) -> dict[str, Any]:
    """A valid legacy success pattern, with `fields` changed."""
    base: dict[str, Any] = {
        "domain": ["backend"],
        "success_rate": 0.8,
        "applicable_phases": ["optimization"],
        "key_droids": ["backend-architect"],
    }
    return {**base, **fields}


def write_json(tmp_path: Path, data: Any, name: str = "memory.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def codes_at(result: ImportResult) -> set[tuple[str, int]]:
    return {(f.code, f.line) for f in result.findings}


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, text in enumerate(lines, start=1) if needle in text)


def kb_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in (root / "kb").rglob("*") if p.is_file())


# --- the seed ----------------------------------------------------------------------------


def test_seed_round_trip_reproduces_the_bundled_kb(repo: Path) -> None:
    result = import_legacy(repo, LEGACY_SEED, today=None)
    assert sorted(result.written) == SEED_FILES
    for relpath in SEED_FILES:
        written = (repo / relpath).read_text()
        bundled = without_added_fields((BUNDLED_KB.parent / relpath).read_text())
        if relpath == AIRDITOR_FILE:
            # The one hand fix in kb/ since the import (git log -p kb/): the droid name.
            assert written == bundled.replace("[security-auditor,", "[security-airditor,")
            assert written != bundled
        else:
            assert written == bundled, relpath


def test_seed_defects_are_reported_at_their_legacy_lines(repo: Path) -> None:
    result = import_legacy(repo, LEGACY_SEED, display="seed.txt")
    by_code = {(f.code, f.line, f.col): f for f in result.findings}
    airditor = by_code[("KB604", 32, 22)]
    assert airditor.message == (
        "unknown droid 'security-airditor' (did you mean 'security-auditor'?)"
    )
    assert airditor.path == "seed.txt"
    mismatch = by_code[("KB603", 42, 21)]
    assert "performance_database_optimization" in mismatch.message
    assert "database_optimization" in mismatch.message
    assert {(f.code, f.line) for f in result.findings if f.severity is Severity.ERROR} == {
        ("KB604", 32),
        ("KB603", 42),
    }
    assert sorted((f.code, f.line) for f in result.findings if f.severity is Severity.WARNING) == [
        ("KB607", 143),
        ("KB607", 151),
        ("KB608", 23),
        ("KB608", 23),
        ("KB608", 23),
    ]


def test_imported_seed_validates_except_the_misspelled_droid(repo: Path) -> None:
    import_legacy(repo, LEGACY_SEED)
    result = validate_repo(repo, use_cache=False)
    assert [(f.path, f.code) for f in result.findings] == [(AIRDITOR_FILE, "KB304")]


def test_reimporting_the_seed_changes_nothing(repo: Path) -> None:
    import_legacy(repo, LEGACY_SEED)
    again = import_legacy(repo, LEGACY_SEED)
    assert again.written == [] and again.skipped == []
    assert sorted(again.unchanged) == SEED_FILES
    assert not any(f.code == "KB606" for f in again.findings)


def test_importing_the_seed_never_undoes_the_hand_fix(kb_repo: Path) -> None:
    result = import_legacy(kb_repo, LEGACY_SEED)
    assert result.written == []
    # Records migrated by hand (schema 2) differ from the seed too, and are kept as well.
    assert sorted(result.skipped) == sorted([AIRDITOR_FILE, *MIGRATED_FILES])
    assert len(MIGRATED_FILES) == 5
    assert sorted(result.unchanged) == sorted(set(SEED_FILES) - {AIRDITOR_FILE, *MIGRATED_FILES})
    assert ("KB606", 27) in codes_at(result)
    assert git(kb_repo, "status", "--porcelain") == ""


# --- defects in the legacy data ----------------------------------------------------------


def test_key_id_mismatch_uses_the_key(repo: Path, tmp_path: Path) -> None:
    source = write_json(
        tmp_path, {"success_patterns": {"fast_api": pattern(pattern_id="quick_api")}}
    )
    result = import_legacy(repo, source)
    assert ("KB603", line_of(source, '"pattern_id"')) in codes_at(result)
    assert result.written == ["kb/patterns/fast_api.yaml"]
    assert "id: fast_api\n" in (repo / "kb/patterns/fast_api.yaml").read_text()


def test_misspelled_droid_domain_and_phase_get_did_you_mean(repo: Path, tmp_path: Path) -> None:
    source = write_json(
        tmp_path,
        {
            "success_patterns": {
                "p": pattern(
                    key_droids=["backend-architekt"],
                    domain=["databse"],
                    applicable_phases=["optimisation"],
                )
            }
        },
    )
    messages = {f.message for f in import_legacy(repo, source).findings if f.code == "KB604"}
    assert messages == {
        "unknown droid 'backend-architekt' (did you mean 'backend-architect'?)",
        "unknown domain 'databse' (did you mean 'database'?)",
        "unknown phase 'optimisation' (did you mean 'optimization'?)",
    }


def test_alias_is_a_warning_and_unknown_name_without_guess(repo: Path, tmp_path: Path) -> None:
    source = write_json(
        tmp_path, {"success_patterns": {"p": pattern(domain=["ecommerce", "quantum-knitting"])}}
    )
    found = {(f.code, f.severity, f.message) for f in import_legacy(repo, source).findings}
    assert ("KB609", Severity.WARNING, "'ecommerce' is an alias of domain 'e-commerce'") in found
    assert ("KB604", Severity.ERROR, "unknown domain 'quantum-knitting'") in found


def test_missing_required_field_points_at_the_entry(repo: Path, tmp_path: Path) -> None:
    entry = pattern()
    del entry["domain"]
    source = write_json(tmp_path, {"success_patterns": {"no_domains": entry}})
    result = import_legacy(repo, source)
    [finding] = [f for f in result.findings if f.code == "KB605"]
    assert "'domains' is a required property" in finding.message
    assert finding.line == line_of(source, '"no_domains"')
    # Written as converted, so `memkb validate` shows it where a person fixes it.
    assert result.written == ["kb/patterns/no_domains.yaml"]


def test_pattern_without_droids_or_phases_imports_and_validate_warns(
    repo: Path, tmp_path: Path
) -> None:
    entry = pattern()
    del entry["key_droids"], entry["applicable_phases"]
    source = write_json(tmp_path, {"success_patterns": {"no_droids": entry}})
    result = import_legacy(repo, source)
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    assert result.written == ["kb/patterns/no_droids.yaml"]
    validated = validate_repo(repo, use_cache=False)
    assert validated.ok
    assert sorted(f.message for f in validated.findings if f.code == "KB320") == [
        "pattern no_droids has no key_droids: advice cannot staff it",
        "pattern no_droids has no phases: advice never matches it by phase",
    ]


def test_out_of_range_success_rate_points_at_the_value(repo: Path, tmp_path: Path) -> None:
    source = write_json(tmp_path, {"success_patterns": {"p": pattern(success_rate=1.5)}})
    [finding] = [f for f in import_legacy(repo, source).findings if f.code == "KB605"]
    assert "1.5 is greater than the maximum of 1" in finding.message
    assert (finding.line, finding.col) == (line_of(source, '"success_rate"'), 23)


def test_nan_is_not_a_number(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "nan.json"
    source.write_text(
        '{"success_patterns": {"p": {"domain": ["backend"], "success_rate": NaN,'
        ' "applicable_phases": ["optimization"], "key_droids": ["code-reviewer"]}}}'
    )
    [finding] = [f for f in import_legacy(repo, source).findings if f.code == "KB605"]
    assert "'NaN' is not of type 'number'" in finding.message


def test_json_syntax_error_has_line_and_column(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "broken.json"
    source.write_text('{\n  "success_patterns": {\n    "p": {"domain": ["backend"],}\n  }\n}\n')
    result = import_legacy(repo, source)
    assert [(f.code, f.line, f.col) for f in result.findings] == [("KB602", 3, 33)]
    assert result.written == []


def test_syntax_error_in_one_block_keeps_the_others(repo: Path, tmp_path: Path) -> None:
    good = json.dumps(
        {"failure_patterns": {"oops": {"common_causes": ["x"], "prevention_strategies": ["y"]}}}
    )
    source = tmp_path / "memory.md"
    source.write_text(
        f'# Memory\n\n```json\n{{"success_patterns": {{\n```\n\ntext\n```json\n{good}\n```\n'
    )
    result = import_legacy(repo, source)
    assert [(f.code, f.line) for f in result.findings] == [("KB602", 5)]
    assert result.written == ["kb/failures/oops.yaml"]


def test_unclosed_fence_is_reported(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "memory.md"
    source.write_text('intro\n```json\n{"success_patterns": {}}\n')
    result = import_legacy(repo, source)
    assert [(f.code, f.line) for f in result.findings] == [("KB602", 2)]


def test_duplicate_keys_and_ids_are_reported(repo: Path, tmp_path: Path) -> None:
    entry = json.dumps(pattern())
    source = tmp_path / "memory.md"
    source.write_text(
        f'```json\n{{"success_patterns": {{\n"p": {entry},\n"p": {entry}\n}}}}\n```\n'
        f'```json\n{{"success_patterns": {{\n"p": {entry}\n}}}}\n```\n'
    )
    result = import_legacy(repo, source)
    assert sorted((f.code, f.line) for f in result.findings) == [("KB610", 4), ("KB610", 9)]
    assert result.written == ["kb/patterns/p.yaml"]


def test_templates_are_converted(repo: Path, tmp_path: Path) -> None:
    source = write_json(
        tmp_path,
        {
            "project_templates": {
                "backend": {
                    "template_id": "api_service",
                    "risk_level": "low",
                    "estimated_timeline": "3 weeks",
                    "success_probability": 0.7,
                    "last_updated": "2024-05-06T10:00:00Z",
                    "phases": [{"phase_name": "Security First", "droids": ["@security-auditor"]}],
                },
                "frontend": {"risk_level": "low"},
                "database": {
                    "template_id": "db_tuning",
                    "risk_level": "high",
                    "estimated_timeline": "a month or so",
                    "phases": [{"phase_name": "Optimization", "droids": ["database-admin"]}],
                },
            }
        },
    )
    result = import_legacy(repo, source)
    assert (repo / "kb/templates/api_service.yaml").read_text().splitlines()[1:] == [
        "kind: template",
        "schema_version: 3",
        "id: api_service",
        "domains: [backend]",
        "phases:",
        "  - phase: security_first",
        "    name: Security First",
        "    droids: [security-auditor]",
        "risk_level: low",
        "estimated_timeline:",
        "  min_weeks: 3",
        "  max_weeks: 3",
        "prior:",
        "  success_probability: 0.7",
        "  weight: 10",
        "  source: legacy memory, 2024-05-06",
    ]
    found = {(f.code, f.line) for f in result.findings}
    assert ("KB605", line_of(source, '"frontend"')) in found  # no template_id
    assert ("KB605", line_of(source, "a month or so")) in found
    assert ("KB608", line_of(source, "@security-auditor")) in found
    assert sorted(result.written) == [
        "kb/templates/api_service.yaml",
        "kb/templates/db_tuning.yaml",
    ]


def test_derived_figures_and_unknown_sections_are_warnings(repo: Path, tmp_path: Path) -> None:
    source = write_json(
        tmp_path,
        {
            "failure_patterns": {
                "f": {
                    "common_causes": ["a"],
                    "prevention_strategies": ["b"],
                    "recovery_rate": 0.5,
                    "failure_id": "f",
                }
            },
            "sucess_patterns": {},
            "learning_metrics": {"total_projects": 3},
        },
    )
    result = import_legacy(repo, source)
    assert all(f.severity is Severity.WARNING for f in result.findings)
    messages = [f.message for f in result.findings]
    assert any("'recovery_rate' not imported" in m for m in messages)
    assert (
        "unknown section 'sucess_patterns' ignored (did you mean 'success_patterns'?)" in messages
    )
    assert any(m.startswith("'learning_metrics' not imported") for m in messages)
    assert "recovery_rate" not in (repo / "kb/failures/f.yaml").read_text()


def test_examples_become_outcomes_merged_per_project(repo: Path, tmp_path: Path) -> None:
    example = {
        "project": "Ärger Shop",
        "date": "2024-03-01",
        "outcome": "partial",
        "droids_used": ["@backend-architect"],
    }
    source = write_json(
        tmp_path,
        {
            "success_patterns": {
                "a": pattern(domain=["e-commerce", "backend"], project_examples=[example]),
                "b": pattern(project_examples=[example, {"project": "No Date"}]),
            }
        },
    )
    result = import_legacy(repo, source)
    text = (repo / "kb/outcomes/2024/2024-03-01-arger-shop.yaml").read_text()
    assert "domains: [e-commerce, backend]\npatterns_applied: [a, b]\n" in text
    assert "droids_used: [backend-architect]\n" in text
    # No date: reported at the example itself (the line before its "project").
    assert ("KB605", line_of(source, '"No Date"') - 1) in codes_at(result)


def test_future_dated_example_is_not_imported(repo: Path, tmp_path: Path) -> None:
    from datetime import date

    example = {
        "project": "Tomorrow",
        "date": "2030-01-02",
        "outcome": "success",
        "droids_used": ["code-reviewer"],
    }
    source = write_json(tmp_path, {"success_patterns": {"p": pattern(project_examples=[example])}})
    result = import_legacy(repo, source, today=date(2030, 1, 1))
    assert ("KB605", line_of(source, '"2030-01-02"')) in codes_at(result)
    assert result.written == ["kb/patterns/p.yaml"]


def test_existing_path_that_cannot_be_read_is_kept(repo: Path, tmp_path: Path) -> None:
    source = write_json(tmp_path, {"success_patterns": {"p": pattern()}})
    (repo / "kb" / "patterns" / "p.yaml").mkdir(parents=True)
    result = import_legacy(repo, source, force=True)
    assert result.skipped == ["kb/patterns/p.yaml"]
    [finding] = [f for f in result.findings if f.code == "KB606"]
    assert "cannot be read" in finding.message
    assert (repo / "kb" / "patterns" / "p.yaml").is_dir()


def test_import_waits_for_the_write_lock(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memkb.write.lock import write_lock

    source = write_json(tmp_path, {"success_patterns": {"p": pattern()}})
    monkeypatch.setenv("MEMKB_LOCK_TIMEOUT", "0.2")
    lock = repo / ".git" / "memkb" / "write.lock"
    lock.parent.mkdir(exist_ok=True)
    with write_lock(lock), pytest.raises(RepoError, match="another memkb write holds the lock"):
        import_legacy(repo, source)
    assert kb_files(repo) == ["kb/vocabulary.yaml"]
    assert import_legacy(repo, source).written == ["kb/patterns/p.yaml"]


def test_memory_date_falls_back_to_the_import_date(repo: Path, tmp_path: Path) -> None:
    from datetime import date

    source = write_json(tmp_path, {"success_patterns": {"p": pattern()}})
    import_legacy(repo, source, today=date(2031, 2, 3))
    assert "source: legacy memory, 2031-02-03\n" in (repo / "kb/patterns/p.yaml").read_text()


def test_ids_that_cannot_be_file_names_are_not_written(repo: Path, tmp_path: Path) -> None:
    source = write_json(tmp_path, {"success_patterns": {"../../escape": pattern()}})
    result = import_legacy(repo, source)
    assert result.written == []
    assert any("cannot be a file name" in f.message for f in result.findings)
    assert not (tmp_path / "escape.yaml").exists()


# --- writing -------------------------------------------------------------------------------


def test_existing_record_is_kept_without_force(repo: Path) -> None:
    import_legacy(repo, LEGACY_SEED)
    target = repo / "kb/patterns/ecommerce_security_first.yaml"
    target.write_text(target.read_text().replace("weight: 10", "weight: 20"))
    edited = target.read_bytes()
    result = import_legacy(repo, LEGACY_SEED)
    assert result.skipped == ["kb/patterns/ecommerce_security_first.yaml"]
    assert ("KB606", 9) in codes_at(result)
    assert target.read_bytes() == edited
    forced = import_legacy(repo, LEGACY_SEED, force=True)
    assert forced.written == ["kb/patterns/ecommerce_security_first.yaml"]
    assert b"weight: 10" in target.read_bytes()


def test_strict_writes_nothing_when_there_is_an_error(repo: Path) -> None:
    result = import_legacy(repo, LEGACY_SEED, strict=True)
    assert result.written == []
    assert sorted(result.skipped) == SEED_FILES
    assert kb_files(repo) == ["kb/vocabulary.yaml"]


def test_dry_run_writes_nothing(repo: Path) -> None:
    result = import_legacy(repo, LEGACY_SEED, dry_run=True)
    assert sorted(result.written) == SEED_FILES
    assert result.contents[AIRDITOR_FILE].startswith("# yaml-language-server")
    assert kb_files(repo) == ["kb/vocabulary.yaml"]


def test_failed_write_rolls_back_everything(repo: Path) -> None:
    # kb/templates is a file: writing the template fails after the failures, the outcome
    # and the patterns were written; all of them must be removed again.
    (repo / "kb" / "templates").write_text("not a folder\n")
    with pytest.raises(RepoError, match="rolled back"):
        import_legacy(repo, LEGACY_SEED)
    assert kb_files(repo) == ["kb/templates", "kb/vocabulary.yaml"]
    assert not (repo / "kb" / "outcomes").exists()


def test_unreadable_input_raises_and_writes_nothing(repo: Path, tmp_path: Path) -> None:
    for name, raw in [
        ("missing.json", None),
        ("notes.md", b"# just prose\n"),
        ("latin1.json", b'{"x": "caf\xe9"}'),
        ("empty.json", b""),
    ]:
        path = tmp_path / name
        if raw is not None:
            path.write_bytes(raw)
        with pytest.raises(UnreadableLegacy) as caught:
            import_legacy(repo, path)
        assert caught.value.finding.code == "KB601"
        assert exit_code(caught.value) == (2, "usage")
    assert kb_files(repo) == ["kb/vocabulary.yaml"]


def test_json_without_memory_sections_is_the_wrong_file(repo: Path, tmp_path: Path) -> None:
    source = write_json(tmp_path, {"name": "my-package", "version": "1.0.0"}, "package.json")
    with pytest.raises(UnreadableLegacy, match="no memory sections"):
        import_legacy(repo, source)
    listed = write_json(tmp_path, [{"success_patterns": {}}], "list.json")
    with pytest.raises(UnreadableLegacy):
        import_legacy(repo, listed)
    assert kb_files(repo) == ["kb/vocabulary.yaml"]


def test_crlf_text_positions(repo: Path, tmp_path: Path) -> None:
    body = json.dumps({"success_patterns": {"p": pattern(key_droids=["code-reviewr"])}}, indent=2)
    text = f"# Memory\n\n```json\n{body}\n```\n".replace("\n", "\r\n")
    source = tmp_path / "memory.md"
    source.write_bytes(text.encode())
    [finding] = import_legacy(repo, source).findings
    offset = text.index('"code-reviewr"')
    line_start = text.rindex("\n", 0, offset) + 1
    assert finding.code == "KB604"
    assert (finding.line, finding.col) == (text.count("\n", 0, offset) + 1, offset - line_start + 1)


def test_repository_without_kb_is_an_environment_error(tmp_path: Path) -> None:
    with pytest.raises(RepoError):
        import_legacy(tmp_path, LEGACY_SEED)


def test_without_vocabulary_names_are_not_checked(empty_kb_repo: Path) -> None:
    result = import_legacy(empty_kb_repo, LEGACY_SEED)
    assert not any(f.code == "KB604" for f in result.findings)
    assert len(result.written) == len(SEED_FILES)
    assert not (empty_kb_repo / "kb" / "vocabulary.yaml").exists()


# --- the command ---------------------------------------------------------------------------


def test_cli_text_output_and_exit_code(repo: Path) -> None:
    out = CliRunner().invoke(app, ["import-legacy", str(LEGACY_SEED), "--repo", str(repo)])
    assert out.exit_code == 1
    lines = out.stdout.splitlines()
    assert (
        f"{LEGACY_SEED}:32:22: error KB604 unknown droid 'security-airditor' (did you mean "
        "'security-auditor'?); hint: fix the name, or declare it in kb/vocabulary.yaml" in lines
    )
    assert lines[-2:] == [
        "1 name (droids, domains, phases) not in kb/vocabulary.yaml "
        "(1 near miss of an existing name)",
        "wrote 7 records (7 added, 0 updated, 0 unchanged, 0 skipped; 2 errors, 5 warnings); "
        "review with git diff and commit",
    ]
    # Nothing is committed: the new files are untracked, for a person to review.
    assert git(repo, "status", "--porcelain").splitlines() == [
        "?? kb/failures/",
        "?? kb/outcomes/",
        "?? kb/patterns/",
        "?? kb/templates/",
    ]


def test_cli_clean_import_exits_zero(repo: Path, tmp_path: Path) -> None:
    source = write_json(tmp_path, {"success_patterns": {"p": pattern()}})
    out = CliRunner().invoke(app, ["import-legacy", str(source), "--repo", str(repo)])
    assert out.exit_code == 0, out.stdout
    assert (
        out.stdout == "wrote 1 record (1 added, 0 updated, 0 unchanged, 0 skipped; "
        "0 errors, 0 warnings); review with git diff and commit\n"
    )


def test_cli_json_output(repo: Path) -> None:
    out = CliRunner().invoke(
        app,
        ["import-legacy", str(LEGACY_SEED), "--repo", str(repo), "--format", "json", "--dry-run"],
    )
    assert out.exit_code == 1
    body = json.loads(out.stdout)
    assert body["dry_run"] is True and body["errors"] == 2 and body["warnings"] == 5
    assert sorted(body["written"]) == SEED_FILES
    assert set(body["contents"]) == set(SEED_FILES)
    assert {"path", "line", "col", "severity", "code", "message", "hint"} == set(
        body["findings"][0]
    )
    assert kb_files(repo) == ["kb/vocabulary.yaml"]


def test_cli_dry_run_prints_the_files(repo: Path) -> None:
    out = CliRunner().invoke(
        app, ["import-legacy", str(LEGACY_SEED), "--repo", str(repo), "--dry-run"]
    )
    assert f"--- would write {AIRDITOR_FILE}" in out.stdout
    assert "key_droids: [security-airditor, backend-architect, frontend-developer]" in out.stdout
    assert out.stdout.splitlines()[-1].startswith("dry run: would write 7 records")


def test_cli_strict_then_force(repo: Path) -> None:
    runner = CliRunner()
    strict = runner.invoke(
        app, ["import-legacy", str(LEGACY_SEED), "--repo", str(repo), "--strict"]
    )
    assert strict.exit_code == 1
    assert strict.stdout.splitlines()[-1].startswith("--strict: nothing written")
    assert kb_files(repo) == ["kb/vocabulary.yaml"]
    runner.invoke(app, ["import-legacy", str(LEGACY_SEED), "--repo", str(repo)])
    target = repo / "kb/failures/payment_webhook_timeout.yaml"
    target.write_text(target.read_text() + "title: Edited by hand\n")
    kept = runner.invoke(app, ["import-legacy", str(LEGACY_SEED), "--repo", str(repo)])
    assert "error KB606 kb/failures/payment_webhook_timeout.yaml already exists" in kept.stdout
    assert "title: Edited by hand" in target.read_text()
    forced = runner.invoke(app, ["import-legacy", str(LEGACY_SEED), "--repo", str(repo), "--force"])
    assert forced.stdout.splitlines()[-1].startswith("wrote 1 record (")
    assert "title:" not in target.read_text()


def test_cli_unreadable_file_exits_two(repo: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    out = CliRunner().invoke(app, ["import-legacy", str(missing), "--repo", str(repo)])
    assert out.exit_code == 2
    assert f"{missing}:1:1: error KB601 cannot read legacy memory" in out.stderr
    assert "nothing was written" in out.stderr
    assert "Traceback" not in out.output
    as_json = CliRunner().invoke(
        app, ["import-legacy", str(missing), "--repo", str(repo), "--format", "json"]
    )
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["error"]["findings"][0]["code"] == "KB601"


def test_console_script_in_a_subprocess(repo: Path) -> None:
    script = Path(sys.executable).with_name("memkb")
    done = subprocess.run(
        [str(script), "import-legacy", str(LEGACY_SEED)],
        cwd=repo / "kb",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "error KB603 key 'performance_database_optimization'" in done.stdout
    assert done.stdout.rstrip().endswith("review with git diff and commit")
    assert sorted(kb_files(repo)) == sorted([*SEED_FILES, "kb/vocabulary.yaml"])


# --- scale ---------------------------------------------------------------------------------

VOCAB_DROIDS = [
    "security-auditor",
    "backend-architect",
    "frontend-developer",
    "database-admin",
    "performance-engineer",
    "test-automator",
    "code-reviewer",
]
VOCAB_DOMAINS = ["e-commerce", "finance", "backend", "frontend", "database", "performance"]
VOCAB_PHASES = [
    "security_first",
    "database_api",
    "frontend_integration",
    "testing_qa",
    "optimization",
]


def _big_memory() -> dict[str, Any]:
    patterns = {}
    for i in range(3000):
        entry: dict[str, Any] = {
            "pattern_id": f"pattern_{i:04d}",
            "domain": [VOCAB_DOMAINS[i % 6]],
            "success_rate": round((i % 100) / 100, 2),
            "applicable_phases": [VOCAB_PHASES[i % 5]],
            "key_droids": [VOCAB_DROIDS[i % 7], VOCAB_DROIDS[(i + 1) % 7]],
            "best_practices": [f"Practice number {i}, written out"],
        }
        if i % 100 == 0:
            entry["project_examples"] = [
                {
                    "project": f"Project {i}",
                    "date": "2025-02-03",
                    "outcome": "success",
                    "droids_used": ["@code-reviewer"],
                }
            ]
        patterns[f"pattern_{i:04d}"] = entry
    failures = {
        f"failure_{i:03d}": {
            "common_causes": [f"Cause {i}"],
            "prevention_strategies": ["Prevent it"],
        }
        for i in range(500)
    }
    templates = {
        domain: {
            "template_id": f"{domain.replace('-', '')}_plan",
            "risk_level": "low",
            "estimated_timeline": "1-3 weeks",
            "success_probability": 0.6,
            "phases": [{"phase_name": "Testing & QA", "droids": ["test-automator"]}],
        }
        for domain in VOCAB_DOMAINS
    }
    return {
        "success_patterns": patterns,
        "failure_patterns": failures,
        "project_templates": templates,
    }


def _line_in_entry(lines: list[str], key: str, field: str) -> int:
    start = next(i for i, text in enumerate(lines) if text.strip().startswith(f'"{key}": '))
    return next(i for i in range(start, len(lines)) if f'"{field}"' in lines[i]) + 1


def test_thousands_of_patterns_every_defect_reported_every_record_written(
    repo: Path, tmp_path: Path
) -> None:
    memory = _big_memory()
    pats, fails, tpls = (
        memory[k] for k in ("success_patterns", "failure_patterns", "project_templates")
    )
    pats["pattern_0017"]["key_droids"][0] = "backend-architekt"
    pats["pattern_2999"]["applicable_phases"] = ["optimisation"]
    pats["pattern_1234"]["pattern_id"] = "pattern_1243"
    pats["pattern_2000"]["success_rate"] = 1.7
    del pats["pattern_0501"]["domain"]  # still required (key_droids is not, since v3)
    fails["failure_042"]["domain"] = ["finanse"]
    tpls["finance"]["risk_level"] = "extreme"
    source = write_json(tmp_path, memory, "big.json")
    lines = source.read_text().splitlines()
    expected = {
        ("KB604", _line_in_entry(lines, "pattern_0017", "key_droids") + 1),
        ("KB604", _line_in_entry(lines, "pattern_2999", "applicable_phases") + 1),
        ("KB603", _line_in_entry(lines, "pattern_1234", "pattern_id")),
        ("KB605", _line_in_entry(lines, "pattern_2000", "success_rate")),
        ("KB605", _line_in_entry(lines, "pattern_0501", "pattern_id") - 1),  # the entry's key
        ("KB604", _line_in_entry(lines, "failure_042", "domain") + 1),
        ("KB605", _line_in_entry(lines, "finance", "risk_level")),
    }

    result = import_legacy(repo, source)

    assert {(f.code, f.line) for f in result.findings if f.severity is Severity.ERROR} == expected
    assert [f.code for f in result.findings if f.severity is Severity.WARNING] == ["KB608"] * 30
    assert len(result.written) == 3000 + 500 + 6 + 30
    defective = {
        "kb/patterns/pattern_0017.yaml",
        "kb/patterns/pattern_2999.yaml",
        "kb/patterns/pattern_2000.yaml",
        "kb/patterns/pattern_0501.yaml",
        "kb/failures/failure_042.yaml",
        "kb/templates/finance_plan.yaml",
    }
    checked = validate_repo(repo, use_cache=False)
    assert checked.files == len(result.written) + 1
    assert {f.path for f in checked.findings} == defective


# --- open-ended input ----------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["@code-reviewer", "2-4 weeks", "2025-01-20", "Database & API", ""]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "pattern_id",
                    "domain",
                    "key_droids",
                    "success_rate",
                    "phases",
                    "applicable_phases",
                    "template_id",
                    "project_examples",
                    "project",
                    "date",
                    "outcome",
                    "droids_used",
                    "phase_name",
                    "estimated_timeline",
                    "last_updated",
                    "recovery_rate",
                    "x" * 1100,
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)
_memory = st.dictionaries(
    st.sampled_from(
        ["success_patterns", "failure_patterns", "project_templates", "learning_metrics"]
    ),
    st.dictionaries(st.text(max_size=10), _json, max_size=4) | _json,
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(memory=_memory)
def test_any_json_memory_is_reported_never_crashes(
    repo: Path, tmp_path: Path, memory: dict[str, Any]
) -> None:
    source = write_json(tmp_path, memory, "fuzz.json")
    result = import_legacy(repo, source, dry_run=True)
    lines = len(source.read_text().splitlines())
    assert all(1 <= f.line <= lines and f.col >= 1 for f in result.findings)
    for relpath, text in result.contents.items():
        assert load_bytes(text.encode(), relpath).findings == []
    assert kb_files(repo) == ["kb/vocabulary.yaml"]


def test_absurdly_nested_json_is_a_finding_not_a_traceback(
    empty_kb_repo: Path, tmp_path: Path
) -> None:
    source = tmp_path / "deep.json"
    source.write_text('{"success_patterns": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = CliRunner().invoke(app, ["import-legacy", str(source), "--repo", str(empty_kb_repo)])
    assert "KB602" in result.output and "nests too deeply" in result.output
    assert result.exit_code == 1 and not isinstance(result.exception, RecursionError)
    assert list((empty_kb_repo / "kb").rglob("*.yaml")) == []
