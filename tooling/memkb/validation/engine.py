"""The validation engine: load every knowledge file (cached by blob id), run per-file rules,
build the index, run collection rules, and return findings with lines and columns.

Usage from Python::

    result = validate_repo(Path("."))
    for finding in result.findings: ...
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memkb import cachefile as cache
from memkb.findings import Finding, Severity, has_errors, is_finding_tuple
from memkb.kb.discover import (
    Source,
    StatKey,
    normalize_paths,
    trusted_stat,
)
from memkb.kb.index import Index, Record
from memkb.kb.layout import (
    FOLDERS,
    KB_DIR,
    KINDS,
    VOCABULARY_FILE,
    location_of,
    record_relpath,
)
from memkb.kb.refs import RefTuple, ref_tuples
from memkb.kb.snapshot import Overlay, Snapshot, WorkTree
from memkb.rules import COLLECTION_RULES, FILE_RULES, Issue
from memkb.rules.base import FileContext, RunContext
from memkb.rules.perfile import file_name
from memkb.rules.selection import Selection
from memkb.validation import seal, warm

# The YAML loader, the schemas and the locator (PyYAML) are imported where a file is
# judged: a warm run answered by the seal (memkb.validation.warm) needs none of them.
if TYPE_CHECKING:
    from memkb.records.schema import Schemas

CACHE_FILE = "validate.cache"
ADVICE_CACHE_FILE = "expectations.cache"  # KB701 issues, keyed by every file's blob id
# entry: (blob id, summary, refs, findings, trusted stat or None); 4: failures' phases and
# the guards of patterns and templates became references, so cached refs are stale.
CACHE_FORMAT = 4


# The fields collection rules read. Only these are cached, so a warm run loads a
# small summary per file instead of every document.
SUMMARY_KEYS = ("kind", "id", "status", "superseded_by", "date")


@dataclass
class FileResult:
    """What one file yields, independent of every other file (so it can be cached).
    `doc` is the whole document (validate_changes, index_of), or only its SUMMARY_KEYS
    when it came from the cache or from a bulk check (check_files keeps no more)."""

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
    return ref_tuples(kind, doc)


def summarize(doc: dict[str, Any]) -> dict[str, Any]:
    """The part of a document the collection rules need (all of the vocabulary)."""
    if doc.get("kind") == "vocabulary":
        return doc
    return {key: doc[key] for key in SUMMARY_KEYS if key in doc}


@dataclass
class ValidationResult:
    """Findings of a run, sorted by place, and the numbers behind the summary line.
    `index` holds the records judged; a run answered by the sealed answer (nothing
    changed) builds it on first use, from the per-file cache."""

    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    records: int = 0
    built_index: Index | None = field(default=None, repr=False)
    index_loader: Callable[[], Index] | None = field(default=None, repr=False, compare=False)

    @property
    def index(self) -> Index:
        if self.built_index is None:
            self.built_index = self.index_loader() if self.index_loader else Index()
        return self.built_index

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
    selection: Selection | None = None,
) -> ValidationResult:
    """Validate the KB at `root` (with `overlay` applied: relpath -> new bytes, None = deleted).

    With `paths`, findings are limited to those files (given relative to `cwd`, default
    the root), whole-KB ones too, as the README promises: the whole KB is still loaded, so
    a selected file's references and ids are judged against every record. `selection`
    drops ignored codes (see
    memkb.rules.selection.load_selection; none by default). Raises UsageError for a bad
    path and RepoError for missing schemas."""
    wanted = _wanted(root, paths, overlay or {}, cwd or root) if paths else None
    snapshot: Snapshot = WorkTree(root)
    if overlay:
        snapshot = Overlay(snapshot, overlay)
    return validate(snapshot, only=wanted, use_cache=use_cache, today=today, selection=selection)


def validate(
    snapshot: Snapshot,
    *,
    only: set[str] | None = None,
    use_cache: bool = True,
    today: date | None = None,
    selection: Selection | None = None,
    probe: warm.Probe | None = None,
) -> ValidationResult:
    """Validate the KB as `snapshot` holds it: every file, then every cross-file rule.

    With `only` (root-relative paths), findings are limited to those files (cross-file
    ones too), judged against the whole KB; `selection` drops ignored codes. `probe` is
    the work tree's check against its sealed answer when the caller already made it
    (`memkb validate` does, before importing this module). Raises RepoError for missing
    schemas."""
    today = today or date.today()
    # Only the work tree has stat keys to prove that nothing changed (memkb.validation.warm).
    if use_cache and type(snapshot) is WorkTree:
        probe = probe or warm.probe(snapshot.root, today)
    else:
        probe = None
    answer = probe.answer if probe is not None else None
    if answer is not None:
        result = _result(answer, only, loader=lambda: build_index(_load_all(snapshot, True)[0]))
    else:
        from memkb.records.schema import Schemas

        files = probe.sorted_files() if probe is not None else snapshot.files()
        results, trusted = _load_all(snapshot, use_cache, files)
        index = build_index(results)
        advice = _expectations(snapshot, results, index, use_cache)
        schemas = Schemas(snapshot.root, read=snapshot.read)
        answer = _judge(results, index, snapshot, today, schemas, advice=advice)
        if probe is not None and probe.key is not None and trusted:
            warm.save_answer(snapshot.root, probe.key, answer)
        result = _result(answer, only, index=index)
    if selection is not None:  # after the cache: ignoring a code never invalidates it
        result.findings = selection.apply(result.findings)
    return result


def _result(
    answer: warm.Answer,
    only: Collection[str] | None,
    *,
    index: Index | None = None,
    loader: Callable[[], Index] | None = None,
) -> ValidationResult:
    """The result of a run over `only` (None: every file), with the index built or the
    function that builds it."""
    return ValidationResult(answer.findings(only), answer.files, answer.records, index, loader)


def _expectations(
    snapshot: Snapshot, results: list[FileResult], index: Index, use_cache: bool
) -> list[Issue]:
    """KB701 issues of every expectation in the KB. The advice needs whole records (the
    index of a warm run holds summaries), so it is computed from a full read of the
    snapshot, and cached by the blob id of every file: a warm run with no change reads
    nothing. A KB without expectations pays nothing, not even the import."""
    if not any(True for _ in index.of_kind("expectation")):
        return []
    from memkb.advice.answers import code_fingerprint
    from memkb.advice.expectations import expectation_issues

    # The answer changes with the ranking code (advice and the formulas) as well as with
    # the records: the same fingerprint recommend's own answer cache uses.
    digest = hashlib.sha256(code_fingerprint().encode())
    for result in results:
        digest.update(f"{result.relpath}\0{result.blob}\0".encode())
    key = digest.hexdigest()
    path = cache.cache_dir(snapshot.root) / ADVICE_CACHE_FILE
    cached = cache.load(path, key) if use_cache else {}
    stored = cached.get("issues")
    if isinstance(stored, list) and all(_is_issue_tuple(i) for i in stored):
        return [Issue(p, tuple(d), c, m, hint=h) for p, d, c, m, h in stored]
    issues = list(expectation_issues(index_of(snapshot)))
    if use_cache:
        rows = [(i.relpath, list(i.path), i.code, i.message, i.hint) for i in issues]
        cache.save(path, key, {"issues": rows})
    return issues


def _is_issue_tuple(row: object) -> bool:
    return (
        isinstance(row, tuple | list)
        and len(row) == 5
        and all(isinstance(v, str) for v in (row[0], row[2], row[3]))
        and isinstance(row[1], list)
        and all(isinstance(v, str | int) for v in row[1])
        and (row[4] is None or isinstance(row[4], str))
    )


def _judge(
    results: list[FileResult],
    index: Index,
    snapshot: Snapshot,
    today: date | None,
    schemas: Schemas,
    *,
    cross_file: Collection[str] | None = None,
    advice: list[Issue] | None = None,
) -> warm.Answer:
    """Run the collection rules over `index` and gather every finding: the per-file ones of
    `results`, the collection ones of `cross_file` only (None: all, located) and those
    about the schema files themselves (whose records went unjudged). `advice` holds the
    broken expectations (KB701), judged on the whole KB."""
    from memkb.rules.locate import locate

    ctx = RunContext(today or date.today())
    found = [issue for rule in COLLECTION_RULES for issue in rule(index, ctx)]
    found += advice or []
    issues = [i for i in found if cross_file is None or i.relpath in cross_file]
    return warm.Answer(
        {r.relpath: tuple(r.findings) for r in results},
        tuple(locate(issues, snapshot.read)),
        tuple(schemas.findings()),
        len(results),
        sum(r.doc is not None for r in results),
    )


def _wanted(
    root: Path, paths: Sequence[str], overlay: Mapping[str, bytes | None], cwd: Path
) -> set[str]:
    """Root-relative paths to report on; a path of the overlay need not exist on disk."""
    on_disk = [p for p in paths if p not in overlay]
    return normalize_paths(root, on_disk, cwd) | {p for p in paths if p in overlay}


def validate_changes(
    base: Snapshot,
    overlay: Mapping[str, bytes | None],
    *,
    today: date | None = None,
) -> ValidationResult:
    """Validate a write before it happens, in time that does not grow with the KB.

    Returns the findings of the files in `overlay` only. References are resolved through
    the layout invariant (a record of kind K and id I lives at record_relpath(K, I), which
    validate enforces), so only the vocabulary, the referenced records and the kind
    folders' listings are read, from `base` (the snapshot the write lands on). A deletion
    or a vocabulary change can break other records, so those fall back to validating the
    whole of `base` with the changes applied (findings then cover the whole KB)."""
    from memkb.records.schema import Schemas

    after = Overlay(base, overlay)
    if any(raw is None for raw in overlay.values()) or VOCABULARY_FILE in overlay:
        return validate(after, today=today)
    schemas = Schemas(base.root, read=base.read)
    written = [
        _fresh_result(relpath, raw, schemas) for relpath, raw in overlay.items() if raw is not None
    ]
    near = _neighbours(base, written)
    index = build_index([*near, *written])
    answer = _judge(written, index, after, today, schemas, cross_file=overlay)
    if _needs_every_id(answer, written):
        index = build_index([*near, *_id_stubs(base, written), *written])
        answer = _judge(written, index, after, today, schemas, cross_file=overlay)
    return _result(answer, None, index=index)


def _needs_every_id(answer: warm.Answer, written: list[FileResult]) -> bool:
    """Whether the ids of the records not read (`_id_stubs`) could change `answer`: only a
    reference that resolves to nothing (KB304, whose "did you mean" looks at every id), a
    shared id (KB303), or a written pattern, failure or template whose id is not its file
    name (another file may then hold that id) can. Listing and indexing every id costs
    about 20 ms on 10,000 records, for what nearly every write does not need."""
    if any(f.code in ("KB303", "KB304") for f in answer.collection):
        return True
    return any(
        isinstance(r.doc, dict)
        and r.doc.get("kind") in ("pattern", "failure", "template")
        and r.relpath.rsplit("/", 1)[-1] != f"{r.doc.get('id')}.yaml"
        for r in written
    )


def _fresh_result(relpath: str, raw: bytes, schemas: Schemas) -> FileResult:
    # The fast reader first: yaml-rs costs a writer less to import than PyYAML (~20 ms),
    # which a write whose files all pass the pre-filter then never loads.
    doc, findings = check_file(relpath, raw, schemas)
    return FileResult(relpath, cache.blob_id(raw), doc, findings, refs_in(doc))


def _referenced(written: list[FileResult]) -> set[str]:
    return {
        record_relpath(target, value)
        for r in written
        for target, value, _ in r.refs
        if target in FOLDERS and _is_plain_id(value)
    }


def _neighbours(view: Snapshot, written: list[FileResult]) -> list[FileResult]:
    """The records the written files are judged against: the vocabulary and every
    referenced record (whole)."""
    own = {r.relpath for r in written}
    from memkb.records.load import load_bytes

    out = []
    for relpath in sorted(_referenced(written) | {VOCABULARY_FILE}):
        raw = view.read(relpath) if relpath not in own else None
        if raw is not None:
            out.append(FileResult(relpath, "", load_bytes(raw, relpath).doc, []))
    return out


def _id_stubs(view: Snapshot, written: list[FileResult]) -> list[FileResult]:
    """A stub (kind and id) per other pattern, failure and template: the ids a "did you
    mean" chooses from, and a shared id is found among."""
    skip = {r.relpath for r in written} | _referenced(written)
    out = []
    for kind in ("pattern", "failure", "template"):
        out += [
            FileResult(rel, "", {"kind": kind, "id": name[:-5]}, [])
            for name in view.names(f"{KB_DIR}/{FOLDERS[kind]}")
            if name.endswith(".yaml") and (rel := f"{KB_DIR}/{FOLDERS[kind]}/{name}") not in skip
        ]
    return out


