"""A cold report's Beta intervals, worked out by a forked child while this process replays.

The quantile searches of the figures' 90% intervals (formulas.posterior: about 110 ms
of CPU for the 2,500 patterns and templates of the benchmark history) depend only on
the records at the tip: each one's prior and the tally of the tip's outcomes that cite
it, not on when anything happened. So once a cold run has read the tip's records
(readahead) and git's walk is over, a child forked then computes them on the second
core while this process replays the history into Evidence (about 180 ms, single core);
the parent then merges them into the memo that `posterior` consults. They are exact:
the same function on the same parameters, and a parameter the child did not foresee is
computed by the parent as before. A child that fails sends nothing, and the parent does
all the work itself (a bug in the formulas then raises there, where it is reported).
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

# Below this many patterns and templates at the tip the parent computes the intervals
# itself: forking costs a few milliseconds, which a small KB's handful of quantiles does
# not repay (a judgement: 2,500 of them take about 110 ms).
MIN_RATED = 200

Interval = list[float | None]


class IntervalsAhead:
    """A forked child computing the tip's intervals; `merge` adds them to a memo."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd

    def merge(self, memo: dict[str, Interval]) -> None:
        """Wait for the child and add what it computed to `memo` (nothing if it failed)."""
        with os.fdopen(self.fd, "rb") as pipe:  # closes fd
            data = pipe.read()
        os.waitpid(self.pid, 0)
        try:
            got = marshal.loads(data) if data else {}
        except (EOFError, ValueError, TypeError):
            got = {}
        if isinstance(got, dict):
            memo.update(got)


def intervals_ahead(
    cache: Cache, wanted: dict[str, tuple[str, str]], tag: str, since: str | None
) -> IntervalsAhead | None:
    """Fork a child computing the intervals of the tip whose records are `wanted`
    ("kind:blob" -> (kind, path), facts in cache.blobs) for a report from `since`;
    None (the parent computes them) where forking is not possible or not worth it.

    Never with another thread running: fork() copies only the calling thread, and a
    lock held by another one would stay held in the child forever."""
    rated = sum(1 for kind, _ in wanted.values() if kind in ("pattern", "template"))
    if rated < MIN_RATED or not hasattr(os, "fork") or threading.active_count() > 1:
        return None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, and leave without Python's clean-up
        status = 1
        try:
            os.close(read_end)
            body = marshal.dumps(tip_intervals(cache, wanted, tag, since))
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(body)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return IntervalsAhead(pid, read_end)


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
