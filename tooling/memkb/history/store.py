"""The history cache: sealed marshal files under .git/memkb/, and finished reports."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import marshal
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memkb.cachefile import cache_dir
from memkb.gitio.log import Commit

CACHE_VERSION = 4
CACHE_NAME = "history-v4.cache"
JOURNAL_NAME = "history-v4.journal"
MAX_JOURNAL_BYTES = 1 << 20
_SECTIONS = ("commits", "tips", "blobs", "intervals", "applied")
MAX_REPORTS = 16


def _seal(path: Path, data: Any) -> bool:
    """Write plain data with marshal behind a SHA-256 header, atomically; False if it
    could not be written, which is otherwise ignored (caches are an optimisation, never a
    source of truth)."""
    body = marshal.dumps(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(f"memkb-history {CACHE_VERSION} {_digest(body)}\n".encode() + body)
        tmp.replace(path)
    except OSError:
        return False
    return True


def _unseal(path: Path) -> Any:
    """The data _seal wrote at `path`; raise OSError/ValueError if missing or damaged."""
    header, _, body = path.read_bytes().partition(b"\n")
    if header != f"memkb-history {CACHE_VERSION} ".encode() + _digest(body).encode():
        raise ValueError("cache header or checksum mismatch")
    try:
        return marshal.loads(body)
    except (EOFError, TypeError) as exc:
        raise ValueError("undecodable cache") from exc


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass
class Cache:
    """Commits, blob facts and Beta intervals, keyed by object ids (never goes stale).

    Stored with marshal (plain data only, read back several times faster than JSON or
    pickle) behind a SHA-256 of the payload: a damaged file is detected and rebuilt.
    What a run adds is appended to a journal next to it (a new commit costs a few KB,
    not a rewrite of megabytes); the journal is folded into the file when it grows.
    Entries are only ever added, so "what is new" is what lies past the loaded counts.
    """

    path: Path | None
    commits: dict[str, Commit] = field(default_factory=dict)
    tips: dict[str, str | None] = field(default_factory=dict)  # tip -> last kb commit
    blobs: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # "kind:blob" -> facts
    intervals: dict[str, list[float | None]] = field(default_factory=dict)  # Beta memo
    applied: dict[str, int] = field(default_factory=dict)  # see replay._active_applied
    dirty: bool = False  # the files must be rewritten whole (missing or damaged)
    loaded: dict[str, int] = field(default_factory=dict)  # section -> entries on disk
    journal_bytes: int = 0
    # Not stored: documents of the records this run parses ("kind:blob" -> document), kept
    # only when a caller that needs them anyway (export-legacy) passes a dict, so that a
    # cold export parses each record once.
    docs: dict[str, Any] | None = None

    @classmethod
    def load(cls, root: Path, *, enabled: bool = True) -> Cache:
        """The cache of the repository at `root`; empty if missing, corrupt or disabled."""
        cache = cls(cache_dir(root) / CACHE_NAME if enabled else None)
        if cache.path is not None:
            try:
                cache._merge(_unseal(cache.path))
                cache._read_journal(cache.path.with_name(JOURNAL_NAME))
                if any(v is not None and v not in cache.commits for v in cache.tips.values()):
                    raise ValueError("cache tip points at an unknown commit")
            except (OSError, ValueError, TypeError, KeyError, IndexError):
                cache = cls(cache.path, dirty=True)  # rebuilt from Git, then rewritten
        cache.loaded = cache._counts()
        return cache

    def _merge(self, data: dict[str, Any]) -> None:
        _check_shape(data)
        for sha, (prev, ts, changes) in data["commits"].items():
            self.commits[sha] = Commit(sha, prev, ts, changes)
        self.tips.update(data["tips"])
        self.blobs.update(data["blobs"])
        self.intervals.update(data["intervals"])
        self.applied.update(data["applied"])

    def _read_journal(self, journal: Path) -> None:
        """Merge every intact frame of the journal; stop at the first damaged one."""
        try:
            data = journal.read_bytes()
        except FileNotFoundError:
            return
        pos = 0
        while (end := data.find(b"\n", pos)) > 0:
            header = data[pos:end].split()
            size = int(header[1]) if len(header) == 3 and header[1].isdigit() else -1
            body = data[end + 1 : end + 1 + size]
            if header[:1] != [b"memkb-journal"] or len(body) != size:
                break
            if header[2].decode() != _digest(body):
                break
            self._merge(marshal.loads(body))
            pos = end + 1 + size
        self.journal_bytes = len(data)

    def _counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in _SECTIONS}

    def _since(self, counts: dict[str, int]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in _SECTIONS:
            section: dict[str, Any] = getattr(self, name)
            out[name] = dict(itertools.islice(section.items(), counts.get(name, 0), None))
        out["commits"] = {sha: (c.prev, c.time, c.changes) for sha, c in out["commits"].items()}
        return out

    def save(self) -> bool:
        """Record what this run added: a journal frame, or the whole file when the cache
        was rebuilt or the journal has grown. False if a write failed (which only loses
        the cache) or there is no file (disabled); True once all is on disk."""
        if self.path is None:
            return False
        if not self.dirty and self._counts() == self.loaded:
            return True
        journal = self.path.with_name(JOURNAL_NAME)
        if self.dirty or self.journal_bytes > MAX_JOURNAL_BYTES:
            written = _seal(self.path, self._since({}))
            with contextlib.suppress(OSError):
                journal.unlink()
            self.journal_bytes = 0
        else:
            body = marshal.dumps(self._since(self.loaded))
            frame = f"memkb-journal {len(body)} {_digest(body)}\n".encode() + body
            try:
                with journal.open("ab") as handle:  # one append: frames never interleave
                    handle.write(frame)
            except OSError:
                return False
            self.journal_bytes += len(frame)
            written = True
        self.dirty, self.loaded = False, self._counts()
        return written

    def counts(self) -> dict[str, int]:
        """Entries per section now: what `saved_elsewhere` is told after another process
        saved this cache as it was."""
        return self._counts()

    def saved_elsewhere(self, counts: dict[str, int]) -> None:
        """Another process (a forked worker) wrote this cache whole, with the first
        `counts` entries of each section: the next save appends only what came after."""
        self.dirty, self.loaded, self.journal_bytes = False, dict(counts), 0


def _check_shape(data: Any) -> None:
    """ValueError unless `data` has the shape save() writes. The checksum only proves the
    bytes are what some writer wrote: entries of another shape (a foreign or buggy
    writer) must mean "rebuild", not a crash later in metrics. Written for speed (type()
    lookups, no per-value calls where a set will do): it runs over every entry of a warm
    cache: 18 ms for the 10,000 record versions of tooling/bench/synth.py."""
    if not (isinstance(data, dict) and all(type(data.get(n)) is dict for n in _SECTIONS)):
        raise ValueError("cache sections missing")
    checks = {
        "commits": _is_commit,
        "tips": lambda v: type(v) in _STR_OR_NONE,
        "blobs": _is_pack,
        "intervals": lambda v: type(v) is list and _NUM_OR_NONE.issuperset(map(type, v)),
        "applied": lambda v: type(v) is int,
    }
    for name, check in checks.items():
        section = data[name]
        if not ({str}.issuperset(map(type, section)) and all(map(check, section.values()))):
            raise ValueError(f"malformed cache entries in {name}")


_STR_OR_NONE = frozenset((str, type(None)))
_NUM_OR_NONE = frozenset((int, float, type(None)))


def _is_commit(value: Any) -> bool:
    """(previous kb commit, time, ((path, blob or None), ...)), as Commit holds them."""
    return (
        type(value) is tuple
        and len(value) == 3
        and type(value[0]) in _STR_OR_NONE
        and type(value[1]) is int
        and type(value[2]) is tuple
        and all(
            type(c) is tuple and len(c) == 2 and type(c[0]) is str and type(c[1]) in _STR_OR_NONE
            for c in value[2]
        )
    )


def _is_strs(value: Any) -> bool:
    return type(value) is tuple and {str}.issuperset(map(type, value))


def _is_pack(value: Any) -> bool:
    """One of blobs.packed_facts's three forms: ("bad", reason), (status, rate, weight) or the
    12 outcome fields."""
    if type(value) is not tuple:
        return False
    size = len(value)
    if size == 12:
        return (
            type(value[0]) is str
            and type(value[1]) is str
            and type(value[2]) in _STR_OR_NONE
            and _is_strs(value[3])
            and _is_strs(value[4])
            and type(value[5]) is tuple
            and all(map(_is_met, value[5]))
            and _NUM_OR_NONE.issuperset(map(type, value[6:11]))
            and _is_advised(value[11])
        )
    if size == 3:
        return type(value[0]) is str and _NUM_OR_NONE.issuperset(map(type, value[1:]))
    return size == 2 and value[0] == "bad" and type(value[1]) is str


def _is_advised(value: Any) -> bool:
    """None, or (followed, ignored) "kind:id" strings: an outcome's advice field."""
    return value is None or (
        type(value) is tuple and len(value) == 2 and _is_strs(value[0]) and _is_strs(value[1])
    )


def _is_met(value: Any) -> bool:
    return (
        type(value) is tuple
        and len(value) == 3
        and type(value[0]) is str
        and type(value[1]) is bool
        and _is_strs(value[2])
    )


def _report_path(root: Path, key: str) -> Path:
    return cache_dir(root) / "reports" / f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.bin"


def cached_report(root: Path, key: str) -> dict[str, Any] | None:
    """The finished report stored under `key`, or None (missing, damaged, other key)."""
    try:
        stored = _unseal(_report_path(root, key))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != key:
        return None
    result = stored.get("result")
    return result if isinstance(result, dict) else None


def store_report(root: Path, key: str, result: dict[str, Any]) -> None:
    """Keep a finished report under `key`; only the MAX_REPORTS most recent are kept."""
    path = _report_path(root, key)
    _seal(path, {"key": key, "result": result})
    try:
        kept = sorted(path.parent.glob("*.bin"), key=lambda p: p.stat().st_mtime)
        for old in kept[:-MAX_REPORTS]:
            old.unlink()
    except OSError:
        return
