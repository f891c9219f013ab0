"""`import_legacy`: turn the orchestrator's legacy JSON memory into records in kb/.

Mapping (see docs/import-legacy.md): success_patterns -> pattern, failure_patterns ->
failure, project_templates -> template, each pattern's project_examples -> outcome;
declared figures become weighted priors; learning_metrics / performance_metrics are
derived and not imported. Every defect is a finding at the legacy file's line and
column. Records with errors are still written (so `memkb validate` shows them where a
person fixes them) unless `strict`; existing records are never overwritten unless
`force`; a failed write removes what this run wrote. Names the vocabulary lacks are
added to it with `extend_vocabulary` (memkb.legacy.vocabulary), in the same write as
the records. Nothing is committed unless `commit`: then the records and the vocabulary
are one commit, made by the write transaction (memkb.write.transaction: lock, journal,
rollback of files and index if Git refuses the commit).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from memkb.errors import RepoError, UsageError
from memkb.findings import Finding, Severity, has_errors
from memkb.gitio.repo import GitRepo
from memkb.kb.index import Vocabulary
from memkb.kb.layout import FOLDERS, KB_DIR, VOCABULARY_FILE, record_relpath
from memkb.kb.refs import VOCABULARY_TARGETS, refs_of
from memkb.kb.snapshot import GitTree
from memkb.legacy.convert import Draft, convert_block
from memkb.legacy.entry import read_entry
from memkb.legacy.nested import read_nested
from memkb.legacy.sections import read_sections
from memkb.legacy.shapes import LegacyFile, Shape, classify
from memkb.legacy.source import (
    DATE_KEYS,
    LegacyPath,
    LegacySource,
    duplicate_keys,
    memory_date,
    valid_date,
)
from memkb.legacy.vocabulary import (
    Sorted,
    UnknownNames,
    extended_text,
    near_miss,
    sort_unknown,
)
from memkb.records.load import load_bytes
from memkb.records.render import render_record
from memkb.records.schema import Schemas
from memkb.rules.codes import CODES
from memkb.write.journal import read_file, write_file
from memkb.write.lock import write_lock
from memkb.write.transaction import Edit, Target, WriteOptions, write

__all__ = ["LEGACY_CODES", "ImportResult", "import_legacy"]

LEGACY_CODES: dict[str, str] = {code: text for code, text in CODES.items() if code >= "KB6"}
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,119}")


@dataclass
class ImportResult:
    """What an import did: record files added, updated (an existing record replaced, with
    `force`), unchanged (already exactly as imported), skipped (not written); the names
    added to the vocabulary; every finding; the commit, if one was made. On a dry run,
    `added` and `updated` are what would be written, and `contents` their text."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    dry_run: bool = False
    contents: dict[str, str] = field(default_factory=dict)
    # Vocabulary names: those added (target -> names), and, without extend_vocabulary,
    # how many distinct names were unknown (near misses of existing names included).
    vocabulary_added: dict[str, list[str]] = field(default_factory=dict)
    unknown_names: int = 0
    near_misses: int = 0
    invalid_names: int = 0
    extend_vocabulary: bool = False
    commit: str | None = None
    # Why nothing was committed although `commit` was asked (errors, nothing to commit).
    not_committed: str | None = None
    # With `commit`: unchanged records an earlier import wrote but nobody committed yet;
    # they go into the commit (review, then --commit, is the documented way).
    uncommitted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    @property
    def written(self) -> list[str]:
        """Record files written (or, on a dry run, to be written): added and updated."""
        return sorted(self.added + self.updated)

    @property
    def files(self) -> dict[str, str]:
        """Every file this import writes, records and vocabulary, path -> text."""
        paths = self.written + ([VOCABULARY_FILE] if self.vocabulary_added else [])
        return {path: self.contents[path] for path in paths}


Reader = Callable[["Importer", int, Any, LegacyFile], list[Draft]]
# How each shape's documents become drafts (the seed's: memkb.legacy.convert).
READERS: Mapping[Shape, Reader] = {
    Shape.SECTIONS: read_sections,
    Shape.NESTED: read_nested,
    Shape.ENTRY: read_entry,
}