def _is_plain_id(value: str) -> bool:
    return value.replace("_", "").replace("-", "").isalnum()


def index_of(snapshot: Snapshot) -> Index:
    """Every loadable record of `snapshot` with its whole document (files that fail to
    parse are left out). Parses without schema checks; `validate` judges the KB."""
    from memkb.records.load import load_bytes

    files = list(snapshot.files())
    snapshot.prefetch(files)
    results = []
    for relpath in files:
        raw = snapshot.source(relpath).raw
        doc = load_bytes(raw, relpath).doc if raw is not None else None
        results.append(FileResult(relpath, "", doc, [], refs_in(doc)))
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
    snapshot: Snapshot, use_cache: bool, files: dict[str, StatKey | None] | None = None
) -> tuple[list[FileResult], bool]:
    """Every file's result (from the cache where it answers), and whether every file's stat
    was trusted (so an answer keyed by `files`, the stats scanned before any read, holds)."""
    from memkb.records.load import MAX_EXPANDED_NODES, MAX_FILE_BYTES
    from memkb.records.schema import Schemas

    schemas = Schemas(snapshot.root, read=snapshot.read)
    # The code signature, not only the version: an edited rule must not meet old results.
    fingerprint = (
        f"{seal.code_signature()}:{CACHE_FORMAT}:{schemas.fingerprint}:{MAX_FILE_BYTES}:"
        f"{MAX_EXPANDED_NODES}"
    )
    cache_path = cache.cache_dir(snapshot.root) / _cache_file(snapshot)
    cached = _well_formed(cache.load(cache_path, fingerprint)) if use_cache else {}
    files = snapshot.files() if files is None else files
    unknown = [p for p, stat in files.items() if not _known(p, stat, snapshot, cached)]
    read_ns = time.time_ns()  # before any read: a file changed later is never trusted
    snapshot.prefetch(unknown)
    sources = {relpath: snapshot.source(relpath) for relpath in unknown}
    checked = check_files(_to_check(sources, cached), schemas)
    results, fresh = [], {}
    for relpath, stat in files.items():
        result, entry = _check_path(relpath, stat, sources, checked, cached, read_ns)
        results.append(result)
        fresh[relpath] = entry
    # Entries are keyed by path and checked by blob id (or a trusted stat), so content
    # from an overlay is as cacheable as content on disk.
    if use_cache and _changed(cached, fresh):
        cache.save(cache_path, fingerprint, fresh)
    return results, all(entry[4] is not None for entry in fresh.values())


