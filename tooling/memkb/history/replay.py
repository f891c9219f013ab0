"""Replaying main commit by commit: what memory knew after each one, as Evidence."""

from __future__ import annotations

import bisect
import threading
from pathlib import Path
from typing import Any

from memkb.gitio.log import Commit, Progress, iso
from memkb.history.blobs import ensure_facts
from memkb.history.store import Cache
from memkb.kb.layout import KB_DIR, KIND_BY_FOLDER
from memkb.metrics.formulas import Advised, Evidence, FailureMet, Outcome, Record

# The kinds the figures are computed from; expectations (advice under review) are not
# evidence and leave the figures alone.
FIGURE_KINDS = frozenset({"pattern", "template", "failure", "outcome"})


def record_key(path: str) -> tuple[str, str] | None:
    """(kind, id) of a record file under kb/ that the figures use; None for the
    vocabulary, expectations and anything else.

    What memkb.kb.layout.location_of says, without building a Location: replaying 10,000
    commits calls it once per changed path."""
    if not path.endswith(".yaml"):
        return None
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != KB_DIR:
        return None
    kind = KIND_BY_FOLDER.get(parts[1])
    return (kind, parts[-1][:-5]) if kind in FIGURE_KINDS else None


class Replay:
    """Applies a chain of commits in order, keeping what memory knew after each one."""

    def __init__(self, commits: list[Commit]) -> None:
        self.commits = commits
        self.index = -1
        self.state: dict[str, str] = {}  # path -> blob
        self.first_seen: dict[tuple[str, str], int] = {}
        self.last_changed: dict[tuple[str, str], int] = {}
        self.content: dict[tuple[str, str], str] = {}  # (kind, id) -> last blob seen
        self.recorded: dict[str, tuple[int, int]] = {}  # outcome id -> (index, patterns)
        # pattern id -> (commit indexes, blob after each): two lists, so that looking a
        # version up is a bisect in C (a key function costs a Python call per step)
        self.pattern_events: dict[str, tuple[list[int], list[str | None]]] = {}
        self.pattern_paths = 0
        self.where: dict[str, tuple[str, str]] = {}  # path -> (kind, id) of record paths
        self.built: dict[tuple[str, str], Outcome] = {}  # (id, blob) -> Outcome, see evidence

    def advance(self, upto: int) -> None:
        """Apply commits up to and including index `upto` (never goes back)."""
        while self.index < upto:
            self.index += 1
            commit = self.commits[self.index]
            added: list[str] = []
            # Deletions first: a record moved within one commit must end up present.
            changes = commit.changes
            if len(changes) > 1:
                changes = tuple(sorted(changes, key=lambda c: c[1] is not None))
            for path, blob in changes:
                self._apply(path, blob, commit.time, added)
            for oid in added:
                self.recorded.setdefault(oid, (self.index, self.pattern_paths))

    def _apply(self, path: str, blob: str | None, ts: int, added: list[str]) -> None:
        key = self.where.get(path)
        if key is None:
            key = record_key(path)
            if key is None:
                return
            self.where[path] = key
        existed = path in self.state
        if blob is None:
            self.state.pop(path, None)
        else:
            self.state[path] = blob
            self.first_seen.setdefault(key, ts)
            if self.content.get(key) != blob:  # a pure move is not a change
                self.last_changed[key] = ts
                self.content[key] = blob
        if key[0] == "pattern":
            self.pattern_paths += (blob is not None) - existed
            events = self.pattern_events.get(key[1])
            if events is None:
                events = self.pattern_events[key[1]] = ([], [])
            events[0].append(self.index)
            events[1].append(blob)
        elif key[0] == "outcome" and blob is not None:
            added.append(key[1])

    def pattern_blob_at(self, pid: str, index: int) -> str | None:
        """Blob of pattern `pid` after commit `index`, None if it did not exist then."""
        events = self.pattern_events.get(pid)
        if events is None:
            return None
        pos = bisect.bisect_right(events[0], index)
        return events[1][pos - 1] if pos else None


