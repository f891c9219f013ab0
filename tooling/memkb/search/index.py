"""The full-text index behind `memkb search`: SQLite FTS5 in .git/memkb/search.sqlite3.

The index holds the KB of one commit (HEAD, or the commit --as-of names): what memory
knows, the snapshot `recommend` answers from, and one whose files are known by blob id
without reading them. Keeping it in step costs one `git rev-parse` when the commit's kb/
tree is the one indexed, else one `git ls-tree` and a parse of only the files whose blob
changed. The index is an accelerator, never a source of truth: a missing, corrupt or
foreign file, or one written by another memkb or another version of this module, is
rebuilt from scratch, never trusted and never a crash.

Tables: `docs` (one row per knowledge file: path, blob, kind, id), `records` (FTS5, one
row per record, rowid = docs.key: the name, summary and body columns that BM25 ranks)
and `fields` (FTS5, one row per top-level field, rowid = key * FIELD_SLOTS + n: where
the snippet and the field of a hit come from).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from memkb._version import __version__
from memkb.cachefile import cache_dir
from memkb.errors import RepoError
from memkb.gitio.log import git
from memkb.gitio.objects import BlobReader, tree_files
from memkb.kb.layout import FOLDERS, KB_DIR, LEGACY_ID_FIELD, location_of
from memkb.kb.snapshot import SYMLINK_MODE, is_knowledge_path

INDEX_FILE = "search.sqlite3"
FORMAT = "memkb-search/1"
# Porter stemming ("timeouts" finds "timeout"), diacritics folded ("securite" finds "sécurité").
TOKENIZE = "porter unicode61 remove_diacritics 2"
# BM25 column weights: a word in a record's id or title counts four times a word in its
# body, one in its description twice (docs/search.md).
COLUMNS = ("name", "summary", "body")
WEIGHTS = (4.0, 2.0, 1.0)
NAME_FIELDS = frozenset({"id", "title", "name", "project", LEGACY_ID_FIELD})
SUMMARY_FIELDS = frozenset({"description", "summary"})
SKIPPED_FIELDS = frozenset({"kind", "schema_version"})  # the same words in every record
FIELD_SLOTS = 1024  # rowids of one record's field rows: key * FIELD_SLOTS + 0..1023

SCHEMA = f"""
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE docs(key INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, blob TEXT NOT NULL,
                  kind TEXT, rid TEXT);
CREATE VIRTUAL TABLE records USING fts5({", ".join(COLUMNS)}, tokenize='{TOKENIZE}');
CREATE VIRTUAL TABLE fields USING fts5(text, field UNINDEXED, tokenize='{TOKENIZE}');
"""


@dataclass(frozen=True)
class IndexStats:
    """What bringing the index up to date cost: `indexed` files parsed and written,
    `removed` files dropped, `rebuilt` when it started from nothing; `total` records."""

    commit: str | None
    rebuilt: bool
    indexed: int
    removed: int
    total: int


@dataclass(frozen=True)
class Doc:
    """What one record contributes: its kind and id, and (field, text) in file order."""

    kind: str
    rid: str
    fields: list[tuple[str, str]]


def index_path(root: Path) -> Path:
    """Where the index of repository `root` lives (never committed: it is inside .git)."""
    return cache_dir(root) / INDEX_FILE


def fingerprint() -> str:
    """What the rows depend on besides the files: the index format, memkb's version, the
    code that turns a file into rows (this module and extract.py) and SQLite's version
    (its tokenizer)."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in ("index.py", "extract.py"):
        digest.update((here / name).read_bytes())
    return f"{FORMAT} memkb {__version__} sqlite {sqlite3.sqlite_version} {digest.hexdigest()[:16]}"


def kb_tree(root: Path, commit: str | None) -> str:
    """The id of `commit`'s kb/ tree ("" when it has none: no commit, or an empty KB)."""
    if commit is None:
        return ""
    out = git(root, "rev-parse", "--verify", "--quiet", f"{commit}:{KB_DIR}", check=False)
    return out.strip()


