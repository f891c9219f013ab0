"""`recommend`: the templates, patterns and failure guards for a query, at one commit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memkb.advice import rank
from memkb.advice.bm25 import tokens
from memkb.advice.corpus import Corpus, load_corpus, resolve_commit
from memkb.advice.items import Advice, Item
from memkb.advice.query import Query, brief_id, normalize


def recommend(root: Path, query: Query) -> Advice:
    """Advice for `query` from the KB at HEAD (or `query.as_of`) of the repository `root`.

    Raise UsageError for an unknown domain, phase or droid (with a "did you mean"), a bad
    --as-of or one before the first commit; RepoError when there is no commit yet."""
    commit = resolve_commit(root, query.as_of)
    return advise(load_corpus(root, commit), query)


def advise(corpus: Corpus, query: Query) -> Advice:
    """Advice for `query` from an already loaded corpus (pure: no Git, no files)."""
    query = normalize(query, corpus.vocabulary)
    templates = _section(corpus, query, "template")
    patterns = _section(corpus, query, "pattern")
    guards = _guards(corpus, query, (*templates, *patterns))
    notes = _notes(corpus, templates, patterns, guards)
    return Advice(
        corpus.commit,
        query,
        brief_id(corpus.commit, query),
        tuple(templates),
        tuple(patterns),
        tuple(guards),
        notes,
    )


def _applied(corpus: Corpus, kind: str) -> dict[str, list[dict[str, Any]]]:
    """Record id -> outcomes that applied it (template followed / patterns applied)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for o in corpus.outcomes:
        used = [o.get("template")] if kind == "template" else rank._strs(o.get("patterns_applied"))
        for rid in used:
            if isinstance(rid, str):
                out.setdefault(rid, []).append(o)
    return out


def _section(corpus: Corpus, query: Query, kind: str) -> list[Item]:
    records = rank.active(corpus.of_kind(kind))
    facts = [rank.facts(kind, d) for d in records.values()]
    bm25, text = rank.text_scores(query, facts)
    applied = _applied(corpus, kind)
    replaces = rank.supersessions(corpus.of_kind(kind))
    candidates: list[tuple[float, str, Any]] = []
    for index, fact in enumerate(facts):
        rel, why = rank.relevance(query, fact, text.get(index, 0.0))
        if rel <= 0.0:
            continue
        if index in text:
            why.append("text matches: " + ", ".join(bm25.matched(tokens(query.text), index)))
        tally = rank.tally(query, applied.get(fact.id, []))
        rate, weight = rank.prior_of(kind, records[fact.id])
        wins, losses = rank.evidence_counts(tally)
        factor = rank.demotion(tally)
        upper = rel * rank.upper_bound(rate, weight, wins, losses) * factor
        payload = (fact.id, rel, why, tally, rate, weight, factor, replaces.get(fact.id, []))
        candidates.append((upper, fact.id, payload))
    return rank.top(candidates, query.limit, lambda p: _item(query, *p))


def _item(
    query: Query,
    rid: str,
    rel: float,
    why: list[str],
    tally: rank.Tally,
    rate: float | None,
    weight: float | None,
    factor: float,
    replaces: list[str],
) -> Item:
    post = rank.exact_posterior(rate, weight, *rank.evidence_counts(tally))
    lower = post.low if post is not None else rank.NO_EVIDENCE_LOWER
    reasons = [*why, *_evidence_reasons(query, tally), _prior_reason(rate, weight)]
    if post is not None:
        reasons.append(
            f"posterior mean {post.mean:.3f}, 90% interval {post.low:.3f}-"
            f"{post.high:.3f}: ranked by its lower bound {post.low:.3f}"
        )
    else:
        reasons.append(
            f"no prior and no outcome: evidence counted as {lower} (the lower bound of Beta(1, 1))"
        )
    if factor < 1.0:
        reasons.append(f"failed in similar projects: score x{factor:.3f}")
    reasons.extend(f"supersedes {old} (deprecated)" for old in replaces)
    evidence = sorted(str(o["id"]) for o in (*tally.similar, *tally.other))
    return Item(
        rid,
        rank.round_score(rel * lower * factor),
        tuple(reasons),
        tuple(evidence),
        post,
        tuple(replaces),
    )


def _evidence_reasons(query: Query, tally: rank.Tally) -> list[str]:
    where = rank.label(query)
    if not tally.similar and not tally.other:
        return ["no recorded project applied it yet"]
    out = []
    if tally.similar:
        out.append(_outcome_line(tally.similar, f"{where} projects that applied it"))
    if tally.other:
        out.append(
            _outcome_line(tally.other, "projects in other domains that applied it")
            + f" (each counts {rank.OTHER_DOMAIN_WEIGHT})"
        )
    return out


