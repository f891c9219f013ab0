"""`recommend`: the templates, patterns and failure guards for a query, at one commit."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memkb.advice import rank
from memkb.advice.answers import cached
from memkb.advice.bm25 import tokens
from memkb.advice.corpus import Corpus, Section
from memkb.advice.items import Advice, Item
from memkb.advice.load import load_corpus, resolve_commit
from memkb.advice.query import Query, brief_id, normalize


def recommend(root: Path, query: Query, *, use_cache: bool = True) -> Advice:
    """Advice for `query` from the KB at HEAD (or `query.as_of`) of the repository `root`.

    Raise UsageError for an unknown domain, phase or droid (with a "did you mean"), a bad
    --as-of or one before the first commit; RepoError when there is no commit yet."""
    commit = resolve_commit(root, query.as_of)

    def build() -> dict[str, Any]:
        return advise(load_corpus(root, commit, use_cache=use_cache), query).to_dict()

    key = {"commit": commit, "answer": "recommend", "query": query.to_dict()}
    return Advice.from_dict(cached(root, key, build, use_cache))


def advise(corpus: Corpus, query: Query) -> Advice:
    """Advice for `query` from a prepared corpus (pure: no Git, no files)."""
    query = normalize(query, corpus.vocabulary())
    q = rank.Masks.of(query, corpus)
    evidence = rank.Evidence.of(q, corpus)
    templates = _section(corpus, query, q, "template", evidence)
    patterns = _section(corpus, query, q, "pattern", evidence)
    guards = _guards(corpus, query, q, (*templates, *patterns), evidence)
    notes = _notes(corpus, templates, patterns, guards)
    return Advice(corpus.commit, query, brief_id(corpus.commit, query),
                  tuple(templates), tuple(patterns), tuple(guards), notes)  # fmt: skip


def _text(section: Section, query: Query) -> tuple[Any, list[str], dict[int, float]]:
    """The section's BM25 index (None without text), the query's words and the scores."""
    words = tokens(query.text)
    if not words:
        return None, words, {}
    bm25 = section.bm25()
    return bm25, words, bm25.scores(words)


def _section(
    corpus: Corpus, query: Query, q: rank.Masks, kind: str, evidence: rank.Evidence
) -> list[Item]:
    section = corpus.section(kind)
    bm25, words, text = _text(section, query)
    found: list[tuple[float, str, Any]] = []
    for n in rank.candidates(section, query, text):
        rel = rank.relevance(q, section, n, text.get(n, 0.0), True)
        if rel <= 0.0:
            continue
        tally, factor, wins, losses = evidence.record(kind, section, n)
        rate, weight = section.rates[n], section.weights[n]
        upper = rel * rank.upper_bound(rate, weight, wins, losses) * factor
        found.append((upper, section.ids[n], (n, rel, tally, factor)))

    def exact(payload: tuple[int, float, rank.Tally, float]) -> Item:
        n, rel, tally, factor = payload
        why = rank.relevance_reasons(query, corpus, section, n, True)
        if n in text:
            why.append("text matches: " + ", ".join(bm25.matched(words, n)))
        return _item(corpus, query, section, n, rel, why, tally, factor)

    return rank.top(found, query.limit, exact)


def _item(
    corpus: Corpus,
    query: Query,
    section: Section,
    n: int,
    rel: float,
    why: list[str],
    tally: rank.Tally,
    factor: float,
) -> Item:
    rid, rate, weight = section.ids[n], section.rates[n], section.weights[n]
    post = rank.exact_posterior(rate, weight, *rank.evidence_counts(corpus, tally))
    lower = post.low if post is not None else rank.NO_EVIDENCE_LOWER
    reasons = [*why, *_evidence_reasons(corpus, query, tally), _prior_reason(rate, weight)]
    if post is not None:
        reasons.append(f"posterior mean {post.mean:.3f}, 90% interval {post.low:.3f}-"
                       f"{post.high:.3f}: ranked by its lower bound {post.low:.3f}")  # fmt: skip
    else:
        reasons.append(f"no prior and no outcome: evidence counted as {lower} "
                       "(the lower bound of Beta(1, 1))")  # fmt: skip
    if factor < 1.0:
        reasons.append(f"failed in similar projects: score x{factor:.3f}")
    replaces = section.supersedes.get(rid, [])
    reasons.extend(f"supersedes {old} (deprecated)" for old in replaces)
    evidence = sorted(corpus.outcome_ids[o] for o in (*tally.similar, *tally.other))
    return Item(rid, rank.round_score(rel * lower * factor), tuple(reasons),
                tuple(evidence), post, tuple(replaces))  # fmt: skip


def _evidence_reasons(corpus: Corpus, query: Query, tally: rank.Tally) -> list[str]:
    if not tally.similar and not tally.other:
        return ["no recorded project applied it yet"]
    out = []
    if tally.similar:
        who = f"{rank.label(query)} projects that applied it"
        out.append(_outcome_line(corpus, tally.similar, who))
    if tally.other:
        out.append(_outcome_line(corpus, tally.other, "projects in other domains that applied it")
                   + f" (each counts {rank.OTHER_DOMAIN_WEIGHT})")  # fmt: skip
    return out


def _outcome_line(corpus: Corpus, numbers: Sequence[int], who: str) -> str:
    scores = [corpus.outcome_scores[n] for n in numbers]
    won = sum(1 for s in scores if s == 1.0)
    part = sum(1 for s in scores if 0.0 < s < 1.0)
    extra = f", {part} partly" if part else ""
    return f"{won} of {len(numbers)} {who} succeeded{extra}"


def _prior_reason(rate: float | None, weight: float | None) -> str:
    if rate is None or not weight:
        return "no declared prior"
    return f"prior {rate:g} worth {weight:g} outcomes"


def _guards(
    corpus: Corpus, query: Query, q: rank.Masks, chosen: Sequence[Item], evidence: rank.Evidence
) -> list[Item]:
    section = corpus.section("failure")
    bm25, words, text = _text(section, query)
    guarded_by = _guarded_by(corpus, chosen)
    similar = evidence.similar
    index = section.positions()
    numbers = set(rank.candidates(section, query, text))
    numbers.update(index[rid] for rid in (*guarded_by, *evidence.met()) if rid in index)
    found: list[tuple[float, str, Any]] = []
    for n in sorted(numbers):
        rid = section.ids[n]
        hits = evidence.hits(rid)
        rel = rank.relevance(q, section, n, text.get(n, 0.0), False)
        score = _guard_score(rel, hits, similar, rid in guarded_by)
        if score > 0.0:
            found.append((score, rid, (n, score, hits)))

    def exact(payload: tuple[int, float, list[tuple[int, bool]]]) -> Item:
        n, score, hits = payload
        rid = section.ids[n]
        why = rank.relevance_reasons(query, corpus, section, n, False)
        if n in text:
            why.append("text matches: " + ", ".join(bm25.matched(words, n)))
        recovered = sum(1 for _, ok in hits if ok)
        why.append(_met_reason(query, len(hits), recovered, similar))
        if rid in guarded_by:
            why.append("guarded against by " + ", ".join(guarded_by[rid]))
        replaces = section.supersedes.get(rid, [])
        why.extend(f"supersedes {old} (deprecated)" for old in replaces)
        evidence = sorted({corpus.outcome_ids[o] for o, _ in hits})
        return Item(rid, score, tuple(why), tuple(evidence), None, tuple(replaces))

    return rank.top(found, query.limit, exact)


def _guard_score(rel: float, hits: list[tuple[int, bool]], similar: int, guarded: bool) -> float:
    """declared relevance + share of similar projects that met it x how rarely they
    recovered + a bonus when a recommended record guards against it. Failures declare no
    droids: a droid-only query does not make every failure relevant."""
    recovered = sum(1 for _, ok in hits if ok)
    share = len(hits) / similar if similar else 0.0
    unrecovered = (len(hits) - recovered + 1) / (len(hits) + 2)
    return rank.round_score(rel + share * unrecovered + (rank.GUARDED_BONUS if guarded else 0.0))


def _guarded_by(corpus: Corpus, chosen: Sequence[Item]) -> dict[str, list[str]]:
    """Failure id -> the recommended templates and patterns that name it in `guards`."""
    out: dict[str, set[str]] = {}
    for kind in ("template", "pattern"):
        section = corpus.section(kind)
        index = section.positions()
        for item in chosen:
            if item.id in index:
                for failure in section.guards[index[item.id]]:
                    out.setdefault(failure, set()).add(item.id)
    return {k: sorted(v) for k, v in out.items()}


def _met_reason(query: Query, met: int, recovered: int, similar: int) -> str:
    where = rank.label(query)
    if not met:
        return f"not met in any of {similar} {where} projects"
    return f"met in {met} of {similar} {where} projects, recovered {recovered} of {met}"


def _notes(corpus: Corpus, *sections: Sequence[Item]) -> tuple[str, ...]:
    """Why lists are empty, so an empty answer is never silent."""
    notes = []
    kinds = (("templates", "template"), ("patterns", "pattern"), ("guards", "failure"))
    for (name, kind), items in zip(kinds, sections, strict=True):
        if items:
            continue
        if not corpus.section(kind).ids:
            notes.append(f"no {name}: the knowledge base at this commit has no active {kind}")
        else:
            notes.append(f"no {name}: none matches the query's domains, phases, droids or text")
    return tuple(notes)
