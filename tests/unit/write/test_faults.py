"""Fault injection: a writer SIGKILLed at every point of a write loses nothing, half-writes
nothing, and the next write settles the KB and Git (MEMKB_FAULT is journal.py's test hook)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git, make_kb_repo
from memkb.errors import RepoError
from memkb.validation.engine import validate_repo
from memkb.write.authoring import record_outcome, set_field
from memkb.write.journal import FAULT_POINTS
from memkb.write.transaction import WriteOptions

OUTCOME_PATH = "kb/outcomes/2025/2025-05-05-crash-test.yaml"
PATTERN = "kb/patterns/ecommerce_security_first.yaml"
ROLLED_BACK = (
    "after-lock",
    "after-journal",
    "after-temp-write",
    "after-replace",
    "after-commit-object",
    "after-index-sync",  # the index is synced before the ref moves
)
COMMITTED = ("after-ref-update",)
# The write after the crash, which settles what the killed one left.
AFTER_CRASH = {
    "project": "After Crash",
    "outcome": "success",
    "date": "2025-05-06",
    "domains": ["e-commerce"],
    "droids_used": ["security-auditor"],
}

SCRIPT = """
import sys
from pathlib import Path
from memkb.write.authoring import record_outcome, set_field
from memkb.write.transaction import WriteOptions

root, what, push = Path(sys.argv[1]), sys.argv[2], sys.argv[3] or None
options = WriteOptions(push=push, agent="crash-test")
if what == "record":
    record_outcome(root, {"project": "Crash Test", "outcome": "failure", "date": "2025-05-05",
                          "domains": ["e-commerce"], "droids_used": ["security-auditor"]},
                   options)
else:
    set_field(root, "pattern", "ecommerce_security_first", "title", "Edited before the crash",
              options)
"""


def killed_write(repo: Path, point: str, what: str, push: str = "") -> None:
    """Run one write in a child process that SIGKILLs itself at `point`."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(repo), what, push],
        env={**os.environ, "MEMKB_FAULT": point},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


def settled(repo: Path) -> None:
    """Work tree, index and HEAD agree, and no debris of the killed write is left."""
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not list((repo / ".git/memkb").glob("journal*"))
    assert not list((repo / "kb").rglob("*.memkb-tmp"))
    subprocess.run(
        ["git", "fsck", "--no-dangling", "--no-progress"], cwd=repo, check=True, capture_output=True
    )
    assert validate_repo(repo, use_cache=False).ok


def next_write(repo: Path) -> None:
    result = record_outcome(repo, AFTER_CRASH)
    assert git(repo, "rev-parse", "HEAD").strip() == result.commit
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == result.paths


@pytest.mark.parametrize("point", [p for p in FAULT_POINTS if p != "before-push"])
def test_killed_record_is_rolled_back_or_completed(kb_repo: Path, point: str) -> None:
    commits_before = int(git(kb_repo, "rev-list", "--count", "HEAD"))
    killed_write(kb_repo, point, "record")

    # Even before any recovery, the KB is valid: the record is whole or absent.
    assert validate_repo(kb_repo, use_cache=False).ok
    next_write(kb_repo)
    settled(kb_repo)

    in_head = git(kb_repo, "ls-tree", "--name-only", "HEAD", OUTCOME_PATH).strip()
    commits = int(git(kb_repo, "rev-list", "--count", "HEAD"))
    if point in COMMITTED:
        assert in_head == OUTCOME_PATH and commits == commits_before + 2
        assert "outcome: failure" in (kb_repo / OUTCOME_PATH).read_text()
    else:
        assert point in ROLLED_BACK
        assert in_head == "" and commits == commits_before + 1
        assert not (kb_repo / OUTCOME_PATH).exists()


