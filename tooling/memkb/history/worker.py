"""The second core of a cold report: a child forked once git's walk is over computes the
Beta intervals and writes the history cache, while this process replays history.

The quantile searches of the figures' 90% intervals (formulas.posterior: about 110 ms
of CPU for the 2,500 patterns and templates of the benchmark history) depend only on
the records at the tip: each one's prior and the tally of the tip's outcomes that cite
it, not on when anything happened. Writing the cache file (marshal and SHA-256 of the
10,000 commits and record facts: about 40 ms) needs only what the walk and the
read-ahead have gathered. So a child forked then does both on the second core while
this process replays the history into Evidence (about 180 ms, single core):

1. it computes the tip's intervals and sends them through a pipe; the parent merges
   them into the memo that `posterior` consults. They are exact: the same function on
   the same parameters, and a parameter the child did not foresee is computed by the
   parent as before;
2. it writes the cache as it was at the fork, plus those intervals, and exits 0 when
   the file is written; the parent's own save then appends only what it added after
   (a journal frame: the older pattern versions and the `applied` counts).

A child that fails sends or writes nothing the parent relies on: without its intervals
the parent computes them (a bug in the formulas then raises there, where it is
reported), and without its exit status 0 the parent writes the whole cache itself.
"""

from __future__ import annotations

import marshal
import os
import threading
from typing import Any

from memkb.history.store import Cache
from memkb.metrics.formulas import (
    Evidence,
    Outcome,
    Record,
    pattern_figures,
    select,
    template_figures,
)

# Below this many patterns and templates at the tip the parent does the work itself:
# forking costs a few milliseconds, which a small KB's handful of quantiles does not
# repay (a judgement: 2,500 of them take about 110 ms).
MIN_RATED = 200
SAVED = 0  # the child's exit status once the cache file is written
NOT_SAVED = 2  # intervals sent, the cache not written (disabled, or the write failed)

Interval = list[float | None]


class Worker:
    """A forked child computing the tip's intervals, then writing the history cache."""

    def __init__(self, pid: int, fd: int, counts: dict[str, int]) -> None:
        self.pid, self.fd = pid, fd
        self.counts = counts  # the cache's entries at the fork, intervals added by merge

    def merge(self, memo: dict[str, Interval]) -> None:
        """Add the intervals the child computed to `memo` (none if it failed)."""
        fd, self.fd = self.fd, -1
        with os.fdopen(fd, "rb") as pipe:  # closes fd
            data = pipe.read()
        try:
            got = marshal.loads(data) if data else {}
        except (EOFError, ValueError, TypeError):
            got = {}
        if isinstance(got, dict):
            memo.update(got)  # new keys only (the child sent none that memo holds)
            self.counts["intervals"] += len(got)

    def finish(self, cache: Cache) -> None:
        """Wait for the child; when it has written the cache file, tell `cache` so that
        its next save appends only what this process added since the fork. Call after
        `merge`, and before cache.save(); without `merge` (the caller failed meanwhile)
        the child finds its pipe closed and ends."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:  # reaped already (a host process ignoring SIGCHLD)
            return  # its exit status unknown: this process writes the cache itself
        if os.waitstatus_to_exitcode(status) == SAVED:
            cache.saved_elsewhere(self.counts)


def fork_worker(
    cache: Cache, wanted: dict[str, tuple[str, str]], tag: str, since: str | None
) -> Worker | None:
    """Fork a child for the tip whose records are `wanted` ("kind:blob" -> (kind,
    path), facts in cache.blobs) and a report from `since`; None (this process does all
    the work) where forking is not possible or not worth it.

    Never with another thread running: fork() copies only the calling thread, and a
    lock held by another one would stay held in the child forever."""
    rated = sum(1 for kind, _ in wanted.values() if kind in ("pattern", "template"))
    if rated < MIN_RATED or not hasattr(os, "fork") or threading.active_count() > 1:
        return None
    counts = cache.counts()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: leaves with os._exit, never returning into the caller
        os.close(read_end)
        os._exit(_child(cache, wanted, tag, since, write_end))
    os.close(write_end)
    return Worker(pid, read_end, counts)


def _child(
    cache: Cache, wanted: dict[str, tuple[str, str]], tag: str, since: str | None, fd: int
) -> int:
    """The child's work; its exit status (SAVED, NOT_SAVED, 1 on any failure)."""
    try:
        memo = tip_intervals(cache, wanted, tag, since)
        new = {key: value for key, value in memo.items() if key not in cache.intervals}
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(marshal.dumps(new))
        cache.intervals.update(new)  # in the order the parent merges them
        # Only a cache rebuilt whole (a cold one): appending to a journal, the parent
        # could not know its size any more.
        return SAVED if cache.dirty and cache.save() else NOT_SAVED
    except BaseException:  # anything: the parent then does the work, and reports a bug
        return 1


def tip_intervals(
    cache: Cache, wanted: dict[str, tuple[str, str]], tag: str, since: str | None
) -> dict[str, Interval]:
    """The memo entries ("<tag>alpha,beta" -> interval) that the pattern and template
    figures of the tip's records compute: those figures, worked out on Evidence built
    from the tip's facts alone (the posterior needs no date), for their memo."""
    ev = _tip_evidence(cache.blobs, wanted)
    ev.intervals_tag = tag
    outcomes = select(ev.outcomes, since)
    pattern_figures(ev, outcomes)
    template_figures(ev, outcomes)
    return ev.intervals


def _tip_evidence(
    blobs: dict[str, tuple[Any, ...]], wanted: dict[str, tuple[str, str]]
) -> Evidence:
    """Evidence of the tip's records with what the posterior reads: outcomes' results
    and citations, patterns' and templates' priors (unreadable records left out, as
    replay.evidence leaves them out)."""
    ev = Evidence()
    tables = {"pattern": ev.patterns, "template": ev.templates}
    for key, (kind, path) in wanted.items():
        got = blobs.get(key)
        if got is None or len(got) == 2:  # not read, or ("bad", reason)
            continue
        stem = path.rsplit("/", 1)[-1].removesuffix(".yaml")
        if kind == "outcome":
            ev.outcomes.append(Outcome(stem, got[0], got[1], got[2], got[3]))
        elif kind in tables:
            tables[kind][stem] = Record(stem, got[0], got[1], got[2])
    return ev