def evidence(
    root: Path, cache: Cache, replay: Replay, progress: Progress | None = None
) -> Evidence:
    """The Evidence of the replay's current state (facts read through the cache)."""
    where = replay.where
    current = sorted(replay.state.items())
    wanted = {f"{where[p][0]}:{b}": (where[p][0], p) for p, b in current}
    ensure_facts(root, cache, wanted, progress)
    rows = [(path, blob, *where[path], cache.blobs[f"{where[path][0]}:{blob}"])
            for path, blob in current]  # fmt: skip
    raw_outcomes = [(stem, blob, got) for _, blob, kind, stem, got in rows
                    if kind == "outcome" and len(got) != 2]  # fmt: skip
    todo = [(oid, blob, got) for oid, blob, got in raw_outcomes if (oid, blob) not in replay.built]
    older = _OlderPatterns(root, cache, replay, todo)  # git reads them while this builds
    ev = Evidence(last_update=iso(replay.commits[replay.index].time) if replay.index >= 0 else None)
    tables = {"pattern": ev.patterns, "template": ev.templates, "failure": ev.failures}
    for path, _, kind, stem, got in rows:
        if len(got) == 2:
            ev.skipped.append({"path": path, "reason": got[1]})
        elif kind != "outcome":
            key = (kind, stem)
            first, last = iso(replay.first_seen[key]), iso(replay.last_changed[key])
            tables[kind][stem] = Record(stem, got[0], got[1], got[2], first, last)
    ev.outcomes = _outcomes(replay, raw_outcomes, todo, older.counts())
    return ev


def _outcomes(
    replay: Replay,
    raw: list[tuple[str, str, tuple[Any, ...]]],
    todo: list[tuple[str, str, tuple[Any, ...]]],
    active: dict[str, int],
) -> list[Outcome]:
    """Outcome objects, with the patterns that were active when each was recorded
    (`active`, for the outcomes of `todo`: those not built before).

    Built once per (id, blob) and replay: what an outcome was recorded against never
    changes afterwards, so a monthly series reuses them."""
    for oid, blob, got in todo:
        met = tuple(FailureMet(f, bool(r), p) for f, r, p in got[5])
        replay.built[(oid, blob)] = Outcome(
            oid,
            got[0],
            got[1],
            got[2],
            got[3],
            got[4],
            met,
            got[6],
            got[7],
            got[8],
            got[9],
            got[10],
            replay.recorded[oid][1],
            active[oid],
            None if got[11] is None else Advised(*got[11]),
        )
    return [replay.built[(oid, blob)] for oid, blob, _ in raw]


class _OlderPatterns:
    """Per outcome of `todo`: how many of the patterns it applied were active in the KB
    at the commit that recorded it. Cached by (outcome, blob, recording commit): it never
    changes, and working it out means a history lookup per cited pattern.

    The versions of those patterns that the cache lacks (older than the tip's: about 140
    on a cold run of the benchmark history, 20-30 ms of git's delta chains plus the start
    of a `git cat-file`) are read by a thread, started when this is made, while the
    caller builds the rest of the Evidence; `counts` waits for it."""

    def __init__(
        self, root: Path, cache: Cache, replay: Replay, todo: list[tuple[str, str, tuple[Any, ...]]]
    ) -> None:
        self.cache = cache
        self.known: dict[str, int] = {}
        self.cited: dict[str, tuple[str, list[str | None]]] = {}
        for oid, blob, got in todo:
            index = replay.recorded[oid][0]
            key = f"{oid}:{blob}:{replay.commits[index].sha}"
            if key in cache.applied:
                self.known[oid] = cache.applied[key]
            else:
                self.cited[oid] = (key, [replay.pattern_blob_at(p, index) for p in got[3]])
        wanted = {b for _, blobs in self.cited.values() for b in blobs if b}
        missing = {f"pattern:{b}": ("pattern", f"kb/patterns/@{b}") for b in wanted}
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        if any(k not in cache.blobs for k in missing):
            self.thread = threading.Thread(target=self._read, args=(root, missing), daemon=True)
            self.thread.start()

    def _read(self, root: Path, missing: dict[str, tuple[str, str]]) -> None:
        try:
            ensure_facts(root, self.cache, missing)
        except BaseException as exc:  # handed to the caller by counts(), not lost
            self.error = exc

    def counts(self) -> dict[str, int]:
        """outcome id -> active patterns it applied; raise what the reading thread raised."""
        if self.thread is not None:
            self.thread.join()
            if self.error is not None:
                raise self.error
        out = dict(self.known)
        blobs, applied = self.cache.blobs, self.cache.applied
        for oid, (key, cited) in self.cited.items():
            n = sum(1 for b in cited if b and blobs[f"pattern:{b}"][0] == "active")
            out[oid] = applied[key] = n
        return out
