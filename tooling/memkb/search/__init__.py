"""Full-text search over every record (`memkb search`): SQLite FTS5, ranked by BM25, kept
under .git/memkb/ and updated by blob id (docs/search.md)."""

from memkb.search.index import IndexStats, index_path, open_index
from memkb.search.query import SearchHit, SearchResult, run, search

__all__ = ["IndexStats", "SearchHit", "SearchResult", "index_path", "open_index", "run", "search"]