@pytest.mark.parametrize(
    "point",
    [
        "after-temp-write",
        "after-replace",
        "after-commit-object",
        "after-index-sync",
        "after-ref-update",
    ],
)
def test_killed_edit_leaves_the_old_or_the_new_file(kb_repo: Path, point: str) -> None:
    original = (kb_repo / PATTERN).read_text()
    killed_write(kb_repo, point, "edit")

    if point == "after-temp-write":  # the kill did land between temp file and rename
        assert (kb_repo / "kb/patterns/.ecommerce_security_first.yaml.memkb-tmp").exists()
    text = (kb_repo / PATTERN).read_text()
    assert text == original or "title: Edited before the crash" in text  # never half
    next_write(kb_repo)
    settled(kb_repo)
    final = (kb_repo / PATTERN).read_text()
    assert final == git(kb_repo, "show", f"HEAD:{PATTERN}")
    assert ("title: Edited before the crash" in final) == (point in COMMITTED)


def test_killed_before_push_is_pushed_by_the_next_write(tmp_path: Path) -> None:
    seed = make_kb_repo(tmp_path / "seed")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(remote))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))

    killed_write(clone, "before-push", "record", push="origin")
    assert git(clone, "ls-tree", "--name-only", "HEAD", OUTCOME_PATH).strip() == OUTCOME_PATH
    record_outcome(clone, AFTER_CRASH, WriteOptions(push="origin"))
    on_remote = git(remote, "ls-tree", "-r", "--name-only", "main", "kb/outcomes/2025").split()
    assert OUTCOME_PATH in on_remote
    assert "kb/outcomes/2025/2025-05-06-after-crash.yaml" in on_remote
    settled(clone)


def test_a_torn_journal_is_discarded(kb_repo: Path) -> None:
    memkb_dir = kb_repo / ".git/memkb"
    memkb_dir.mkdir(exist_ok=True)
    (memkb_dir / "journal.json").write_text('{"branch": "main", "ol')
    next_write(kb_repo)
    settled(kb_repo)


def test_user_edit_after_a_crash_is_not_rolled_over(kb_repo: Path) -> None:
    killed_write(kb_repo, "after-replace", "edit")
    path = kb_repo / PATTERN
    mine = path.read_text().replace("Edited before the crash", "My own title")
    path.write_text(mine)  # the user edits the file before memkb runs again

    with pytest.raises(RepoError, match="uncommitted changes"):
        set_field(kb_repo, "pattern", "ecommerce_security_first", "description", "x")
    assert path.read_text() == mine


def test_recovery_never_stages_or_overwrites_a_later_user_edit(kb_repo: Path) -> None:
    killed_write(kb_repo, "after-ref-update", "edit")  # committed, journal not yet dropped
    path = kb_repo / PATTERN
    mine = path.read_text() + "# my own note\n"
    path.write_text(mine)

    result = record_outcome(kb_repo, AFTER_CRASH)

    assert result.notes[0] == "completed an interrupted write"
    assert path.read_text() == mine
    assert git(kb_repo, "status", "--porcelain").strip() == f"M {PATTERN}"  # unstaged only


def test_recovery_leaves_a_checkout_that_moved_to_another_branch(kb_repo: Path) -> None:
    killed_write(kb_repo, "after-replace", "record")  # file written, nothing committed
    git(kb_repo, "switch", "-q", "-c", "elsewhere")

    result = record_outcome(kb_repo, AFTER_CRASH)

    assert "files left as they are" in result.notes[0]
    assert (kb_repo / OUTCOME_PATH).exists()  # the user decides what to do with it
    assert not list((kb_repo / ".git/memkb").glob("journal*"))


def test_a_write_in_another_worktree_leaves_this_ones_crash_to_settle(
    kb_repo: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    git(kb_repo, "worktree", "add", "-q", "-b", "other", str(other))
    killed_write(kb_repo, "after-replace", "edit")  # file written, nothing committed

    # Before: the other worktree's write found this one's journal, saw another branch
    # and dropped it, so the half-done edit stayed in this checkout for good.
    set_field(other, "pattern", "ecommerce_security_first", "title", "From the other worktree")
    next_write(kb_repo)
    settled(kb_repo)
    assert "Edited before the crash" not in (kb_repo / PATTERN).read_text()
