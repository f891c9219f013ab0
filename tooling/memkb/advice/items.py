"""The answers of memkb.advice, as typed values (the CLI renders them, never builds them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memkb.advice.query import Query


@dataclass(frozen=True)
class Posterior:
    """The Beta posterior of a success rate: mean and 90% equal-tailed interval."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Item:
    """One recommended template or pattern, or one failure to guard against."""

    id: str
    score: float
    reasons: tuple[str, ...]
    evidence: tuple[str, ...]  # outcome ids behind the score, sorted
    posterior: Posterior | None = None
    supersedes: tuple[str, ...] = ()  # deprecated records this one replaces

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the documented JSON field order."""
        post = self.posterior
        return {
            "id": self.id,
            "score": self.score,
            "reasons": list(self.reasons),
            "evidence": list(self.evidence),
            "posterior": None
            if post is None
            else {"mean": post.mean, "interval_90": [post.low, post.high]},
            "supersedes": list(self.supersedes),
        }


@dataclass(frozen=True)
class Advice:
    """What `memkb recommend` answers: three ranked lists read at one commit. `notes`
    says why a list is empty (an empty KB, nothing matching the query)."""

    commit: str
    query: Query
    brief_id: str
    templates: tuple[Item, ...]
    patterns: tuple[Item, ...]
    guards: tuple[Item, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the documented JSON field order."""
        return {
            "commit": self.commit,
            "brief_id": self.brief_id,
            "query": self.query.to_dict(),
            "templates": [i.to_dict() for i in self.templates],
            "patterns": [i.to_dict() for i in self.patterns],
            "guards": [i.to_dict() for i in self.guards],
            "notes": list(self.notes),
        }

    def ids(self) -> list[str]:
        """Every record id in the answer, in section order."""
        return [i.id for i in (*self.templates, *self.patterns, *self.guards)]


@dataclass(frozen=True)
class Brief:
    """What `memkb brief` answers: a Markdown context brief within a token budget."""

    commit: str
    query: Query
    brief_id: str
    markdown: str
    tokens: int  # estimated: ceil(characters / 4)
    max_tokens: int
    records: tuple[str, ...]  # ids the brief shows, in order
    left_out: tuple[str, ...]  # ids recommended but cut by the budget

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the documented JSON field order."""
        return {
            "commit": self.commit,
            "brief_id": self.brief_id,
            "query": self.query.to_dict(),
            "tokens": self.tokens,
            "max_tokens": self.max_tokens,
            "records": list(self.records),
            "left_out": list(self.left_out),
            "markdown": self.markdown,
        }
