"""Running git, and the small types every part of the history walk shares."""

from __future__ import annotations

import contextlib
import functools
import os
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


# How much of git's output the pipe holds before git must wait for the reader (Linux's
# default is 64 KiB, what `git log --raw` writes in about 20 ms): 1 MiB, the largest an
# unprivileged process may ask for by default (/proc/sys/fs/pipe-max-size).
PIPE_BYTES = 1 << 20


class GitStream(Iterator[bytes]):
    """git running in `root`, its stdout yielded in chunks as it arrives (so the caller
    parses while git works); RepoError with git's message if it fails.

    The process starts when the object is made, not when it is first read: a caller
    can start git's walk, do other work (imports, other reads) while git runs, then
    read. The pipe is enlarged so that git is not held up meanwhile, or while the
    reading thread waits for the GIL; `close` ends a stream that will not be read."""

    def __init__(self, root: Path, *args: str) -> None:
        self.args = args
        try:
            self.proc = subprocess.Popen(
                ["git", *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise RepoError(f"cannot run git: {exc.strerror}", hint="install git") from exc
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.stdout, self.stderr = self.proc.stdout, self.proc.stderr
        self.fd = self.stdout.fileno()  # read unbuffered: see __next__
        _enlarge_pipe(self.fd)

    def __next__(self) -> bytes:
        if self.stdout.closed:  # read to the end, or closed
            raise StopIteration
        chunk = os.read(self.fd, PIPE_BYTES)  # what is there: one read, one GIL wait
        if chunk:
            return chunk
        err = self.stderr.read()
        self.close()
        if self.proc.returncode != 0:
            message = err.decode("utf-8", "replace").strip()
            raise RepoError(f"git {self.args[0]} failed: {message}")
        raise StopIteration

    def close(self) -> None:
        """End git if it still runs (a stream left unread) and release the pipes."""
        if self.proc.returncode is None and self.proc.poll() is None:
            self.proc.kill()
        self.stdout.close()
        self.stderr.close()
        self.proc.wait()


def _enlarge_pipe(fd: int) -> None:
    """Ask for a PIPE_BYTES pipe where the platform allows it (Linux); else keep it."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        return
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, setsize, PIPE_BYTES)


def git_stream(root: Path, *args: str) -> GitStream:
    """git's stdout in chunks as it arrives, the process started now (see GitStream)."""
    return GitStream(root, *args)


def resolve(root: Path, rev: str) -> str:
    """Full commit id of `rev`; raise UsageError if it names no commit."""
    out = git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).strip()
    if not out:
        raise UsageError(
            f"'{rev}' is not a commit in this repository",
            hint="pass a commit, branch or tag, or a date as YYYY-MM-DD",
        )
    return out
