"""The writers' lock of one clone: one memkb write at a time, across processes.

An advisory `flock` on `.git/memkb/write.lock`. The kernel drops the lock when
its holder dies, however it dies, so a lock left by a killed process is
recovered without any cleanup; the pid written into the file only serves to
name the holder when a waiter gives up.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from memkb.errors import RepoError

DEFAULT_TIMEOUT = 60.0
_POLL_START = 0.001
_POLL_MAX = 0.005


def timeout_from_env() -> float:
    """Seconds to wait for the lock: MEMKB_LOCK_TIMEOUT if set and valid, else 60."""
    raw = os.environ.get("MEMKB_LOCK_TIMEOUT", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value >= 0 else DEFAULT_TIMEOUT


@contextmanager
def write_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the exclusive lock at `path` for the block.

    Raises RepoError naming the holder's pid if the lock is not had within
    `timeout` seconds (MEMKB_LOCK_TIMEOUT, default 60), or if `path` cannot be opened.
    """
    wait = timeout_from_env() if timeout is None else timeout
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RepoError(
            f"cannot open the write lock {path}: {exc.strerror}",
            hint="memkb needs to write in the repository's Git folder",
        ) from exc
    try:
        _acquire(fd, path, wait)
        # Name ourselves as the holder, for the message a waiter prints.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pause = _POLL_START
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise RepoError(f"cannot lock {path}: {exc.strerror}") from exc
        if time.monotonic() >= deadline:
            raise RepoError(
                f"another memkb write holds the lock {path} ({_holder(path)}); "
                f"gave up after {timeout:g} s",
                hint="wait for it to finish and run the command again, or raise MEMKB_LOCK_TIMEOUT",
            )
        # Poll every few ms: a longer pause leaves the lock idle after its holder
        # lets go, which measurably capped the throughput of 8 writers on one clone.
        time.sleep(pause)
        pause = min(pause * 2, _POLL_MAX)


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"held by pid {pid}" if pid.isdigit() else "holder unknown"
