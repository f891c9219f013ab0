"""The writers' lock: a waiter in the main thread sleeps in the kernel until the holder
lets go (SIGALRM keeps its timeout), a waiter elsewhere polls; both give up naming the
holder, and neither leaves a handler or a timer behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memkb.errors import RepoError
from memkb.write import lock
from memkb.write.lock import write_lock

HOLD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from memkb.write.lock import write_lock\n"
    "with write_lock(Path(sys.argv[1])):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(float(sys.argv[2]))\n"
)


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A lock another process holds for 0.6 s."""
    path = tmp_path / "write.lock"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), "0.6"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    yield path, proc
    proc.wait()


def counted_flocks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The operations of every flock call the lock module makes."""
    calls: list[int] = []
    real = lock.fcntl.flock

    def flock(fd: int, operation: int) -> Any:
        calls.append(operation)
        return real(fd, operation)

    monkeypatch.setattr(lock.fcntl, "flock", flock)
    return calls


def no_alarm_left() -> bool:
    return signal.getsignal(signal.SIGALRM) == signal.SIG_DFL and signal.getitimer(
        signal.ITIMER_REAL
    ) == (0.0, 0.0)


def test_a_main_thread_waiter_sleeps_until_the_holder_lets_go(
    held: tuple[Path, subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = held
    calls = counted_flocks(monkeypatch)
    start = time.monotonic()
    with write_lock(path, timeout=30):
        assert time.monotonic() - start > 0.3  # had only once the holder let go
    # One try without blocking, one wait in the kernel, the release: no polling.
    assert calls == [
        lock.fcntl.LOCK_EX | lock.fcntl.LOCK_NB,
        lock.fcntl.LOCK_EX,
        lock.fcntl.LOCK_UN,
    ]
    assert no_alarm_left()


@pytest.mark.parametrize("timeout", [float("inf"), 1e300])
def test_a_wait_without_end_is_a_wait_without_a_timer(
    held: tuple[Path, subprocess.Popen[str]], timeout: float
) -> None:
    path, _ = held
    start = time.monotonic()
    with write_lock(path, timeout=timeout):
        assert time.monotonic() - start > 0.3
    assert no_alarm_left()


def test_a_main_thread_waiter_gives_up_in_time_naming_the_holder(
    held: tuple[Path, subprocess.Popen[str]],
) -> None:
    path, proc = held
    start = time.monotonic()
    with (
        pytest.raises(RepoError, match=rf"held by pid {proc.pid}.*gave up after 0\.2 s"),
        write_lock(path, timeout=0.2),
    ):
        pass
    assert time.monotonic() - start > 0.15  # it waited; the error says it gave up first
    assert no_alarm_left()


def test_a_waiter_in_another_thread_polls_and_gets_the_lock(
    held: tuple[Path, subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = held
    calls = counted_flocks(monkeypatch)
    outcome: list[object] = []
    start = time.monotonic()

    def wait() -> None:
        with write_lock(path, timeout=30):
            outcome.append(time.monotonic() - start > 0.3)

    thread = threading.Thread(target=wait)
    thread.start()
    thread.join(30)
    assert outcome == [True]
    assert lock.fcntl.LOCK_EX not in calls  # never a blocking wait: SIGALRM cannot reach it
    assert calls.count(lock.fcntl.LOCK_EX | lock.fcntl.LOCK_NB) > 2
    assert no_alarm_left()


def test_someone_elses_alarm_is_left_alone(
    held: tuple[Path, subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = held
    calls = counted_flocks(monkeypatch)
    rang: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, _: rang.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(RepoError, match=r"gave up after 0\.2 s"), write_lock(path, timeout=0.2):
            pass
        assert rang == [signal.SIGALRM]  # their timer rang their handler, not ours
        assert lock.fcntl.LOCK_EX not in calls
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


WAIT = (
    "import sys\n"
    "from pathlib import Path\n"
    "from memkb.write.lock import write_lock\n"
    "try:\n"
    "    with write_lock(Path(sys.argv[1]), timeout=30):\n"
    "        pass\n"
    "except KeyboardInterrupt:\n"
    "    print('interrupted', flush=True)\n"
)


def test_ctrl_c_ends_a_blocking_wait(tmp_path: Path) -> None:
    path = tmp_path / "write.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), "20"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    try:
        waiter = subprocess.Popen(
            [sys.executable, "-c", WAIT, str(path)],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
        )
        time.sleep(0.5)  # let it import and block in flock
        os.kill(waiter.pid, signal.SIGINT)
        out, _ = waiter.communicate(timeout=10)
        assert out == "interrupted\n"
    finally:
        holder.kill()
        holder.wait()