class Importer:
    """One run: the legacy files, the repository's vocabulary and ids, the findings.

    A legacy place (LegacyPath) starts with a block number counted over all the files of
    the run, so that a draft's place says which file it came from too."""

    def __init__(self, root: Path, files: Sequence[LegacyFile], today: date) -> None:
        self.root, self.files, self.today = root, list(files), today
        self.findings: list[Finding] = [f for file in files for f in file.source.findings]
        self.vocabulary = _vocabulary(root)
        # (file, its own block index) of each run-wide block number.
        self.blocks: list[tuple[LegacySource, int]] = [
            (file.source, block.index) for file in files for block in file.source.blocks
        ]
        self.memory_date = today.isoformat()
        # An undated memory is dated by the import (see _same_but_import_date).
        self.dated = all(memory_date(file.source) is not None for file in files)
        self.unknown = UnknownNames()

    def report(
        self,
        code: str,
        message: str,
        where: LegacyPath,
        *,
        key: bool = False,
        severity: Severity = Severity.ERROR,
        hint: str | None = None,
    ) -> None:
        """Add a finding at the legacy place `where` (its key with `key`)."""
        source, block = self.blocks[int(where[0])]
        line, col = source.position((block, *where[1:]), key=key)
        self.findings.append(Finding(source.path, line, col, severity, code, message, hint))

    def file_of(self, where: LegacyPath) -> str:
        """The name of the legacy file a place of this run is in."""
        return Path(self.blocks[int(where[0])][0].path).name

    def sources(self) -> list[str]:
        """The names of the run's legacy files, each once, in the order read."""
        return list(dict.fromkeys(Path(file.source.path).name for file in self.files))

    def record_date(self, entry: dict[str, Any]) -> str:
        """The date of a legacy entry: its own last_updated, else the memory's, else today."""
        for name in DATE_KEYS:
            value = entry.get(name)
            if isinstance(value, str) and valid_date(value[:10]):
                return value[:10]
        return self.memory_date

    def drafts(self) -> list[Draft]:
        """Every record the legacy memory converts to, defects reported on the way."""
        out: list[Draft] = []
        first = 0
        for file in self.files:
            self.findings.extend(duplicate_keys(file.source))
            # An entry without its own date takes its file's (the priors' source date).
            self.memory_date = memory_date(file.source) or self.today.isoformat()
            for block in file.source.blocks:
                if block.data is None:
                    continue
                if file.shape is Shape.SEED:
                    out.extend(convert_block(self, first + block.index, block.data))
                else:
                    out.extend(READERS[file.shape](self, first + block.index, block.data, file))
            first += len(file.source.blocks)
        return out


def import_legacy(
    root: Path,
    source: Path | Sequence[Path],
    *,
    shape: Shape | None = None,
    force: bool = False,
    strict: bool = False,
    dry_run: bool = False,
    today: date | None = None,
    display: str | None = None,
    extend_vocabulary: bool = False,
    commit: bool = False,
    agent: str | None = None,
) -> ImportResult:
    """Import the legacy memory `source` (a file, a folder, or several) into the KB at
    `root`; returns what was done. Each file's shape is detected unless `shape` forces
    one (memkb.legacy.shapes); a file that cannot be read or classified is a KB601 error.

    With `extend_vocabulary`, droids, domains and phases the vocabulary lacks are added
    to kb/vocabulary.yaml (near misses of existing names stay KB604 errors). With
    `commit`, the files of the import (records and vocabulary) become one commit with
    Memory-* trailers, `agent` naming the writer, and only if the import has no error
    (else nothing is written; `not_committed` says why).

    Raises UnreadableLegacy (exit 2) if no file given can be read and classified;
    UsageError if `commit` and `dry_run` are both asked;
    RepoError if `root` has no kb/ or schemas/, if a write fails (after removing
    every file this run wrote), or if Git refuses the commit (files, index and branch
    are then as they were); RecordError if the committed KB would not validate.
    """
    if commit and dry_run:
        raise UsageError("--commit and --dry-run exclude each other", hint="drop one of them")
    if not (root / KB_DIR).is_dir():
        raise RepoError(f"{root} has no {KB_DIR}/ folder", hint="pass the repository root")
    paths = [source] if isinstance(source, Path) else list(source)
    files, refused = classify(paths, shape, display)
    run = Importer(root, files, today or date.today())
    run.findings.extend(refused)
    drafts = _unique(run, run.drafts())
    schemas = Schemas(root)
    schemas.require_usable()
    known = _known_ids(root, drafts)
    for draft in drafts:
        _strip_at(run, draft)
        _check_refs(run, draft, known)
        _check_schema(run, draft, schemas)
    additions, fates = _settle_unknown(run, schemas, extend_vocabulary)
    if commit:
        result = _commit_import(run, drafts, additions, force, agent)
    else:
        result = _write_import(run, drafts, additions, force, strict, dry_run)
    result.extend_vocabulary = extend_vocabulary
    result.unknown_names = len(run.unknown) - sum(map(len, additions.values()))
    result.near_misses, result.invalid_names = len(fates.typos), len(fates.invalid)
    result.findings = sorted(
        set(run.findings), key=lambda f: (f.path, f.line, f.col, f.code, f.message)
    )
    return result


