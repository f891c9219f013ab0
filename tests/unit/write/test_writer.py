"""The write transaction against real Git repositories: what is committed, what is left alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git, make_kb_repo
from memkb.errors import RecordError, RepoError, UsageError
from memkb.gitio.repo import DEFAULT_IDENTITY
from memkb.write.authoring import record_outcome, set_field
from memkb.write.lock import write_lock
from memkb.write.transaction import WriteOptions

OUTCOME = {
    "project": "Big Shop",
    "outcome": "success",
    "domains": ["e-commerce"],
    "droids_used": ["security-auditor"],
    "date": "2025-03-01",
}
PATTERN = "kb/patterns/ecommerce_security_first.yaml"


def head(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", ref).strip()


def changed_in(repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "show", "--name-only", "--format=", rev).split()


def test_record_commits_only_its_file_with_message_and_trailers(kb_repo: Path) -> None:
    result = record_outcome(kb_repo, OUTCOME, WriteOptions(agent="orchestrator-7"))

    assert result.paths == ["kb/outcomes/2025/2025-03-01-big-shop.yaml"]
    assert result.commit == head(kb_repo)
    assert changed_in(kb_repo) == result.paths
    message = git(kb_repo, "show", "-s", "--format=%B", "HEAD")
    assert message.splitlines()[0] == "memory(outcome): record 2025-03-01-big-shop"
    trailers = git(kb_repo, "show", "-s", "--format=%(trailers:only,unfold)", "HEAD")
    assert trailers.split("\n")[:4] == [
        "Memory-Kind: outcome",
        "Memory-Id: 2025-03-01-big-shop",
        "Memory-Action: record",
        "Memory-Agent: orchestrator-7",
    ]
    assert git(kb_repo, "status", "--porcelain") == ""


def test_users_staged_and_unstaged_work_is_neither_committed_nor_disturbed(kb_repo: Path) -> None:
    (kb_repo / "notes.txt").write_text("staged work\n")
    git(kb_repo, "add", "notes.txt")
    failure = kb_repo / "kb/failures/payment_webhook_timeout.yaml"
    failure.write_text(failure.read_text() + "# my unstaged thought\n")
    (kb_repo / "scratch.txt").write_text("untracked\n")
    status_before = git(kb_repo, "status", "--porcelain")
    staged_before = git(kb_repo, "diff", "--cached")

    result = record_outcome(kb_repo, OUTCOME)

    assert changed_in(kb_repo) == result.paths
    assert result.notes == [
        "your staged changes (notes.txt) were left out of this commit and are still staged"
    ]
    assert git(kb_repo, "status", "--porcelain") == status_before
    assert git(kb_repo, "diff", "--cached") == staged_before
    assert failure.read_text().endswith("# my unstaged thought\n")


def test_agent_comes_from_environment_then_login(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMKB_AGENT", "planner-bot")
    record_outcome(kb_repo, OUTCOME)
    assert "Memory-Agent: planner-bot" in git(kb_repo, "show", "-s", "--format=%B")
    monkeypatch.delenv("MEMKB_AGENT")
    record_outcome(kb_repo, OUTCOME)
    assert "Memory-Agent: human:" in git(kb_repo, "show", "-s", "--format=%B")


def test_missing_identity_gets_the_default_agent_identity(
    kb_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    assert subprocess.run(["git", "config", "user.name"], cwd=kb_repo).returncode == 1

    record_outcome(kb_repo, OUTCOME)

    who = git(kb_repo, "show", "-s", "--format=%an <%ae>|%cn <%ce>", "HEAD").strip()
    expected = f"{DEFAULT_IDENTITY[0]} <{DEFAULT_IDENTITY[1]}>"
    assert who == f"{expected}|{expected}"


def test_name_clash_gets_a_suffix_never_an_overwrite(kb_repo: Path) -> None:
    ids = [record_outcome(kb_repo, OUTCOME).edit.id for _ in range(3)]
    assert ids == ["2025-03-01-big-shop", "2025-03-01-big-shop-2", "2025-03-01-big-shop-3"]
    assert len(git(kb_repo, "log", "--format=%H").split()) == 4


def test_invalid_input_changes_nothing(kb_repo: Path) -> None:
    before = head(kb_repo)
    with pytest.raises(RecordError) as caught:
        record_outcome(kb_repo, {**OUTCOME, "outcome": "great", "droids_used": ["nobody"]})
    codes = {f.code for f in caught.value.findings}  # type: ignore[attr-defined]
    assert {"KB201", "KB304"} <= codes
    assert head(kb_repo) == before
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_no_commit_leaves_the_change_in_the_work_tree(kb_repo: Path) -> None:
    before = head(kb_repo)
    result = record_outcome(kb_repo, OUTCOME, WriteOptions(commit=False))
    assert result.commit is None
    assert head(kb_repo) == before
    assert (
        git(kb_repo, "status", "--porcelain", "--untracked-files=all").strip()
        == f"?? {result.paths[0]}"
    )


def test_refuses_to_commit_over_an_uncommitted_edit_of_the_same_record(kb_repo: Path) -> None:
    path = kb_repo / PATTERN
    path.write_text(path.read_text().replace("weight: 10", "weight: 11"))
    edited = path.read_bytes()
    with pytest.raises(RepoError, match="uncommitted changes"):
        set_field(kb_repo, "pattern", "ecommerce_security_first", "title", "New title")
    assert path.read_bytes() == edited
    assert len(git(kb_repo, "log", "--format=%H").split()) == 1


def test_detached_head_is_explained(kb_repo: Path) -> None:
    git(kb_repo, "checkout", "-q", "--detach")
    with pytest.raises(RepoError, match="HEAD is detached") as caught:
        record_outcome(kb_repo, OUTCOME)
    assert "--branch" in (caught.value.hint or "")
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_rebase_in_progress_is_explained(kb_repo: Path) -> None:
    path = kb_repo / PATTERN
    git(kb_repo, "checkout", "-q", "-b", "side")
    path.write_text(path.read_text().replace("weight: 10", "weight: 12"))
    git(kb_repo, "commit", "-qam", "side")
    git(kb_repo, "checkout", "-q", "main")
    path.write_text(path.read_text().replace("weight: 10", "weight: 13"))
    git(kb_repo, "commit", "-qam", "main")
    rebase = subprocess.run(["git", "rebase", "side"], cwd=kb_repo, capture_output=True)
    assert rebase.returncode != 0  # stopped on the conflict: a rebase is in progress

    with pytest.raises(RepoError, match="rebase is in progress"):
        record_outcome(kb_repo, OUTCOME)
    assert not (kb_repo / "kb/outcomes/2025/2025-03-01-big-shop.yaml").exists()


def test_unborn_branch_gets_a_root_commit_with_only_the_record(tmp_path: Path) -> None:
    repo = make_kb_repo(tmp_path / "fresh")
    git(repo, "checkout", "-q", "--orphan", "newborn")
    result = record_outcome(repo, OUTCOME)
    assert git(repo, "rev-list", "--count", "newborn").strip() == "1"
    assert git(repo, "ls-tree", "-r", "--name-only", "newborn").split() == result.paths


def test_failed_commit_rolls_the_file_back(kb_repo: Path) -> None:
    original = (kb_repo / PATTERN).read_bytes()
    lock = kb_repo / ".git/refs/heads/main.lock"
    lock.write_text("")  # git itself now refuses to move main: a real commit failure
    with pytest.raises(RepoError, match="could not write the ref refs/heads/main"):
        set_field(kb_repo, "pattern", "ecommerce_security_first", "title", "T")
    with pytest.raises(RepoError):
        record_outcome(kb_repo, OUTCOME)
    lock.unlink()

    assert (kb_repo / PATTERN).read_bytes() == original
    assert not (kb_repo / "kb/outcomes/2025/2025-03-01-big-shop.yaml").exists()
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not list((kb_repo / ".git/memkb").glob("journal*"))
    set_field(kb_repo, "pattern", "ecommerce_security_first", "title", "T")  # next one works


def test_branch_commits_without_touching_the_checkout(kb_repo: Path) -> None:
    main_before = head(kb_repo)
    (kb_repo / "wip.txt").write_text("my work\n")
    first = record_outcome(kb_repo, OUTCOME, WriteOptions(branch="memory/proposal"))
    set_field(
        kb_repo,
        "pattern",
        "ecommerce_security_first",
        "title",
        "On the branch",
        WriteOptions(branch="memory/proposal"),
    )
    set_field(
        kb_repo,
        "pattern",
        "ecommerce_security_first",
        "description",
        "Twice",
        WriteOptions(branch="memory/proposal"),
    )

    assert head(kb_repo) == main_before
    assert git(kb_repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(kb_repo, "status", "--porcelain").strip() == "?? wip.txt"
    assert not (kb_repo / first.paths[0]).exists()
    assert git(kb_repo, "rev-list", "--count", "main..memory/proposal").strip() == "3"
    on_branch = git(kb_repo, "show", f"memory/proposal:{PATTERN}")
    assert "title: On the branch" in on_branch and "description: Twice" in on_branch


def test_lock_timeout_names_the_holder(kb_repo: Path) -> None:
    lock_path = kb_repo / ".git/memkb/write.lock"
    lock_path.parent.mkdir(exist_ok=True)
    with write_lock(lock_path), pytest.raises(RepoError, match=f"pid {os.getpid()}"):
        record_outcome(kb_repo, OUTCOME, WriteOptions(lock_timeout=0.2))
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_lock_of_a_killed_holder_is_recovered(kb_repo: Path) -> None:
    lock_path = kb_repo / ".git/memkb/write.lock"
    lock_path.parent.mkdir(exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\n"
            "from memkb.write.lock import write_lock\n"
            f"with write_lock(Path({str(lock_path)!r})):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(RepoError, match=f"pid {holder.pid}"):
        record_outcome(kb_repo, OUTCOME, WriteOptions(lock_timeout=0.1))
    holder.kill()
    holder.wait()
    result = record_outcome(kb_repo, OUTCOME, WriteOptions(lock_timeout=2))
    assert result.commit == head(kb_repo)


def clone_pair(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A bare remote holding the KB, and two clones of it."""
    seed = make_kb_repo(tmp_path / "seed")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(remote))
    one, two = tmp_path / "one", tmp_path / "two"
    for clone in (one, two):
        git(tmp_path, "clone", "-q", str(remote), str(clone))
    return remote, one, two


