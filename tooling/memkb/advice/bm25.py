"""BM25 (Okapi) text relevance, written out: one corpus per record kind, no stemming.

score(q, d) = sum over query terms t of
    idf(t) * tf(t, d) * (K1 + 1) / (tf(t, d) + K1 * (1 - B + B * len(d) / avg_len))
idf(t) = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))   (never negative)
Formulas and parameters: docs/advice.md.
"""

from __future__ import annotations

import bisect
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


# term -> (document numbers ascending, their term frequencies): two flat tuples per term,
# not a tuple per posting, so a cached index unmarshals as a few thousand objects.
Postings = dict[str, tuple[tuple[int, ...], tuple[int, ...]]]


class BM25:
    """An inverted index: document lengths and the postings of every term. Plain data, so
    a prepared corpus can be cached and rebuilt without the documents."""

    def __init__(self, lengths: Sequence[int], postings: Postings) -> None:
        self.count = len(lengths)
        self.lengths = lengths
        self.avg_len = (sum(lengths) / self.count) if self.count else 0.0
        self.postings = postings

    @classmethod
    def index(cls, docs: Sequence[Sequence[str]]) -> BM25:
        """The index of `docs` (token lists), documents numbered in the given order."""
        found: dict[str, tuple[list[int], list[int]]] = {}
        for number, doc in enumerate(docs):
            for term, freq in sorted(Counter(doc).items()):
                numbers, freqs = found.setdefault(term, ([], []))
                numbers.append(number)
                freqs.append(freq)
        postings = {t: (tuple(n), tuple(f)) for t, (n, f) in sorted(found.items())}
        return cls([len(d) for d in docs], postings)

    def idf(self, term: str) -> float:
        n = len(self.postings[term][0]) if term in self.postings else 0
        return math.log(1.0 + (self.count - n + 0.5) / (n + 0.5))

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        """Document index -> BM25 score, for the documents sharing a term with `query`."""
        out: dict[int, float] = {}
        scale = B / (self.avg_len or 1.0)
        for term in sorted(set(query)):
            if term not in self.postings:
                continue
            idf = self.idf(term)
            numbers, freqs = self.postings[term]
            for number, freq in zip(numbers, freqs, strict=True):
                norm = K1 * (1.0 - B + scale * self.lengths[number])
                out[number] = out.get(number, 0.0) + idf * freq * (K1 + 1.0) / (freq + norm)
        return out

    def matched(self, query: Iterable[str], number: int) -> list[str]:
        """The query terms document `number` contains, sorted (a binary search in each
        term's document numbers, which are ascending)."""
        found = []
        for term in sorted(set(query)):
            numbers = self.postings.get(term, ((), ()))[0]
            at = bisect.bisect_left(numbers, number)
            if at < len(numbers) and numbers[at] == number:
                found.append(term)
        return found
