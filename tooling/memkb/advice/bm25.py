"""BM25 (Okapi) text relevance, written out: one corpus per record kind, no stemming.

score(q, d) = sum over query terms t of
    idf(t) * tf(t, d) * (K1 + 1) / (tf(t, d) + K1 * (1 - B + B * len(d) / avg_len))
idf(t) = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))   (never negative)
Formulas and parameters: docs/advice.md.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

K1 = 1.2  # term-frequency saturation: the usual default
B = 0.75  # length normalisation: the usual default
TOKEN_RE = re.compile(r"[a-z0-9]+")
# Words that match everything and say nothing about a project.
STOPWORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it"}
    | {"of", "on", "or", "the", "to", "with", "without"}
)


def tokens(text: str) -> list[str]:
    """Lower-case words of `text` of two or more characters, stopwords dropped; ids such
    as payment_webhook_timeout split into their words."""
    return [t for t in TOKEN_RE.findall(text.lower()) if len(t) > 1 and t not in STOPWORDS]


class BM25:
    """An inverted index over documents given as token lists, in a fixed order."""

    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        self.count = len(docs)
        self.lengths = [len(d) for d in docs]
        self.avg_len = (sum(self.lengths) / self.count) if self.count else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for index, doc in enumerate(docs):
            for term, freq in sorted(Counter(doc).items()):
                self.postings.setdefault(term, []).append((index, freq))

    def idf(self, term: str) -> float:
        n = len(self.postings.get(term, ()))
        return math.log(1.0 + (self.count - n + 0.5) / (n + 0.5))

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        """Document index -> BM25 score, for the documents sharing a term with `query`."""
        out: dict[int, float] = {}
        for term in sorted(set(query)):
            idf = self.idf(term)
            for index, freq in self.postings.get(term, ()):
                norm = K1 * (1.0 - B + B * self.lengths[index] / (self.avg_len or 1.0))
                out[index] = out.get(index, 0.0) + idf * freq * (K1 + 1.0) / (freq + norm)
        return out

    def matched(self, query: Iterable[str], index: int) -> list[str]:
        """The query terms document `index` contains, sorted."""
        return sorted(t for t in set(query) if any(i == index for i, _ in self.postings.get(t, ())))
