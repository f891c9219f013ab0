"""The in-memory picture of a KB: every record by kind and id, plus the vocabulary; and
the listing index, a cache of what `memkb list` shows of every record."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from memkb._version import __version__
from memkb.kb.layout import KINDS
from memkb.kb.refs import VOCABULARY_TARGETS, RefTuple, refs_of
from memkb.limits import MAX_FILE_BYTES

if TYPE_CHECKING:
    from memkb.kb.discover import StatKey
    from memkb.kb.snapshot import Snapshot


class Record(NamedTuple):
    """One loaded record. `doc` is the parsed YAML mapping (dates as strings)."""

    kind: str
    id: str
    relpath: str
    doc: dict[str, Any]
    refs: tuple[RefTuple, ...] = ()


@dataclass
class Vocabulary:
    """Known names per vocabulary section, and aliases mapped to their canonical name."""

    names: dict[str, set[str]] = field(
        default_factory=lambda: {t: set() for t in VOCABULARY_TARGETS}
    )
    aliases: dict[str, dict[str, str]] = field(
        default_factory=lambda: {t: {} for t in VOCABULARY_TARGETS}
    )

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Vocabulary:
        vocab = cls()
        for target in VOCABULARY_TARGETS:
            section = doc.get(f"{target}s")
            if not isinstance(section, dict):
                continue
            for name, entry in section.items():
                vocab.names[target].add(str(name))
                aliases = entry.get("aliases", []) if isinstance(entry, dict) else []
                for alias in aliases if isinstance(aliases, list) else []:
                    vocab.aliases[target][str(alias)] = str(name)
        return vocab


@dataclass
class Index:
    """Every record of a KB. Records whose id collides are all kept in `by_key`."""

    records: dict[tuple[str, str], Record] = field(default_factory=dict)
    by_key: dict[tuple[str, str], list[Record]] = field(default_factory=lambda: defaultdict(list))
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    has_vocabulary: bool = False

    def add(self, record: Record) -> None:
        key = (record.kind, record.id)
        self.by_key[key].append(record)
        self.records.setdefault(key, record)
        if record.kind == "vocabulary":
            self.vocabulary = Vocabulary.from_doc(record.doc)
            self.has_vocabulary = True

    def ids(self, kind: str) -> set[str]:
        """Ids of records (or vocabulary names) of `kind`."""
        if kind in VOCABULARY_TARGETS:
            return self.vocabulary.names[kind]
        return {rid for (k, rid) in self.records if k == kind}

    def of_kind(self, kind: str) -> list[Record]:
        """Records of one kind, sorted by id."""
        return sorted((r for (k, _), r in self.records.items() if k == kind), key=lambda r: r.id)


# -- the listing index: what `memkb list` shows, cached under .git/memkb/ ---------------

LIST_CACHE = "list.cache"
# 1: a record's listed fields and the vocabulary names it uses, keyed by stat and blob id.
LIST_FORMAT = 1
# The fields a listing shows; the vocabulary is kept whole (its aliases).
LISTED_KEYS = ("kind", "id", "status", "domains", "title", "project")

VOCAB = frozenset(VOCABULARY_TARGETS)
# Reads one file's document: the safe loader of memkb.records (a layer above this one).
Parse = Callable[[bytes, str], dict[str, Any] | None]


def listed(snapshot: Snapshot, parse: Parse, *, with_refs: bool = True) -> Index:
    """Every record of the snapshot with only its LISTED_KEYS, and as `refs` (unless not
    `with_refs`) the droids, domains and phases it names (each once, without its path: a
    listing filters on names), answered from the listing cache: a file whose stat matches
    a trusted one in the cache is not read, one whose bytes hash to the cached blob id is
    not parsed, and only changed or new files go through `parse`. The cache is rewritten
    when anything changed. Files that do not parse, or name no kind and id, are left out."""
    from memkb.cachefile import cache_dir, load, save  # hashing and temp files: only here

    # A tree's entries must not replace the work tree's stats (nor the reverse).
    tag = snapshot.cache_tag
    path = cache_dir(snapshot.root) / (LIST_CACHE if tag == "worktree" else f"{LIST_CACHE}.{tag}")
    fingerprint = f"{__version__}:{LIST_FORMAT}:{MAX_FILE_BYTES}"
    cached = {p: e for p, e in load(path, fingerprint).items() if _list_entry_ok(e)}
    fresh: dict[str, tuple[Any, ...]] = {}
    index = Index()
    for relpath, stat in snapshot.files().items():
        entry = _list_entry(snapshot, relpath, stat, cached.get(relpath), parse)
        fresh[relpath] = entry
        record = _listed_record(relpath, entry, with_refs)
        if record is not None:
            index.add(record)
    if fresh != cached:
        save(path, fingerprint, fresh)
    return index


def _list_entry(
    snapshot: Snapshot,
    relpath: str,
    stat: StatKey | None,
    hit: tuple[Any, ...] | None,
    parse: Parse,
) -> tuple[Any, ...]:
    """(trusted stat or None, blob id, listed fields or None, names): each name is
    "target\0value" (a droid, domain or phase), one flat tuple of text being the cheapest
    shape to check when the cache is loaded."""
    if hit is not None and stat is not None and hit[0] == list(stat):
        return hit
    from memkb.kb.discover import trusted_stat  # here: `show` needs Record, not the scanner

    read_ns = time.time_ns()
    raw = snapshot.source(relpath).raw
    trusted = trusted_stat(stat, read_ns)
    stat_field = list(trusted) if trusted is not None else None
    if raw is None:
        return (None, "", None, ())
    from memkb.cachefile import blob_id

    blob = blob_id(raw)
    if hit is not None and hit[1] == blob:
        return (stat_field, *hit[1:])
    doc = parse(raw, relpath)
    if doc is None:
        return (stat_field, blob, None, ())
    kind = doc.get("kind")
    refs = refs_of(kind, doc) if isinstance(kind, str) else []
    names = tuple(dict.fromkeys(f"{r.target}\0{r.value}" for r in refs if r.target in VOCAB))
    keep = doc if kind == "vocabulary" else {k: doc[k] for k in LISTED_KEYS if k in doc}
    return (stat_field, blob, _plain(keep), names)


def _listed_record(relpath: str, entry: tuple[Any, ...], with_refs: bool) -> Record | None:
    doc = entry[2]
    if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
        return None
    rid = "vocabulary" if doc["kind"] == "vocabulary" else doc.get("id")
    if not isinstance(rid, str):
        return None
    if not with_refs:
        return Record(doc["kind"], rid, relpath, doc)
    refs = tuple((target, value, ()) for target, _, value in map(_split_name, entry[3]))
    return Record(doc["kind"], rid, relpath, doc, refs)


def _split_name(name: str) -> tuple[str, str, str]:
    return name.partition("\0")


def _plain(value: Any) -> Any:
    """`value` as data marshal can store: a date the loader kept as a date becomes its
    ISO text, any other foreign value its str()."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _list_entry_ok(entry: Any) -> bool:
    """A cache entry of the shape LIST_FORMAT describes; any other is a miss (the checksum
    only proves a file is what some writer wrote)."""
    if not (isinstance(entry, tuple) and len(entry) == 4):
        return False
    stat, blob, doc, names = entry
    return (
        (stat is None or (isinstance(stat, list) and all(type(n) is int for n in stat)))
        and isinstance(blob, str)
        and (doc is None or isinstance(doc, dict))
        and isinstance(names, tuple)
        and all(type(name) is str and "\0" in name for name in names)
    )
