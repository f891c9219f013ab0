"""What advice is computed from: the KB at one commit, read through kb.snapshot.GitTree,
reduced to the fields ranking needs. Files that do not parse are left out (`memkb
validate` reports them); advice never reads the work tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memkb.errors import UsageError
from memkb.kb.index import Index, Record, Vocabulary
from memkb.kb.layout import KINDS
from memkb.kb.snapshot import GitTree
from memkb.records.load import load_bytes


@dataclass
class Corpus:
    """The records of one commit: active and deprecated ones by kind and id, outcomes in
    id order, and the vocabulary."""

    commit: str
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        """Records of `kind` by id, in id order."""
        return self.records.get(kind, {})


def resolve_commit(root: Path, as_of: str | None) -> str:
    """The commit advice is read from: HEAD, the revision given, or for a YYYY-MM-DD
    date the last commit of main's first-parent chain that touched kb/ on or before that
    day (UTC), as `memkb metrics --as-of` resolves it.

    Raise RepoError without commits, UsageError for a bad revision or a date before the
    first commit."""
    from memkb.history.query import DATE_RE, target, tip_of
    from memkb.history.store import Cache

    tip = tip_of(root, as_of)
    if as_of is None or not DATE_RE.match(as_of):
        return tip
    cache = Cache.load(root)
    found = target(root, cache, tip, as_of)
    cache.save()
    if found.upto < 0:
        first = found.commits[0].sha[:12] if found.commits else "none"
        raise UsageError(
            f"--as-of {as_of} is before the first commit of the knowledge base",
            hint=f"use a later date; the first knowledge commit is {first}",
        )
    return found.commits[found.upto].sha


def load_corpus(root: Path, commit: str) -> Corpus:
    """Every parseable record of `commit` (whole documents, no schema checks)."""
    tree = GitTree(root, commit)
    files = list(tree.files())
    tree.prefetch(files)
    index = Index()
    for relpath in files:
        raw = tree.source(relpath).raw
        doc = load_bytes(raw, relpath).doc if raw is not None else None
        if not isinstance(doc, dict) or doc.get("kind") not in KINDS:
            continue
        rid = "vocabulary" if doc["kind"] == "vocabulary" else doc.get("id")
        if isinstance(rid, str):
            index.add(Record(doc["kind"], rid, relpath, doc))
    return _from_index(commit, index)


def corpus_of(label: str, index: Index) -> Corpus:
    """The corpus of an index already built (a snapshot validated, a check's head), under
    `label` (a commit id, or a name for an uncommitted state)."""
    return _from_index(label, index)


def _from_index(commit: str, index: Index) -> Corpus:
    corpus = Corpus(commit, vocabulary=index.vocabulary)
    for kind in ("pattern", "template", "failure"):
        corpus.records[kind] = {r.id: r.doc for r in index.of_kind(kind)}
    corpus.outcomes = [r.doc for r in index.of_kind("outcome")]
    return corpus
