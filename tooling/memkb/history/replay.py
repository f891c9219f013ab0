"""Replaying main commit by commit: what memory knew after each one, as Evidence."""

from __future__ import annotations

import bisect
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
    ev = Evidence(last_update=iso(replay.commits[replay.index].time) if replay.index >= 0 else None)
    tables = {"pattern": ev.patterns, "template": ev.templates, "failure": ev.failures}
    raw_outcomes = []
    for path, blob in current:
        kind, stem = where[path]
        got = cache.blobs[f"{kind}:{blob}"]
        if len(got) == 2:
            ev.skipped.append({"path": path, "reason": got[1]})
        elif kind == "outcome":
            raw_outcomes.append((stem, blob, got))
        else:
            key = (kind, stem)
            first, last = iso(replay.first_seen[key]), iso(replay.last_changed[key])
            tables[kind][stem] = Record(stem, got[0], got[1], got[2], first, last)
    ev.outcomes = _outcomes(root, cache, replay, raw_outcomes)
    return ev


def _outcomes(
    root: Path, cache: Cache, replay: Replay, raw: list[tuple[str, str, tuple[Any, ...]]]
) -> list[Outcome]:
    """Outcome objects, with the patterns that were active when each was recorded.

    Built once per (id, blob) and replay: what an outcome was recorded against never
    changes afterwards, so a monthly series reuses them."""
    todo = [(oid, blob, got) for oid, blob, got in raw if (oid, blob) not in replay.built]
    active = _active_applied(root, cache, replay, todo)
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


def _active_applied(
    root: Path, cache: Cache, replay: Replay, todo: list[tuple[str, str, tuple[Any, ...]]]
) -> dict[str, int]:
    """Per outcome: how many of the patterns it applied were active in the KB at the
    commit that recorded it. Cached by (outcome, blob, recording commit): it never
    changes, and working it out means a history lookup per cited pattern."""
    out: dict[str, int] = {}
    cited: dict[str, tuple[str, list[str | None]]] = {}
    for oid, blob, got in todo:
        index = replay.recorded[oid][0]
        key = f"{oid}:{blob}:{replay.commits[index].sha}"
        if key in cache.applied:
            out[oid] = cache.applied[key]
        else:
            cited[oid] = (key, [replay.pattern_blob_at(p, index) for p in got[3]])
    wanted = {b for _, blobs in cited.values() for b in blobs if b}
    ensure_facts(root, cache, {f"pattern:{b}": ("pattern", f"kb/patterns/@{b}") for b in wanted})
    for oid, (key, blobs) in cited.items():
        n = sum(1 for b in blobs if b and cache.blobs[f"pattern:{b}"][0] == "active")
        out[oid] = cache.applied[key] = n
    return out
