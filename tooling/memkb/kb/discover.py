"""Finding knowledge files on disk (or in an overlay) and reading their bytes safely."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from memkb.errors import UsageError
from memkb.findings import Finding, error
from memkb.kb.scan import RACY_NS as RACY_NS
from memkb.kb.scan import SUFFIX as SUFFIX
from memkb.kb.scan import StatKey as StatKey
from memkb.kb.scan import scan as scan
from memkb.limits import MAX_FILE_BYTES


class Source(NamedTuple):
    """One knowledge file: its path relative to the root, and its bytes (None if unreadable)."""

    relpath: str
    raw: bytes | None
    problem: Finding | None = None


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
