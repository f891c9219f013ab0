"""Prepare a Corpus from the records of one commit (read through kb.snapshot.GitTree, no
schema checks: files that do not parse are left out, `memkb validate` reports them).

A process preparing commit after commit (an MCP server seeing its own and others'
commits) passes a `Reuse`: a blob already parsed is not read again, and a section whose
records are the same blobs as last time is kept, so the work grows with the change, not
with the KB. Only the outcome-derived parts (evidence, failures met) are always rebuilt."""

from __future__ import annotations

import dataclasses
import marshal
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memkb.advice.bm25 import BM25, tokens
from memkb.advice.corpus import Corpus, Section
from memkb.kb.index import Index, Record
from memkb.kb.layout import KINDS
from memkb.kb.refs import VOCABULARY_TARGETS
from memkb.metrics.formulas import SCORE

if TYPE_CHECKING:
    from memkb.gitio.objects import TreeEntry

PLAIN_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,119}$")
TEXT_FIELDS = {
    "pattern": ("title", "description", "best_practices"),
    "template": ("title", "description"),
    "failure": ("title", "description", "common_causes", "warning_signs"),
}
# What the brief shows of each kind (lists of strings; template phases apart).
DETAIL_FIELDS = {
    "pattern": ("key_droids", "best_practices"),
    "template": (),
    "failure": ("warning_signs", "prevention_strategies"),
}


@dataclass
class Reuse:
    """What the last preparation in this process read and built. A blob's content never
    changes, so its document is reused as is; a section is reused when its records are
    the same blobs (in id order) under the same vocabulary names."""

    docs: dict[str, Any] = field(default_factory=dict)  # blob id -> document (or None)
    blobs: dict[str, str] = field(default_factory=dict)  # relpath -> blob id, last commit
    commit: str = ""  # the last commit read, and its tree's entries (kb.snapshot.GitTree)
    entries: Mapping[str, TreeEntry] = field(default_factory=dict)
    names: dict[str, list[str]] | None = None  # the vocabulary names the bits start from
    bits: dict[str, list[str]] = field(default_factory=dict)
    # kind -> (blob ids of its records in id order, its section without `applied`)
    sections: dict[str, tuple[tuple[str, ...], Section]] = field(default_factory=dict)


def read_index(root: Path, commit: str, reuse: Reuse | None = None) -> Index:
    """Every parseable record of `commit` (whole documents, no schema checks). With
    `reuse`, only blobs it has not parsed yet are read, and it is updated to this commit
    (its documents and the blob id of each path)."""
    from memkb.kb.snapshot import GitTree

    if reuse is not None and reuse.commit:
        tree = GitTree.changed_from(root, commit, reuse.commit, reuse.entries)
    else:
        tree = GitTree(root, commit)
    files = list(tree.files())
    known = reuse.docs if reuse is not None else {}
    blobs = {p: b for p in files if (b := tree.blob(p)) is not None}
    # A symlink has no blob of its own content: it is always read (and never reused).
    tree.prefetch([p for p in files if blobs.get(p) not in known])
    docs = {p: known[b] if b in known else _parse(tree, p) for p, b in blobs.items()}
    if reuse is not None:
        reuse.docs = {blobs[p]: doc for p, doc in docs.items()}
        reuse.blobs, reuse.commit, reuse.entries = blobs, commit, tree.entries()
    index = Index()
    for relpath in files:
        doc = docs[relpath] if relpath in docs else _parse(tree, relpath)
        if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
            continue
        rid = "vocabulary" if doc["kind"] == "vocabulary" else doc.get("id")
        # An id that is no plain identifier (KB2xx for `memkb validate`) never reaches an
        # answer, where renderers show ids as Markdown code.
        if isinstance(rid, str) and PLAIN_ID.match(rid):
            index.add(Record(doc["kind"], rid, relpath, doc))
    return index


def _parse(tree: Any, relpath: str) -> Any:
    """The document of one file of `tree` (None when it cannot be read)."""
    from memkb.records.load import load_bytes

    raw = tree.source(relpath).raw
    return load_bytes(raw, relpath).doc if raw is not None else None