def _write_import(
    run: Importer,
    drafts: list[Draft],
    additions: dict[str, dict[str, str]],
    force: bool,
    strict: bool,
    dry_run: bool,
) -> ImportResult:
    """Plan and write the files of the import, nothing committed."""
    # Plan and write under the clone's write lock, so that no other memkb write
    # changes kb/ between deciding what to write and writing it.
    with nullcontext() if dry_run else _lock(run.root):
        result, previous = _plan(run, drafts, additions, force)
        result.dry_run = dry_run
        if strict and not dry_run and has_errors(run.findings):
            _write_nothing(result)
        elif not dry_run:
            _write_all(run.root, result.files, previous)
    return result


def _write_nothing(result: ImportResult) -> None:
    """Turn a plan into one that writes nothing: every file it would write is skipped."""
    result.skipped = sorted(result.skipped + result.written)
    result.added, result.updated, result.vocabulary_added = [], [], {}


class _NoCommit(Exception):
    """Raised inside the write transaction's plan to leave before anything is written."""

    def __init__(self, result: ImportResult, why: str) -> None:
        super().__init__(why)
        self.result, self.why = result, why


def _commit_import(
    run: Importer,
    drafts: list[Draft],
    additions: dict[str, dict[str, str]],
    force: bool,
    agent: str | None,
) -> ImportResult:
    """Write and commit the import through the write transaction (its lock, journal,
    validation and rollback); nothing at all if the import has an error."""
    planned: list[ImportResult] = []

    def plan(target: Target) -> Edit:
        del target  # the import plans against the work tree, which is the target
        result, _ = _plan(run, drafts, additions, force)
        planned.append(result)
        if has_errors(run.findings):
            _write_nothing(result)
            raise _NoCommit(result, "errors above")
        result.uncommitted = _not_at_head(run.root, result.unchanged)
        if not result.files and not result.uncommitted:
            raise _NoCommit(result, "nothing to commit")
        return _import_edit(run, result)

    try:
        done = write(run.root, plan, WriteOptions(agent=agent))
    except _NoCommit as stop:
        stop.result.not_committed = stop.why
        return stop.result
    result = planned[-1]
    result.commit, result.notes = done.commit, done.notes
    run.findings.extend(done.findings)
    return result


def _not_at_head(root: Path, relpaths: list[str]) -> list[str]:
    """The files among `relpaths` whose work-tree bytes are not what HEAD holds (an
    earlier import wrote them and they were never committed)."""
    head = GitTree(root, "HEAD")
    try:
        return [p for p in relpaths if head.read(p) != (root / p).read_bytes()]
    except RepoError:  # no commit yet: nothing is at HEAD
        return list(relpaths)


def _import_edit(run: Importer, result: ImportResult) -> Edit:
    """The commit of an import: its files, a body counting them, the source as trailer."""
    sources = run.sources()
    names = sum(len(v) for v in result.vocabulary_added.values())
    detail = (
        f"Records: {len(result.added)} added, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged ({len(result.uncommitted)} of them written by "
        f"an earlier import and committed now). Names added to {VOCABULARY_FILE}: {names}."
    )
    files = {path: text.encode("utf-8") for path, text in result.files.items()}
    files.update({path: (run.root / path).read_bytes() for path in result.uncommitted})
    trailers = tuple(("Memory-Source", source) for source in sources)
    return Edit("import", ", ".join(sources), "import", files, detail, trailers=trailers)