def open_index(root: Path, commit: str | None) -> tuple[sqlite3.Connection, IndexStats]:
    """A connection to the index holding `commit`'s KB, brought up to date first."""
    path = index_path(root)
    tree = kb_tree(root, commit)
    conn = _open_trusted(path)
    if conn is not None and _meta(conn, "tree") == tree:
        return conn, IndexStats(commit, False, 0, 0, _total(conn))
    rebuilt = conn is None
    if conn is None:
        conn, tmp = _create(path)
    else:
        tmp = None
    indexed, removed = _update(conn, root, commit, tree)
    if tmp is not None:
        _publish(tmp, path)
    return conn, IndexStats(commit, rebuilt, indexed, removed, _total(conn))


def discard(root: Path) -> None:
    """Delete the index file (the next open rebuilds it); a failure is ignored."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            Path(f"{index_path(root)}{suffix}").unlink()


def _open_trusted(path: Path) -> sqlite3.Connection | None:
    """The existing index if it is an SQLite file that this code wrote, else None."""
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(path, timeout=10)
    except sqlite3.Error:  # an unreadable file
        return None
    try:
        if _meta(conn, "fingerprint") == fingerprint():
            return conn
    except sqlite3.Error:  # "file is not a database", a missing table, a locked file...
        pass
    conn.close()
    return None


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _total(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM docs WHERE kind IS NOT NULL").fetchone()[0])


def _create(path: Path) -> tuple[sqlite3.Connection, Path | None]:
    """A new empty index, written beside `path` and moved over it once full (so a crash
    mid-build leaves no half index); in memory when .git/memkb/ cannot be written."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        return _empty(sqlite3.connect(tmp, timeout=10)), tmp
    except (OSError, sqlite3.Error):
        return _empty(sqlite3.connect(":memory:")), None


def _empty(conn: sqlite3.Connection) -> sqlite3.Connection:
    """`conn` with the tables and this code's fingerprint, no rows yet."""
    conn.execute("PRAGMA synchronous = OFF")  # a cache: a torn file is found and rebuilt
    conn.executescript(SCHEMA)
    conn.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (fingerprint(),))
    conn.commit()
    return conn