def test_push_lands_on_the_remote(tmp_path: Path) -> None:
    remote, one, _ = clone_pair(tmp_path)
    result = record_outcome(one, OUTCOME, WriteOptions(push="origin"))
    assert result.pushed_to == "origin" and result.push_attempts == 1
    assert head(remote, "main") == result.commit == head(one, "origin/main")


def test_rejected_push_is_replayed_onto_the_remote_tip(tmp_path: Path) -> None:
    remote, one, two = clone_pair(tmp_path)
    (two / "wip.txt").write_text("unrelated local work\n")
    theirs = record_outcome(one, OUTCOME, WriteOptions(push="origin"))
    ours = record_outcome(two, {**OUTCOME, "project": "Other Shop"}, WriteOptions(push="origin"))

    assert ours.push_attempts == 2
    assert git(remote, "rev-list", "--merges", "--count", "main").strip() == "0"
    on_remote = git(remote, "ls-tree", "-r", "--name-only", "main", "kb/outcomes/2025").split()
    assert theirs.paths[0] in on_remote and ours.paths[0] in on_remote
    assert head(two) == head(remote, "main")
    assert (two / theirs.paths[0]).exists()  # the checkout was fast-forwarded
    assert git(two, "status", "--porcelain").strip() == "?? wip.txt"


