"""memkb.advice.rank.Evidence: what a corpus keeps between questions (by the query's
domains) never changes an answer, whatever order the questions come in."""

from __future__ import annotations

from pathlib import Path

from conftest import git
from memkb.advice import make_query
from memkb.advice.prepare import prepare, read_index
from memkb.advice.rank import EVIDENCE_KEPT, Evidence, Masks
from memkb.advice.recommend import advise

QUESTIONS = [
    make_query(domains=["e-commerce"], text="payments"),
    make_query(domains=["e-commerce"], text="webhook timeout", phases=["database_api"]),
    make_query(domains=["finance", "healthcare"], droids=["security-auditor"]),
    make_query(text="database migration"),
    make_query(domains=["healthcare"], text="payments"),
]


def test_answers_do_not_depend_on_the_questions_asked_before(kb_repo: Path) -> None:
    commit = git(kb_repo, "rev-parse", "HEAD").strip()
    shared = prepare(commit, read_index(kb_repo, commit))
    for query in [*QUESTIONS, *reversed(QUESTIONS)]:
        alone = prepare(commit, read_index(kb_repo, commit))  # nothing kept yet
        assert advise(shared, query) == advise(alone, query)


def test_evidence_is_kept_per_set_of_domains_and_bounded(kb_repo: Path) -> None:
    commit = git(kb_repo, "rev-parse", "HEAD").strip()
    corpus = prepare(commit, read_index(kb_repo, commit))
    shop = Masks.of(make_query(domains=["e-commerce"]), corpus)
    same = Masks.of(make_query(domains=["e-commerce"], text="other words"), corpus)
    assert Evidence.of(shop, corpus) is Evidence.of(same, corpus)
    assert Evidence.of(Masks.of(make_query(domains=["finance"]), corpus), corpus) is not (
        Evidence.of(shop, corpus)
    )
    domains = sorted(corpus.names["domain"])
    for name in domains:
        Evidence.of(Masks.of(make_query(domains=[name]), corpus), corpus)
    assert len(domains) > EVIDENCE_KEPT
    assert sum(1 for key in corpus.memo if key[0] == "evidence") == EVIDENCE_KEPT
