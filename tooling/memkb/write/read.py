"""Reading memory: one record (`memkb show`) and lists of records (`memkb list`).

The read path of the authoring commands, kept apart from the write path so that reading
one file loads neither Git nor the transaction: `show` reads the record's file with the
safe loader, `list_records` answers from the listing index (memkb.kb.index.listed)
cached under .git/memkb/. The loader (YAML readers and their pre-filter) and the work
tree's scanner are imported when first used, so a listing the cache answers reads no YAML.

    from memkb.write.read import list_records, show
    record = show(root, "pattern", "ecommerce_security_first")
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memkb.errors import NotFoundError, RecordError, UsageError
from memkb.kb.index import Record, listed
from memkb.kb.layout import FOLDERS, KB_DIR, VOCABULARY_FILE, check_kind, record_relpath
from memkb.kb.refs import VOCABULARY_TARGETS
from memkb.limits import MAX_FILE_BYTES

if TYPE_CHECKING:
    from memkb.kb.index import Vocabulary
    from memkb.records.load import Loaded


def record_path(kind: str, rid: str) -> str:
    """The path of record `kind`/`rid`; UsageError for an unknown kind, or for an id that
    is not a plain file name (one holding '/' or starting with '.' would name a file
    outside the kind's folder, e.g. `rm failure ../patterns/x`; past 200 bytes, the
    name and its temp file's would pass the 255-byte limit of common file systems)."""
    check_kind(kind)
    _check_id_utf8(rid, kind)
    if not rid or "/" in rid or "\0" in rid or rid.startswith(".") or len(rid.encode()) > 200:
        raise UsageError(
            f"'{rid}' is not a record id",
            hint=f"give the file name of the record without .yaml (see `memkb list --kind {kind}`)",
        )
    return record_relpath(kind, rid)


def _check_id_utf8(rid: str, kind: str) -> None:
    """UsageError for an id that is not UTF-8: undecodable argv bytes arrive as lone
    surrogates, which no file name, message or Git call can carry."""
    try:
        rid.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"the {kind} id given is not UTF-8 text",
            hint=f"give the file name of the record without .yaml (see `memkb list --kind {kind}`)",
        ) from None


def not_found(kind: str, rid: str) -> NotFoundError:
    """The error for a record that does not exist, with the command that lists them."""
    return NotFoundError(
        f"no {kind} '{rid}' ({record_relpath(kind, rid)} does not exist)",
        hint=f"list them with `memkb list --kind {kind}`",
    )


def canonical_name(vocab: Vocabulary, target: str, value: str) -> str:
    """The canonical name of a droid, domain or phase named by an alias; any other value
    as given."""
    if target not in VOCABULARY_TARGETS or value in vocab.names[target]:
        return value
    return vocab.aliases[target].get(value, value)


def show(root: Path, kind: str, rid: str) -> Record:
    """The record `kind`/`rid`, read from its own file, or else the record of that kind
    whose `legacy.id` is `rid` (the id a legacy memory gave it, e.g.
    react-component-pattern); the caller tells which by comparing `rid` with the record's
    id. NotFoundError if there is neither, RecordError if it cannot be parsed, UsageError
    for an unknown kind, an id that is neither a file name nor a legacy id, or a legacy id
    that two records claim."""
    check_kind(kind)
    try:
        return _show_file(root, kind, rid)
    except UsageError:  # no such file, or not a file name: perhaps a legacy id
        found = by_legacy_id(root, kind, rid)
        if found is None:
            raise
        return found


def _show_file(root: Path, kind: str, rid: str) -> Record:
    relpath = record_path(kind, rid)
    try:
        with (root / relpath).open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # enough to refuse a larger one (KB105)
    except (FileNotFoundError, NotADirectoryError):
        raise not_found(kind, rid) from None
    loaded = _load(raw, relpath, fast=False)  # one file: the reference reader alone
    if loaded.doc is None:
        raise RecordError(f"{relpath} cannot be read", findings=list[object](loaded.findings))
    return Record(kind, rid, relpath, loaded.doc)