def _outcome_line(outcomes: Sequence[dict[str, Any]], who: str) -> str:
    won = sum(1 for o in outcomes if o.get("outcome") == "success")
    part = sum(1 for o in outcomes if o.get("outcome") == "partial")
    extra = f", {part} partly" if part else ""
    return f"{won} of {len(outcomes)} {who} succeeded{extra}"


def _prior_reason(rate: float | None, weight: float | None) -> str:
    if rate is None or not weight:
        return "no declared prior"
    return f"prior {rate:g} worth {weight:g} outcomes"


def _guards(corpus: Corpus, query: Query, chosen: Sequence[Item]) -> list[Item]:
    failures = rank.active(corpus.of_kind("failure"))
    facts = [rank.facts("failure", d) for d in failures.values()]
    bm25, text = rank.text_scores(query, facts)
    guarded_by = _guarded_by(corpus, chosen)
    similar = [o for o in corpus.outcomes if rank.is_similar(query, o)]
    met = _met(similar)
    candidates: list[tuple[float, str, Any]] = []
    for index, fact in enumerate(facts):
        declared = rank.Facts(fact.id, fact.domains, fact.phases, frozenset(), fact.text)
        rel, why = rank.relevance(_without_droids(query), declared, text.get(index, 0.0))
        if index in text:
            why.append("text matches: " + ", ".join(bm25.matched(tokens(query.text), index)))
        hits = met.get(fact.id, [])
        recovered = sum(1 for _, ok in hits if ok)
        share = len(hits) / len(similar) if similar else 0.0
        unrecovered = (len(hits) - recovered + 1) / (len(hits) + 2)
        bonus = rank.GUARDED_BONUS if fact.id in guarded_by else 0.0
        score = rank.round_score(rel + share * unrecovered + bonus)
        if score <= 0.0:
            continue
        reasons = [*why, *_met_reasons(query, hits, recovered, len(similar))]
        if bonus:
            reasons.append("guarded against by " + ", ".join(guarded_by[fact.id]))
        item = Item(fact.id, score, tuple(reasons), tuple(sorted({o for o, _ in hits})))
        candidates.append((score, fact.id, item))
    return rank.top(candidates, query.limit, lambda item: item)


def _without_droids(query: Query) -> Query:
    """Failures declare no droids: a droid-only query does not make every failure relevant."""
    return Query(query.domains, query.phases, (), query.text, query.limit, query.as_of)


def _guarded_by(corpus: Corpus, chosen: Sequence[Item]) -> dict[str, list[str]]:
    """Failure id -> the recommended templates and patterns that name it in `guards`."""
    out: dict[str, set[str]] = {}
    docs = {**corpus.of_kind("template"), **corpus.of_kind("pattern")}
    for item in chosen:
        for failure in rank._strs(docs.get(item.id, {}).get("guards")):
            out.setdefault(failure, set()).add(item.id)
    return {k: sorted(v) for k, v in out.items()}


def _met(outcomes: Sequence[dict[str, Any]]) -> dict[str, list[tuple[str, bool]]]:
    """Failure id -> (outcome id, recovered) for each time it was met."""
    out: dict[str, list[tuple[str, bool]]] = {}
    for o in outcomes:
        for entry in o.get("failures_met") or []:
            if isinstance(entry, dict) and isinstance(entry.get("failure"), str):
                out.setdefault(entry["failure"], []).append(
                    (str(o.get("id")), entry.get("recovered") is True)
                )
    return out


def _met_reasons(
    query: Query, hits: list[tuple[str, bool]], recovered: int, similar: int
) -> list[str]:
    where = rank.label(query)
    if not hits:
        return [f"not met in any of {similar} {where} projects"]
    return [
        f"met in {len(hits)} of {similar} {where} projects, recovered {recovered} of {len(hits)}"
    ]


def _notes(corpus: Corpus, *sections: Sequence[Item]) -> tuple[str, ...]:
    """Why lists are empty, so an empty answer is never silent."""
    names = ("templates", "patterns", "guards")
    kinds = ("template", "pattern", "failure")
    notes = []
    for name, kind, items in zip(names, kinds, sections, strict=True):
        if items:
            continue
        if not rank.active(corpus.of_kind(kind)):
            notes.append(f"no {name}: the knowledge base at this commit has no active {kind}")
        else:
            notes.append(f"no {name}: none matches the query's domains, phases, droids or text")
    return tuple(notes)
