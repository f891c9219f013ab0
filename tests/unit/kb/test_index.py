"""The listing index (memkb.kb.index.listed): what `memkb list` shows of every record,
cached under .git/memkb/ and correct after any change on disk, parsing only what changed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from memkb.cachefile import cache_dir
from memkb.kb.index import LIST_CACHE, LISTED_KEYS, listed
from memkb.kb.snapshot import WorkTree
from memkb.records.load import load_bytes

PATTERN = "kb/patterns/ecommerce_security_first.yaml"
OLD = 1_600_000_000  # an mtime old enough for the cache to trust a file's stat


class CountingParse:
    """The real safe loader, counting the files it is asked to parse."""

    def __init__(self) -> None:
        self.parsed: list[str] = []

    def __call__(self, raw: bytes, relpath: str) -> dict[str, Any] | None:
        self.parsed.append(relpath)
        doc = load_bytes(raw, relpath).doc
        return doc if isinstance(doc, dict) else None


def age_every_file(root: Path) -> None:
    for path in (root / "kb").rglob("*.yaml"):
        os.utime(path, (OLD, OLD))


def test_a_warm_listing_parses_nothing_and_reads_nothing(kb_repo: Path) -> None:
    age_every_file(kb_repo)
    cold = CountingParse()
    first = listed(WorkTree(kb_repo), cold)
    assert len(cold.parsed) == len(list((kb_repo / "kb").rglob("*.yaml")))
    assert (cache_dir(kb_repo) / LIST_CACHE).is_file()
    warm = CountingParse()
    second = listed(WorkTree(kb_repo), warm)
    assert warm.parsed == []
    assert second.records == first.records


def test_an_edited_file_is_parsed_again_and_listed_as_it_now_is(kb_repo: Path) -> None:
    age_every_file(kb_repo)
    listed(WorkTree(kb_repo), CountingParse())
    path = kb_repo / PATTERN
    text = path.read_text()
    assert "domains: [e-commerce, finance, healthcare]" in text
    path.write_text(text.replace("[e-commerce, finance, healthcare]", "[e-commerce, finance]"))
    parse = CountingParse()
    index = listed(WorkTree(kb_repo), parse)
    assert parse.parsed == [PATTERN]
    record = index.records["pattern", "ecommerce_security_first"]
    assert record.doc["domains"] == ["e-commerce", "finance"]


def test_a_touched_file_with_the_same_bytes_is_not_parsed(kb_repo: Path) -> None:
    age_every_file(kb_repo)
    listed(WorkTree(kb_repo), CountingParse())
    os.utime(kb_repo / PATTERN, None)  # new mtime, same content: the blob id answers
    parse = CountingParse()
    listed(WorkTree(kb_repo), parse)
    assert parse.parsed == []


def test_new_and_deleted_files_are_seen(kb_repo: Path) -> None:
    listed(WorkTree(kb_repo), CountingParse())
    (kb_repo / PATTERN).unlink()
    new = kb_repo / "kb/failures/new_failure.yaml"
    new.write_text("kind: failure\nschema_version: 2\nid: new_failure\ntitle: New\n")
    index = listed(WorkTree(kb_repo), CountingParse())
    assert ("pattern", "ecommerce_security_first") not in index.records
    assert index.records["failure", "new_failure"].doc == {
        "kind": "failure",
        "id": "new_failure",
        "title": "New",
    }


def test_a_file_that_does_not_parse_is_left_out_until_it_is_fixed(kb_repo: Path) -> None:
    path = kb_repo / PATTERN
    good = path.read_text()
    path.write_text(good + "notes: [unclosed\n")  # a YAML syntax error
    assert ("pattern", "ecommerce_security_first") not in listed(
        WorkTree(kb_repo), CountingParse()
    ).records
    path.write_text(good)
    assert ("pattern", "ecommerce_security_first") in listed(
        WorkTree(kb_repo), CountingParse()
    ).records


def test_only_listed_fields_and_vocabulary_names_are_kept(kb_repo: Path) -> None:
    record = listed(WorkTree(kb_repo), CountingParse()).records[
        "pattern", "ecommerce_security_first"
    ]
    assert {"kind", "id", "domains"} <= set(record.doc) <= set(LISTED_KEYS)
    assert {target for target, _, _ in record.refs} == {"domain", "phase", "droid"}
    assert ("droid", "security-auditor", ()) in record.refs  # names, not paths


def test_the_vocabulary_is_kept_whole_for_aliases(kb_repo: Path) -> None:
    index = listed(WorkTree(kb_repo), CountingParse())
    assert index.has_vocabulary and "e-commerce" in index.vocabulary.names["domain"]
    assert index.vocabulary.aliases["domain"]["ecommerce"] == "e-commerce"


def test_a_corrupt_or_foreign_cache_is_a_rebuild(kb_repo: Path) -> None:
    expected = listed(WorkTree(kb_repo), CountingParse()).records
    cache = cache_dir(kb_repo) / LIST_CACHE
    cache.write_bytes(cache.read_bytes()[:-20] + b"x" * 20)
    parse = CountingParse()
    assert listed(WorkTree(kb_repo), parse).records == expected
    assert parse.parsed  # the checksum failed: everything was parsed again


def test_a_tree_is_listed_apart_from_the_work_tree(kb_repo: Path) -> None:
    from memkb.kb.snapshot import GitTree

    age_every_file(kb_repo)
    listed(WorkTree(kb_repo), CountingParse())
    (kb_repo / PATTERN).unlink()  # in the work tree only: the commit still holds it
    tree = listed(GitTree(kb_repo, "HEAD"), CountingParse())
    assert ("pattern", "ecommerce_security_first") in tree.records
    warm = CountingParse()
    work = listed(WorkTree(kb_repo), warm)
    assert ("pattern", "ecommerce_security_first") not in work.records
    assert warm.parsed == []  # the tree's listing left the work tree's stats alone
