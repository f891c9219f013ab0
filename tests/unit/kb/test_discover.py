"""The scan of kb/ (memkb.kb.discover.scan): which files it lists and the stat key of each,
the one thing a warm `memkb validate` reads from every file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from memkb.kb.discover import scan
from memkb.kb.snapshot import WorkTree


def tree(root: Path) -> Path:
    """kb/ with nested folders, both suffixes, an upper-case one, hidden and foreign files,
    a file symlink and a folder symlink."""
    for rel in (
        "kb/a.yaml",
        "kb/b.yml",
        "kb/C.YAML",
        "kb/notes.md",
        "kb/.hidden.yaml",
        "kb/.git-like/x.yaml",
        "kb/deep/er/d.yaml",
        "outside/o.yaml",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"{rel}\n")
    (root / "kb/link.yaml").symlink_to(root / "kb/a.yaml")
    (root / "kb/linked_dir").symlink_to(root / "outside", target_is_directory=True)
    return root


EXPECTED = {"kb/a.yaml", "kb/b.yml", "kb/C.YAML", "kb/deep/er/d.yaml", "kb/link.yaml"}


def lstat_key(path: Path) -> tuple[int, int, int]:
    st = path.lstat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def test_the_scan_lists_knowledge_files_with_their_stat_keys(tmp_path: Path) -> None:
    root = tree(tmp_path)
    found = scan(root)
    assert set(found) == EXPECTED
    assert found["kb/link.yaml"] is None  # a symlink: only its content can tell
    assert all(found[p] == lstat_key(root / p) for p in EXPECTED - {"kb/link.yaml"})
    assert list(WorkTree(root).files()) == sorted(EXPECTED)


def test_the_scan_is_the_same_without_folder_descriptors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path)
    by_descriptor = scan(root)
    monkeypatch.setattr(os, "supports_fd", set())  # a platform where scandir takes paths only
    assert scan(root) == by_descriptor


def open_descriptors() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_the_scan_closes_every_folder_it_opens(tmp_path: Path) -> None:
    root = tree(tmp_path)
    before = open_descriptors()
    for _ in range(20):
        scan(root)
    assert open_descriptors() == before


def test_a_missing_kb_folder_scans_as_empty(tmp_path: Path) -> None:
    assert scan(tmp_path) == {}
