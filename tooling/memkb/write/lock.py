"""The writers' lock of one clone: one memkb write at a time, across processes.

An advisory `flock` on `.git/memkb/write.lock`. The kernel drops the lock when
its holder dies, however it dies, so a lock left by a killed process is
recovered without any cleanup; the pid written into the file only serves to
name the holder when a waiter gives up. A waiter in the main thread sleeps in the kernel
until the holder lets go, its timeout kept by SIGALRM; in another thread (or when SIGALRM
is someone else's) it polls every few ms.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from memkb.errors import RepoError

DEFAULT_TIMEOUT = 60.0
_POLL_START = 0.001
_POLL_MAX = 0.005
_LONGEST_ALARM = 1e8  # seconds (3 years); setitimer refuses what time_t cannot hold


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
    if _try_lock(fd, path):
        return
    if timeout > 0 and _alarm_is_free():
        _wait_blocked(fd, path, timeout)
    else:
        _wait_polling(fd, path, timeout)


def _try_lock(fd: int, path: Path) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise RepoError(f"cannot lock {path}: {exc.strerror}") from exc
        return False


def _alarm_is_free() -> bool:
    """Whether this thread may time a blocking wait with SIGALRM: the main thread (the
    only one a signal interrupts), with no handler or timer of someone else's."""
    return (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) == signal.SIG_DFL
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    )


class _Expired(Exception):
    """The SIGALRM of a blocking wait: the timeout passed."""


def _expire(*_: object) -> None:
    raise _Expired


def _wait_blocked(fd: int, path: Path, timeout: float) -> None:
    """Wait in the kernel, which wakes the waiter when the holder lets go: no polling, so
    7 writers waiting spend no CPU while the eighth writes. SIGALRM ends the wait."""
    signal.signal(signal.SIGALRM, _expire)
    try:
        if timeout < _LONGEST_ALARM:  # a longer one (`inf`) is a wait without end
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Expired:
        # Should it fire just after the lock was had, closing fd (write_lock) lets go.
        raise _timed_out(path, timeout) from None
    except OSError as exc:
        raise RepoError(f"cannot lock {path}: {exc.strerror}") from exc
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def _wait_polling(fd: int, path: Path, timeout: float) -> None:
    """Poll every few ms (a thread other than the main one cannot be woken by SIGALRM): a
    longer pause leaves the lock idle after its holder lets go, which measurably capped
    the throughput of 8 writers on one clone."""
    deadline = time.monotonic() + timeout
    pause = _POLL_START
    while not _try_lock(fd, path):
        if time.monotonic() >= deadline:
            raise _timed_out(path, timeout)
        time.sleep(pause)
        pause = min(pause * 2, _POLL_MAX)


def _timed_out(path: Path, timeout: float) -> RepoError:
    return RepoError(
        f"another memkb write holds the lock {path} ({_holder(path)}); gave up after {timeout:g} s",
        hint="wait for it to finish and run the command again, or raise MEMKB_LOCK_TIMEOUT",
    )


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"held by pid {pid}" if pid.isdigit() else "holder unknown"
