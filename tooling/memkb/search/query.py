"""Running a search: a person's text becomes an FTS5 query that cannot fail to parse, the
index ranks records by BM25, and each hit gets the field and snippet that matched best."""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from memkb.errors import UsageError
from memkb.gitio.log import git
from memkb.kb.layout import FOLDERS, LEGACY_ID_FIELD
from memkb.search.index import FIELD_SLOTS, WEIGHTS, IndexStats, discard, open_index

SEARCHABLE_KINDS: tuple[str, ...] = tuple(FOLDERS)
MARK_START, MARK_END, ELLIPSIS = "[", "]", "..."
SNIPPET_WORDS = 12  # words around the match in a snippet


@dataclass(frozen=True)
class SearchHit:
    """One matching record: where it is, the field that matched best, an excerpt of that
    field with the matched words in [brackets], and its BM25 score (higher is better)."""

    kind: str
    id: str
    path: str
    field: str
    snippet: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    """A search's answer: the query as given and its words, the commit searched, the
    kinds it was limited to (all if empty), the hits best first, and what the index did."""

    query: str
    terms: list[str]
    commit: str | None
    kinds: list[str]
    limit: int
    hits: list[SearchHit]
    index: IndexStats


def clean(query: str) -> str:
    """`query` as SQLite and the output can take it: a lone surrogate (an undecodable byte
    on a command line) becomes "?", which UTF-8 cannot encode otherwise; a NUL becomes a
    space, as FTS5 ends a string at NUL ("unterminated string")."""
    return query.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")


def terms_of(query: str) -> list[str]:
    """The words of a cleaned query: split at white space, so `"`, `*`, `:`, `-`, `NEAR`,
    `AND` are text to find, not FTS5 syntax. UsageError if there is no word."""
    terms = query.split()
    if not terms:
        raise UsageError("the search query is empty", hint="give one or more words to look for")
    return terms


def fts_query(terms: Sequence[str], joiner: str = " ") -> str:
    """Each term as an FTS5 string ("" doubled inside): a phrase of the tokens it holds,
    never an operator. Joined by a space they must all match (AND); by " OR ", any."""
    return joiner.join('"' + term.replace('"', '""') + '"' for term in terms)


def check_kinds(kinds: Sequence[str] | None) -> list[str]:
    """The kinds to search, sorted and without repeats; UsageError for an unknown one."""
    for kind in kinds or ():
        if kind not in SEARCHABLE_KINDS:
            near = difflib.get_close_matches(kind, SEARCHABLE_KINDS, n=1)
            guess = f" (did you mean '{near[0]}'?)" if near else ""
            raise UsageError(
                f"unknown kind '{kind}'{guess}",
                hint=f"use one of: {', '.join(SEARCHABLE_KINDS)}",
            )
    return sorted(set(kinds or ()))


def commit_of(root: Path, as_of: str | None) -> str:
    """The commit searched: HEAD, the revision `as_of` names, or for a YYYY-MM-DD date the
    last commit of HEAD's first-parent chain made on or before that day (UTC), as in
    `memkb metrics --as-of`. RepoError without commits; UsageError for a revision that
    does not exist or a date before the first commit."""
    if as_of is None:  # the warm path: one git call, without loading memkb.history
        head = git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        if head.strip():
            return head.strip()
    from memkb.history.query import DATE_RE, end_of_day, tip_of

    tip = tip_of(root, as_of)
    if as_of is None or not DATE_RE.match(as_of):
        return tip
    found = git(root, "rev-list", "-1", "--first-parent", f"--before={end_of_day(as_of)}", tip)
    if not found.strip():
        raise UsageError(
            f"--as-of {as_of} is before the first commit",
            hint="give a later date, or a revision",
        )
    return found.strip()


def run(
    root: Path,
    query: str,
    *,
    kinds: Sequence[str] | None = None,
    limit: int = 10,
    as_of: str | None = None,
) -> SearchResult:
    """Search every record of HEAD (or of the commit `as_of` names) for `query`.

    Every word must occur in the record (in any field); records rank by BM25, ties by
    kind then id, so the same query on the same commit gives the same answer. Raises
    UsageError for an empty query, an unknown kind or a limit below 1."""
    query = clean(query)
    terms = terms_of(query)
    chosen = check_kinds(kinds)
    if limit < 1:
        raise UsageError(f"--limit must be at least 1, not {limit}", hint="e.g. --limit 10")
    commit = commit_of(root, as_of)
    try:
        hits, stats = _answer(root, commit, terms, chosen, limit)
    except sqlite3.DatabaseError:  # damage found only while reading: rebuild and retry
        discard(root)
        hits, stats = _answer(root, commit, terms, chosen, limit)
    return SearchResult(query, terms, commit, chosen, limit, hits, stats)