def _lock(root: Path) -> AbstractContextManager[None]:
    """The memkb write lock of the clone (.git/memkb/write.lock); none outside Git."""
    try:
        repo = GitRepo(root)
    except RepoError:
        return nullcontext()
    return write_lock(repo.memkb_dir / "write.lock")


def _vocabulary(root: Path) -> Vocabulary | None:
    path = root / VOCABULARY_FILE
    if not path.exists():
        return None
    loaded = load_bytes(path.read_bytes(), VOCABULARY_FILE)
    if loaded.doc is None:
        raise RepoError(
            f"{VOCABULARY_FILE} cannot be loaded, so names cannot be checked",
            hint="run `memkb validate` and fix the vocabulary first",
        )
    return Vocabulary.from_doc(loaded.doc)


def _unique(run: Importer, drafts: list[Draft]) -> list[Draft]:
    """First record of each (kind, id); outcomes of one project cited by several patterns
    are merged; any other repeat is KB610 and not imported."""
    kept: dict[tuple[str, str], Draft] = {}
    for draft in drafts:
        first = kept.get((draft.kind, draft.id))
        if first is None:
            kept[(draft.kind, draft.id)] = draft
        elif not (draft.kind == "outcome" and _merge_outcome(first, draft)):
            run.report(
                "KB610",
                f"{draft.kind} id '{draft.id}' is already used by an earlier "
                "entry; this one is not imported",
                draft.fields.get(("id",), (draft.origin, True))[0],
                key=True,
                hint="give the entry its own id, or remove the repeat",
            )
    return list(kept.values())


def _merge_outcome(first: Draft, other: Draft) -> bool:
    """Fold `other` into `first` if both describe the same finished project."""
    same = ("project", "date", "outcome")
    if any(first.doc.get(k) != other.doc.get(k) for k in same):
        return False
    lists = ("patterns_applied", "droids_used", "domains")
    if not all(isinstance(d.doc.get(n, []), list) for d in (first, other) for n in lists):
        return False  # malformed lists: keep both visible (KB610) rather than guess
    for name in lists:
        merged = list(first.doc.get(name, []))
        merged += [v for v in other.doc.get(name, []) if v not in merged]
        if merged:
            first.doc[name] = merged
    return True


def _known_ids(root: Path, drafts: list[Draft]) -> dict[str, set[str]]:
    """Ids of records per kind: those already in kb/ and those being imported."""
    known: dict[str, set[str]] = {}
    for kind in ("pattern", "failure", "template"):
        folder = root / KB_DIR / FOLDERS[kind]
        names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
        known[kind] = {n.removesuffix(".yaml") for n in names if n.endswith(".yaml")}
    for draft in drafts:
        known.setdefault(draft.kind, set()).add(draft.id)
    return known


def _strip_at(run: Importer, draft: Draft) -> None:
    """KB608: legacy memory wrote droids as '@name'; the vocabulary names them 'name'."""
    for ref in refs_of(draft.kind, draft.doc):
        if ref.target == "droid" and ref.value.startswith("@"):
            _set(draft.doc, ref.path, ref.value[1:])
            where, _ = draft.legacy(ref.path)
            run.report(
                "KB608",
                f"droid '{ref.value}' imported as '{ref.value[1:]}'",
                where,
                severity=Severity.WARNING,
            )


def _set(doc: Any, path: tuple[str | int, ...], value: Any) -> None:
    for step in path[:-1]:
        doc = doc[step]
    doc[path[-1]] = value