def by_legacy_id(root: Path, kind: str, legacy_id: str) -> Record | None:
    """The record of `kind` whose `legacy.id` is `legacy_id`, or None. The importer's own
    id for it (snake_case of the legacy id) is tried first, so the common case reads one
    file; otherwise every file of the kind's folder is read, and parsed only if its text
    holds the legacy id. UsageError if two records claim the same legacy id."""
    guess = _SNAKE_RUN.sub("_", legacy_id.lower()).strip("_")
    if guess and guess != legacy_id:
        with contextlib.suppress(UsageError, RecordError):
            record = _show_file(root, kind, guess)
            if _legacy_id(record.doc) == legacy_id:
                return record
    found = list(_claiming(root, kind, legacy_id))
    if len(found) > 1:
        raise UsageError(
            f"{len(found)} {kind}s have legacy id '{legacy_id}': " + ", ".join(r.id for r in found),
            hint=f"show one by its own id, e.g. `memkb show {kind} {found[0].id}`",
        )
    return found[0] if found else None


def _claiming(root: Path, kind: str, legacy_id: str) -> Iterator[Record]:
    """Every record of `kind` whose legacy.id is `legacy_id`, by path. The byte test
    keeps a search of 10,000 files to reading them; symlinks are skipped (validate
    judges where they lead)."""
    needle = legacy_id.encode("utf-8", "surrogatepass")
    folder = root / KB_DIR / FOLDERS[kind] if kind in FOLDERS else None
    if folder is None or not folder.is_dir():
        return
    for path in sorted(folder.rglob("*.yaml")):
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # a larger file is KB105, not read whole
        if needle not in raw:
            continue
        relpath = path.relative_to(root).as_posix()
        doc = _load(raw, relpath).doc
        if doc is not None and _legacy_id(doc) == legacy_id:
            yield Record(kind, path.stem, relpath, doc)


# What the importer turns into "_" when it makes a snake_case id of a legacy one.
_SNAKE_RUN = re.compile(r"[^a-z0-9]+")


def _legacy_id(doc: Mapping[str, Any]) -> Any:
    legacy = doc.get("legacy")
    return legacy.get("id") if isinstance(legacy, Mapping) else None


def list_records(
    root: Path,
    *,
    kind: str | None = None,
    domain: str | None = None,
    phase: str | None = None,
    droid: str | None = None,
) -> list[Record]:
    """Records filtered by kind, domain, phase and droid (each optional), by kind then id.

    Each record's `doc` holds the fields a listing shows (memkb.kb.index.LISTED_KEYS:
    status, domains, title, project) and, when a filter is given, its `refs` the droids,
    domains and phases it names; `show` gives the whole record. Answered from the
    listing index, so only the files changed since the last listing are parsed. Files
    that do not parse are left out (`memkb validate` reports them). Raises UsageError
    for an unknown kind, or for a domain, phase or droid the vocabulary does not know."""
    from memkb.kb.snapshot import WorkTree  # here: `show` scans no folder

    if kind is not None:
        check_kind(kind)
    given = {"domain": domain, "phase": phase, "droid": droid}
    filtered = any(value is not None for value in given.values())
    index = listed(WorkTree(root), _parse, with_refs=filtered)
    vocab = index.vocabulary
    wanted = {t: None if v is None else _known_name(vocab, t, v) for t, v in given.items()}
    found = []
    for record in sorted(index.records.values(), key=lambda r: (r.kind, r.id)):
        if record.kind == "vocabulary" or kind not in (None, record.kind):
            continue
        if filtered:
            names = {(t, canonical_name(vocab, t, value)) for t, value, _ in record.refs}
            if not all(v is None or (t, v) in names for t, v in wanted.items()):
                continue
        found.append(record)
    return found


def _load(raw: bytes, relpath: str, *, fast: bool = True) -> Loaded:
    """One file read by the safe loader (memkb.records.load, imported on first use).
    `fast=False` for a single file: yaml-rs only reads what the reference reader would
    read alike, and importing it costs more than it saves on one record."""
    from memkb.records.load import load_bytes

    return load_bytes(raw, relpath, fast=fast)


def _parse(raw: bytes, relpath: str) -> dict[str, Any] | None:
    doc = _load(raw, relpath).doc
    return doc if isinstance(doc, dict) else None


def _known_name(vocab: Vocabulary, target: str, value: str) -> str:
    """The canonical name of `value` in the vocabulary; UsageError (with a "did you mean")
    if it is neither a name nor an alias: a typo must not look like "no records"."""
    name = canonical_name(vocab, target, value)
    if name in vocab.names[target]:
        return name
    known = sorted(vocab.names[target] | set(vocab.aliases[target]))
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.75)
    guess = f" (did you mean '{canonical_name(vocab, target, close[0])}'?)" if close else ""
    raise UsageError(
        f"unknown {target} '{value}'{guess}",
        hint=f"the {target}s are listed in {VOCABULARY_FILE}",
    )
