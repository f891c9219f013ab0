"""Snapshots: the work tree, a Git revision and an overlay answer the same questions, and
every write and check is judged on the snapshot it lands on."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from conftest import git
from memkb.cli.main import app
from memkb.kb.snapshot import GitTree, Overlay, WorkTree
from memkb.validation.check import run_check
from memkb.validation.engine import validate, validate_repo

PATTERN = "kb/patterns/performance_database_optimization.yaml"


def run(repo: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--repo", str(repo)])
    return result.exit_code, result.output


def test_a_revision_and_the_work_tree_hold_the_same_files(kb_repo: Path) -> None:
    tree, disk = GitTree(kb_repo, git(kb_repo, "rev-parse", "HEAD").strip()), WorkTree(kb_repo)
    assert list(tree.files()) == list(disk.files())
    assert all(tree.read(p) == disk.read(p) for p in disk.files())
    assert tree.names("kb/patterns") == disk.names("kb/patterns")
    assert tree.read("schemas/pattern.schema.json") == disk.read("schemas/pattern.schema.json")
    assert tree.blob(PATTERN) == git(kb_repo, "rev-parse", f"HEAD:{PATTERN}").strip()
    assert tree.read("kb/nope.yaml") is None and not tree.exists("kb/nope.yaml")


def test_a_revision_is_read_from_git_not_from_the_work_tree(kb_repo: Path) -> None:
    head = git(kb_repo, "rev-parse", "HEAD").strip()
    (kb_repo / PATTERN).write_text("kind: [broken\n")
    (kb_repo / "kb/patterns/untracked.yaml").write_text("kind: pattern\n")
    tree = GitTree(kb_repo, head)
    assert "kb/patterns/untracked.yaml" not in tree.files()
    assert validate(tree, use_cache=False).ok
    assert not validate(WorkTree(kb_repo), use_cache=False).ok


def test_an_overlay_adds_and_deletes_without_touching_its_base(kb_repo: Path) -> None:
    disk = WorkTree(kb_repo)
    new = "kb/patterns/extra.yaml"
    view = Overlay(disk, {PATTERN: None, new: b"kind: pattern\n"})
    assert PATTERN not in view.files() and new in view.files()
    assert "performance_database_optimization.yaml" not in view.names("kb/patterns")
    assert "extra.yaml" in view.names("kb/patterns")
    assert not view.exists(PATTERN) and view.read(new) == b"kind: pattern\n"
    assert (kb_repo / PATTERN).is_file() and not (kb_repo / new).exists()


def test_a_tree_symlink_that_leaves_the_repository_is_kb307(kb_repo: Path) -> None:
    (kb_repo / "kb/patterns/escape.yaml").symlink_to("../../../../etc/passwd")
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-qm", "link")
    result = validate(GitTree(kb_repo, "HEAD"), use_cache=False)
    assert [(f.path, f.code) for f in result.findings if f.code == "KB307"] == [
        ("kb/patterns/escape.yaml", "KB307")
    ]


def test_rm_on_a_branch_is_judged_on_that_branch(kb_repo: Path) -> None:
    # The outcome citing the pattern exists on branch b only, not in the work tree.
    code, out = run(
        kb_repo,
        "record",
        "--project", "Branch Shop",
        "--date", "2025-02-03",
        "--outcome", "success",
        "--domain", "e-commerce",
        "--droid", "security-auditor",
        "--pattern", "performance_database_optimization",
        "--branch", "b",
    )  # fmt: skip
    assert code == 0, out
    code, out = run(kb_repo, "rm", "pattern", "performance_database_optimization", "--branch", "b")
    assert code == 1, out
    assert "is referred to by 1 record(s)" in out and "patterns_applied" in out
    git(kb_repo, "switch", "-q", "b")
    assert validate_repo(kb_repo).ok


def test_a_branch_write_sees_the_branchs_vocabulary(kb_repo: Path) -> None:
    # On main the work tree's vocabulary lacks nothing; on branch b a new droid exists.
    git(kb_repo, "switch", "-q", "-c", "b")
    vocab = kb_repo / "kb/vocabulary.yaml"
    vocab.write_text(
        vocab.read_text().replace(
            "droids:\n", "droids:\n  branch-only-droid:\n    description: only on b\n", 1
        )
    )
    git(kb_repo, "commit", "-qam", "a droid on b")
    git(kb_repo, "switch", "-q", "main")
    code, out = run(
        kb_repo,
        "record",
        "--project", "Droid Shop",
        "--date", "2025-02-04",
        "--outcome", "success",
        "--domain", "e-commerce",
        "--droid", "branch-only-droid",
        "--branch", "b",
    )  # fmt: skip
    assert code == 0, out
    code, out = run(
        kb_repo,
        "record",
        "--project", "Droid Shop Main",
        "--date", "2025-02-04",
        "--outcome", "success",
        "--domain", "e-commerce",
        "--droid", "branch-only-droid",
    )  # fmt: skip
    assert code == 1 and "KB304" in out


def test_check_sees_files_that_export_ignore_would_hide(kb_repo: Path) -> None:
    base = git(kb_repo, "rev-parse", "HEAD").strip()
    git(kb_repo, "switch", "-q", "-c", "pr")
    (kb_repo / ".gitattributes").write_text("kb/** export-ignore\nschemas/** export-ignore\n")
    (kb_repo / "kb/patterns/hidden.yaml").write_text("kind: pattern\nid: hidden\n")
    (kb_repo / "schemas/pattern.schema.json").write_text(
        (kb_repo / "schemas/pattern.schema.json").read_text() + "\n"
    )
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-qm", "hide a broken record")
    git(kb_repo, "switch", "-q", "main")
    result = run_check(kb_repo, base, "pr", with_metrics=False)
    assert not result.ok
    assert any(f.path == "kb/patterns/hidden.yaml" and f.code == "KB201" for f in result.findings)


def test_an_oversized_blob_in_a_revision_is_kb105_and_never_read(kb_repo: Path) -> None:
    big = kb_repo / "kb/patterns/big.yaml"
    big.write_bytes(b"kind: pattern\n" + b"# padding\n" * 40_000)
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-qm", "a 400 KB record")
    tree = GitTree(kb_repo, "HEAD")
    source = tree.source("kb/patterns/big.yaml")
    assert source.raw is None and source.problem is not None
    assert source.problem.code == "KB105"
    assert tree.read("kb/patterns/big.yaml") is None
    findings = validate(tree, use_cache=False).findings
    assert {f.code for f in findings if f.path.endswith("big.yaml")} == {"KB105"}


def test_a_tree_listed_from_its_changes_is_the_tree_listed_whole(kb_repo: Path) -> None:
    """GitTree.changed_from (git diff-tree from a known tree) through an addition, a
    change, a deletion, a symlink, a file turned into a folder, and an unknown base."""
    head = lambda: git(kb_repo, "rev-parse", "HEAD").strip()  # noqa: E731
    base = head()
    tree = GitTree(kb_repo, base)
    (kb_repo / "kb/patterns/new_one.yaml").write_text("kind: pattern\nid: new_one\n")
    (kb_repo / "kb/failures/payment_webhook_timeout.yaml").write_text("kind: failure\n")
    (kb_repo / "kb/patterns/ecommerce_security_first.yaml").unlink()
    (kb_repo / "kb/patterns/link.yaml").symlink_to("new_one.yaml")
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "changes")
    later = GitTree.changed_from(kb_repo, head(), tree.rev, tree.entries())
    assert later.entries() == GitTree(kb_repo, head()).entries() != tree.entries()
    assert later.source("kb/patterns/link.yaml").raw == b"kind: pattern\nid: new_one\n"
    (kb_repo / "kb/patterns/new_one.yaml").unlink()
    (kb_repo / "kb/patterns/new_one.yaml").mkdir()
    (kb_repo / "kb/patterns/new_one.yaml/inner.yaml").write_text("kind: pattern\n")
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "a file became a folder")
    again = GitTree.changed_from(kb_repo, head(), later.rev, later.entries())
    assert again.entries() == GitTree(kb_repo, head()).entries() != later.entries()
    unknown = GitTree.changed_from(kb_repo, head(), "0" * 40, {})
    assert unknown.entries() == GitTree(kb_repo, head()).entries()
    assert "kb/patterns/new_one.yaml/inner.yaml" in unknown.entries()
