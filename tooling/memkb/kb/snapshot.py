"""The KB as one operation sees it. Every rule, write and check is judged against a snapshot:

- `WorkTree(root)`: the files on disk;
- `GitTree(root, rev)`: a commit, read from Git's objects (`ls-tree`, `cat-file --batch`),
  never from an archive, so `.gitattributes` cannot hide a file;
- `Overlay(base, changes)`: another snapshot with pending changes applied (path -> new
  bytes, None = deleted): what a write would leave behind.

A snapshot answers paths relative to the repository root, POSIX style. Knowledge files are
`kb/**/*.yaml|yml` outside hidden folders; `read` answers any path (schemas/, the
exceptions file).
"""

from __future__ import annotations

import os
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from memkb.findings import error
from memkb.kb.discover import Source, StatKey, escaping_symlink, read_source, scan
from memkb.kb.layout import KB_DIR, SCHEMAS_DIR
from memkb.limits import MAX_FILE_BYTES, too_large

if TYPE_CHECKING:
    from memkb.gitio.objects import TreeEntry

SYMLINK_MODE = "120000"


class Snapshot(ABC):
    """A read-only view of the KB's files. `root` is the repository the snapshot belongs to
    (where caches live); `label` names it for people ("work tree", "commit 1a2b3c4")."""

    root: Path
    label: str
    # Cache file suffix: results for a tree must not overwrite the work tree's stat cache.
    cache_tag: str = "worktree"

    @abstractmethod
    def files(self) -> dict[str, StatKey | None]:
        """Every knowledge file, sorted by path, with a stat key when the file can be
        recognised without reading it (None: only its content can tell)."""

    @abstractmethod
    def source(self, relpath: str) -> Source:
        """A knowledge file's bytes, or the located problem that kept them from being read."""

    @abstractmethod
    def read(self, relpath: str) -> bytes | None:
        """The bytes of any file of the snapshot, or None if it does not exist."""

    @abstractmethod
    def names(self, folder: str) -> list[str]:
        """Names of the files directly in `folder`, sorted ([] if there is no such folder)."""

    def exists(self, relpath: str) -> bool:
        """True if `relpath` is a file of the snapshot."""
        return self.read(relpath) is not None

    def blob(self, relpath: str) -> str | None:
        """The file's Git blob id when it is known without reading the file, else None."""
        del relpath
        return None

    def prefetch(self, relpaths: Iterable[str]) -> None:
        """Read many files at once ahead of `source` calls (a no-op where reads are cheap)."""
        del relpaths