def strs(value: Any) -> list[str]:
    """The strings of a list (anything else in it, or a non-list, is ignored)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


class Bits:
    """Bit tables under construction: the vocabulary's names first (sorted), then any
    other name a record uses, in the order met."""

    def __init__(self, vocabulary: Mapping[str, list[str]]) -> None:
        self.tables = {t: list(vocabulary.get(t, [])) for t in VOCABULARY_TARGETS}
        self.where = {t: {n: i for i, n in enumerate(v)} for t, v in self.tables.items()}

    @classmethod
    def resume(cls, reuse: Reuse, names: dict[str, list[str]]) -> Bits:
        """The last preparation's tables when they started from the same vocabulary
        names (a reused section's masks stay valid; a name added since gets a new bit),
        else fresh tables."""
        return cls(reuse.bits if reuse.names == names and reuse.bits else names)

    def mask(self, target: str, names: list[str]) -> int:
        out = 0
        for name in names:
            at = self.where[target].get(name)
            if at is None:
                at = self.where[target][name] = len(self.tables[target])
                self.tables[target].append(name)
            out |= 1 << at
        return out


def prepare(commit: str, index: Index, reuse: Reuse | None = None) -> Corpus:
    """The corpus of `index`: outcomes first (sections point into them), then each kind.
    With `reuse` (filled by read_index for the same commit), a section whose records are
    the blobs it was built from last time is kept, and `reuse` then describes this one."""
    vocab = index.vocabulary
    names = {t: sorted(vocab.names[t]) for t in VOCABULARY_TARGETS}
    corpus = Corpus(
        commit, names=names,
        aliases={t: dict(sorted(vocab.aliases[t].items())) for t in VOCABULARY_TARGETS},
    )  # fmt: skip
    bits = Bits.resume(reuse, names) if reuse is not None else Bits(names)
    same_bits = reuse is not None and reuse.names == names and bool(reuse.bits)
    docs = [r.doc for r in index.of_kind("outcome")]
    for doc in docs:
        corpus.outcome_ids.append(str(doc.get("id")))
        corpus.outcome_domains.append(bits.mask("domain", strs(doc.get("domains"))))
        corpus.outcome_scores.append(SCORE.get(str(doc.get("outcome")), 0.0))
    corpus.met = _met(docs)
    applied = _applied(docs)
    built: dict[str, tuple[tuple[str, ...], Section]] = {}
    for kind in ("template", "pattern", "failure"):
        records = index.of_kind(kind)
        key = _blob_key(records, reuse)
        kept = reuse.sections.get(kind) if reuse is not None and same_bits else None
        if kept is not None and key is not None and kept[0] == key:
            static = kept[1]
        else:
            static = _section(kind, [r.doc for r in records], bits)
        if key is not None:
            built[kind] = (key, static)
        found = applied.get(kind, {})
        corpus.sections[kind] = dataclasses.replace(
            static, applied=[tuple(found.get(rid, ())) for rid in static.ids]
        )
    corpus.bits = bits.tables
    if reuse is not None:  # all at once: a failure above leaves the last state whole
        reuse.sections, reuse.names = built, names
        reuse.bits = {t: list(v) for t, v in bits.tables.items()}
    return corpus


def _blob_key(records: list[Record], reuse: Reuse | None) -> tuple[str, ...] | None:
    """The blob ids of `records` in order; None without reuse or when one has no blob id
    (a symlink: its content is not named by a blob of its own)."""
    if reuse is None:
        return None
    key = tuple(reuse.blobs.get(r.relpath, "") for r in records)
    return None if "" in key else key


def _applied(docs: list[dict[str, Any]]) -> dict[str, dict[str, list[int]]]:
    """kind -> record id -> indexes of the outcomes that applied it."""
    out: dict[str, dict[str, list[int]]] = {"template": {}, "pattern": {}}
    for number, doc in enumerate(docs):
        template = doc.get("template")
        if isinstance(template, str):
            out["template"].setdefault(template, []).append(number)
        for rid in dict.fromkeys(strs(doc.get("patterns_applied"))):
            out["pattern"].setdefault(rid, []).append(number)
    return out


def _met(docs: list[dict[str, Any]]) -> dict[str, tuple[tuple[int, ...], tuple[bool, ...]]]:
    """Failure id -> (outcome indexes, recovered flags), one pair per time it was met."""
    found: dict[str, list[tuple[int, bool]]] = {}
    for number, doc in enumerate(docs):
        entries = doc.get("failures_met")
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("failure"), str):
                found.setdefault(entry["failure"], []).append(
                    (number, entry.get("recovered") is True)
                )
    return {k: (tuple(n for n, _ in v), tuple(ok for _, ok in v)) for k, v in found.items()}


def _section(kind: str, docs: list[dict[str, Any]], bits: Bits) -> Section:
    """The section of the records `docs` of one kind, without `applied` (which depends on
    the outcomes: prepare fills it for every corpus)."""
    section = Section()
    texts = []
    by_name: dict[str, list[int]] = {}
    for doc in docs:
        successor = doc.get("superseded_by")
        if doc.get("status", "active") == "deprecated":
            if isinstance(successor, str):
                section.supersedes.setdefault(successor, []).append(doc["id"])
            continue
        _add(section, kind, doc, bits, by_name)
        texts.append(_text(kind, doc))
    section.by_name = {k: tuple(v) for k, v in sorted(by_name.items())}
    bm25 = BM25.index(texts)
    section.lengths, section.postings = list(bm25.lengths), marshal.dumps(bm25.postings)
    section.supersedes = {k: sorted(v) for k, v in sorted(section.supersedes.items())}
    return section


def _add(
    section: Section, kind: str, doc: dict[str, Any], bits: Bits, by_name: dict[str, list[int]]
) -> None:
    number = len(section.ids)
    steps = [p for p in doc.get("phases", []) if isinstance(p, dict)] if kind == "template" else []
    if kind == "template":
        phases = list(dict.fromkeys(p["phase"] for p in steps if isinstance(p.get("phase"), str)))
        droids = list(dict.fromkeys(d for p in steps for d in strs(p.get("droids"))))
    else:
        phases, droids = strs(doc.get("phases")), strs(doc.get("key_droids"))
    domains = strs(doc.get("domains"))
    section.ids.append(doc["id"])
    section.domains.append(bits.mask("domain", domains))
    section.phases.append(bits.mask("phase", phases))
    section.droids.append(bits.mask("droid", droids))
    rate, weight = _prior(kind, doc)
    section.rates.append(rate)
    section.weights.append(weight)
    section.guards.append(tuple(strs(doc.get("guards"))))
    section.details.append(marshal.dumps(_details(kind, doc, steps)))
    for what, named in (("domain", domains), ("phase", phases), ("droid", droids)):
        for name in sorted(set(named)):
            by_name.setdefault(f"{what}:{name}", []).append(number)


def _prior(kind: str, doc: dict[str, Any]) -> tuple[float | None, float | None]:
    """The declared prior (rate, weight) of a pattern or template, (None, None) if none."""
    prior = doc.get("prior")
    if kind == "failure" or not isinstance(prior, dict):
        return None, None
    rate = prior.get("success_rate" if kind == "pattern" else "success_probability")
    weight = prior.get("weight")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (rate, weight)):
        return None, None
    return float(rate), float(weight)  # type: ignore[arg-type]


def _details(kind: str, doc: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {name: strs(doc.get(name)) for name in DETAIL_FIELDS[kind]}
    if kind == "template":
        out["phases"] = [
            (str(s["phase"]), strs(s.get("droids")), _text_or_none(s.get("description")))
            for s in steps
            if isinstance(s.get("phase"), str)
        ]
    return out


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _text(kind: str, doc: dict[str, Any]) -> list[str]:
    """The words BM25 matches: the id's words, the kind's text fields, and a template's
    phase names and descriptions."""
    parts = [str(doc.get("id", ""))]
    for name in TEXT_FIELDS[kind]:
        value = doc.get(name)
        parts.extend([value] if isinstance(value, str) else strs(value))
    if kind == "template":
        for step in doc.get("phases", []):
            if isinstance(step, dict):
                parts.extend(v for v in (step.get("name"), step.get("description"))
                             if isinstance(v, str))  # fmt: skip
    return tokens(" ".join(parts))
