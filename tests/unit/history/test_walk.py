"""The walk on an empty cache starts `git log` at once: no listing of the whole line
first (traced with GIT_TRACE, real git processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import git
from memkb.history import report


def _commands(trace: Path) -> list[str]:
    """The git subcommands the run started, from GIT_TRACE's "trace: built-in: git X"."""
    lines = trace.read_text().splitlines() if trace.exists() else []
    return [ln.split("git ", 1)[1].split()[0] for ln in lines if "built-in: git " in ln]


def test_a_cold_walk_without_progress_lists_no_revisions(
    kb_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    cold = report(kb_repo, use_cache=False)
    commands = _commands(trace)
    assert "log" in commands and "rev-list" not in commands
    monkeypatch.delenv("GIT_TRACE")
    assert cold["learning_metrics"]["total_projects"] >= 1  # the bundled seed outcome


def test_a_cold_walk_with_progress_counts_the_line_and_a_warm_one_looks_back(
    kb_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (kb_repo / "kb" / "notes.txt").write_text("not a record\n")
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "second")
    calls: list[tuple[str, int, int]] = []
    report(kb_repo, as_of="2099-01-01", progress=lambda *call: calls.append(call))
    assert calls[0] == ("commits", 2, 2)  # counted with one `rev-list --count`
    (kb_repo / "kb" / "notes.txt").write_text("changed\n")
    git(kb_repo, "commit", "-q", "-am", "third")
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    calls.clear()
    report(kb_repo, progress=lambda *call: calls.append(call))
    assert ("commits", 1, 1) in calls  # only the new commit is walked
    assert _commands(trace).count("rev-list") == 1  # the short look back (-n 64)
