"""memkb.advice.prepare with a Reuse: a corpus updated commit after commit (only the blobs
that changed are parsed, unchanged sections kept) answers exactly as a corpus prepared
from scratch at the same commit, through additions, changes and deletions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import git
from memkb.advice import make_query
from memkb.advice.brief import compose
from memkb.advice.corpus import Corpus
from memkb.advice.prepare import Reuse, prepare, read_index
from memkb.advice.recommend import advise
from memkb.records import load

QUERIES = [
    make_query(),
    make_query(domains=["e-commerce"], phases=["security_first"]),
    make_query(domains=["ecommerce"], droids=["security-auditor", "database-admin"]),
    make_query(domains=["finance"], text="webhook payments timeout"),
    make_query(phases=["database_api"], text="migration rollback orders", limit=1),
]

OUTCOME = """\
kind: outcome
schema_version: 2
id: {id}
project: {id}
date: {date}
outcome: {result}
domains: [{domains}]
patterns_applied: [{pattern}]
droids_used: [security-auditor]
failures_met:
  - failure: payment_webhook_timeout
    recovered: {recovered}
"""


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def add_outcome(repo: Path, n: int, result: str, pattern: str, domains: str) -> None:
    oid = f"2025-06-{n:02d}-project-{n}"
    text = OUTCOME.format(id=oid, date=oid[:10], result=result, domains=domains,
                          pattern=pattern, recovered="true" if n % 2 else "false")  # fmt: skip
    path = repo / "kb" / "outcomes" / "2025" / f"{oid}.yaml"
    path.write_text(text, encoding="utf-8")


def edit(repo: Path, relpath: str, old: str, new: str) -> None:
    path = repo / relpath
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relpath}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def answers(corpus: Corpus) -> list[dict[str, Any]]:
    """Every query's advice and brief, as plain data."""
    out = []
    for query in QUERIES:
        advice = advise(corpus, query)
        out.append({"advice": advice.to_dict(), "brief": compose(corpus, advice, 800).to_dict()})
    return out


def scratch(repo: Path, commit: str) -> Corpus:
    return prepare(commit, read_index(repo, commit))


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The relpaths the loader parses, in order (the real loader runs)."""
    seen: list[str] = []
    real = load.load_bytes

    def counting(raw: bytes, relpath: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(relpath)
        return real(raw, relpath, *args, **kwargs)

    monkeypatch.setattr(load, "load_bytes", counting)
    return seen


def step(repo: Path, reuse: Reuse, commit: str, parses: list[str]) -> tuple[Corpus, list[str]]:
    """The corpus of `commit` prepared with `reuse`, and the files it parsed."""
    parses.clear()
    corpus = prepare(commit, read_index(repo, commit, reuse), reuse)
    return corpus, list(parses)


def test_an_updated_corpus_answers_as_one_built_from_scratch(
    kb_repo: Path, parses: list[str]
) -> None:
    reuse = Reuse()
    first = git(kb_repo, "rev-parse", "HEAD").strip()
    corpus, parsed = step(kb_repo, reuse, first, parses)
    assert len(parsed) == len(list((kb_repo / "kb").rglob("*.yaml")))  # nothing known yet
    assert answers(corpus) == answers(scratch(kb_repo, first))
    patterns = reuse.sections["pattern"][1]

    # 1. One outcome added: only it is parsed; every section is kept, evidence moves.
    add_outcome(kb_repo, 1, "failure", "ecommerce_security_first", "e-commerce")
    added = commit_all(kb_repo, "one outcome")
    corpus, parsed = step(kb_repo, reuse, added, parses)
    assert parsed == ["kb/outcomes/2025/2025-06-01-project-1.yaml"]
    assert reuse.sections["pattern"][1] is patterns
    assert answers(corpus) == answers(scratch(kb_repo, added))
    assert corpus.to_plain() == scratch(kb_repo, added).to_plain()

    # 2. A pattern changed (domains and text) and two more outcomes: the pattern section
    # is rebuilt, the others kept.
    edit(kb_repo, "kb/patterns/performance_database_optimization.yaml",
         "domains: [", "title: Webhook payments tuning\ndomains: [finance, ")  # fmt: skip
    add_outcome(kb_repo, 2, "success", "performance_database_optimization", "finance")
    add_outcome(kb_repo, 3, "partial", "ecommerce_security_first", "finance, healthcare")
    changed = commit_all(kb_repo, "a pattern changed, two outcomes")
    templates = reuse.sections["template"][1]
    corpus, parsed = step(kb_repo, reuse, changed, parses)
    assert sorted(parsed) == [
        "kb/outcomes/2025/2025-06-02-project-2.yaml",
        "kb/outcomes/2025/2025-06-03-project-3.yaml",
        "kb/patterns/performance_database_optimization.yaml",
    ]
    assert reuse.sections["pattern"][1] is not patterns
    assert reuse.sections["template"][1] is templates
    assert answers(corpus) == answers(scratch(kb_repo, changed))

    # 3. A failure and an outcome deleted: nothing is parsed at all.
    git(kb_repo, "rm", "-q", "kb/failures/database_migration_failures.yaml",
        "kb/outcomes/2025/2025-06-01-project-1.yaml")  # fmt: skip
    deleted = commit_all(kb_repo, "a failure and an outcome deleted")
    corpus, parsed = step(kb_repo, reuse, deleted, parses)
    assert parsed == []
    assert "database_migration_failures" not in corpus.section("failure").ids
    assert answers(corpus) == answers(scratch(kb_repo, deleted))

    # 4. The vocabulary changed (a new domain): every section is rebuilt from the
    # documents already parsed, only the vocabulary is read again.
    edit(kb_repo, "kb/vocabulary.yaml", "domains:\n",
         "domains:\n  logistics:\n    description: Shipping and warehouses.\n")  # fmt: skip
    vocabulary = commit_all(kb_repo, "a new domain")
    corpus, parsed = step(kb_repo, reuse, vocabulary, parses)
    assert parsed == ["kb/vocabulary.yaml"]
    assert reuse.sections["template"][1] is not templates
    assert answers(corpus) == answers(scratch(kb_repo, vocabulary))
    assert corpus.to_plain() == scratch(kb_repo, vocabulary).to_plain()

    # 5. Back to an earlier commit (as --as-of reads one): the same answers as then.
    corpus, parsed = step(kb_repo, reuse, added, parses)
    assert sorted(parsed) == [
        "kb/failures/database_migration_failures.yaml",
        "kb/outcomes/2025/2025-06-01-project-1.yaml",
        "kb/patterns/performance_database_optimization.yaml",
        "kb/vocabulary.yaml",
    ]
    assert answers(corpus) == answers(scratch(kb_repo, added))


def test_a_record_with_an_unknown_name_keeps_answers_exact(kb_repo: Path) -> None:
    """A name outside the vocabulary (an invalid record: KB3xx for `memkb validate`) gets
    a bit after the vocabulary's; a kept section's bits must stay what they were."""
    reuse = Reuse()
    first = git(kb_repo, "rev-parse", "HEAD").strip()
    prepare(first, read_index(kb_repo, first, reuse), reuse)
    add_outcome(kb_repo, 4, "success", "ecommerce_security_first", "e-commerce, atlantis")
    edit(kb_repo, "kb/failures/payment_webhook_timeout.yaml", "domains: [", "domains: [mars, ")
    odd = commit_all(kb_repo, "names outside the vocabulary")
    corpus = prepare(odd, read_index(kb_repo, odd, reuse), reuse)
    assert answers(corpus) == answers(scratch(kb_repo, odd))
