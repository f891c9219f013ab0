"""What advice is computed from: the KB at one commit, prepared once (memkb.advice.prepare)
into plain data, cached by memkb.advice.load under .git/memkb/advice/ by commit id.

Names (domains, phases, droids) are bits of an int, one table per vocabulary section:
a record's domains are a mask, overlap is `bin(a & b).count`, and a cached corpus
unmarshals as a few thousand objects rather than a hundred thousand."""

from __future__ import annotations

import marshal
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from memkb.advice.bm25 import BM25, Postings
from memkb.kb.index import Vocabulary
from memkb.kb.refs import VOCABULARY_TARGETS


@dataclass
class Section:
    """The active records of one kind, sorted by id, as parallel lists (index i is one
    record), plus the indexes a query needs."""

    ids: list[str] = field(default_factory=list)
    domains: list[int] = field(default_factory=list)  # masks
    phases: list[int] = field(default_factory=list)
    droids: list[int] = field(default_factory=list)
    rates: list[float | None] = field(default_factory=list)  # declared prior
    weights: list[float | None] = field(default_factory=list)
    guards: list[tuple[str, ...]] = field(default_factory=list)
    applied: list[tuple[int, ...]] = field(default_factory=list)  # outcomes that applied it
    details: list[bytes] = field(default_factory=list)  # marshal: decoded for the brief only
    lengths: list[int] = field(default_factory=list)  # BM25 document lengths
    postings: bytes = b""  # marshal of the BM25 Postings: decoded for a query with text
    by_name: dict[str, tuple[int, ...]] = field(default_factory=dict)  # "domain:x" -> records
    supersedes: dict[str, list[str]] = field(default_factory=dict)  # successor -> old ids
    # What queries derive from the fields above, kept for the next query: never cached
    # on disk, never copied by dataclasses.replace (init=False).
    memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def bm25(self) -> BM25:
        """The BM25 index, decoded once (unmarshalling the postings of 2,000 records cost
        a few milliseconds per question)."""
        if "bm25" not in self.memo:
            found: Postings = marshal.loads(self.postings) if self.postings else {}
            self.memo["bm25"] = BM25(self.lengths, found)
        index: BM25 = self.memo["bm25"]
        return index

    def positions(self) -> dict[str, int]:
        """Record id -> its index in the parallel lists."""
        if "positions" not in self.memo:
            self.memo["positions"] = {rid: n for n, rid in enumerate(self.ids)}
        found: dict[str, int] = self.memo["positions"]
        return found

    def detail(self, rid: str) -> dict[str, Any]:
        """What the brief shows of record `rid` ({} if it is not an active record here)."""
        at = self.positions().get(rid)
        if at is None:
            return {}
        found: dict[str, Any] = marshal.loads(self.details[at])
        return found


@dataclass
class Corpus:
    """One commit's KB, prepared for advice. Outcomes are parallel lists too."""

    commit: str
    sections: dict[str, Section] = field(default_factory=dict)
    outcome_ids: list[str] = field(default_factory=list)
    outcome_domains: list[int] = field(default_factory=list)  # masks
    outcome_scores: list[float] = field(default_factory=list)  # success 1, partial 0.5
    # failure id -> (outcome indexes that met it, recovered or not), in outcome order
    met: dict[str, tuple[tuple[int, ...], tuple[bool, ...]]] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)  # vocabulary names
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    bits: dict[str, list[str]] = field(default_factory=dict)  # bit i of a mask -> name
    # What queries derive from the fields above (memkb.advice.rank.Evidence by the query's
    # domains), kept for the next query; never cached on disk.
    memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def section(self, kind: str) -> Section:
        return self.sections.get(kind) or Section()

    def vocabulary(self) -> Vocabulary:
        vocab = Vocabulary()
        for target in VOCABULARY_TARGETS:
            vocab.names[target] = set(self.names.get(target, []))
            vocab.aliases[target] = dict(self.aliases.get(target, {}))
        return vocab

    def mask(self, target: str, names: Iterable[str]) -> int:
        """The mask of `names` (names without a bit, known to no record, add nothing)."""
        table = self.bits.get(target, [])
        wanted = set(names)
        return sum(1 << i for i, name in enumerate(table) if name in wanted)

    def unmask(self, target: str, mask: int) -> list[str]:
        """The names of the bits set in `mask`, sorted."""
        table = self.bits.get(target, [])
        return sorted(name for i, name in enumerate(table) if mask >> i & 1)

    def to_plain(self) -> dict[str, Any]:
        """Plain data for the cache (marshal). Shallow: marshal copies as it writes, and
        dataclasses.asdict's deep copy of every list cost more than the write itself."""
        return {**_fields(self), "sections": {k: _fields(s) for k, s in self.sections.items()}}

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> Corpus:
        sections = {k: Section(**s) for k, s in data.pop("sections").items()}
        return cls(sections=sections, **data)


def _fields(value: Section | Corpus) -> dict[str, Any]:
    """A dataclass's fields by name, values as they are (not copied); not its memo."""
    return {f.name: getattr(value, f.name) for f in fields(value) if f.init}
