"""A write into a repository whose Git folder cannot be written: a clear message, exit 2,
and the KB and Git left as they were; never a traceback, never a commit that a retry
would duplicate. Parts are made unwritable with `chattr +i`, which holds for root too
(root ignores file modes)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import RECORD, git
from memkb.cli.main import app


def _chattr(flag: str, path: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True)
    return done.returncode == 0


@pytest.fixture(autouse=True)
def chattr_works(tmp_path: Path) -> None:
    """Skip unless `chattr +i` really makes a file unwritable here (it needs root or
    CAP_LINUX_IMMUTABLE, and a file system with the attribute)."""
    probe = tmp_path / "probe"
    probe.write_text("x")
    if not _chattr("+i", probe):
        pytest.skip("chattr +i is not available on this file system or to this user")
    try:
        try:
            probe.write_text("y")
        except PermissionError:
            return
        pytest.skip("chattr +i does not stop writes here")
    finally:
        _chattr("-i", probe)


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    assert _chattr("+i", path), path
    try:
        yield
    finally:
        _chattr("-i", path)


def run(repo: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--repo", str(repo)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def state(repo: Path) -> tuple[str, str, list[str]]:
    """HEAD, the status and the files under kb/outcomes: what must not change."""
    files = sorted(str(p.relative_to(repo)) for p in (repo / "kb").rglob("*") if p.is_file())
    return git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"), files


def test_an_unwritable_index_commits_nothing_and_a_retry_records_once(kb_repo: Path) -> None:
    before = state(kb_repo)
    with immutable(kb_repo / ".git/index"):
        code, out = run(kb_repo, *RECORD)
        assert code == 2
        assert "index" in out and "nothing was committed" in out
        assert state(kb_repo) == before

    code, out = run(kb_repo, *RECORD)
    assert code == 0, out
    assert git(kb_repo, "rev-list", "--count", "HEAD").strip() == "2"
    assert (kb_repo / "kb/outcomes/2025/2025-05-05-shop.yaml").exists()
    assert not (kb_repo / "kb/outcomes/2025/2025-05-05-shop-2.yaml").exists()
    assert git(kb_repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("folder", [".git/objects", ".git/memkb"])
def test_an_unwritable_git_folder_is_a_clear_error(kb_repo: Path, folder: str) -> None:
    (kb_repo / ".git/memkb").mkdir(exist_ok=True)
    (kb_repo / ".git/memkb/write.lock").touch()  # as any earlier write leaves it
    before = state(kb_repo)
    with immutable(kb_repo / folder):
        code, out = run(kb_repo, *RECORD)
    assert code == 2, out
    assert "Traceback" not in out and "memkb: error: cannot write" in out
    assert folder.removeprefix(".git/") in out
    assert state(kb_repo) == before


def test_an_unwritable_refs_folder_says_the_ref_could_not_be_written(kb_repo: Path) -> None:
    before = state(kb_repo)
    with immutable(kb_repo / ".git/refs/heads"):
        code, out = run(kb_repo, *RECORD)
    assert code == 2, out
    assert "moved" not in out
    assert "could not write the ref refs/heads/main" in out
    assert state(kb_repo) == before


def test_nothing_after_the_branch_moves_fails_the_write(kb_repo: Path) -> None:
    # A real Git hook makes .git/memkb immutable the moment the ref is committed, so
    # the journal cannot be removed. The write has landed: it must not report a failure
    # that a caller would retry (and record twice).
    memkb_dir = kb_repo / ".git/memkb"
    hook = kb_repo / ".git/hooks/reference-transaction"
    hook.write_text(f'#!/bin/sh\n[ "$1" = committed ] && chattr +i "{memkb_dir}"\nexit 0\n')
    hook.chmod(0o755)
    try:
        code, out = run(kb_repo, *RECORD)
        assert (memkb_dir / "journal.json").exists()  # the hook did bite
    finally:
        hook.unlink()
        _chattr("-i", memkb_dir)
    assert code == 0, out
    code, out = run(kb_repo, *RECORD[:2], "Next", *RECORD[3:])
    assert code == 0 and "completed an interrupted write" in out, out
    assert git(kb_repo, "rev-list", "--count", "HEAD").strip() == "3"
    assert not (memkb_dir / "journal.json").exists()
    assert git(kb_repo, "status", "--porcelain") == ""