def _publish(tmp: Path, path: Path) -> None:
    """Move a finished index into place; if that fails, the next run rebuilds again."""
    try:
        tmp.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _update(conn: sqlite3.Connection, root: Path, commit: str | None, tree: str) -> tuple[int, int]:
    """Make the rows match `commit`'s KB, touching only files whose blob changed; return
    (files indexed, files removed). One write transaction, taken before looking at the
    rows: a process that waited for another's update finds it done, and a reader never
    sees half an update."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _meta(conn, "tree") == tree:  # another process did this update while we waited
            conn.commit()
            return 0, 0
        changes = _changes(conn, root, commit, tree)
        stored = _stored_blobs(conn, list(changes))
        changes = {p: blob for p, blob in changes.items() if stored.get(p) != blob}
        wanted = [blob for blob in changes.values() if blob is not None]
        blobs = BlobReader(root).read(wanted) if wanted else {}
        for relpath, blob in changes.items():
            if relpath in stored:
                _delete(conn, relpath)
            if blob is not None:
                _insert(conn, relpath, blob, blobs.get(blob))
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('tree', ?)", (tree,))
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('commit', ?)", (commit or "",))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return len(wanted), len(changes) - len(wanted)


def _changes(
    conn: sqlite3.Connection, root: Path, commit: str | None, tree: str
) -> dict[str, str | None]:
    """path -> new blob id (None: gone) of the record files that may differ from the
    rows: from `git diff-tree` against the indexed tree when there is one (work grows with
    the change), else every record file of the tree against every row."""
    old_tree = _meta(conn, "tree")
    if old_tree and tree:
        try:
            return _diff(root, old_tree, tree)
        except RepoError:  # the old tree is gone (gc after a rewrite): compare everything
            pass
    current = _record_blobs(root, commit) if tree else {}
    gone = conn.execute("SELECT path FROM docs").fetchall()
    return {**{path: None for (path,) in gone if path not in current}, **current}


def _diff(root: Path, old_tree: str, new_tree: str) -> dict[str, str | None]:
    """Record files that differ between two kb/ trees (paths relative to the root)."""
    out = git(root, "diff-tree", "-r", "-z", "--no-renames", old_tree, new_tree)
    items = out.split("\0")
    found: dict[str, str | None] = {}
    for meta, name in zip(items[::2], items[1::2], strict=False):
        fields = meta.lstrip(":").split()
        if len(fields) < 5:
            continue
        relpath = f"{KB_DIR}/{name}"
        regular = fields[1] != SYMLINK_MODE and fields[4] != "D"
        if _is_record(relpath):
            found[relpath] = fields[3] if regular else None
    return found


def _record_blobs(root: Path, commit: str | None) -> dict[str, str]:
    """path -> blob id of every record file of `commit` (kinds with a folder; symlinks
    are left to validate's KB307: their blob is a path, not a record)."""
    entries = tree_files(root, commit, (KB_DIR,)) if commit is not None else {}
    return {
        path: entry.blob
        for path, entry in entries.items()
        if entry.mode != SYMLINK_MODE and _is_record(path)
    }


def _is_record(relpath: str) -> bool:
    return is_knowledge_path(relpath) and location_of(relpath).kind in FOLDERS


def _stored_blobs(conn: sqlite3.Connection, paths: list[str]) -> dict[str, str]:
    """path -> indexed blob id, for those of `paths` the index holds."""
    found: dict[str, str] = {}
    for start in range(0, len(paths), 500):  # SQLite's limit on bound parameters
        chunk = paths[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(f"SELECT path, blob FROM docs WHERE path IN ({marks})", chunk)
        found.update(dict(rows.fetchall()))
    return found


def _delete(conn: sqlite3.Connection, relpath: str) -> None:
    row = conn.execute("SELECT key FROM docs WHERE path = ?", (relpath,)).fetchone()
    if row is None:
        return
    key = int(row[0])
    conn.execute("DELETE FROM records WHERE rowid = ?", (key,))
    conn.execute(
        "DELETE FROM fields WHERE rowid BETWEEN ? AND ?",
        (key * FIELD_SLOTS, key * FIELD_SLOTS + FIELD_SLOTS - 1),
    )
    conn.execute("DELETE FROM docs WHERE key = ?", (key,))


def _insert(conn: sqlite3.Connection, relpath: str, blob: str, raw: bytes | None) -> None:
    """Index one file. A file that does not parse to a mapping is remembered by its blob
    (so it is not parsed again) but has no rows: `memkb validate` reports it."""
    doc = parse(relpath, raw)
    cur = conn.execute(
        "INSERT INTO docs(path, blob, kind, rid) VALUES (?, ?, ?, ?)",
        (relpath, blob, doc.kind if doc else None, doc.rid if doc else None),
    )
    if doc is None:
        return
    key = int(cur.lastrowid or 0)
    conn.execute(
        f"INSERT INTO records(rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?)",
        (key, *columns(doc)),
    )
    conn.executemany(
        "INSERT INTO fields(rowid, text, field) VALUES (?, ?, ?)",
        [(key * FIELD_SLOTS + n, text, name) for n, (name, text) in enumerate(doc.fields)],
    )


def parse(relpath: str, raw: bytes | None) -> Doc | None:
    """The searchable text of one record file, or None if it is not a YAML mapping."""
    from memkb.search.extract import fields_of  # here: a warm search never loads yaml

    found = fields_of(raw) if raw is not None else None
    kind = location_of(relpath).kind
    if found is None or kind is None:
        return None
    named = dict(found)
    given = named.get("id")
    rid = given[0] if given and len(given) == 1 else location_of(relpath).stem
    fields = [("id", rid)]
    for key, strings in found:
        if key not in SKIPPED_FIELDS | {"id"} and strings:
            fields.append((key, "\n".join(strings)))
    if len(fields) > FIELD_SLOTS:  # fold the rest into the last slot rather than lose it
        rest = "\n".join(text for _, text in fields[FIELD_SLOTS - 1 :])
        fields = [*fields[: FIELD_SLOTS - 1], (fields[FIELD_SLOTS - 1][0], rest)]
    return Doc(kind, rid, fields)


def columns(doc: Doc) -> tuple[str, str, str]:
    """The record's text split into the name, summary and body columns BM25 weighs."""
    parts: dict[str, list[str]] = {c: [] for c in COLUMNS}
    for name, text in doc.fields:
        column = "name" if name in NAME_FIELDS else "summary" if name in SUMMARY_FIELDS else "body"
        parts[column].append(text)
    return ("\n".join(parts["name"]), "\n".join(parts["summary"]), "\n".join(parts["body"]))
