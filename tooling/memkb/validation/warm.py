"""The sealed answer: every finding of the last full run over the work tree, stored with a
key that names everything the findings depend on, so an unchanged KB is answered without
reading, parsing or judging a single record.

The key (`answer_key`, memkb.validation.seal) is a SHA-256 over the code signature, the
date, the schemas and every knowledge file's stat key.

`probe` does the whole check (scan, key, stored answer) with nothing but this module and the
scan imported: `memkb validate` asks it first and imports the validation engine, the rules
and the loaders only when the answer is missing.

An answer is only stored when every file's stat was trusted when its content was judged
(`memkb.kb.discover.trusted_stat`: modified more than two seconds before it was read), so a
later write always moves a stat the key holds; a symlink (no stat key) or a recent change
means no answer is stored, and the next run judges the KB again. Only the work tree is
sealed: a Git tree or a snapshot with pending changes has no stat keys.

The answer file sits next to the per-file cache (`.git/memkb/validate.answer`), written
through `memkb.cachefile` (a checksum over the whole file, the key inside it); its shape is
checked on every read, which costs little: it holds findings, not records. Anything
damaged, foreign or stale is a miss, never an error.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from memkb import cachefile
from memkb.findings import Finding, is_finding_tuple
from memkb.kb.scan import StatKey, scan
from memkb.validation.seal import answer_key

ANSWER_FILE = "validate.answer"


class Answer(NamedTuple):
    """Every finding of one run over the whole KB, by where it came from, so that a run
    limited to some files (`memkb validate kb/patterns`) is answered from it too."""

    by_file: Mapping[str, tuple[Finding, ...]]  # per-file findings, by the file judged
    collection: tuple[Finding, ...]  # cross-file findings (KB3xx, KB701): path = the record
    schemas: tuple[Finding, ...]  # findings on schemas/, reported by every run
    files: int
    records: int

    def findings(self, only: Collection[str] | None = None) -> list[Finding]:
        """The findings a run over `only` (root-relative paths; None: every file) reports,
        sorted by place: per-file and cross-file ones of those files, and the schemas'."""
        chosen = [
            finding
            for relpath, found in self.by_file.items()
            if only is None or relpath in only
            for finding in found
        ]
        chosen += [f for f in self.collection if only is None or f.path in only]
        return sorted(set(chosen).union(self.schemas))


class Probe(NamedTuple):
    """What the check of a work tree found: its knowledge files with their stat keys (in
    scan order), the key of that state (None: not sealable) and the answer stored for it."""

    files: dict[str, StatKey | None]
    key: str | None
    answer: Answer | None

    def sorted_files(self) -> dict[str, StatKey | None]:
        """The files sorted by path, as `WorkTree.files()` lists them."""
        return dict(sorted(self.files.items()))


def probe(root: Path, today: date, files: dict[str, StatKey | None] | None = None) -> Probe:
    """Check the work tree at `root` against its sealed answer, judged on `today`: one stat
    per knowledge file (or `files`, the scan this process just made of `root`), the key,
    and the stored answer if it was sealed under that key."""
    files = scan(root) if files is None else files
    key = answer_key(root, files, today)
    return Probe(files, key, load_answer(root, key) if key is not None else None)


def answer_path(root: Path) -> Path:
    """Where the answer of the work tree at `root` is stored."""
    return cachefile.cache_dir(root) / ANSWER_FILE


def load_answer(root: Path, key: str) -> Answer | None:
    """The answer stored for `key`, or None (absent, damaged, foreign, or another key)."""
    stored = cachefile.load(answer_path(root), key)
    if not _well_formed(stored):
        return None
    return Answer(
        {path: tuple(map(Finding.from_tuple, rows)) for path, rows in stored["by_file"].items()},
        tuple(map(Finding.from_tuple, stored["collection"])),
        tuple(map(Finding.from_tuple, stored["schemas"])),
        stored["files"],
        stored["records"],
    )


def save_answer(root: Path, key: str, answer: Answer) -> None:
    """Store `answer` under `key` (atomically; a failure to write is ignored)."""
    cachefile.save(
        answer_path(root),
        key,
        {
            "by_file": {path: _rows(found) for path, found in answer.by_file.items() if found},
            "collection": _rows(answer.collection),
            "schemas": _rows(answer.schemas),
            "files": answer.files,
            "records": answer.records,
        },
    )


def _rows(findings: Collection[Finding]) -> tuple[tuple[Any, ...], ...]:
    return tuple(f.as_tuple() for f in findings)


def _well_formed(stored: dict[str, Any]) -> bool:
    """True when `stored` has the shape save_answer writes. The checksum only proves the
    file is what some writer wrote: a foreign or buggy one must cost a miss, not a crash."""
    by_file = stored.get("by_file")
    return (
        isinstance(by_file, dict)
        and all(isinstance(p, str) and _all_findings(rows) for p, rows in by_file.items())
        and _all_findings(stored.get("collection"))
        and _all_findings(stored.get("schemas"))
        and type(stored.get("files")) is int
        and type(stored.get("records")) is int
    )


def _all_findings(rows: object) -> bool:
    return isinstance(rows, tuple) and all(map(is_finding_tuple, rows))
