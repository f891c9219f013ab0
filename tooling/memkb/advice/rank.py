"""Ranking: relevance to the query times evidence from outcomes (patterns, templates), and
how likely a failure is in this project (guards). Pure functions over a prepared Corpus;
every formula and constant is in docs/advice.md."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from memkb.advice.corpus import Corpus, Section
from memkb.advice.items import Item, Posterior
from memkb.advice.query import Query

# Relevance: weights of each part the query names (renormalised over the named parts).
W_DOMAIN, W_PHASE, W_DROID, W_TEXT = 0.4, 0.3, 0.1, 0.2
OTHER_DOMAIN_WEIGHT = 0.25  # an outcome outside the query's domains counts a quarter
NO_EVIDENCE_LOWER = 0.05  # no prior, no outcome: the 5% quantile of Beta(1, 1)
DEMOTION = 0.5  # a pattern that failed in every similar project keeps half its score
GUARDED_BONUS = 0.25  # a failure a recommended template or pattern guards against
DIGITS = 6  # scores are rounded once, here: equal scores then tie-break by id
EVIDENCE_KEPT = 8  # sets of query domains whose Evidence a corpus keeps


@dataclass(frozen=True)
class Masks:
    """The query's names as masks of the corpus's bit tables, and how many it names."""

    domains: int
    phases: int
    droids: int
    counts: tuple[int, int, int]
    text: bool
    empty: bool

    @classmethod
    def of(cls, query: Query, corpus: Corpus) -> Masks:
        return cls(
            corpus.mask("domain", query.domains),
            corpus.mask("phase", query.phases),
            corpus.mask("droid", query.droids),
            (len(query.domains), len(query.phases), len(query.droids)),
            bool(query.text),
            query.is_empty(),
        )


@dataclass(frozen=True)
class Tally:
    """Outcomes (indexes) that applied one record: similar (sharing a query domain) and
    other."""

    similar: tuple[int, ...]
    other: tuple[int, ...]


class Evidence:
    """What the outcomes say of each record for one set of similar projects (the outcomes
    sharing a domain with the query). It depends on the query's domains alone, so every
    question naming the same domains reuses it: kept with the corpus, computed per
    record on first use (EVIDENCE_KEPT sets of domains per corpus)."""

    def __init__(self, corpus: Corpus, flags: list[bool]) -> None:
        self.corpus, self.flags = corpus, flags
        self.similar = sum(flags)
        self._records: dict[tuple[str, int], tuple[Tally, float, float, float]] = {}
        self._hits: dict[str, list[tuple[int, bool]]] = {}
        self._met: set[str] | None = None

    @classmethod
    def of(cls, q: Masks, corpus: Corpus) -> Evidence:
        """The Evidence of the query's domains, from the corpus's memo or computed."""
        key = ("evidence", q.domains if q.counts[0] else None)
        found = corpus.memo.get(key)
        if not isinstance(found, Evidence):
            found = cls(corpus, similar_flags(q, corpus))
            evidence = [k for k in corpus.memo if k[0] == "evidence"]
            for old in evidence[: max(0, len(evidence) - EVIDENCE_KEPT + 1)]:
                del corpus.memo[old]
            corpus.memo[key] = found
        return found

    def record(self, kind: str, section: Section, n: int) -> tuple[Tally, float, float, float]:
        """(tally, demotion factor, weighted wins, weighted losses) of record `n`."""
        key = (kind, n)
        found = self._records.get(key)
        if found is None:
            t = tally(section.applied[n], self.flags)
            found = self._records[key] = (
                t,
                demotion(self.corpus, t),
                *evidence_counts(self.corpus, t),
            )
        return found

    def hits(self, rid: str) -> list[tuple[int, bool]]:
        """(outcome, recovered) for each time a similar project met failure `rid`."""
        found = self._hits.get(rid)
        if found is None:
            numbers, recovered = self.corpus.met.get(rid, ((), ()))
            flags = self.flags
            found = [(o, ok) for o, ok in zip(numbers, recovered, strict=True) if flags[o]]
            self._hits[rid] = found
        return found

    def met(self) -> set[str]:
        """The failures met by at least one similar project."""
        if self._met is None:
            flags = self.flags
            self._met = {rid for rid, (numbers, _) in self.corpus.met.items()
                         if any(flags[o] for o in numbers)}  # fmt: skip
        return self._met


def candidates(section: Section, query: Query, text: dict[int, float]) -> list[int]:
    """Records that share a domain, phase or droid with the query, or a word of its text
    (every record for a query naming nothing), in index order."""
    if query.is_empty():
        return list(range(len(section.ids)))
    found = set(text)
    for what, names in (("domain", query.domains), ("phase", query.phases),
                        ("droid", query.droids)):  # fmt: skip
        for name in names:
            found.update(section.by_name.get(f"{what}:{name}", ()))
    return sorted(found)


def relevance(q: Masks, section: Section, n: int, text_score: float, droids: bool) -> float:
    """Weighted overlap in [0, 1] over the parts the query names; 1.0 for a query that
    names nothing. `droids` False: the kind has none (failures). Runs for every
    candidate, so it builds no strings (relevance_reasons does, for the items shown)."""
    if q.empty:
        return 1.0
    got = total = 0.0
    n_domains, n_phases, n_droids = q.counts
    if n_domains:
        got += W_DOMAIN * (section.domains[n] & q.domains).bit_count() / n_domains
        total += W_DOMAIN
    if n_phases:
        got += W_PHASE * (section.phases[n] & q.phases).bit_count() / n_phases
        total += W_PHASE
    if n_droids and droids:  # the share of the record's droids the project has
        has = section.droids[n].bit_count()
        if has:
            got += W_DROID * (section.droids[n] & q.droids).bit_count() / has
        total += W_DROID
    if q.text:
        got += W_TEXT * text_score / (text_score + 1.0)
        total += W_TEXT
    return got / total if total else 0.0


def relevance_reasons(
    query: Query, corpus: Corpus, section: Section, n: int, droids: bool
) -> list[str]:
    """The checkable sentences behind `relevance` (text matches are added by the caller)."""
    if query.is_empty():
        return ["the query names nothing: ranked by evidence alone"]
    q = Masks.of(query, corpus)
    said = [f"domain {d}" for d in corpus.unmask("domain", section.domains[n] & q.domains)]
    said += [f"phase {p}" for p in corpus.unmask("phase", section.phases[n] & q.phases)]
    reasons = ["matches " + " and ".join(said)] if said else []
    have = corpus.unmask("droid", section.droids[n] & q.droids) if droids else []
    if have:
        total = section.droids[n].bit_count()
        reasons.append(f"{len(have)} of its {total} droids available: " + ", ".join(have))
    return reasons


def similar_flags(q: Masks, corpus: Corpus) -> list[bool]:
    """For each outcome, whether it is from a similar project (shares a domain with the
    query; every outcome is, for a query naming no domain): once per query."""
    if not q.counts[0]:
        return [True] * len(corpus.outcome_ids)
    return [bool(mask & q.domains) for mask in corpus.outcome_domains]


def tally(numbers: Iterable[int], flags: list[bool]) -> Tally:
    """The outcomes `numbers`, split into similar and other projects by `flags`."""
    similar: list[int] = []
    other: list[int] = []
    for n in numbers:
        (similar if flags[n] else other).append(n)
    return Tally(tuple(similar), tuple(other))


def evidence_counts(corpus: Corpus, t: Tally) -> tuple[float, float]:
    """Weighted wins and losses: similar projects count 1, others OTHER_DOMAIN_WEIGHT."""
    scores = corpus.outcome_scores
    sw = sum(scores[n] for n in t.similar)
    ow = sum(scores[n] for n in t.other)
    sl, ol = len(t.similar) - sw, len(t.other) - ow
    return sw + OTHER_DOMAIN_WEIGHT * ow, sl + OTHER_DOMAIN_WEIGHT * ol


def upper_bound(rate: float | None, weight: float | None, wins: float, losses: float) -> float:
    """An upper bound of the posterior's 5% quantile q, from its mean alone (cheap, so
    ranking computes quantiles only for records that can still reach the top). Markov:
    0.95 = P(X >= q) <= mean / q, so q <= mean / 0.95. (The mean itself is no bound: a
    Beta with most mass near 1 can have its 5% quantile above its mean.)"""
    w, r = weight or 0.0, rate or 0.0
    alpha, beta = r * w + wins, (1.0 - r) * w + losses
    return min(1.0, alpha / (alpha + beta) / 0.95) if alpha + beta > 0 else 1.0


def exact_posterior(
    rate: float | None, weight: float | None, wins: float, losses: float
) -> Posterior | None:
    """The Beta posterior memkb metrics computes (prior as pseudo-counts), or None."""
    from memkb.metrics.formulas import posterior  # imported here: only for the items shown

    found = posterior(rate, weight, wins, losses)
    if found["mean"] is None:
        return None
    low, high = found["interval_90"]
    return Posterior(found["mean"], low, high)


def demotion(corpus: Corpus, t: Tally) -> float:
    """1 - DEMOTION * (share of similar projects applying it that failed)."""
    if not t.similar:
        return 1.0
    failed = sum(1 for n in t.similar if corpus.outcome_scores[n] == 0.0)
    return 1.0 - DEMOTION * failed / len(t.similar)


def top(
    found: list[tuple[float, str, Any]], limit: int, exact: Callable[[Any], Item]
) -> list[Item]:
    """The `limit` best items by (score desc, id); `found` carry an upper bound of their
    score, so exact scores are computed only while one could still enter."""
    found.sort(key=lambda c: (-c[0], c[1]))
    best: list[Item] = []
    for upper, _, payload in found:
        if len(best) >= limit and upper + 1e-9 < best[-1].score:
            break
        best.append(exact(payload))
        best.sort(key=lambda i: (-i.score, i.id))
        del best[limit:]
    return best


def round_score(value: float) -> float:
    return round(value, DIGITS)


def label(query: Query) -> str:
    """How similar projects are named in reasons: their domains, or 'recorded'."""
    return "/".join(query.domains) if query.domains else "recorded"
