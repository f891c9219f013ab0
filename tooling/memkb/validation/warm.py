"""The sealed answer: every finding of the last full run over the work tree, stored with a
key that names everything the findings depend on, so an unchanged KB is answered without
reading, parsing or judging a single record.

The key (`answer_key`) is a SHA-256 over:

- RESULT_FORMAT and the code signature (`code_signature`: memkb's version and the size and
  mtime of every module of the installed package, so an edited rule is a miss even when
  the version did not move);
- the date (cross-file rules judge dates against today);
- every file under schemas/, by name and content (a schema a `$ref` points to included);
- every knowledge file's path and stat key (size, mtime in ns, inode), in the order the
  scan found them (`memkb.kb.discover.scan`; unsorted: sorting 10,000 paths costs more than
  the hash, and an unchanged folder lists in the same order, so only a changed tree can
  change the order, and it changes the stats too).

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

import hashlib
import marshal
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from memkb import cachefile
from memkb._version import __version__
from memkb.findings import Finding, is_finding_tuple
from memkb.kb.discover import StatKey, scan
from memkb.kb.layout import SCHEMAS_DIR

ANSWER_FILE = "validate.answer"
RESULT_FORMAT = 1  # the shape of the stored answer; bump it when Answer changes
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # tooling/memkb (or site-packages/memkb)


@dataclass(frozen=True)
class Answer:
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


@dataclass(frozen=True)
class Probe:
    """What the check of a work tree found: its knowledge files with their stat keys (in
    scan order), the key of that state (None: not sealable) and the answer stored for it."""

    files: dict[str, StatKey | None]
    key: str | None
    answer: Answer | None

    def sorted_files(self) -> dict[str, StatKey | None]:
        """The files sorted by path, as `WorkTree.files()` lists them."""
        return dict(sorted(self.files.items()))


def probe(root: Path, today: date) -> Probe:
    """Check the work tree at `root` against its sealed answer, judged on `today`: one stat
    per knowledge file, the key, and the stored answer if it was sealed under that key."""
    files = scan(root)
    key = answer_key(root, files, today)
    return Probe(files, key, load_answer(root, key) if key is not None else None)


def answer_key(root: Path, files: Mapping[str, StatKey | None], today: date) -> str | None:
    """The key of the work tree at `root` whose knowledge files have the stat keys `files`
    (in scan order: `probe` and the engine both pass `scan`'s dict), judged on `today`;
    None when a file has no stat key (a symlink: only its content can tell), since then no
    key can prove the KB unchanged."""
    if None in files.values():
        return None
    digest = hashlib.sha256(f"{RESULT_FORMAT}\0{code_signature()}\0{today}\0".encode())
    for relpath, raw in _schema_files(root):
        digest.update(b"%s\0%d\0%s" % (relpath.encode(), len(raw), raw))
    # marshal of a dict of str -> tuple of ints is deterministic and much faster than
    # hashing each entry from Python (10,000 files: about 2 ms); scan's dict is marshalled
    # as it is, not copied.
    digest.update(marshal.dumps(files if type(files) is dict else dict(files)))
    return digest.hexdigest()


def _schema_files(root: Path) -> list[tuple[str, bytes]]:
    """Every file under schemas/ (sorted relative paths, contents): what `$ref` may reach.
    Plain strings: this runs on every warm run."""
    found = []
    base = f"{root}/"
    for folder, dirs, names in os.walk(f"{root}/{SCHEMAS_DIR}"):
        dirs.sort()
        for name in sorted(names):
            path = f"{folder}/{name}"
            relpath = path.removeprefix(base).replace(os.sep, "/")
            try:
                with open(path, "rb") as handle:  # noqa: PTH123 - see above
                    found.append((relpath, handle.read()))
            except OSError:
                found.append((relpath, b"\0unreadable"))
    return found


@cache
def code_signature(package: Path = PACKAGE_DIR) -> str:
    """memkb's version and the size and mtime of every module under `package`: the code
    that shaped an answer. Cached for the process (the code does not change under it)."""
    digest = hashlib.sha256(__version__.encode())
    for folder, dirs, names in os.walk(package):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".py"):
                st = os.stat(f"{folder}/{name}")  # noqa: PTH116 - no pathlib on a hot path
                digest.update(f"{folder}/{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


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
