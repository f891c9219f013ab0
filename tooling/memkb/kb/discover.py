"""Finding knowledge files on disk (or in an overlay) and reading their bytes safely."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from memkb.errors import UsageError
from memkb.findings import Finding, error
from memkb.kb.layout import KB_DIR
from memkb.limits import MAX_FILE_BYTES

SUFFIX = ".yaml"


@dataclass(frozen=True)
class Source:
    """One knowledge file: its path relative to the root, and its bytes (None if unreadable)."""

    relpath: str
    raw: bytes | None
    problem: Finding | None = None


# (size, mtime_ns, inode) of a regular file: enough to notice a change without reading it.
StatKey = tuple[int, int, int]
# A file is only trusted by its stat once its mtime is this much older than the moment
# it was read: a later write then always moves the mtime, even on coarse-clock file
# systems (Git's "racy clean" problem).
RACY_NS = 2_000_000_000


def scan(root: Path) -> dict[str, StatKey | None]:
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


def trusted_stat(st: StatKey | None, read_ns: int) -> StatKey | None:
    """`st` if a file with that stat, read at `read_ns`, may later be recognised by its stat
    alone; None if it changed too recently to tell."""
    return st if st is not None and st[1] < read_ns - RACY_NS else None


def kb_files(root: Path) -> Iterator[str]:
    """Relative POSIX paths of every *.yaml / *.yml file under kb/, sorted, not following
    directory symlinks (a linked file is still listed: the symlink rule judges it)."""
    return iter(sorted(scan(root)))


def escaping_symlink(relpath: str, target: object) -> Finding:
    """KB307 for a knowledge file that is a symlink leaving the repository."""
    return error(
        relpath,
        "KB307",
        f"symlink leaves the repository (points to {target})",
        hint="replace the link with the file itself",
    )


def read_source(root: Path, relpath: str) -> Source:
    """Read one file, refusing symlinks that leave the repository (KB307)."""
    path = f"{root}/{relpath}"  # plain strings: pathlib costs a third of a warm run here
    if os.path.islink(path):  # noqa: PTH114
        target = Path(path).resolve()
        if not target.is_relative_to(root.resolve()):
            return Source(relpath, None, escaping_symlink(relpath, target))
    try:
        with open(path, "rb") as handle:  # noqa: PTH123 - see above
            # One byte past the limit is enough for load_bytes to refuse it (KB105).
            return Source(relpath, handle.read(MAX_FILE_BYTES + 1))
    except OSError as exc:
        return Source(
            relpath,
            None,
            error(
                relpath,
                "KB110",
                f"cannot read file: {exc.strerror}",
                hint="check the file's permissions",
            ),
        )


def normalize_paths(root: Path, paths: list[str], cwd: Path) -> set[str]:
    """Turn user-given paths (files or folders, relative to `cwd`) into root-relative POSIX
    paths of knowledge files; raise UsageError for a path that does not exist or lies
    outside the repository."""
    wanted: set[str] = set()
    resolved_root = root.resolve()
    for given in paths:
        path = (cwd / given).absolute()
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"no such file or folder: {given}")
        try:
            rel = Path(os.path.normpath(path)).relative_to(resolved_root).as_posix()
        except ValueError:
            raise UsageError(f"{given} is outside the repository {root}") from None
        if path.is_dir() and not path.is_symlink():
            wanted.update(
                p for p in kb_files(root) if p.startswith(rel.rstrip("/") + "/") or rel == "."
            )
        else:
            wanted.add(rel)
    return wanted