def _check_refs(run: Importer, draft: Draft, known: dict[str, set[str]]) -> None:
    """KB604/KB609: every droid, domain, phase and record named exists. Unknown
    vocabulary names are collected in `run.unknown` and reported by `_settle_unknown`."""
    vocab = run.vocabulary
    for ref in refs_of(draft.kind, draft.doc):
        if ref.target in VOCABULARY_TARGETS:
            if vocab is None or ref.value in vocab.names[ref.target]:
                continue
            alias = vocab.aliases[ref.target].get(ref.value)
            if alias is None:
                run.unknown.add(ref.target, ref.value, draft.legacy(ref.path)[0])
                continue
        elif ref.value in known.get(ref.target, set()):
            continue
        else:
            alias = None
        where, _ = draft.legacy(ref.path)
        if alias is not None:
            run.report(
                "KB609",
                f"'{ref.value}' is an alias of {ref.target} '{alias}'",
                where,
                severity=Severity.WARNING,
                hint=f"write '{alias}'",
            )
            continue
        close = near_miss(ref.value, known.get(ref.target, set()))
        guess = f" (did you mean '{close}'?)" if close else ""
        run.report(
            "KB604",
            f"unknown {ref.target} '{ref.value}'{guess}",
            where,
            hint=f"fix the name, or declare it in kb/{ref.target}s/",
        )


def _settle_unknown(
    run: Importer, schemas: Schemas, extend: bool
) -> tuple[dict[str, dict[str, str]], Sorted]:
    """Report every unknown vocabulary name at each place using it (KB604), except, with
    `extend`, the names to add (KB612, once, where first used). Returns the names to add
    (target -> name -> description) and the fate of every unknown name."""
    if run.vocabulary is None or not run.unknown.uses:
        return {}, Sorted()
    fates = sort_unknown(run.unknown, run.vocabulary.names, schemas.document("vocabulary"))
    additions: dict[str, dict[str, str]] = {}
    for target, name in fates.new if extend else ():
        uses = run.unknown.uses[(target, name)]
        additions.setdefault(target, {})[name] = (
            f"imported from {run.file_of(uses[0])} on {run.today.isoformat()}"
        )
        run.report(
            "KB612",
            f"{target} '{name}' added to {VOCABULARY_FILE} (used {len(uses)} "
            f"time{'s' * (len(uses) != 1)}, first here)",
            uses[0],
            severity=Severity.WARNING,
            hint=f"review its description in {VOCABULARY_FILE}",
        )
    for (target, name), uses in run.unknown.uses.items():
        if name in additions.get(target, {}):
            continue
        message, hint = _unknown_name(target, name, fates.typos.get((target, name)), extend)
        if (target, name) in fates.invalid:
            hint = f"'{name}' cannot be a {target} name ({_NAME_STYLE[target]}); rename it"
        for where in uses:
            run.report("KB604", message, where, hint=hint)
    return additions, fates


_NAME_STYLE = {"droid": "kebab-case", "domain": "kebab-case", "phase": "snake_case"}


def _unknown_name(target: str, name: str, meant: str | None, extend: bool) -> tuple[str, str]:
    """The KB604 message and hint for an unknown vocabulary name."""
    guess = f" (did you mean '{meant}'?)" if meant else ""
    if meant and extend:
        hint = "fix the name: --extend-vocabulary never adds a near miss of an existing name"
    else:
        hint = f"fix the name, or declare it in {VOCABULARY_FILE}"
    return f"unknown {target} '{name}'{guess}", hint


def _check_schema(run: Importer, draft: Draft, schemas: Schemas) -> None:
    """KB605: the converted record against its kind's schema, mapped back to the legacy."""
    for issue in schemas.issues(draft.kind, draft.doc):
        where, at_key = draft.legacy(issue.path)
        run.report(
            "KB605",
            f"{draft.kind} '{draft.id}': {issue.message}",
            where,
            key=at_key or issue.at_key,
            hint=issue.hint,
        )


