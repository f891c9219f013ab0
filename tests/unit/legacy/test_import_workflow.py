"""The import workflow (memkb.legacy.importer's output side): idempotent re-imports, updates
with --force counted as such, and --commit as one commit through the write transaction,
which leaves files, index and branch as they were when Git refuses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import LEGACY_SEED, commit_bundled_vocabulary, git
from memkb.cli.main import app
from memkb.errors import RecordError, RepoError
from memkb.legacy.importer import import_legacy
from memkb.validation.engine import validate_repo

TODAY = date(2026, 12, 1)
VOCAB = "kb/vocabulary.yaml"


@pytest.fixture
def repo(empty_kb_repo: Path) -> Path:
    """An empty KB with the bundled vocabulary, committed."""
    return commit_bundled_vocabulary(empty_kb_repo)


def pattern(rate: float = 0.8, domains: tuple[str, ...] = ("backend",)) -> dict[str, Any]:
    return {
        "domain": list(domains),
        "success_rate": rate,
        "applicable_phases": ["optimization"],
        "key_droids": ["backend-architect"],
        "last_updated": "2025-11-02",
    }


def memory(path: Path, patterns: dict[str, dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"success_patterns": patterns}, indent=2) + "\n")
    return path


def state(root: Path) -> tuple[str, str, dict[str, bytes]]:
    """HEAD, `git status`, and every file under kb/: what a refused write must not change."""
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted((root / "kb").rglob("*"))
        if p.is_file()
    }
    status = git(root, "status", "--porcelain", "--untracked-files=all")
    return git(root, "rev-parse", "HEAD"), status, files


def test_reimporting_the_same_input_changes_nothing(repo: Path) -> None:
    first = import_legacy(repo, LEGACY_SEED, today=TODAY)
    before = state(repo)
    again = import_legacy(repo, LEGACY_SEED, today=TODAY)
    assert (len(again.added), len(again.updated), len(again.skipped)) == (0, 0, 0)
    assert sorted(again.unchanged) == sorted(first.added)
    assert state(repo) == before
    out = CliRunner().invoke(app, ["import-legacy", str(LEGACY_SEED), "--repo", str(repo)])
    assert out.stdout.splitlines()[-1] == (
        f"wrote 0 records (0 added, 0 updated, {len(first.added)} unchanged, 0 skipped; "
        "2 errors, 5 warnings)"
    )


def test_a_newer_memory_updates_only_the_records_that_changed(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "memory.json"
    memory(source, {"a": pattern(), "b": pattern(), "c": pattern()})
    import_legacy(repo, source, today=TODAY)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "import")
    memory(source, {"a": pattern(), "b": pattern(rate=0.9), "c": pattern(), "d": pattern()})

    kept = import_legacy(repo, source, today=TODAY)
    assert (kept.added, kept.updated, kept.skipped) == (
        ["kb/patterns/d.yaml"],
        [],
        ["kb/patterns/b.yaml"],
    )
    assert [f.code for f in kept.findings] == ["KB606"]
    assert b"success_rate: 0.8" in (repo / "kb/patterns/b.yaml").read_bytes()

    forced = import_legacy(repo, source, force=True, today=TODAY)
    assert forced.updated == ["kb/patterns/b.yaml"]
    assert forced.added == [] and forced.skipped == []
    assert sorted(forced.unchanged) == [f"kb/patterns/{x}.yaml" for x in "acd"]
    assert git(repo, "status", "--porcelain").splitlines() == [
        " M kb/patterns/b.yaml",
        "?? kb/patterns/d.yaml",
    ]


def test_the_json_summary_counts_added_updated_unchanged_skipped(
    repo: Path, tmp_path: Path
) -> None:
    source = memory(tmp_path / "memory.json", {"a": pattern(), "b": pattern()})
    import_legacy(repo, source, today=TODAY)
    memory(source, {"a": pattern(), "b": pattern(rate=0.7), "c": pattern()})
    out = CliRunner().invoke(app, ["import-legacy", str(source), "--repo", str(repo), "--json"])
    body = json.loads(out.stdout)
    assert body["format"] == "memkb.import-legacy/1"
    picked = {k: body[k] for k in ("added", "updated", "unchanged", "skipped", "written")}
    assert picked == {
        "added": ["kb/patterns/c.yaml"],
        "updated": [],
        "unchanged": ["kb/patterns/a.yaml"],
        "skipped": ["kb/patterns/b.yaml"],
        "written": ["kb/patterns/c.yaml"],
    }
    assert body["commit"] is None and body["vocabulary_added"] == {}


# --- --commit ---------------------------------------------------------------------------


def test_commit_makes_one_commit_of_exactly_the_imports_files(repo: Path, tmp_path: Path) -> None:
    source = memory(
        tmp_path / "success_patterns.json",
        {"a": pattern(domains=("backend", "logistics")), "b": pattern()},
    )
    (repo / "notes.txt").write_text("my own work\n")
    git(repo, "add", "notes.txt")  # staged, and not the import's: it stays out
    (repo / "scratch.txt").write_text("untracked\n")
    head = git(repo, "rev-parse", "HEAD").strip()
    result = import_legacy(
        repo, source, extend_vocabulary=True, commit=True, agent="orchestrator/v2", today=TODAY
    )
    assert result.ok and result.commit is not None
    assert git(repo, "rev-parse", "HEAD").strip() == result.commit
    assert git(repo, "rev-parse", "HEAD^").strip() == head
    changed = git(repo, "diff-tree", "--no-commit-id", "--name-status", "-r", "HEAD")
    assert changed.splitlines() == [
        "A\tkb/patterns/a.yaml",
        "A\tkb/patterns/b.yaml",
        f"M\t{VOCAB}",
    ]
    message = git(repo, "log", "-1", "--format=%B")
    assert message.splitlines()[0] == "memory(import): import success_patterns.json"
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)").splitlines()
    assert "Memory-Action: import" in trailers
    assert "Memory-Agent: orchestrator/v2" in trailers
    assert "Memory-Source: success_patterns.json" in trailers
    body = (
        "Records: 2 added, 0 updated, 0 unchanged (0 of them written by an earlier import "
        "and committed now). Names added to kb/vocabulary.yaml: 1."
    )
    assert body in message
    # The user's staged file is still staged, the untracked one untouched; nothing else.
    assert git(repo, "status", "--porcelain").splitlines() == ["A  notes.txt", "?? scratch.txt"]
    assert any("staged changes (notes.txt)" in note for note in result.notes)
    assert not [f for f in validate_repo(repo).findings if f.severity == "error"]


def test_commit_with_errors_writes_and_commits_nothing(repo: Path, tmp_path: Path) -> None:
    source = memory(tmp_path / "memory.json", {"a": pattern(domains=("databse",))})
    before = state(repo)
    result = import_legacy(repo, source, commit=True, today=TODAY)
    assert result.commit is None and result.not_committed == "errors above"
    assert result.skipped == ["kb/patterns/a.yaml"] and result.written == []
    assert state(repo) == before


def test_commit_of_an_unchanged_import_commits_nothing(repo: Path, tmp_path: Path) -> None:
    source = memory(tmp_path / "memory.json", {"a": pattern()})
    import_legacy(repo, source, commit=True, today=TODAY)
    before = state(repo)
    again = import_legacy(repo, source, commit=True, today=TODAY)
    assert again.commit is None and again.not_committed == "nothing to commit"
    assert again.unchanged == ["kb/patterns/a.yaml"]
    assert state(repo) == before


def test_commit_after_a_reviewed_import_commits_what_that_import_wrote(
    repo: Path, tmp_path: Path
) -> None:
    source = memory(tmp_path / "memory.json", {"a": pattern(), "b": pattern()})
    first = import_legacy(repo, source, today=TODAY)  # written, reviewed with git diff...
    assert first.added == ["kb/patterns/a.yaml", "kb/patterns/b.yaml"] and first.commit is None
    again = import_legacy(repo, source, commit=True, today=TODAY)  # ...then committed
    assert again.unchanged == ["kb/patterns/a.yaml", "kb/patterns/b.yaml"]
    assert again.uncommitted == again.unchanged and again.commit is not None
    changed = git(repo, "diff-tree", "--no-commit-id", "--name-status", "-r", "HEAD")
    assert changed.splitlines() == ["A\tkb/patterns/a.yaml", "A\tkb/patterns/b.yaml"]
    assert git(repo, "status", "--porcelain") == ""


def test_commit_refused_by_a_failing_hook_leaves_files_and_git_as_they_were(
    repo: Path, tmp_path: Path
) -> None:
    source = memory(tmp_path / "memory.json", {"a": pattern(domains=("logistics",))})
    hook = repo / ".git" / "hooks" / "reference-transaction"
    hook.write_text('#!/bin/sh\n[ "$1" = prepared ] && exit 1\nexit 0\n')
    hook.chmod(0o755)
    before = state(repo)
    with pytest.raises(RepoError, match="could not write the ref"):
        import_legacy(repo, source, extend_vocabulary=True, commit=True, today=TODAY)
    assert state(repo) == before
    assert not (repo / ".git/memkb/journal.json").exists()


def test_commit_refused_by_a_locked_index_leaves_files_and_git_as_they_were(
    repo: Path, tmp_path: Path
) -> None:
    source = memory(tmp_path / "memory.json", {"a": pattern(domains=("logistics",))})
    (repo / ".git" / "index.lock").write_text("")  # another git command is running
    before = state(repo)
    with pytest.raises(RepoError, match="nothing was committed"):
        import_legacy(repo, source, extend_vocabulary=True, commit=True, today=TODAY)
    assert state(repo) == before


def test_commit_refuses_to_sweep_in_an_uncommitted_vocabulary_edit(
    repo: Path, tmp_path: Path
) -> None:
    source = memory(tmp_path / "memory.json", {"a": pattern(domains=("logistics",))})
    vocab = repo / VOCAB
    vocab.write_text(vocab.read_text() + "# my note, not committed yet\n")
    before = state(repo)
    with pytest.raises(RepoError, match="uncommitted changes"):
        import_legacy(repo, source, extend_vocabulary=True, commit=True, today=TODAY)
    assert state(repo) == before


def test_commit_refused_by_validation_writes_nothing(repo: Path, tmp_path: Path) -> None:
    # A committed prior edited through a re-import is a hand-edited figure (KB405): the
    # write transaction's checks refuse it, as they refuse `memkb set`.
    source = memory(tmp_path / "memory.json", {"a": pattern()})
    import_legacy(repo, source, commit=True, today=TODAY)
    memory(source, {"a": pattern(rate=0.95)})
    before = state(repo)
    with pytest.raises(RecordError) as refused:
        import_legacy(repo, source, commit=True, force=True, today=TODAY)
    assert "KB405" in str(refused.value.findings)
    assert state(repo) == before


def test_cli_commit_and_dry_run_exclude_each_other(repo: Path) -> None:
    out = CliRunner().invoke(
        app, ["import-legacy", str(LEGACY_SEED), "--repo", str(repo), "--commit", "--dry-run"]
    )
    assert out.exit_code == 2
    assert "--commit and --dry-run exclude each other" in out.output


def test_console_script_commits_in_a_real_process(repo: Path, tmp_path: Path) -> None:
    source = memory(tmp_path / "memory.json", {"a": pattern(domains=("logistics",))})
    memkb = Path(sys.executable).with_name("memkb")
    done = subprocess.run(
        [str(memkb), "import-legacy", str(source), "--extend-vocabulary", "--commit", "--json"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "MEMKB_AGENT": "ci-bot"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert body["vocabulary_added"] == {"domain": ["logistics"]}
    assert "Memory-Agent: ci-bot" in git(repo, "log", "-1", "--format=%B")
    assert git(repo, "status", "--porcelain") == ""