def search(
    root: Path,
    query: str,
    *,
    kinds: Sequence[str] | None = None,
    limit: int = 10,
    as_of: str | None = None,
) -> list[SearchHit]:
    """The hits of `run(...)`, best first (see `run` for the rules and errors)."""
    return run(root, query, kinds=kinds, limit=limit, as_of=as_of).hits


def _answer(
    root: Path, commit: str, terms: list[str], kinds: list[str], limit: int
) -> tuple[list[SearchHit], IndexStats]:
    conn, stats = open_index(root, commit)
    try:
        exact = _exact_legacy_ids(conn, terms, kinds)
        rows = _legacy_first(exact, _ranked(conn, terms, kinds, limit), limit)
        by_legacy_id = {row[0] for row in exact}
        hits = [
            _legacy_hit(terms[0], *row) if row[0] in by_legacy_id else _hit(conn, terms, *row)
            for row in rows
        ]
    finally:
        conn.close()
    return hits, stats


def _ranked(
    conn: sqlite3.Connection, terms: list[str], kinds: list[str], limit: int
) -> list[tuple[int, str, str, str, float]]:
    """(key, kind, id, path, bm25) of the best `limit` records (bm25: lower is better)."""
    weights = ", ".join(str(w) for w in WEIGHTS)
    only = f"AND d.kind IN ({', '.join('?' * len(kinds))})" if kinds else ""
    sql = (
        f"SELECT d.key, d.kind, d.rid, d.path, bm25(records, {weights}) AS rank_ "
        f"FROM records JOIN docs d ON d.key = records.rowid "
        f"WHERE records MATCH ? {only} ORDER BY rank_, d.kind, d.rid LIMIT ?"
    )
    return conn.execute(sql, (fts_query(terms), *kinds, limit)).fetchall()


def _exact_legacy_ids(
    conn: sqlite3.Connection, terms: list[str], kinds: list[str]
) -> list[tuple[int, str, str, str, float]]:
    """The records whose legacy.id is the query itself (one term, e.g.
    react-component-pattern): the record a legacy memory called so, ranked first."""
    if len(terms) != 1:
        return []
    only = f"AND d.kind IN ({', '.join('?' * len(kinds))})" if kinds else ""
    sql = (
        f"SELECT d.key, d.kind, d.rid, d.path, 0.0 FROM fields JOIN docs d "
        f"ON d.key = fields.rowid / {FIELD_SLOTS} "
        f"WHERE fields MATCH ? AND fields.field = ? AND fields.text = ? {only} "
        f"ORDER BY d.kind, d.rid"
    )
    return conn.execute(sql, (fts_query(terms), LEGACY_ID_FIELD, terms[0], *kinds)).fetchall()


def _legacy_first(
    exact: list[tuple[int, str, str, str, float]],
    ranked: list[tuple[int, str, str, str, float]],
    limit: int,
) -> list[tuple[int, str, str, str, float]]:
    """`exact` hits first (scored as the best ranked one), then the rest, `limit` in all."""
    if not exact:
        return ranked
    best = min((row[4] for row in ranked), default=0.0)
    keys = {row[0] for row in exact}
    first = [(*row[:4], best) for row in exact]
    return [*first, *(row for row in ranked if row[0] not in keys)][:limit]


def _legacy_hit(legacy_id: str, key: int, kind: str, rid: str, path: str, rank: float) -> SearchHit:
    """The hit of a record found by its legacy id: that field, the id marked."""
    del key
    return SearchHit(kind, rid, path, LEGACY_ID_FIELD, f"{MARK_START}{legacy_id}{MARK_END}", -rank)


def _hit(
    conn: sqlite3.Connection, terms: list[str], key: int, kind: str, rid: str, path: str,
    rank: float,
) -> SearchHit:  # fmt: skip
    """The hit for one ranked record: its best-matching field (any word) and snippet."""
    row = conn.execute(
        "SELECT field, snippet(fields, 0, ?, ?, ?, ?) FROM fields "
        "WHERE fields MATCH ? AND rowid BETWEEN ? AND ? ORDER BY rank, rowid LIMIT 1",
        (
            MARK_START,
            MARK_END,
            ELLIPSIS,
            SNIPPET_WORDS,
            fts_query(terms, " OR "),
            key * FIELD_SLOTS,
            key * FIELD_SLOTS + FIELD_SLOTS - 1,
        ),
    ).fetchone()
    field, snippet = row if row is not None else ("", "")
    return SearchHit(kind, rid, path, field, " ".join(snippet.split()), -rank)