def _to_check(sources: Mapping[str, Source], cached: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The files whose content the cache does not know (by blob id): these are parsed."""
    out = []
    for relpath, source in sources.items():
        hit = cached.get(relpath)
        if source.raw is not None and (hit is None or hit[0] != cache.blob_id(source.raw)):
            out.append((relpath, source.raw))
    return out


# relpath -> (summary, findings, references): the references too, since finding them
# walks the whole document. Only the summary of the document (summarize) is kept, once
# the file is judged: the collection rules and the cache read no more, and holding (and
# pickling back from the worker) 10,000 whole documents made most of a cold run's peak
# memory (tooling/bench/README.md, "Issue 12: the fast engines, the cold run").
Checked = dict[str, tuple[dict[str, Any] | None, list[Finding], tuple[RefTuple, ...]]]
# Below this many files to parse, one process does it: forking a worker and sending the
# documents back is a fixed cost a small KB does not repay. The figure is a judgement,
# not a measured break-even (this shared machine was too busy to find one).
PARALLEL_MIN_FILES = 1500


def check_files(items: Sequence[tuple[str, bytes]], schemas: Schemas) -> Checked:
    """`check_file` of every (relpath, bytes), by relpath, with each document's summary:
    split between this process and a forked worker per other usable core when there are
    PARALLEL_MIN_FILES or more."""
    import threading

    workers = _usable_cores() - 1
    # fork() copies only the calling thread: in a threaded process (the MCP server, a
    # readahead) a lock held by another thread would stay held in the child forever.
    threaded = threading.active_count() > 1
    if workers < 1 or len(items) < PARALLEL_MIN_FILES or threaded:
        return _check_chunk(items, schemas)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if "fork" not in multiprocessing.get_all_start_methods():
        return _check_chunk(items, schemas)
    chunks = [list(items[i :: workers + 1]) for i in range(workers + 1)]
    global _FORKED_SCHEMAS
    _FORKED_SCHEMAS = _ready_to_fork(schemas)
    context = multiprocessing.get_context("fork")  # the worker inherits imports: no start-up
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(_check_chunk_in_worker, chunk) for chunk in chunks[1:]]
            checked = _check_chunk(chunks[0], schemas)
            for future in futures:
                checked.update(future.result())
    finally:
        _FORKED_SCHEMAS = None
    return checked


# The schemas a forked worker judges with: the parent's own object (a revision's or an
# overlay's schemas, which the worker could not read itself), set just before the fork.
_FORKED_SCHEMAS: Schemas | None = None


def _ready_to_fork(schemas: Schemas) -> Schemas:
    """`schemas` with every kind's validator compiled, and the YAML readers imported,
    before the fork: the worker inherits them and starts judging at once, instead of
    importing yaml-rs, PyYAML and RE2 and compiling the schemas again (about 0.15 s of
    CPU that each process paid)."""
    import memkb.records.readers  # noqa: F401 (for the worker to inherit)
    from memkb.records.load import fast_yaml

    fast_yaml()
    for kind in KINDS:
        schemas.fast_validator(kind)
    return schemas


def _usable_cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _check_chunk(items: Sequence[tuple[str, bytes]], schemas: Schemas) -> Checked:
    checked: Checked = {}
    for relpath, raw in items:
        doc, findings = check_file(relpath, raw, schemas)
        summary = summarize(doc) if doc is not None else None
        checked[relpath] = (summary, findings, refs_in(doc))
    return checked


def _check_chunk_in_worker(items: Sequence[tuple[str, bytes]]) -> Checked:
    """`_check_chunk` in a forked worker, with the schemas the parent prepared."""
    assert _FORKED_SCHEMAS is not None, "set by check_files before the fork"
    return _check_chunk(items, _FORKED_SCHEMAS)


def _cache_file(snapshot: Snapshot) -> str:
    return CACHE_FILE if snapshot.cache_tag == "worktree" else f"{CACHE_FILE}.{snapshot.cache_tag}"


def _known(relpath: str, stat: StatKey | None, snapshot: Snapshot, cached: dict[str, Any]) -> bool:
    """True when the cache answers for the file without reading it (by stat or blob id)."""
    hit = cached.get(relpath)
    if hit is None:
        return False
    return bool(stat is not None and hit[4] == list(stat)) or hit[0] == snapshot.blob(relpath)


def _check_path(
    relpath: str,
    stat: StatKey | None,
    sources: Mapping[str, Source],
    checked: Checked,
    cached: dict[str, Any],
    read_ns: int,
) -> tuple[FileResult, tuple[Any, ...]]:
    """The file's result and cache entry; the file was not even read (it is not in
    `sources`) when its stat matches a trusted one in the cache, or its blob id (known
    from a Git tree) the cached one."""
    source = sources.get(relpath)
    if source is None:
        hit = cached[relpath]
        return FileResult.from_cache(relpath, hit), hit
    result, entry = _check_source(source, checked, cached)
    trusted = trusted_stat(stat, read_ns)
    return result, (*entry[:4], list(trusted) if trusted is not None else None)


def _well_formed(cached: dict[str, Any]) -> dict[str, Any]:
    """The cache entries that have the shape CACHE_FORMAT describes; any other is a miss.
    Checked once, when the cache is loaded: the checksum only proves the file is what some
    writer wrote, and a foreign or buggy writer must cost a rebuild, never a crash."""
    return {path: entry for path, entry in cached.items() if _entry_ok(entry)}


def _entry_ok(entry: Any) -> bool:
    if not (isinstance(entry, tuple) and len(entry) == 5):
        return False
    blob, summary, refs, findings, stat = entry
    ok = (
        isinstance(blob, str)
        and (summary is None or (isinstance(summary, dict) and all(map(_is_str, summary))))
        and isinstance(refs, tuple)
        and all(map(_is_ref, refs))
        and isinstance(findings, tuple)
        and all(map(is_finding_tuple, findings))
        and (stat is None or (isinstance(stat, list) and all(type(n) is int for n in stat)))
    )
    return bool(ok)


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


def _changed(cached: dict[str, Any], fresh: dict[str, tuple[Any, ...]]) -> bool:
    return cached.keys() != fresh.keys() or any(
        cached[path] is not entry and cached[path] != entry for path, entry in fresh.items()
    )


def _check_source(
    source: Source, checked: Checked, cached: dict[str, Any]
) -> tuple[FileResult, tuple[Any, ...]]:
    """The file's result and its cache entry: from the cache when the blob id matches,
    else from `checked` (every file the cache did not know was checked there)."""
    if source.raw is None:
        result = FileResult(source.relpath, "", None, [source.problem] if source.problem else [])
        return result, result.to_cache()
    blob = cache.blob_id(source.raw)
    hit = cached.get(source.relpath)
    if hit is not None and hit[0] == blob:
        return FileResult.from_cache(source.relpath, hit), hit[:4]
    doc, findings, refs = checked[source.relpath]
    result = FileResult(source.relpath, blob, doc, findings, refs)
    return result, result.to_cache()


def check_file(
    relpath: str, raw: bytes, schemas: Schemas, *, fast: bool = True
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Load one file and run every per-file rule: YAML, schema, place. Returns the document
    (None if it cannot be used) and the findings, located. `fast=False` reads with the
    reference reader alone (memkb.records.load.load_bytes)."""
    from memkb.records.load import load_bytes
    from memkb.rules.locate import locate

    loaded = load_bytes(raw, relpath, fast=fast)
    if loaded.doc is None:
        named = FileContext(relpath, location_of(relpath).kind, {}, "")
        return None, loaded.findings + locate(list(file_name(named)), lambda _: None)
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
    return doc, loaded.findings + locate(issues, {relpath: raw}.get)
