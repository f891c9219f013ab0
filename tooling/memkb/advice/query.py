"""A query for advice, normalised through the vocabulary: aliases become canonical names,
an unknown name is a UsageError with a "did you mean"."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from memkb.errors import UsageError
from memkb.kb.index import Vocabulary

DEFAULT_LIMIT = 5  # items per section
MAX_LIMIT = 1000
MAX_TEXT = 4000  # characters of free text: more says nothing BM25 can use


@dataclass(frozen=True)
class Query:
    """What the orchestrator knows about its next project. Lists are sorted and
    deduplicated once normalised, so equal queries compare (and hash) equal."""

    domains: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    droids: tuple[str, ...] = ()
    text: str = ""
    limit: int = DEFAULT_LIMIT
    as_of: str | None = None

    def is_empty(self) -> bool:
        """True when the query names nothing: every active record is then a candidate."""
        return not (self.domains or self.phases or self.droids or self.text.strip())

    def to_dict(self) -> dict[str, object]:
        """The query as plain data (JSON field order)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def make_query(
    domains: Iterable[str] = (),
    phases: Iterable[str] = (),
    droids: Iterable[str] = (),
    text: str = "",
    limit: int = DEFAULT_LIMIT,
    as_of: str | None = None,
) -> Query:
    """A Query from loose arguments; UsageError for a limit out of range or too much text."""
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"--limit must be between 1 and {MAX_LIMIT}, not {limit}")
    if len(text) > MAX_TEXT:
        raise UsageError(
            f"--text is {len(text)} characters long; at most {MAX_TEXT} are used",
            hint="describe the project in a few sentences",
        )
    return Query(tuple(domains), tuple(phases), tuple(droids), text, limit, as_of)


def normalize(query: Query, vocabulary: Vocabulary) -> Query:
    """`query` with every domain, phase and droid canonical, sorted and deduplicated.

    Raise UsageError naming the unknown name (and the closest known one)."""
    return Query(
        _canonical(query.domains, "domain", vocabulary),
        _canonical(query.phases, "phase", vocabulary),
        _canonical(query.droids, "droid", vocabulary),
        " ".join(query.text.split()),
        query.limit,
        query.as_of,
    )


def _canonical(names: Iterable[str], target: str, vocabulary: Vocabulary) -> tuple[str, ...]:
    known, aliases = vocabulary.names[target], vocabulary.aliases[target]
    out = set()
    for name in names:
        if name in known:
            out.add(name)
        elif name in aliases:
            out.add(aliases[name])
        else:
            raise _unknown(name, target, sorted(known | set(aliases)))
    return tuple(sorted(out))


def _unknown(name: str, target: str, known: list[str]) -> UsageError:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    listed = ", ".join(known) if known else "none: kb/vocabulary.yaml defines no " + target
    return UsageError(
        f"unknown {target} '{name}'{guess}",
        hint=f"{target}s in kb/vocabulary.yaml: {listed}",
    )


def brief_id(commit: str, query: Query) -> str:
    """Hash of the commit and the normalised query (without --as-of, which only chose
    the commit): the same brief can be rebuilt from these two alone."""
    fields = query.to_dict()
    fields.pop("as_of")
    text = commit + "\0" + json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
