"""The validation engine: load every knowledge file (cached by blob id), run per-file rules,
build the index, run collection rules, and return findings with lines and columns.

Usage from Python::

    result = validate_repo(Path("."))
    for finding in result.findings: ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from memkb import __version__, cache
from memkb.discover import Source, gather, normalize_paths
from memkb.findings import Finding, Severity, has_errors
from memkb.index import Index, Record
from memkb.layout import KINDS, location_of
from memkb.rules import COLLECTION_RULES, FILE_RULES, Issue
from memkb.rules.base import FileContext, RunContext
from memkb.schema import Schemas
from memkb.yamlio import MAX_EXPANDED_NODES, MAX_FILE_BYTES, Locator, load_bytes

CACHE_FILE = "validate.cache"


@dataclass
class FileResult:
    """What one file yields, independent of every other file (so it can be cached)."""

    relpath: str
    blob: str
    doc: dict[str, Any] | None
    findings: list[Finding]


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
    wanted = normalize_paths(root, list(paths), cwd or root) if paths else None
    results, sources = _load_all(root, overlay, use_cache)
    index = build_index(results)
    issues = [
        issue
        for rule in COLLECTION_RULES
        for issue in rule(index, RunContext(today or date.today()))
    ]
    texts = {s.relpath: s.raw for s in sources}
    findings = [f for r in results if wanted is None or r.relpath in wanted for f in r.findings]
    findings += _resolve(issues, texts)
    return ValidationResult(
        sorted(set(findings)), len(results), sum(r.doc is not None for r in results), index
    )


def load_index(
    root: Path, overlay: Mapping[str, bytes | None] | None = None, *, use_cache: bool = True
) -> Index:
    """Every loadable record of the KB (files that fail to parse are left out)."""
    results, _ = _load_all(root, overlay, use_cache)
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
            index.add(Record(doc["kind"], rid, result.relpath, doc))
    return index


def _load_all(
    root: Path, overlay: Mapping[str, bytes | None] | None, use_cache: bool
) -> tuple[list[FileResult], list[Source]]:
    schemas = Schemas(root)
    fingerprint = f"{__version__}:{schemas.fingerprint}:{MAX_FILE_BYTES}:{MAX_EXPANDED_NODES}"
    cache_path = cache.cache_dir(root) / CACHE_FILE
    cached = cache.load(cache_path, fingerprint) if use_cache else {}
    sources = gather(root, overlay)
    results, fresh = [], {}
    for source in sources:
        result = _check_source(source, schemas, cached)
        results.append(result)
        fresh[source.relpath] = (result.blob, result.doc, result.findings)
    if use_cache and not overlay and fresh != cached:
        cache.save(cache_path, fingerprint, fresh)
    return results, sources


def _check_source(source: Source, schemas: Schemas, cached: dict[str, Any]) -> FileResult:
    if source.raw is None:
        findings = [source.problem] if source.problem else []
        return FileResult(source.relpath, "", None, findings)
    blob = cache.blob_id(source.raw)
    hit = cached.get(source.relpath)
    if hit is not None and hit[0] == blob:
        return FileResult(source.relpath, blob, hit[1], hit[2])
    doc, findings = check_file(source.relpath, source.raw, schemas)
    return FileResult(source.relpath, blob, doc, findings)


def check_file(
    relpath: str, raw: bytes, schemas: Schemas
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Load one file and run every per-file rule: YAML, schema, place. Returns the document
    (None if it cannot be used) and the findings, located."""
    loaded = load_bytes(raw, relpath)
    if loaded.doc is None:
        return None, loaded.findings
    doc: dict[str, Any] = loaded.doc
    ctx = FileContext(relpath, location_of(relpath).kind, doc)
    issues = [issue for rule in FILE_RULES for issue in rule(ctx)]
    kind = doc.get("kind") if doc.get("kind") in KINDS else ctx.folder_kind
    if kind is not None:
        issues += [
            Issue(relpath, i.path, i.code, i.message, hint=i.hint, at_key=i.at_key)
            for i in schemas.issues(kind, doc)
        ]
    return doc, loaded.findings + _resolve(issues, {relpath: raw})


def _resolve(issues: list[Issue], texts: Mapping[str, bytes | None]) -> list[Finding]:
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
