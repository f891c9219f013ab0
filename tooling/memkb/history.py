"""Git history in one pass: what memory knew at each commit, cached by commit id.

One `git log --first-parent` process lists every commit of main that touched kb/,
with the blob id of every changed file (`--raw`); blob contents are read through one
`git cat-file --batch` process. Per-commit results and per-blob facts are cached
under .git/memkb/, so a warm run only walks the commits it has not seen.
A missing, truncated or corrupt cache is rebuilt, never trusted.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import itertools
import json
import marshal
import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

import yaml
from yaml.constructor import SafeConstructor

from memkb.cache import cache_dir
from memkb.errors import RepoError, UsageError
from memkb.layout import KB_DIR, location_of
from memkb.metrics import Evidence, FailureMet, Outcome, Record
from memkb.yamlio import MAX_FILE_BYTES, KbLoader, load_bytes

CACHE_VERSION = 3
CACHE_NAME = "history-v3.cache"
JOURNAL_NAME = "history-v3.journal"
MAX_JOURNAL_BYTES = 1 << 20
_SECTIONS = ("commits", "tips", "blobs", "intervals")
MAX_REPORTS = 16
Progress = Callable[[int, int], None]  # (commits read, commits expected)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RAW_FORMAT = "--format=%x01%H%x00%ct"
_KB_PREFIX = KB_DIR.encode() + b"/"


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


# ------------------------------------------------------------------------ the cache


def _seal(path: Path, data: Any) -> None:
    """Write plain data with marshal behind a SHA-256 header, atomically; a failure to
    write is ignored (caches are an optimisation, never a source of truth)."""
    body = marshal.dumps(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(f"memkb-history {CACHE_VERSION} {_digest(body)}\n".encode() + body)
        tmp.replace(path)
    except OSError:
        return


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
    blobs: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # "kind:blob" -> _pack
    intervals: dict[str, list[float | None]] = field(default_factory=dict)  # Beta memo
    dirty: bool = False  # the files must be rewritten whole (missing or damaged)
    loaded: dict[str, int] = field(default_factory=dict)  # section -> entries on disk
    journal_bytes: int = 0

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
        for sha, (prev, ts, changes) in data["commits"].items():
            self.commits[sha] = Commit(sha, prev, ts, changes)
        self.tips.update(data["tips"])
        self.blobs.update(data["blobs"])
        self.intervals.update(data["intervals"])

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

    def save(self) -> None:
        """Record what this run added: a journal frame, or the whole file when the cache
        was rebuilt or the journal has grown. A failed write only loses the cache."""
        if self.path is None or (not self.dirty and self._counts() == self.loaded):
            return
        journal = self.path.with_name(JOURNAL_NAME)
        if self.dirty or self.journal_bytes > MAX_JOURNAL_BYTES:
            _seal(self.path, self._since({}))
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
                return
            self.journal_bytes += len(frame)
        self.dirty, self.loaded = False, self._counts()


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


# ------------------------------------------------------------------------- the walk


def resolve(root: Path, rev: str) -> str:
    """Full commit id of `rev`; raise UsageError if it names no commit."""
    out = git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).strip()
    if not out:
        raise UsageError(
            f"'{rev}' is not a commit in this repository",
            hint="pass a commit, branch or tag, or a date as YYYY-MM-DD",
        )
    return out


def chain(root: Path, cache: Cache, tip: str, progress: Progress | None = None) -> list[Commit]:
    """Commits of `tip`'s first-parent chain that touched kb/, oldest first.

    Only commits after the newest already-cached tip on that chain are read from Git.
    """
    if tip not in cache.tips:
        _walk_new(root, cache, tip, progress)
    out: list[Commit] = []
    sha = cache.tips[tip]
    while sha is not None:
        commit = cache.commits[sha]
        out.append(commit)
        sha = commit.prev
    out.reverse()
    return out


def _walk_new(root: Path, cache: Cache, tip: str, progress: Progress | None) -> None:
    # Usually a cached tip is a few commits back: look there before listing all of main.
    line = git(root, "rev-list", "--first-parent", "-n", "64", tip).split()
    if not any(sha in cache.tips for sha in line) and len(line) == 64:
        line = git(root, "rev-list", "--first-parent", tip).split()
    base = next((sha for sha in line if sha in cache.tips), None)
    expected = line.index(base) if base else len(line)
    args = [
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--raw",
        "--no-renames",
        "--no-abbrev",
        "-z",
        _RAW_FORMAT,
        tip,
        *([f"^{base}"] if base else []),
    ]  # no "-- kb" pathspec: filtering paths here is ~2x cheaper than git's path limiting
    new = _stream(root, args, expected, progress)
    prev = cache.tips[base] if base else None
    for sha, ts, changes in reversed(new):
        cache.commits[sha] = Commit(sha, prev, ts, changes)
        prev = sha
    cache.tips[tip] = prev


def _stream(
    root: Path, args: list[str], expected: int, progress: Progress | None
) -> list[tuple[str, int, tuple[tuple[str, str | None], ...]]]:
    """Run `git log` and parse its commits as they arrive (git walks on one core while
    Python parses on the other), reporting progress; newest commit first."""
    proc = subprocess.Popen(
        ["git", *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    out: list[tuple[str, int, tuple[tuple[str, str | None], ...]]] = []
    pending, seen = b"", 0
    while chunk := proc.stdout.read(1 << 16):
        pending += chunk
        cut = pending.rfind(b"\x01")
        if cut > 0:  # everything before the last marker is whole commits
            out += _parse_raw(pending[:cut])
            pending = pending[cut:]
        if progress is not None:
            seen += chunk.count(b"\x01")
            progress(seen, expected)
    out += _parse_raw(pending)
    err = proc.stderr.read()
    if proc.wait() != 0:
        raise RepoError(f"git log failed: {err.decode('utf-8', 'replace').strip()}")
    return out


def _parse_raw(data: bytes) -> list[tuple[str, int, tuple[tuple[str, str | None], ...]]]:
    """Parse `git log --raw -z` output in the _RAW_FORMAT; newest commit first."""
    out = []
    for record in data.split(b"\x01")[1:]:
        tokens = record.split(b"\0")
        sha, ts = tokens[0].decode(), int(tokens[1])
        changes = []
        for meta, path in zip(tokens[2::2], tokens[3::2], strict=False):
            fields = meta.split()
            if len(fields) < 5 or fields[1] == b"160000" or not path.startswith(_KB_PREFIX):
                continue  # not a raw line, a submodule, or outside kb/
            blob = None if fields[4].startswith(b"D") else fields[3].decode()
            changes.append((path.decode("utf-8", "surrogateescape"), blob))
        if changes:  # commits that leave kb/ alone are not part of memory's history
            out.append((sha, ts, tuple(changes)))
    return out


# ----------------------------------------------------------------------- blob facts


class BlobReader:
    """Reads many blobs through one `git cat-file --batch` process."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, blobs: Iterable[str]) -> dict[str, bytes]:
        """Contents of each blob id; missing objects are left out."""
        return {blob: raw for blob, raw in self.stream(blobs) if raw is not None}

    def stream(self, blobs: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        """(blob id, contents or None if missing) in request order, as git produces them,
        so the caller parses one blob while git inflates the next."""
        wanted = list(dict.fromkeys(blobs))
        if not wanted:
            return
        proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=self.root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdin is not None and proc.stdout is not None
        feed = threading.Thread(target=_feed, args=(proc.stdin, wanted), daemon=True)
        feed.start()
        try:
            for blob in wanted:
                header = proc.stdout.readline().split()
                if len(header) < 3 or header[1] == b"missing":
                    yield blob, None
                    continue
                size = int(header[2])
                yield blob, proc.stdout.read(size + 1)[:size]
        finally:
            proc.stdout.close()
            proc.kill()
            proc.wait()
            feed.join()


def _feed(stdin: IO[bytes], wanted: list[str]) -> None:
    """Write the blob ids to cat-file (from a thread: git answers while we write)."""
    with contextlib.suppress(OSError):
        stdin.write("".join(f"{b}\n" for b in wanted).encode())
    with contextlib.suppress(OSError):
        stdin.close()


def facts(kind: str, raw: bytes, path: str) -> dict[str, Any]:
    """What the figures need from one record version; {"bad": reason} if unusable."""
    doc = _plain_doc(raw)
    if doc is None:  # anything unusual: the full safe loader decides
        doc = load_bytes(raw, path).doc
    if not isinstance(doc, dict):
        return {"bad": "not a readable YAML mapping (run `memkb validate`)"}
    if kind == "outcome":
        return _outcome_facts(doc)
    prior = _mapping(doc.get("prior"))
    rate = prior.get("success_probability" if kind == "template" else "success_rate")
    weight = prior.get("weight")
    return {
        "status": str(doc.get("status", "active")),
        "rate": rate if _is_num(rate) else None,
        "weight": weight if _is_num(weight) else None,
    }


_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")  # YAML 1.1 reads 010 as octal 8
_PLAIN_FLOAT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\Z")
_TAG = "tag:yaml.org,2002:"


def _plain_doc(raw: bytes) -> dict[str, Any] | None:
    """The document of an ordinary record, built straight from libyaml's node tree.

    Twice as fast as the full constructor on a cold walk of 10,000 records, and only
    for the plain case: no anchors, aliases or explicit tags, no duplicate keys, no
    scalar in an unusual notation, within the size limit, valid UTF-8. Anything else
    returns None and goes through memkb.yamlio.load_bytes, which stays the definition
    (tests check both agree).
    """
    if len(raw) > MAX_FILE_BYTES or b"*" in raw or b"&" in raw or b"!" in raw:
        return None
    try:
        loader = KbLoader(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    try:
        node = loader.get_single_node()
        doc = _node_value(node) if isinstance(node, yaml.MappingNode) else None
    except (yaml.YAMLError, _NotPlain):
        return None
    finally:
        loader.dispose()
    return doc if isinstance(doc, dict) else None


class _NotPlain(Exception):
    """A node the plain builder leaves to the full loader."""


def _node_value(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _node_value(key_node)
            if not isinstance(key, str) or key in out:
                raise _NotPlain
            out[key] = _node_value(value_node)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_node_value(item) for item in node.value]
    tag, value = node.tag, node.value
    if tag == _TAG + "str":
        return value
    if tag == _TAG + "int" and _PLAIN_INT.match(value):
        return int(value)
    if tag == _TAG + "float" and _PLAIN_FLOAT.match(value):
        return float(value)
    if tag == _TAG + "bool":
        return SafeConstructor.bool_values[value.lower()]
    if tag == _TAG + "null":
        return None
    raise _NotPlain


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _outcome_facts(doc: dict[str, Any]) -> dict[str, Any]:
    if doc.get("outcome") not in ("success", "partial", "failure") or not isinstance(
        doc.get("date"), str
    ):
        return {"bad": "outcome or date missing or invalid (run `memkb validate`)"}
    timeline = _mapping(doc.get("timeline"))
    met = [
        [m.get("failure"), m.get("recovered") is True, _strs(m.get("prevention_used"))]
        for m in doc.get("failures_met") or []
        if isinstance(m, dict)
    ]
    num = {
        "planned_days": timeline.get("planned_days"),
        "actual_days": timeline.get("actual_days"),
        "quality": doc.get("quality_score"),
        "errors": doc.get("error_count"),
        "satisfaction": doc.get("user_satisfaction"),
    }
    return {
        "outcome": doc["outcome"],
        "date": doc["date"],
        "template": doc["template"] if isinstance(doc.get("template"), str) else None,
        "patterns": _strs(doc.get("patterns_applied")),
        "droids": _strs(doc.get("droids_used")),
        "failures_met": [m for m in met if isinstance(m[0], str)],
        **{k: (v if _is_num(v) else None) for k, v in num.items()},
    }


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strs(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _pack(kind: str, got: dict[str, Any]) -> tuple[Any, ...]:
    """facts() as a tuple for the cache: ("bad", reason), (status, rate, weight) for a
    pattern/template/failure, or the 11 outcome fields in Outcome's order. Tuples load
    several times faster than dicts, and the cache holds one per record version."""
    if "bad" in got:
        return ("bad", got["bad"])
    if kind != "outcome":
        return (got["status"], got["rate"], got["weight"])
    met = tuple((f, r, tuple(p)) for f, r, p in got["failures_met"])
    return (
        got["outcome"],
        got["date"],
        got["template"],
        tuple(got["patterns"]),
        tuple(got["droids"]),
        met,
        got["planned_days"],
        got["actual_days"],
        got["quality"],
        got["errors"],
        got["satisfaction"],
    )


def ensure_facts(root: Path, cache: Cache, wanted: dict[str, tuple[str, str]]) -> None:
    """Fill cache.blobs for every "kind:blob" key in `wanted` (key -> (kind, path))."""
    blobs = cache.blobs
    missing = {k: v for k, v in wanted.items() if k not in blobs}
    if not missing:
        return
    by_blob: dict[str, list[tuple[str, str, str]]] = {}
    for key, (kind, path) in missing.items():
        by_blob.setdefault(key.split(":", 1)[1], []).append((key, kind, path))
    for blob, raw in BlobReader(root).stream(by_blob):
        for key, kind, path in by_blob[blob]:
            got = facts(kind, raw, path) if raw is not None else {"bad": "blob missing"}
            blobs[key] = _pack(kind, got)


# ------------------------------------------------------------------- replaying main


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
        self.pattern_events: dict[str, list[tuple[int, str | None]]] = {}
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
            loc = location_of(path)
            if loc.kind is None or loc.kind == "vocabulary" or not path.endswith(".yaml"):
                return
            key = self.where[path] = (loc.kind, loc.stem)
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
            self.pattern_events.setdefault(key[1], []).append((self.index, blob))
        elif key[0] == "outcome" and blob is not None:
            added.append(key[1])

    def pattern_blob_at(self, pid: str, index: int) -> str | None:
        """Blob of pattern `pid` after commit `index`, None if it did not exist then."""
        events = self.pattern_events.get(pid, [])
        pos = bisect.bisect_right(events, index, key=lambda e: e[0])
        return events[pos - 1][1] if pos else None


def evidence(root: Path, cache: Cache, replay: Replay) -> Evidence:
    """The Evidence of the replay's current state (facts read through the cache)."""
    where = replay.where
    current = sorted(replay.state.items())
    ensure_facts(root, cache, {f"{where[p][0]}:{b}": (where[p][0], p) for p, b in current})
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
    cited: dict[str, list[str | None]] = {}
    for oid, _, got in todo:
        index = replay.recorded[oid][0]
        cited[oid] = [replay.pattern_blob_at(p, index) for p in got[3]]
    wanted = {b for blobs in cited.values() for b in blobs if b}
    ensure_facts(root, cache, {f"pattern:{b}": ("pattern", f"kb/patterns/@{b}") for b in wanted})
    blobs = cache.blobs
    for oid, blob, got in todo:
        active = sum(1 for b in cited[oid] if b and blobs[f"pattern:{b}"][0] == "active")
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
            active,
        )
    return [replay.built[(oid, blob)] for oid, blob, _ in raw]


# ------------------------------------------------------------------ public entry points


@dataclass(frozen=True)
class Target:
    """Which state of memory to report: a chain of main and how far along it to go."""

    commits: list[Commit]
    upto: int  # index into commits; -1 = before any knowledge commit
    label: str | None  # what the user asked for (rev or date), None for HEAD


def end_of_day(day: str) -> int:
    """Seconds since the epoch at 23:59:59 UTC of `day` (YYYY-MM-DD); UsageError if invalid."""
    try:
        parsed = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise UsageError(f"'{day}' is not a date", hint="write dates as YYYY-MM-DD") from exc
    return int(parsed.timestamp()) + 86_399


def tip_of(root: Path, as_of: str | None) -> str:
    """The commit whose main is read: HEAD, or the revision given as --as-of.

    Raise RepoError when the repository has no commit, UsageError for a bad revision.
    """
    head = git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).strip()
    if not head:
        git(root, "rev-parse", "--git-dir")  # raises RepoError outside a Git repository
        raise RepoError(
            "the repository has no commits yet",
            hint="commit the knowledge base first: memory is read from Git",
        )
    if as_of is None or DATE_RE.match(as_of):
        return head
    return resolve(root, as_of)


def target(
    root: Path, cache: Cache, tip: str, as_of: str | None, progress: Progress | None = None
) -> Target:
    """The state to report: all of `tip`'s main, or (for a YYYY-MM-DD --as-of) up to the
    last commit dated on or before the end of that day (UTC)."""
    commits = chain(root, cache, tip, progress)
    if as_of is not None and DATE_RE.match(as_of):
        limit = end_of_day(as_of)
        upto = max((i for i, c in enumerate(commits) if c.time <= limit), default=-1)
        return Target(commits, upto, as_of)
    return Target(commits, len(commits) - 1, as_of)


def _request(root: Path, mode: str, as_of: str | None, since: str | None) -> tuple[str, str]:
    """Validate the request; return the tip commit and the key of its finished report.

    The key names everything a report depends on: the tip commit (content-addressed),
    the options, and the code that computes it."""
    if since is not None:
        end_of_day(since)  # validates the date
    if as_of is not None and DATE_RE.match(as_of):
        end_of_day(as_of)
    tip = tip_of(root, as_of)
    return tip, "\0".join((mode, as_of or "", since or "", tip, code_fingerprint()))


def code_fingerprint() -> str:
    """Hash of the modules whose code shapes a report: a changed formula is a new report."""
    from memkb import metrics

    digest = hashlib.sha256()
    for module_file in (__file__, metrics.__file__):
        digest.update(Path(module_file).read_bytes())
    return digest.hexdigest()[:16]


def _as_of_info(tg: Target) -> dict[str, Any]:
    last = tg.commits[tg.upto] if tg.upto >= 0 else None
    return {
        "requested": tg.label,
        "commit": last.sha if last else None,
        "date": iso(last.time) if last else None,
    }


def report(
    root: Path,
    *,
    as_of: str | None = None,
    since: str | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every figure as memory knew it at `as_of`, from outcomes dated on/after `since`.

    Raise UsageError for a bad date or revision, RepoError outside a usable repository.
    """
    from memkb.metrics import compute

    tip, key = _request(root, "report", as_of, since)
    hit = cached_report(root, key) if use_cache else None
    if hit is not None:
        return hit
    cache = Cache.load(root, enabled=use_cache)
    tg = target(root, cache, tip, as_of, progress)
    replay = Replay(tg.commits)
    replay.advance(tg.upto)
    ev = evidence(root, cache, replay)
    ev.intervals = cache.intervals
    figures = compute(ev, since=since)
    result = {"as_of": _as_of_info(tg), "since": since, **figures, "skipped": ev.skipped}
    cache.save()
    if use_cache:
        store_report(root, key, result)
    return result


def months(first: int, last: int) -> Iterator[tuple[str, int]]:
    """(YYYY-MM, end of that month in epoch seconds) from the month of `first` to `last`."""
    start = datetime.fromtimestamp(first, UTC)
    year, month = start.year, start.month
    while True:
        nxt = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        yield f"{year:04d}-{month:02d}", int(nxt.timestamp()) - 1
        if int(nxt.timestamp()) > last:
            return
        year, month = nxt.year, nxt.month


def series(
    root: Path,
    *,
    as_of: str | None = None,
    since: str | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The learning curve: learning and performance metrics as known at each month's end.

    Raise UsageError for a bad date or revision, RepoError outside a usable repository.
    """
    from memkb.metrics import learning_metrics, performance_metrics, select

    tip, key = _request(root, "series", as_of, since)
    hit = cached_report(root, key) if use_cache else None
    if hit is not None:
        return hit
    cache = Cache.load(root, enabled=use_cache)
    tg = target(root, cache, tip, as_of, progress)
    points: list[dict[str, Any]] = []
    if tg.upto >= 0:
        replay = Replay(tg.commits)
        last = end_of_day(as_of) if as_of and DATE_RE.match(as_of) else tg.commits[tg.upto].time
        floor = end_of_day(since) - 86_399 if since else 0
        for month, end in months(max(tg.commits[0].time, floor), last):
            upto = max(
                (i for i, c in enumerate(tg.commits[: tg.upto + 1]) if c.time <= end), default=-1
            )
            replay.advance(upto)
            ev = evidence(root, cache, replay)
            chosen = select(ev.outcomes, since)
            points.append(
                {
                    "month": month,
                    "commit": tg.commits[upto].sha if upto >= 0 else None,
                    "learning_metrics": learning_metrics(ev, chosen),
                    "performance_metrics": performance_metrics(chosen),
                }
            )
    result = {"as_of": _as_of_info(tg), "since": since, "series": points}
    cache.save()
    if use_cache:
        store_report(root, key, result)
    return result


# ------------------------------------------------------------- one record's history

_LOG_FORMAT = (
    "--format=%x01%H%x00%P%x00%an%x00%ae%x00%cI%x00"
    "%(trailers:key=Memory-Agent,valueonly,separator=%x2C)"
)


def find_record(root: Path, kind: str, record_id: str) -> str:
    """Path of the record at HEAD (or the canonical path if it is gone); UsageError if
    no file of that kind and id was ever in the history."""
    from memkb.layout import FOLDERS, check_kind, record_relpath

    check_kind(kind)
    canonical = record_relpath(kind, record_id)
    if kind == "vocabulary":
        return canonical
    folder = f"{KB_DIR}/{FOLDERS[kind]}"
    names = git(root, "ls-tree", "-r", "--name-only", "HEAD", "--", folder, check=False)
    here = [p for p in names.splitlines() if p.rsplit("/", 1)[-1] == f"{record_id}.yaml"]
    if canonical in here or not here:
        return canonical
    return here[0]


def record_history(root: Path, kind: str, record_id: str) -> dict[str, Any]:
    """Every commit that touched the record's file, newest first, following renames,
    each with date, author, Memory-Agent trailer and a field-level summary.

    Raise UsageError if the record never existed.
    """
    path = find_record(root, kind, record_id)
    out = git(root, "log", "--follow", "-M", "--raw", "--no-abbrev", "-z", _LOG_FORMAT, "--", path)
    entries = [_log_entry(chunk) for chunk in out.split("\x01")[1:]]
    if not entries:
        raise UsageError(
            f"no {kind} '{record_id}' in the history of this repository",
            hint=f"expected it at {path}; check the kind and id",
        )
    contents = BlobReader(root).read(b for e in entries for b in (e["old"], e["new"]) if b)
    commits = []
    for e in entries:
        old = _doc(contents.get(e.pop("old") or ""), e["path"])
        new = _doc(contents.get(e.pop("new") or ""), e["path"])
        moved = [f"moved from {e['from_path']}"] if e["from_path"] else []
        commits.append({**e, "summary": moved + summarize(old, new)})
    return {"kind": kind, "id": record_id, "path": path, "commits": commits}


def _log_entry(chunk: str) -> dict[str, Any]:
    tokens = chunk.split("\0")
    sha, parents, author, email, date, agent = tokens[:6]
    entry: dict[str, Any] = {
        "commit": sha,
        "date": date,
        "author": author,
        "email": email,
        "agent": agent.strip() or None,
        "merge": " " in parents.strip(),
        "change": "merged",
        "path": None,
        "from_path": None,
        "old": None,
        "new": None,
    }
    rest = tokens[6:]
    if rest and rest[0].strip().startswith(":"):
        fields = rest[0].strip().split()
        status = fields[4][0]
        entry["old"] = None if set(fields[2]) == {"0"} else fields[2]
        entry["new"] = None if set(fields[3]) == {"0"} else fields[3]
        entry["change"] = {"A": "added", "D": "deleted", "R": "renamed", "C": "copied"}.get(
            status, "modified"
        )
        entry["path"] = rest[2] if status in "RC" else rest[1]
        entry["from_path"] = rest[1] if status in "RC" else None
    return entry


def _doc(raw: bytes | None, path: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    doc = load_bytes(raw, path or "").doc
    return doc if isinstance(doc, dict) else {}


def summarize(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """Field-level changes between two versions of a record, e.g. 'best_practices: +1 item',
    'key_droids: -security-airditor +security-auditor', 'prior.success_rate: 0.89 -> 0.9'."""
    if old is None and new is None:
        return []
    if old is None:
        return ["created"]
    if new is None:
        return ["deleted"]
    return list(_diff(old, new, ""))


def _diff(old: Any, new: Any, where: str) -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            name = f"{where}.{key}" if where else str(key)
            if key not in new:
                yield f"{name}: removed"
            elif key not in old:
                yield f"{name}: added ({_short(new[key])})"
            elif old[key] != new[key]:
                yield from _diff(old[key], new[key], name)
    elif isinstance(old, list) and isinstance(new, list):
        yield f"{where}: {_list_change(old, new)}"
    else:
        yield f"{where}: {_short(old)} -> {_short(new)}"


def _list_change(old: list[Any], new: list[Any]) -> str:
    gone = [x for x in old if x not in new]
    came = [x for x in new if x not in old]
    if not gone and not came:
        return "reordered"
    names = all(isinstance(x, str) and len(x) <= 40 and " " not in x for x in gone + came)
    if names:
        return " ".join([*(f"-{x}" for x in gone), *(f"+{x}" for x in came)])
    parts = [
        f"+{len(came)} item{'s' * (len(came) != 1)}" if came else "",
        f"-{len(gone)} item{'s' * (len(gone) != 1)}" if gone else "",
    ]
    return " ".join(p for p in parts if p)


def _short(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return f"{len(value)} field{'s' * (len(value) != 1)}"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
