"""Expectations: advice under review. Each `kb/expectations/<id>.yaml` holds a query and
what must hold of its answer; `memkb validate` reports a broken one as KB701, and
`memkb check` shows reviewers how a change moves each query's answer (the advice delta).

Both work on an index of the KB (any snapshot), through `advise`, so the answer judged is
exactly the one `memkb recommend` gives at that state.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from memkb.advice.corpus import Corpus
from memkb.advice.items import Advice
from memkb.advice.prepare import prepare
from memkb.advice.query import make_query
from memkb.advice.recommend import advise
from memkb.errors import UsageError
from memkb.kb.index import Index, Record
from memkb.rules.base import Issue

SECTIONS = ("templates", "patterns", "guards")
# expect key -> (section, what it asks). "top": the first item; "include": among the
# items; "exclude": not among them.
CONDITIONS: dict[str, tuple[str, str]] = {
    "top_template": ("templates", "top"),
    "top_pattern": ("patterns", "top"),
    "top_guard": ("guards", "top"),
    "templates_include": ("templates", "include"),
    "patterns_include": ("patterns", "include"),
    "guards_include": ("guards", "include"),
    "templates_exclude": ("templates", "exclude"),
    "patterns_exclude": ("patterns", "exclude"),
    "guards_exclude": ("guards", "exclude"),
}


@dataclass(frozen=True)
class Answer:
    """The ids advised for one expectation's query, per section, in rank order."""

    expectation: str
    query: str  # the query as a person reads it, e.g. "e-commerce / security_first"
    ids: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class AdviceMove:
    """How one expectation's answer differs between base and head, in one section."""

    expectation: str
    query: str
    section: str
    before: tuple[str, ...]
    after: tuple[str, ...]


def answers(index: Index, label: str = "") -> list[Answer]:
    """The answer to every expectation's query in `index`, by expectation id. A query that
    names what the vocabulary does not know has no answer (KB304 already reports it)."""
    corpus = prepare(label, index)
    out = []
    for record in sorted(index.of_kind("expectation"), key=lambda r: r.id):
        advice = _advice(corpus, record)
        if advice is not None:
            ids = {s: tuple(item.id for item in getattr(advice, s)) for s in SECTIONS}
            out.append(Answer(record.id, describe(advice), ids))
    return out


def expectation_issues(index: Index) -> Iterator[Issue]:
    """KB701 for every condition of every expectation that the advice breaks."""
    if not any(True for _ in index.of_kind("expectation")):
        return
    corpus = prepare("", index)
    for record in sorted(index.of_kind("expectation"), key=lambda r: r.id):
        advice = _advice(corpus, record)
        if advice is not None:
            yield from _broken(record, advice)


def advice_delta(before: list[Answer], after: list[Answer]) -> list[AdviceMove]:
    """Which expectations' answers a change moves, section by section (an expectation added
    or removed by the change counts as an empty answer on the other side)."""
    old = {a.expectation: a for a in before}
    new = {a.expectation: a for a in after}
    moves = []
    for eid in sorted(old.keys() | new.keys()):
        was, now = old.get(eid), new.get(eid)
        query = (now or was).query  # type: ignore[union-attr]
        for section in SECTIONS:
            prev = was.ids[section] if was else ()
            cur = now.ids[section] if now else ()
            if prev != cur:
                moves.append(AdviceMove(eid, query, section, prev, cur))
    return moves


def describe(advice: Advice) -> str:
    """A query in a few words: `e-commerce / security_first`, droids and text after."""
    q = advice.query
    parts = [", ".join(q.domains) or "any domain", ", ".join(q.phases) or "any phase"]
    if q.droids:
        parts.append("droids " + ", ".join(q.droids))
    if q.text:
        parts.append(f'"{q.text[:40]}"')
    return " / ".join(parts)


def _advice(corpus: Corpus, record: Record) -> Advice | None:
    query = record.doc.get("query")
    if not isinstance(query, dict):
        return None  # the schema reports it
    try:
        return advise(corpus, make_query(**_query_args(query)))
    except (UsageError, TypeError):
        return None  # an unknown name is KB304, a bad value KB201


def _query_args(query: dict[str, Any]) -> dict[str, Any]:
    known = ("domains", "phases", "droids", "text", "limit")
    return {key: query[key] for key in known if key in query}


def _broken(record: Record, advice: Advice) -> Iterator[Issue]:
    expect = record.doc.get("expect")
    if not isinstance(expect, dict):
        return
    for key, wanted in expect.items():
        if key not in CONDITIONS:
            continue
        section, how = CONDITIONS[key]
        got = [item.id for item in getattr(advice, section)]
        for message in _failures(how, section, wanted, got):
            yield Issue(
                record.relpath,
                ("expect", key),
                "KB701",
                f"{describe(advice)}: {message}",
                hint="if the new advice is right, update the expectation in the same "
                "change, so a reviewer sees both",
            )


def _failures(how: str, section: str, wanted: Any, got: list[str]) -> list[str]:
    shown = ", ".join(got) or "nothing"
    if how == "top":
        first = got[0] if got else None
        return [] if first == wanted else [f"top {section[:-1]} is {first}, expected {wanted}"]
    names = wanted if isinstance(wanted, list) else []
    if how == "include":
        return [f"{n} is not among the {section} ({shown})" for n in names if n not in got]
    return [f"{n} is among the {section} ({shown}), expected never" for n in names if n in got]
