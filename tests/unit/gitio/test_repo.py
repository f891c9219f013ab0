"""memkb.gitio.repo without GitPython, against real repositories: what it reads from Git's
files and writes in process must be what git itself reads and writes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import git
from memkb.errors import RepoError
from memkb.gitio.repo import Change, GitRepo, Identity


def head(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", ref).strip()


def test_a_blob_written_in_process_is_the_one_git_hash_object_writes(kb_repo: Path) -> None:
    data = "kind: outcome\nnotes: ünïcode and a NUL \0 byte\n".encode()
    blob = GitRepo(kb_repo).store_blob(data)
    expected = subprocess.run(
        ["git", "hash-object", "--stdin"], cwd=kb_repo, input=data, capture_output=True
    ).stdout.decode()
    assert blob == expected.strip()
    shown = subprocess.run(["git", "cat-file", "blob", blob], cwd=kb_repo, capture_output=True)
    assert shown.stdout == data
    assert git(kb_repo, "cat-file", "-t", blob).strip() == "blob"
    # Read-only like git's own loose objects; stored twice, still one object and no temp.
    path = kb_repo / ".git" / "objects" / blob[:2] / blob[2:]
    assert path.stat().st_mode & 0o777 == 0o444
    assert GitRepo(kb_repo).store_blob(data) == blob
    assert [p.name for p in path.parent.iterdir() if p.name.startswith("tmp_obj_")] == []


def test_branch_tips_are_read_from_loose_and_packed_refs_alike(kb_repo: Path) -> None:
    tip = head(kb_repo)
    git(kb_repo, "branch", "loose-one")
    git(kb_repo, "branch", "packed-one")
    git(kb_repo, "pack-refs", "--all")
    git(kb_repo, "branch", "-f", "loose-one", tip)  # loose again, over its packed entry
    repo = GitRepo(kb_repo)
    assert not (kb_repo / ".git/refs/heads/packed-one").exists()
    assert repo.rev("refs/heads/packed-one") == tip
    assert repo.rev("refs/heads/loose-one") == tip
    assert repo.rev("refs/heads/main") == tip
    assert repo.rev("refs/heads/missing") is None
    assert repo.rev("refs/heads/packed") is None  # a prefix of a packed name is not it
    assert repo.rev("refs/heads/../../HEAD") is None  # no file is read outside refs/
    assert repo.rev("HEAD") == tip
    assert repo.current_branch() == "main"
    git(kb_repo, "switch", "-q", "--detach")
    assert GitRepo(kb_repo).current_branch() is None


def test_a_linked_worktree_reads_the_shared_refs_and_its_own_head(
    kb_repo: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    git(kb_repo, "worktree", "add", "-q", "-b", "side", str(other))
    repo = GitRepo(other)
    assert repo.root == other.resolve()
    assert repo.current_branch() == "side"
    assert repo.common_dir == (kb_repo / ".git").resolve()
    assert repo.git_dir != repo.common_dir
    assert repo.rev("refs/heads/main") == head(kb_repo)


def test_a_commit_built_in_process_lands_with_the_compare_and_swap(kb_repo: Path) -> None:
    repo = GitRepo(kb_repo)
    parent = head(kb_repo)
    blob = repo.store_blob(b"x: 1\n")
    commit = repo.build_commit(
        parent,
        [Change("kb/notes/new.yaml", blob)],
        "test\n\nMemory-Kind: outcome",
        Identity("T", "t@e"),
    )
    repo.publish("main", commit, parent, "test")
    assert head(kb_repo) == commit
    assert git(kb_repo, "show", "main:kb/notes/new.yaml") == "x: 1\n"
    assert git(
        kb_repo, "log", "-1", "--format=%an <%ae>|%(trailers:key=Memory-Kind,valueonly)"
    ) == ("T <t@e>|outcome\n\n")
    with pytest.raises(RepoError, match="moved while memkb was writing"):
        repo.publish("main", parent, parent, "stale")  # main is no longer at `parent`
    assert head(kb_repo) == commit
    repo.close()


def test_blobs_are_read_through_one_batch_process(kb_repo: Path) -> None:
    repo = GitRepo(kb_repo)
    path = git(kb_repo, "ls-files", "kb/patterns").split()[0]
    assert repo.read_blob(head(kb_repo), path) == (kb_repo / path).read_bytes()
    assert repo.read_blob(head(kb_repo), "kb/no/such.yaml") is None
    assert repo.read_blob(None, path) is None
    assert repo.read_blob(head(kb_repo), "kb") is None  # a tree is not a blob
    with pytest.raises(RepoError, match="missing from the object database"):
        repo.read_object("0" * 40)
    batch = repo._batch
    assert batch is not None
    repo.close()
    assert batch.proc.returncode is not None  # stopped, not left behind


def test_a_folder_outside_git_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(RepoError, match="is not a Git repository") as caught:
        GitRepo(tmp_path)
    assert caught.value.hint and "git init" in caught.value.hint
    with pytest.raises(RepoError, match="no such folder"):
        GitRepo(tmp_path / "absent")


def test_a_kb_below_the_top_of_the_work_tree_is_refused(kb_repo: Path) -> None:
    with pytest.raises(RepoError, match="not at its top"):
        GitRepo(kb_repo / "kb")


def test_git_messages_are_matched_in_english_whatever_the_locale(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.setenv("LANGUAGE", "de")
    plain = subprocess.run(
        ["git", "rev-parse", "--verify", "no-such-rev"], cwd=kb_repo, capture_output=True, text=True
    )
    if "Needed a single revision" in plain.stderr:
        pytest.skip("this git has no German messages: nothing to prove here")
    status, _, err = GitRepo(kb_repo).try_run("rev-parse", "--verify", "no-such-rev")
    assert status != 0 and "Needed a single revision" in err


def test_the_repository_read_from_dot_git_is_the_one_git_finds(
    kb_repo: Path, tmp_path: Path
) -> None:
    other = tmp_path / "linked"
    git(kb_repo, "worktree", "add", "-q", "-b", "linked", str(other))
    for root in (kb_repo, other):
        repo = GitRepo(root)
        assert str(repo.git_dir) == git(root, "rev-parse", "--absolute-git-dir").strip()
        common = Path(git(root, "rev-parse", "--git-common-dir").strip())
        assert repo.common_dir == (root / common).resolve()
        assert str(repo.root) == git(root, "rev-parse", "--show-toplevel").strip()


def test_a_dot_git_file_that_names_no_repository_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".git").write_text("not a gitdir line\n")
    with pytest.raises(RepoError, match="is not a Git repository"):
        GitRepo(tmp_path)
    (tmp_path / ".git").write_text(f"gitdir: {tmp_path / 'gone'}\n")
    with pytest.raises(RepoError, match="is not a Git repository"):
        GitRepo(tmp_path)


def test_dirty_without_a_status_process_agrees_with_git_status(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Paths absent from the work tree are judged from the staged list and HEAD's tree;
    # every case a new record's path can be in, against `git status` itself.
    committed = next(p for p in git(kb_repo, "ls-files", "kb").split() if p.endswith(".yaml"))
    (kb_repo / "kb/staged-then-removed.yaml").write_text("kind: x\n")
    git(kb_repo, "add", "kb/staged-then-removed.yaml")
    (kb_repo / "kb/staged-then-removed.yaml").unlink()
    (kb_repo / committed).unlink()  # deleted, not staged
    repo = GitRepo(kb_repo)
    paths = sorted([committed, "kb/staged-then-removed.yaml", "kb/outcomes/2099/new.yaml"])
    staged = repo.staged()
    trace = kb_repo.parent / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    judged = repo.dirty(paths, staged=staged)
    monkeypatch.delenv("GIT_TRACE")
    assert "git status" not in trace.read_text() and "rev-parse" not in trace.read_text()
    assert judged == repo.dirty(paths)
    assert repo.dirty(paths) == sorted([committed, "kb/staged-then-removed.yaml"])
    git(kb_repo, "rm", "-q", "--cached", committed)  # the deletion staged too
    assert repo.dirty(paths, staged=repo.staged()) == repo.dirty(paths)


def test_dirty_asks_git_status_for_a_path_in_the_work_tree(kb_repo: Path) -> None:
    (kb_repo / "kb/untracked.yaml").write_text("kind: x\n")
    repo = GitRepo(kb_repo)
    assert repo.dirty(["kb/untracked.yaml"], staged=repo.staged()) == ["kb/untracked.yaml"]