def test_a_clash_on_push_numbers_the_name_not_a_number_in_the_project(tmp_path: Path) -> None:
    remote, one, two = clone_pair(tmp_path)
    shop = {**OUTCOME, "project": "Shop 2024"}
    record_outcome(one, shop, WriteOptions(push="origin", agent="one"))
    ours = record_outcome(two, shop, WriteOptions(push="origin", agent="two"))

    # Before: "-2024" was read as a suffix, and ours became 2025-03-01-shop-2025.
    on_remote = git(remote, "ls-tree", "-r", "--name-only", "main", "kb/outcomes/2025").split()
    renamed = "kb/outcomes/2025/2025-03-01-shop-2024-2.yaml"
    assert renamed in on_remote and ours.push_attempts == 2
    assert "id: 2025-03-01-shop-2024-2\n" in git(remote, "show", f"main:{renamed}")


def test_proposal_branch_is_pushed_under_its_name(tmp_path: Path) -> None:
    remote, one, _ = clone_pair(tmp_path)
    result = record_outcome(one, OUTCOME, WriteOptions(branch="memory/p1", push="origin"))
    assert head(remote, "memory/p1") == result.commit
    assert head(remote, "main") == head(one, "main")


def test_trees_are_rewritten_only_along_the_path_and_stay_canonical(kb_repo: Path) -> None:
    from memkb.gitio.repo import Change, GitRepo, Identity

    repo = GitRepo(kb_repo)
    parent = head(kb_repo)
    only = "kb/outcomes/2025/2025-01-20-shumica-marketplace.yaml"
    changes = [
        Change(only, None),  # empties kb/outcomes/2025 and kb/outcomes
        Change("kb/outcomes/2019/2019-06-01-old.yaml", repo.store_blob(b"x: 1\n")),
        Change("kb/patterns/a-b.yaml", repo.store_blob(b"y: 2\n")),  # sorts before a.b
        Change("kb/patterns/a.b", repo.store_blob(b"z\n")),
    ]
    commit = repo.build_commit(parent, changes, "test", Identity("T", "t@example.com"))

    subprocess.run(
        ["git", "fsck", "--strict", "--no-dangling"], cwd=kb_repo, check=True, capture_output=True
    )
    changed = git(kb_repo, "diff-tree", "-r", "--name-status", parent, commit).split("\n")
    assert sorted(filter(None, changed)) == sorted(
        [
            f"D\t{only}",
            "A\tkb/outcomes/2019/2019-06-01-old.yaml",
            "A\tkb/patterns/a-b.yaml",
            "A\tkb/patterns/a.b",
        ]
    )
    # The same tree git itself writes from an index holding the same files.
    env = {"GIT_INDEX_FILE": str(kb_repo / ".git/test-index")}
    git(kb_repo, "read-tree", commit, env=env)
    assert (
        git(kb_repo, "write-tree", env=env).strip()
        == git(kb_repo, "rev-parse", f"{commit}^{{tree}}").strip()
    )


