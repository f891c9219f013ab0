"""Ranking: relevance to the query times evidence from outcomes (patterns, templates), and
how likely a failure is in this project (guards). Pure functions over a Corpus; every
formula and constant is in docs/advice.md."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from memkb.advice.bm25 import BM25, tokens
from memkb.advice.items import Item, Posterior
from memkb.advice.query import Query
from memkb.metrics.formulas import SCORE, posterior

# Relevance: weights of each part the query names (renormalised over the named parts).
W_DOMAIN, W_PHASE, W_DROID, W_TEXT = 0.4, 0.3, 0.1, 0.2
OTHER_DOMAIN_WEIGHT = 0.25  # an outcome outside the query's domains counts a quarter
NO_EVIDENCE_LOWER = 0.05  # no prior, no outcome: the 5% quantile of Beta(1, 1)
DEMOTION = 0.5  # a pattern that failed in every similar project keeps half its score
GUARDED_BONUS = 0.25  # a failure a recommended template or pattern guards against
DIGITS = 6  # scores are rounded once, here: equal scores then tie-break by id


@dataclass(frozen=True)
class Facts:
    """A record's fields that relevance reads (templates' phases and droids flattened)."""

    id: str
    domains: frozenset[str]
    phases: frozenset[str]
    droids: frozenset[str]
    text: list[str]


@dataclass(frozen=True)
class Tally:
    """Outcomes that applied one record: similar (in the query's domains) and other."""

    similar: tuple[dict[str, Any], ...]
    other: tuple[dict[str, Any], ...]


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _words(doc: dict[str, Any], fields: Sequence[str]) -> list[str]:
    parts = [doc.get("id", "")]
    for name in fields:
        value = doc.get(name)
        parts.extend([value] if isinstance(value, str) else _strs(value))
    return tokens(" ".join(p for p in parts if isinstance(p, str)))


TEXT_FIELDS = {
    "pattern": ("title", "description", "best_practices"),
    "template": ("title", "description"),
    "failure": ("title", "description", "common_causes", "warning_signs"),
}


def facts(kind: str, doc: dict[str, Any]) -> Facts:
    """The relevance facts of one record of `kind`."""
    if kind == "template":
        steps = [p for p in doc.get("phases", []) if isinstance(p, dict)]
        phases = {p["phase"] for p in steps if isinstance(p.get("phase"), str)}
        crew = {d for p in steps for d in _strs(p.get("droids"))}
        extra = [f"{p.get('name', '')} {p.get('description', '')}" for p in steps]
        text = _words(doc, TEXT_FIELDS[kind]) + tokens(" ".join(str(e) for e in extra))
        return Facts(doc["id"], frozenset(_strs(doc.get("domains"))), frozenset(phases),
                     frozenset(crew), text)  # fmt: skip
    return Facts(doc["id"], frozenset(_strs(doc.get("domains"))),
                 frozenset(_strs(doc.get("phases"))), frozenset(_strs(doc.get("key_droids"))),
                 _words(doc, TEXT_FIELDS[kind]))  # fmt: skip


def relevance(query: Query, record: Facts, text_score: float) -> tuple[float, list[str]]:
    """Weighted overlap in [0, 1] over the parts the query names, and its reasons; 1.0
    for a query that names nothing."""
    if query.is_empty():
        return 1.0, ["the query names nothing: ranked by evidence alone"]
    parts: list[tuple[float, float]] = []
    said: list[str] = []
    for weight, asked, has, what in (
        (W_DOMAIN, query.domains, record.domains, "domain"),
        (W_PHASE, query.phases, record.phases, "phase"),
    ):
        if asked:
            shared = sorted(set(asked) & has)
            parts.append((weight, len(shared) / len(asked)))
            said.extend(f"{what} {name}" for name in shared)
    reasons = ["matches " + " and ".join(said)] if said else []
    if query.droids and record.droids:
        have = sorted(set(query.droids) & record.droids)
        parts.append((W_DROID, len(have) / len(record.droids)))
        if have:
            reasons.append(
                f"{len(have)} of its {len(record.droids)} droids available: " + ", ".join(have)
            )
    elif query.droids:
        parts.append((W_DROID, 0.0))
    if query.text.strip():
        parts.append((W_TEXT, text_score / (text_score + 1.0)))
    total = sum(w for w, _ in parts)
    return (sum(w * x for w, x in parts) / total if total else 0.0), reasons


def text_scores(query: Query, records: Sequence[Facts]) -> tuple[BM25, dict[int, float]]:
    """BM25 over the records' text for the query's free text."""
    index = BM25([r.text for r in records])
    return index, index.scores(tokens(query.text)) if query.text.strip() else {}


def is_similar(query: Query, outcome: dict[str, Any]) -> bool:
    """An outcome is from a similar project when it shares a domain with the query (every
    outcome is, for a query naming no domain)."""
    return not query.domains or bool(set(query.domains) & set(_strs(outcome.get("domains"))))


def tally(query: Query, outcomes: Iterable[dict[str, Any]]) -> Tally:
    """Split `outcomes` into similar and other projects."""
    chosen = list(outcomes)
    return Tally(
        tuple(o for o in chosen if is_similar(query, o)),
        tuple(o for o in chosen if not is_similar(query, o)),
    )


def _counts(outcomes: Sequence[dict[str, Any]]) -> tuple[float, float]:
    wins = sum(SCORE.get(str(o.get("outcome")), 0.0) for o in outcomes)
    return wins, len(outcomes) - wins


def prior_of(kind: str, doc: dict[str, Any]) -> tuple[float | None, float | None]:
    """The declared prior (rate, weight) of a pattern or template, (None, None) if none."""
    prior = doc.get("prior")
    if not isinstance(prior, dict):
        return None, None
    rate = prior.get("success_rate" if kind == "pattern" else "success_probability")
    weight = prior.get("weight")
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        return None, None
    return float(rate), float(weight) if isinstance(weight, int | float) else None


def evidence_counts(t: Tally) -> tuple[float, float]:
    """Weighted wins and losses: similar projects count 1, others OTHER_DOMAIN_WEIGHT."""
    sw, sl = _counts(t.similar)
    ow, ol = _counts(t.other)
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
    found = posterior(rate, weight, wins, losses)
    if found["mean"] is None:
        return None
    low, high = found["interval_90"]
    return Posterior(found["mean"], low, high)


def demotion(t: Tally) -> float:
    """1 - DEMOTION * (share of similar projects applying it that failed)."""
    if not t.similar:
        return 1.0
    failed = sum(1 for o in t.similar if o.get("outcome") == "failure")
    return 1.0 - DEMOTION * failed / len(t.similar)


def top(
    candidates: list[tuple[float, str, Any]], limit: int, exact: Callable[[Any], Item]
) -> list[Item]:
    """The `limit` best items by (score desc, id); `candidates` carry an upper bound of
    their score, so exact scores are computed only while one could still enter."""
    candidates.sort(key=lambda c: (-c[0], c[1]))
    best: list[Item] = []
    for upper, _, payload in candidates:
        if len(best) >= limit and upper + 1e-9 < best[-1].score:
            break
        best.append(exact(payload))
        best.sort(key=lambda i: (-i.score, i.id))
        del best[limit:]
    return best


def supersessions(records: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Successor id -> the deprecated records it replaces, sorted."""
    out: dict[str, list[str]] = {}
    for rid, doc in records.items():
        successor = doc.get("superseded_by")
        if doc.get("status") == "deprecated" and isinstance(successor, str):
            out.setdefault(successor, []).append(rid)
    return {k: sorted(v) for k, v in out.items()}


def active(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records not deprecated: deprecated ones never appear in advice."""
    return {rid: d for rid, d in records.items() if d.get("status", "active") != "deprecated"}


def round_score(value: float) -> float:
    return round(value, DIGITS)


def label(query: Query) -> str:
    """How similar projects are named in reasons: their domains, or 'recorded'."""
    return "/".join(query.domains) if query.domains else "recorded"
