"""The scan of a work tree's knowledge files: every *.yaml / *.yml path under kb/ with its
stat key, with nothing but `os` imported, so that a warm `memkb validate` can tell an
unchanged KB before pathlib, dataclasses or typing load (memkb.cli.express). The rest of
finding and reading files is memkb.kb.discover."""

from __future__ import annotations

import os

from memkb.kb.names import KB_DIR

SUFFIX = ".yaml"

# (size, mtime_ns, inode) of a regular file: enough to notice a change without reading it.
StatKey = tuple[int, int, int]
# A file is only trusted by its stat once its mtime is this much older than the moment
# it was read: a later write then always moves the mtime, even on coarse-clock file
# systems (Git's "racy clean" problem).
RACY_NS = 2_000_000_000


def scan(root: str | os.PathLike[str]) -> dict[str, StatKey | None]:
    """Every *.yaml / *.yml file under kb/ (relative POSIX path) with its stat key, or None
    for a symlink (always read, so the symlink rule can judge it) or a file whose stat
    failed (the read then reports why). Directory symlinks and dot-files are not followed."""
    found: dict[str, StatKey | None] = {}
    pending = [KB_DIR]
    while pending:
        rel_dir = pending.pop()
        try:
            folder = _open_folder(f"{root}/{rel_dir}")
        except OSError:
            continue
        try:
            _scan_folder(folder, rel_dir, found, pending)
        except OSError:  # the folder went away while it was listed: what was seen stands
            continue
        finally:
            if isinstance(folder, int):
                os.close(folder)
    return found


_SUFFIXES = (SUFFIX, ".yml")


def _open_folder(path: str) -> int | str:
    """What to list `path` through: a descriptor where the platform allows it, so each
    entry's stat is an fstatat relative to the folder rather than a walk of the whole path
    again (a fifth less time for the scan of 10,000 files, tooling/bench/README.md "Issue
    12: the warm run"); else the path itself."""
    if os.scandir not in os.supports_fd:
        return path
    return os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


def _scan_folder(
    folder: int | str, rel_dir: str, found: dict[str, StatKey | None], pending: list[str]
) -> None:
    """Add the knowledge files directly in `folder` (root-relative `rel_dir`) to `found`
    and its sub-folders to `pending`. The hot loop of a warm run (one stat per file), kept
    free of function calls: they cost a tenth of the scan."""
    prefix = f"{rel_dir}/"
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(prefix + name)
                continue
            # x.YAML is KB311, not skipped; the exact suffix first spares a lower() per file.
            if not (name.endswith(_SUFFIXES) or name.lower().endswith(_SUFFIXES)):
                continue
            relpath = prefix + name
            if entry.is_symlink():
                found[relpath] = None
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:  # gone or unreadable since the listing: the read will say
                found[relpath] = None
            else:
                found[relpath] = (st.st_size, st.st_mtime_ns, st.st_ino)
