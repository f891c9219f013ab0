"""The validation engine: load every knowledge file (cached by blob id), run per-file rules,
build the index, run collection rules, and return findings with lines and columns.

Usage from Python::

    result = validate_repo(Path("."))
    for finding in result.findings: ...
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from memkb import __version__, cache
from memkb.discover import (
    Source,
    StatKey,
    gather,
    normalize_paths,
    read_source,
    scan,
    trusted_stat,
)
from memkb.findings import Finding, Severity, has_errors
from memkb.index import Index, Record
from memkb.layout import FOLDERS, KB_DIR, KINDS, VOCABULARY_FILE, location_of, record_relpath
from memkb.refs import RefTuple, refs_of
from memkb.rules import COLLECTION_RULES, FILE_RULES, Issue
from memkb.rules.base import FileContext, RunContext
from memkb.schema import Schemas
from memkb.yamlio import MAX_EXPANDED_NODES, MAX_FILE_BYTES, Locator, load_bytes

CACHE_FILE = "validate.cache"
CACHE_FORMAT = 3  # entry: (blob id, summary, refs, findings, trusted stat or None)


# The fields collection rules read. Only these are cached, so a warm run loads a
# small summary per file instead of every document.
SUMMARY_KEYS = ("kind", "id", "status", "superseded_by", "date")


@dataclass
class FileResult:
    """What one file yields, independent of every other file (so it can be cached).
    `doc` is the whole document, or only its SUMMARY_KEYS when it came from the cache."""

    relpath: str
    blob: str
    doc: dict[str, Any] | None
    findings: list[Finding]
    refs: tuple[RefTuple, ...] = ()

    def to_cache(self) -> tuple[Any, ...]:
        summary = summarize(self.doc) if self.doc is not None else None
        return (
            self.blob,
            summary,
            self.refs,
            tuple(f.as_tuple() for f in self.findings),
        )

    @classmethod
    def from_cache(cls, relpath: str, entry: tuple[Any, ...]) -> FileResult:
        blob, summary, refs, findings = entry[:4]
        return cls(
            relpath,
            blob,
            summary,
            [Finding.from_tuple(f) for f in findings],
            refs,
        )


def refs_in(doc: dict[str, Any] | None) -> tuple[RefTuple, ...]:
    """The references of a document of a known kind, as plain tuples."""
    kind = doc.get("kind") if doc is not None else None
    if doc is None or not isinstance(kind, str):
        return ()
    return tuple(tuple(ref) for ref in refs_of(kind, doc))  # type: ignore[misc]


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """The part of a document the collection rules need (all of the vocabulary)."""
    if doc.get("kind") == "vocabulary":
        return doc
    return {key: doc[key] for key in SUMMARY_KEYS if key in doc}


@dataclass
class ValidationResult:
    """Findings of a run, sorted by place, and the numbers behind the summary line."""

    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    records: int = 0
    index: Index = field(default_factory=Index)

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.WARNING for f in self.findings)


def validate_repo(
    root: Path,
    paths: Sequence[str] | None = None,
    *,
    overlay: Mapping[str, bytes | None] | None = None,
    use_cache: bool = True,
    today: date | None = None,
    cwd: Path | None = None,
) -> ValidationResult:
    """Validate the KB at `root` (with `overlay` applied: relpath -> new bytes, None = deleted).

    With `paths`, per-file findings are limited to those files (given relative to `cwd`,
    default the root) while the whole KB is still loaded, so cross-file rules stay correct
    and their findings are always reported. Raises UsageError for a bad path and RepoError
    for missing schemas."""
    wanted = _wanted(root, paths, overlay or {}, cwd or root) if paths else None
    results, texts = _load_all(root, overlay, use_cache)
    return _judge(results, build_index(results), texts, today, per_file=wanted)


def _judge(
    results: list[FileResult],
    index: Index,
    texts: Texts,
    today: date | None,
    *,
    per_file: set[str] | None = None,
    cross_file: Mapping[str, object] | None = None,
) -> ValidationResult:
    """Run the collection rules over `index` and gather every finding, keeping per-file
    findings of `per_file` only and collection findings of `cross_file` only (None: all)."""
    ctx = RunContext(today or date.today())
    issues = [
        issue
        for rule in COLLECTION_RULES
        for issue in rule(index, ctx)
        if cross_file is None or issue.relpath in cross_file
    ]
    findings = [f for r in results if per_file is None or r.relpath in per_file for f in r.findings]
    findings += _resolve(issues, texts)
    return ValidationResult(
        sorted(set(findings)), len(results), sum(r.doc is not None for r in results), index
    )


def _wanted(
    root: Path, paths: Sequence[str], overlay: Mapping[str, bytes | None], cwd: Path
) -> set[str]:
    """Root-relative paths to report on; a path of the overlay need not exist on disk."""
    on_disk = [p for p in paths if p not in overlay]
    return normalize_paths(root, on_disk, cwd) | {p for p in paths if p in overlay}


class KbView(Protocol):
    """Where validate_changes reads the KB a write lands on: the work tree (DiskView), or
    the tip of a proposal branch that is not checked out (the writer's own view)."""

    def read(self, relpath: str) -> bytes | None:
        """The file's bytes, or None if it does not exist."""

    def names(self, folder: str) -> list[str]:
        """File names directly in `folder` (root-relative), or [] if there is none."""


class DiskView:
    """The KB as the work tree holds it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, relpath: str) -> bytes | None:
        return read_source(self.root, relpath).raw if (self.root / relpath).is_file() else None

    def names(self, folder: str) -> list[str]:
        path = self.root / folder
        return os.listdir(path) if path.is_dir() else []  # noqa: PTH208 - speed


def validate_changes(
    root: Path,
    overlay: Mapping[str, bytes | None],
    *,
    today: date | None = None,
    view: KbView | None = None,
) -> ValidationResult:
    """Validate a write before it happens, in time that does not grow with the KB.

    Returns the findings of the files in `overlay` only. References are resolved through
    the layout invariant (a record of kind K and id I lives at record_relpath(K, I), which
    validate enforces), so only the vocabulary, the referenced records and the kind
    folders' listings are read, from `view` (default: the work tree). A deletion or a
    vocabulary change can break other records, so those fall back to validate_repo of
    the work tree (whose findings cover the whole KB)."""
    if any(raw is None for raw in overlay.values()) or VOCABULARY_FILE in overlay:
        return validate_repo(root, overlay=overlay, today=today)
    schemas = Schemas(root)
    texts = Texts(root, overlay)
    written = [
        _fresh_result(relpath, raw, schemas) for relpath, raw in overlay.items() if raw is not None
    ]
    index = build_index([*_neighbours(view or DiskView(root), written), *written])
    return _judge(written, index, texts, today, cross_file=overlay)


def _fresh_result(relpath: str, raw: bytes, schemas: Schemas) -> FileResult:
    doc, findings = check_file(relpath, raw, schemas)
    return FileResult(relpath, cache.blob_id(raw), doc, findings, refs_in(doc))


def _neighbours(view: KbView, written: list[FileResult]) -> list[FileResult]:
    """The records the written files can be judged against: the vocabulary, every
    referenced record (whole), and a stub per other record id (for "did you mean")."""
    own = {r.relpath for r in written}
    referenced = {
        record_relpath(target, value)
        for r in written
        for target, value, _ in r.refs
        if target in FOLDERS and _is_plain_id(value)
    }
    out, skip = [], own | referenced
    for relpath in sorted(referenced | {VOCABULARY_FILE}):
        raw = view.read(relpath) if relpath not in own else None
        if raw is not None:
            out.append(FileResult(relpath, "", load_bytes(raw, relpath).doc, []))
    for kind in ("pattern", "failure", "template"):
        out += [
            FileResult(rel, "", {"kind": kind, "id": name[:-5]}, [])
            for name in view.names(f"{KB_DIR}/{FOLDERS[kind]}")
            if name.endswith(".yaml") and (rel := f"{KB_DIR}/{FOLDERS[kind]}/{name}") not in skip
        ]
    return out


def _is_plain_id(value: str) -> bool:
    return value.replace("_", "").replace("-", "").isalnum()


def load_index(root: Path, overlay: Mapping[str, bytes | None] | None = None) -> Index:
    """Every loadable record of the KB with its whole document (files that fail to parse
    are left out). Parses without schema checks; use validate_repo to judge the KB."""
    results = []
    for source in gather(root, overlay):
        doc = load_bytes(source.raw, source.relpath).doc if source.raw is not None else None
        results.append(FileResult(source.relpath, "", doc, [], refs_in(doc)))
    return build_index(results)


def build_index(results: Iterable[FileResult]) -> Index:
    """An index of the records in `results` whose kind and id can be read."""
    index = Index()
    for result in results:
        doc = result.doc
        if doc is None or doc.get("kind") not in KINDS:
            continue
        rid = "vocabulary" if doc["kind"] == "vocabulary" else doc.get("id")
        if isinstance(rid, str):
            index.add(Record(doc["kind"], rid, result.relpath, doc, result.refs))
    return index


def _load_all(
    root: Path, overlay: Mapping[str, bytes | None] | None, use_cache: bool
) -> tuple[list[FileResult], Texts]:
    schemas = Schemas(root)
    fingerprint = (
        f"{__version__}:{CACHE_FORMAT}:{schemas.fingerprint}:{MAX_FILE_BYTES}:{MAX_EXPANDED_NODES}"
    )
    cache_path = cache.cache_dir(root) / CACHE_FILE
    cached = cache.load(cache_path, fingerprint) if use_cache else {}
    texts = Texts(root, overlay or {})
    results, fresh = [], {}
    for relpath, stat in texts.files().items():
        result, entry = _check_path(relpath, stat, texts, schemas, cached)
        results.append(result)
        fresh[relpath] = entry
    # Entries are keyed by path and checked by blob id (or a trusted stat), so content
    # from an overlay is as cacheable as content on disk.
    if use_cache and _changed(cached, fresh):
        cache.save(cache_path, fingerprint, fresh)
    return results, texts


class Texts:
    """The bytes of every knowledge file as the run sees them (overlay first, then disk),
    read at most once and only when needed."""

    def __init__(self, root: Path, overlay: Mapping[str, bytes | None]) -> None:
        self.root, self.overlay = root, overlay
        self._read: dict[str, bytes | None] = {}

    def files(self) -> dict[str, StatKey | None]:
        """Path -> stat key (None when only the content can tell: overlay or symlink)."""
        found = {p: s for p, s in scan(self.root).items() if p not in self.overlay}
        found.update({p: None for p, raw in self.overlay.items() if raw is not None})
        return dict(sorted(found.items()))

    def source(self, relpath: str) -> Source:
        if relpath in self.overlay:
            return Source(relpath, self.overlay[relpath])
        source = read_source(self.root, relpath)
        self._read[relpath] = source.raw
        return source

    def get(self, relpath: str) -> bytes | None:
        if relpath in self.overlay:
            return self.overlay[relpath]
        if relpath not in self._read:
            self._read[relpath] = read_source(self.root, relpath).raw
        return self._read[relpath]


def _check_path(
    relpath: str, stat: StatKey | None, texts: Texts, schemas: Schemas, cached: dict[str, Any]
) -> tuple[FileResult, tuple[Any, ...]]:
    """The file's result and cache entry; the file is not even read when its stat matches
    a trusted one in the cache."""
    hit = _cached_entry(cached, relpath)
    if hit is not None and stat is not None and hit[4] == list(stat):
        return FileResult.from_cache(relpath, hit), hit
    read_ns = time.time_ns()
    result, entry = _check_source(texts.source(relpath), schemas, cached)
    trusted = trusted_stat(stat, read_ns)
    return result, (*entry[:4], list(trusted) if trusted is not None else None)


def _cached_entry(cached: dict[str, Any], relpath: str) -> tuple[Any, ...] | None:
    """The cache entry of `relpath` if it has the shape CACHE_FORMAT describes, else None
    (a miss). The checksum only proves the file is what some writer wrote: a foreign or
    buggy writer must cost a rebuild, never a crash."""
    entry = cached.get(relpath)
    if not (isinstance(entry, tuple) and len(entry) == 5):
        return None
    blob, summary, refs, findings, stat = entry
    ok = (
        isinstance(blob, str)
        and (summary is None or (isinstance(summary, dict) and all(map(_is_str, summary))))
        and isinstance(refs, tuple)
        and all(map(_is_ref, refs))
        and isinstance(findings, tuple)
        and all(map(_is_finding, findings))
        and (stat is None or (isinstance(stat, list) and all(type(n) is int for n in stat)))
    )
    return entry if ok else None


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_ref(ref: object) -> bool:
    return (
        isinstance(ref, tuple)
        and len(ref) == 3
        and _is_str(ref[0])
        and _is_str(ref[1])
        and isinstance(ref[2], tuple)
        and all(isinstance(step, str | int) for step in ref[2])
    )


_SEVERITIES = frozenset(s.value for s in Severity)


def _is_finding(data: object) -> bool:
    return (
        isinstance(data, tuple)
        and len(data) == 7
        and all(map(_is_str, data[3:6]))
        and data[3] in _SEVERITIES
        and _is_str(data[0])
        and type(data[1]) is int
        and type(data[2]) is int
        and (data[6] is None or _is_str(data[6]))
    )


def _changed(cached: dict[str, Any], fresh: dict[str, tuple[Any, ...]]) -> bool:
    return cached.keys() != fresh.keys() or any(
        cached[path] is not entry and cached[path] != entry for path, entry in fresh.items()
    )


def _check_source(
    source: Source, schemas: Schemas, cached: dict[str, Any]
) -> tuple[FileResult, tuple[Any, ...]]:
    """The file's result and its cache entry: from the cache when the blob id matches."""
    if source.raw is None:
        result = FileResult(source.relpath, "", None, [source.problem] if source.problem else [])
        return result, result.to_cache()
    blob = cache.blob_id(source.raw)
    hit = _cached_entry(cached, source.relpath)
    if hit is not None and hit[0] == blob:
        return FileResult.from_cache(source.relpath, hit), hit[:4]
    doc, findings = check_file(source.relpath, source.raw, schemas)
    result = FileResult(source.relpath, blob, doc, findings, refs_in(doc))
    return result, result.to_cache()


def check_file(
    relpath: str, raw: bytes, schemas: Schemas
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Load one file and run every per-file rule: YAML, schema, place. Returns the document
    (None if it cannot be used) and the findings, located."""
    loaded = load_bytes(raw, relpath)
    if loaded.doc is None:
        return None, loaded.findings
    doc: dict[str, Any] = loaded.doc
    ctx = FileContext(relpath, location_of(relpath).kind, doc, loaded.text)
    issues = [issue for rule in FILE_RULES for issue in rule(ctx)]
    kind = doc.get("kind") if doc.get("kind") in KINDS else ctx.folder_kind
    kind_flagged = any(i.path == ("kind",) for i in issues)
    if kind is not None:
        issues += [
            Issue(relpath, i.path, i.code, i.message, hint=i.hint, at_key=i.at_key)
            for i in schemas.issues(kind, doc)
            if not (kind_flagged and i.path == ("kind",))
        ]
    return doc, loaded.findings + _resolve(issues, {relpath: raw})


def _resolve(issues: list[Issue], texts: Texts | Mapping[str, bytes | None]) -> list[Finding]:
    """Give each issue its line and column, parsing each affected file once."""
    locators: dict[str, Locator] = {}
    out = []
    for issue in issues:
        raw = texts.get(issue.relpath)
        line, col = 1, 1
        if raw is not None and issue.path:
            if issue.relpath not in locators:
                locators[issue.relpath] = Locator(raw.decode("utf-8", errors="replace"))
            line, col = locators[issue.relpath].find(issue.path, key=issue.at_key)
        out.append(
            Finding(issue.relpath, line, col, issue.severity, issue.code, issue.message, issue.hint)
        )
    return out
