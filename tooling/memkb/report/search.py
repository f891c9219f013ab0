"""`memkb search`: hits as grep-like text, or the `memkb.search/1` JSON document."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from memkb.report import json_document
from memkb.report.findings import printable

if TYPE_CHECKING:
    from memkb.search import SearchResult


def _where(result: SearchResult) -> str:
    kinds = f" among {', '.join(result.kinds)} records" if result.kinds else ""
    return f"{kinds} at commit {(result.commit or '')[:12]}"


def render_text(result: SearchResult) -> str:
    """Two lines per hit (path, kind, id, score; then field: snippet), then a summary.
    Record text is shown with control characters escaped: it is data, not terminal input."""
    if not result.hits:
        return printable(f"no record matches '{result.query}'{_where(result)}") + "\n"
    lines = []
    for hit in result.hits:
        lines.append(printable(f"{hit.path}: {hit.kind} {hit.id} (score {hit.score:.4g})"))
        lines.append("    " + printable(f"{hit.field}: {hit.snippet}"))
    shown = len(result.hits)
    more = " (the limit; --limit N shows more)" if shown == result.limit else ""
    lines.append(f"{shown} record{'s' if shown != 1 else ''}{_where(result)}{more}")
    return "\n".join(lines) + "\n"


def render_json(result: SearchResult) -> str:
    """`memkb.search/1`: the query and its words, the commit, the kinds, and the hits with
    kind, id, path, field, snippet ([...] marks the match) and score (higher is better)."""
    return json_document(
        "search",
        {
            "query": result.query,
            "terms": result.terms,
            "commit": result.commit,
            "kinds": result.kinds,
            "limit": result.limit,
            "hits": [asdict(hit) for hit in result.hits],
        },
    )