def _plan(
    run: Importer, drafts: list[Draft], additions: dict[str, dict[str, str]], force: bool
) -> tuple[ImportResult, dict[str, bytes | None]]:
    """Render every record and decide, per file, whether to add, update, skip or leave
    it; render the vocabulary grown by `additions`. Also returns the current bytes of
    every file to write (None: new), for rollback."""
    result = ImportResult()
    previous: dict[str, bytes | None] = {}
    if additions:
        _plan_vocabulary(run, additions, result, previous)
    for draft in sorted(drafts, key=lambda d: (d.kind, d.id)):
        if not _SAFE_ID.fullmatch(draft.id) or ".." in draft.id:
            run.report(
                "KB605",
                f"{draft.kind} id '{draft.id}' cannot be a file name; not imported",
                draft.fields.get(("id",), (draft.origin, True))[0],
                key=True,
                hint="use a snake_case id",
            )
            continue
        relpath = record_relpath(draft.kind, draft.id)
        try:
            text = render_record(draft.kind, draft.doc, relpath)
        except ValueError as exc:
            run.report(
                "KB605", f"{draft.kind} '{draft.id}': {exc}; not imported", draft.origin, key=True
            )
            continue
        result.contents[relpath] = text
        try:
            existing = read_file(run.root / relpath)
        except OSError as exc:
            result.skipped.append(relpath)
            run.report(
                "KB606",
                f"{relpath} exists but cannot be read ({exc.strerror}); not overwritten",
                draft.origin,
                key=True,
            )
            continue
        if existing == text.encode("utf-8") or _same_but_import_date(run, existing, text):
            result.unchanged.append(relpath)
        elif existing is not None and not force:
            result.skipped.append(relpath)
            run.report(
                "KB606",
                f"{relpath} already exists and differs; not overwritten",
                draft.origin,
                key=True,
                hint="pass --force to replace it, or edit it",
            )
        else:
            (result.added if existing is None else result.updated).append(relpath)
            previous[relpath] = existing
    return result, previous


_PRIOR_DATE = re.compile(r"(source: legacy memory, )\d{4}-\d{2}-\d{2}$", re.MULTILINE)


def _same_but_import_date(run: Importer, existing: bytes | None, text: str) -> bool:
    """True if `existing` is `text` but for the date of a prior that the memory does not
    state (the import date stands in for it): re-importing an undated memory a day later
    is not a change of the record."""
    today = run.today.isoformat()
    if existing is None or run.dated or f"source: legacy memory, {today}" not in text:
        return False
    old = existing.decode("utf-8", errors="replace")
    return _PRIOR_DATE.sub(r"\1DATE", old) == _PRIOR_DATE.sub(r"\1DATE", text)


def _plan_vocabulary(
    run: Importer,
    additions: dict[str, dict[str, str]],
    result: ImportResult,
    previous: dict[str, bytes | None],
) -> None:
    """The vocabulary with `additions`, read now (under the write lock) so that an edit
    made since the import started is kept."""
    raw = read_file(run.root / VOCABULARY_FILE)
    if raw is None:
        raise RepoError(
            f"{VOCABULARY_FILE} was removed during the import; nothing was written",
            hint="restore it and run again",
        )
    result.contents[VOCABULARY_FILE] = extended_text(raw, additions).decode("utf-8")
    result.vocabulary_added = {
        t: sorted(additions[t]) for t in VOCABULARY_TARGETS if t in additions
    }
    previous[VOCABULARY_FILE] = raw


def _write_all(root: Path, files: dict[str, str], previous: dict[str, bytes | None]) -> None:
    """Write every file atomically; if one fails, undo every write of this run and raise
    RepoError (so a failed import leaves kb/ exactly as it was). `previous` holds each
    file's bytes before the run (None: the file is new)."""
    done: list[tuple[Path, bytes | None]] = []
    made: list[Path] = []
    seen_dirs: set[Path] = set()
    relpath = ""
    try:
        for relpath, text in files.items():
            path = root / relpath
            if path.parent not in seen_dirs:  # one stat per folder, not per file
                made.extend(_make_dirs(root, path.parent))
                seen_dirs.add(path.parent)
            # A new file is not synced one by one (a minute of fsyncs for 10,000
            # records): one os.sync below makes them durable. A file that replaces one
            # is synced before its rename, so a crash never leaves it empty.
            before = previous.get(relpath)
            write_file(path, text.encode("utf-8"), sync=before is not None)
            done.append((path, before))
        if any(before is None for _, before in done):
            os.sync()
    except OSError as exc:
        _undo(done, made)
        raise RepoError(
            f"cannot write {relpath}: {exc.strerror or exc}; the import was rolled "
            "back and nothing was changed",
            hint="check that kb/ and its folders are writable directories",
        ) from exc


def _make_dirs(root: Path, folder: Path) -> list[Path]:
    """Create `folder` and missing parents; return the ones created, outermost first."""
    missing = []
    while not folder.exists() and folder != root:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
    return list(reversed(missing))


def _undo(done: list[tuple[Path, bytes | None]], made: list[Path]) -> None:
    for path, previous in reversed(done):
        write_file(path, previous)
    for folder in reversed(made):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
