"""Running git, and the small types every part of the history walk shares."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from memkb.errors import RepoError, UsageError

Progress = Callable[[str, int, int], None]  # (what: "commits" or "records", done, expected)


class Commit(NamedTuple):
    """One commit of main that touched kb/: its changes relative to its first parent."""

    sha: str
    prev: str | None  # previous kb-touching commit along the first-parent chain
    time: int  # committer date, seconds since the epoch
    changes: tuple[tuple[str, str | None], ...]  # (path, new blob id or None if deleted)


@functools.lru_cache(maxsize=65_536)
def iso(ts: int) -> str:
    """A commit time as an ISO 8601 UTC timestamp, e.g. 2025-01-20T12:30:00Z."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def git(root: Path, *args: str, check: bool = True) -> str:
    """Run git in `root` and return stdout; raise RepoError with git's message on failure."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    except OSError as exc:
        raise RepoError(f"cannot run git: {exc.strerror}", hint="install git") from exc
    if check and done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RepoError(
            f"git {args[0]} failed: {message[-1] if message else done.returncode}",
            hint="run memkb inside a Git repository with at least one commit",
        )
    return done.stdout.decode("utf-8", "replace")


def git_stream(root: Path, *args: str) -> Iterator[bytes]:
    """Run git in `root` and yield its stdout in chunks as it arrives (so the caller
    parses while git works); raise RepoError with git's message if it fails."""
    try:
        proc = subprocess.Popen(
            ["git", *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise RepoError(f"cannot run git: {exc.strerror}", hint="install git") from exc
    assert proc.stdout is not None and proc.stderr is not None
    with proc:
        while chunk := proc.stdout.read(1 << 16):
            yield chunk
        err = proc.stderr.read()
    if proc.returncode != 0:
        raise RepoError(f"git {args[0]} failed: {err.decode('utf-8', 'replace').strip()}")


def resolve(root: Path, rev: str) -> str:
    """Full commit id of `rev`; raise UsageError if it names no commit."""
    out = git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).strip()
    if not out:
        raise UsageError(
            f"'{rev}' is not a commit in this repository",
            hint="pass a commit, branch or tag, or a date as YYYY-MM-DD",
        )
    return out