class WorkTree(Snapshot):
    """The KB as the work tree holds it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = "work tree"
        self._read: dict[str, bytes | None] = {}

    def files(self) -> dict[str, StatKey | None]:
        return dict(sorted(scan(self.root).items()))

    def source(self, relpath: str) -> Source:
        found = read_source(self.root, relpath)
        self._read[relpath] = found.raw
        return found

    def read(self, relpath: str) -> bytes | None:
        if relpath not in self._read:
            path = f"{self.root}/{relpath}"  # plain strings: pathlib is slow on hot paths
            try:
                with open(path, "rb") as handle:  # noqa: PTH123
                    # Bounded like every read: past the limit a reader sees KB105 (or, for
                    # a schema, JSON that does not parse), never an unbounded allocation.
                    self._read[relpath] = handle.read(MAX_FILE_BYTES + 1)
            except OSError:
                self._read[relpath] = None
        return self._read[relpath]

    def names(self, folder: str) -> list[str]:
        path = f"{self.root}/{folder}"
        return sorted(os.listdir(path)) if os.path.isdir(path) else []  # noqa: PTH112, PTH208

    def exists(self, relpath: str) -> bool:
        return os.path.lexists(f"{self.root}/{relpath}")


class GitTree(Snapshot):
    """The KB as commit `rev` holds it, read from the object database."""

    cache_tag = "tree"

    def __init__(self, root: Path, rev: str, *, entries: Mapping[str, TreeEntry] | None = None):
        from memkb.gitio.objects import tree_files

        self.root, self.rev = root, rev
        self.label = f"commit {rev[:12]}"
        known = entries if entries is not None else tree_files(root, rev, (KB_DIR, SCHEMAS_DIR))
        self._entries = dict(known)
        self._raw: dict[str, bytes] = {}

    @classmethod
    def changed_from(
        cls, root: Path, rev: str, base: str, base_entries: Mapping[str, TreeEntry]
    ) -> GitTree:
        """The tree of `rev`, listed as `base_entries` (the entries of commit `base`) plus
        the files git diff-tree says differ: listing then grows with the change, not with
        the KB (`git ls-tree -l` looks up the size of every blob)."""
        from memkb.errors import RepoError
        from memkb.gitio.objects import tree_changes

        try:
            changes = tree_changes(root, base, rev, (KB_DIR, SCHEMAS_DIR))
        except RepoError:  # `base` is gone (history rewritten, pruned): list the tree
            changes = None
        if changes is None:
            return cls(root, rev)
        entries = dict(base_entries)
        for path, entry in changes.items():
            if entry is None:
                entries.pop(path, None)
            else:
                entries[path] = entry
        return cls(root, rev, entries=entries)

    def entries(self) -> Mapping[str, TreeEntry]:
        """Every file of the tree under kb/ and schemas/, by path."""
        return self._entries

    def files(self) -> dict[str, StatKey | None]:
        return {path: None for path in sorted(self._entries) if is_knowledge_path(path)}

    def source(self, relpath: str) -> Source:
        entry = self._entries.get(relpath)
        if entry is not None and entry.mode == SYMLINK_MODE:
            return self._symlink(relpath)
        if entry is not None and entry.size > MAX_FILE_BYTES:
            return Source(relpath, None, too_large(relpath))
        raw = self.read(relpath)
        if raw is None:
            return Source(relpath, None, error(relpath, "KB110", "file is missing from the tree"))
        return Source(relpath, raw)

    def _symlink(self, relpath: str) -> Source:
        """A link inside the tree is followed; one that leaves the repository is KB307."""
        target = (self.read(relpath) or b"").decode("utf-8", "replace")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(relpath), target))
        if target.startswith("/") or resolved.startswith(".."):
            return Source(relpath, None, escaping_symlink(relpath, target))
        return Source(relpath, self.read(resolved))

    def read(self, relpath: str) -> bytes | None:
        """The file's bytes; None also for a blob over the size limit (never read)."""
        if relpath not in self._raw:
            self.prefetch([relpath])
        return self._raw.get(relpath)

    def prefetch(self, relpaths: Iterable[str]) -> None:
        from memkb.gitio.objects import BlobReader

        # A blob over the size limit is never read: it could be any size.
        wanted = {
            p: entry.blob
            for p in relpaths
            if (entry := self._entries.get(p)) is not None and entry.size <= MAX_FILE_BYTES
        }
        wanted = {p: b for p, b in wanted.items() if p not in self._raw}
        if wanted:
            blobs = BlobReader(self.root).read(wanted.values())
            self._raw.update({p: blobs[b] for p, b in wanted.items() if b in blobs})

    def names(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/") + "/"
        inside = (p[len(prefix) :] for p in self._entries if p.startswith(prefix))
        return sorted(name for name in inside if "/" not in name)

    def exists(self, relpath: str) -> bool:
        return relpath in self._entries

    def blob(self, relpath: str) -> str | None:
        entry = self._entries.get(relpath)
        return entry.blob if entry is not None and entry.mode != SYMLINK_MODE else None


class Overlay(Snapshot):
    """`base` with `changes` applied: relpath -> new bytes, or None for a deleted file."""

    def __init__(self, base: Snapshot, changes: Mapping[str, bytes | None]) -> None:
        self.base, self.changes = base, dict(changes)
        self.root = base.root
        self.label = f"{base.label} with pending changes"
        self.cache_tag = base.cache_tag

    def files(self) -> dict[str, StatKey | None]:
        found = {p: s for p, s in self.base.files().items() if p not in self.changes}
        found.update(
            {p: None for p, raw in self.changes.items() if raw is not None and is_knowledge_path(p)}
        )
        return dict(sorted(found.items()))

    def source(self, relpath: str) -> Source:
        if relpath in self.changes:
            return Source(relpath, self.changes[relpath])
        return self.base.source(relpath)

    def read(self, relpath: str) -> bytes | None:
        if relpath in self.changes:
            return self.changes[relpath]
        return self.base.read(relpath)

    def names(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/") + "/"
        names = set(self.base.names(folder))
        for path, raw in self.changes.items():
            if path.startswith(prefix) and "/" not in (name := path[len(prefix) :]):
                (names.add if raw is not None else names.discard)(name)
        return sorted(names)

    def exists(self, relpath: str) -> bool:
        if relpath in self.changes:
            return self.changes[relpath] is not None
        return self.base.exists(relpath)

    def blob(self, relpath: str) -> str | None:
        return None if relpath in self.changes else self.base.blob(relpath)

    def prefetch(self, relpaths: Iterable[str]) -> None:
        self.base.prefetch(p for p in relpaths if p not in self.changes)


def is_knowledge_path(path: str) -> bool:
    """True for the files validate reads: kb/**.yaml|yml, no hidden file or folder."""
    parts = path.split("/")
    return (
        len(parts) > 1
        and parts[0] == KB_DIR
        and path.lower().endswith((".yaml", ".yml"))
        and not any(p.startswith(".") for p in parts)
    )