def test_no_commit_works_without_git_and_a_commit_says_why_not(tmp_path: Path) -> None:
    plain = make_kb_repo(tmp_path / "plain")
    shutil.rmtree(plain / ".git")
    result = record_outcome(plain, OUTCOME, WriteOptions(commit=False))
    assert (plain / result.paths[0]).is_file() and result.commit is None
    with pytest.raises(RepoError, match="not a Git repository"):
        record_outcome(plain, OUTCOME)


def test_a_failed_push_says_the_commit_stands(kb_repo: Path) -> None:
    with pytest.raises(RepoError, match="but the push failed") as caught:
        record_outcome(kb_repo, OUTCOME, WriteOptions(push="nowhere"))
    assert head(kb_repo)[:10] in caught.value.message
    assert changed_in(kb_repo) == ["kb/outcomes/2025/2025-03-01-big-shop.yaml"]


def test_an_invalid_branch_name_is_a_usage_error(kb_repo: Path) -> None:
    with pytest.raises(UsageError, match="not a valid branch name"):
        record_outcome(kb_repo, OUTCOME, WriteOptions(branch="two words"))
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_kb_below_the_top_of_a_repository_is_explained(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    inner = make_kb_repo(outer / "memory")
    shutil.rmtree(inner / ".git")
    with pytest.raises(RepoError, match="not at its top"):
        record_outcome(inner, OUTCOME)
    assert not list((inner / "kb/outcomes").rglob("2025-03-01-*"))


def test_a_record_both_clones_edited_is_not_merged_blindly(tmp_path: Path) -> None:
    remote, one, two = clone_pair(tmp_path)
    set_field(
        one, "pattern", "ecommerce_security_first", "title", "Theirs", WriteOptions(push="origin")
    )
    with pytest.raises(RepoError, match="changed on the remote too") as caught:
        set_field(
            two, "pattern", "ecommerce_security_first", "title", "Ours", WriteOptions(push="origin")
        )
    assert "but the push failed" in caught.value.message  # ours is committed locally
    assert "title: Ours" in git(two, "show", f"HEAD:{PATTERN}")
    assert "title: Theirs" in git(remote, "show", f"main:{PATTERN}")
    assert git(two, "status", "--porcelain") == ""


def test_a_lock_that_cannot_be_opened_is_explained(kb_repo: Path) -> None:
    # Before: an IsADirectoryError / FileExistsError traceback (as for a read-only .git).
    (kb_repo / ".git/memkb/write.lock").mkdir(parents=True)
    with pytest.raises(RepoError, match="cannot open the write lock"):
        set_field(kb_repo, "pattern", "ecommerce_security_first", "title", "T")
    (kb_repo / ".git/memkb/write.lock").rmdir()
    (kb_repo / ".git/memkb").rmdir()
    (kb_repo / ".git/memkb").write_text("not a folder\n")
    with pytest.raises(RepoError, match=r"cannot create .*memkb"):
        set_field(kb_repo, "pattern", "ecommerce_security_first", "title", "T")
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_file_that_cannot_be_written_is_explained_and_nothing_changes(kb_repo: Path) -> None:
    # Before: NotADirectoryError / FileExistsError tracebacks, and a journal left behind.
    before = head(kb_repo)
    (kb_repo / "kb/outcomes/2024").write_text("not a folder\n")
    outcome = {**OUTCOME, "date": "2024-05-05"}
    for options in (WriteOptions(), WriteOptions(commit=False)):
        with pytest.raises(RepoError, match="cannot write kb/outcomes/2024/2024-05-05-big-shop"):
            record_outcome(kb_repo, outcome, options)
    assert head(kb_repo) == before
    assert not list((kb_repo / ".git/memkb").glob("journal*"))
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == "?? kb/outcomes/2024\n"
