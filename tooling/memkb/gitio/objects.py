"""Reading Git objects in bulk: many blobs through one `git cat-file --batch`, and the
files of a tree with their blob ids through one `git ls-tree`."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

from memkb.gitio.log import git


class BlobReader:
    """Reads many blobs through one `git cat-file --batch` process."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, blobs: Iterable[str]) -> dict[str, bytes]:
        """Contents of each blob id; missing objects are left out."""
        return {blob: raw for blob, raw in self.stream(blobs) if raw is not None}

    def stream(self, blobs: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        """(blob id, contents or None if missing) in request order, as git produces them,
        so the caller parses one blob while git inflates the next."""
        wanted = list(dict.fromkeys(blobs))
        if not wanted:
            return
        # --buffer: git flushes its output when its buffer fills, not after every blob
        # (every id is written before the first answer is read, and stdin closed after
        # the last, so nothing waits on a flush): 10,001 blobs of the benchmark history
        # cost git 295 ms instead of 308 ms, and this reader 101 ms instead of 108 ms
        # (medians of five, load 3).
        proc = subprocess.Popen(
            ["git", "cat-file", "--batch", "--buffer"],
            cwd=self.root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdin is not None and proc.stdout is not None
        feed = threading.Thread(target=_feed, args=(proc.stdin, wanted), daemon=True)
        feed.start()
        try:
            for blob in wanted:
                header = proc.stdout.readline().split()
                if len(header) < 3 or header[1] == b"missing":
                    yield blob, None
                    continue
                size = int(header[2])
                yield blob, proc.stdout.read(size + 1)[:size]
        finally:
            proc.stdout.close()
            proc.kill()
            proc.wait()
            feed.join()


def _feed(stdin: IO[bytes], wanted: list[str]) -> None:
    """Write the blob ids to cat-file (from a thread: git answers while we write)."""
    with contextlib.suppress(OSError):
        stdin.write("".join(f"{b}\n" for b in wanted).encode())
    with contextlib.suppress(OSError):
        stdin.close()


class TreeEntry(NamedTuple):
    """One file of a Git tree: its mode ("100644", "120000" for a symlink...), blob id and
    size in bytes (known before reading, so an oversized blob need never be read)."""

    mode: str
    blob: str
    size: int


def tree_files(root: Path, rev: str, prefixes: Iterable[str]) -> dict[str, TreeEntry]:
    """Every file (not submodule) under `prefixes` in commit `rev`, by path, recursively.
    Read from the tree itself, so `.gitattributes` (export-ignore...) cannot hide a file."""
    out = git(root, "ls-tree", "-r", "-z", "-l", "--full-tree", rev, "--", *prefixes)
    entries = {}
    for item in out.split("\0"):
        meta, _, path = item.partition("\t")
        fields = meta.split()
        if len(fields) == 4 and fields[1] == "blob":
            entries[path] = TreeEntry(fields[0], fields[2], int(fields[3]))
    return entries


MAX_LISTED_CHANGES = 1000  # more changed paths than this: list the whole tree instead


def tree_changes(
    root: Path, base: str, rev: str, prefixes: Iterable[str]
) -> dict[str, TreeEntry | None] | None:
    """The files under `prefixes` that differ between commits `base` and `rev` (git
    diff-tree): each one's entry in `rev`, None when `rev` no longer has it as a file.
    None when more than MAX_LISTED_CHANGES differ (they are listed by path)."""
    out = git(root, "diff-tree", "-r", "-z", "--no-renames", base, rev, "--", *prefixes)
    parts = out.split("\0")
    # -z: a ":<modes> <ids> <status>" field, then the path, for every changed file.
    paths = [parts[i + 1] for i in range(len(parts) - 1) if parts[i].startswith(":")]
    if len(paths) > MAX_LISTED_CHANGES:
        return None
    found = tree_files(root, rev, [f":(literal){p}" for p in paths]) if paths else {}
    return {p: found.get(p) for p in paths}
