"""The in-memory picture of a KB: every record by kind and id, plus the vocabulary."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from memkb.kb.refs import VOCABULARY_TARGETS, RefTuple


@dataclass(frozen=True)
class Record:
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
