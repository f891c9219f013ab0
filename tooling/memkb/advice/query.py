"""A query for advice, normalised through the vocabulary: aliases become canonical names,
an unknown name is a UsageError with a "did you mean"."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

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

    def to_dict(self) -> dict[str, Any]:
        """The query as plain data (JSON field order)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Query:
        """The query `to_dict` gave."""
        return cls(tuple(data["domains"]), tuple(data["phases"]), tuple(data["droids"]),
                   data["text"], data["limit"], data["as_of"])  # fmt: skip


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


BRIEF_ID_RE = re.compile(r"^([0-9a-f]{16})\.([0-9a-f]{12})((?::[a-z]+=[^:\s]*)*)$")
LIST_FIELDS = ("domains", "phases", "droids")


def _query_fields(query: Query) -> str:
    """The normalised query as canonical JSON, without --as-of (which only chose the commit)."""
    fields = query.to_dict()
    fields.pop("as_of")
    return json.dumps(fields, sort_keys=True, separators=(",", ":"))


def brief_id(commit: str, query: Query) -> str:
    """`DIGEST.COMMIT:FIELD=VALUE...`: a checksum of the commit and the normalised query,
    the commit's first 12 hex digits, then the query's non-empty fields (lists joined by
    commas, text percent-encoded), e.g. `98f1...7c7b.cf8bbb6c2218:domains=e-commerce:limit=5`.

    Self-contained on purpose: `memkb record --brief-id` rebuilds the advice from the id
    alone, in any clone holding the commit, without a registry (docs/advice.md). Readable
    and shell-safe: no quoting needed, and no random-looking token for the secret rules."""
    digest = hashlib.sha256((commit + "\0" + _query_fields(query)).encode()).hexdigest()[:16]
    parts = [f"{name}={','.join(getattr(query, name))}" for name in LIST_FIELDS
             if getattr(query, name)]  # fmt: skip
    parts.append(f"limit={query.limit}")
    if query.text:
        escaped = urllib.parse.quote(query.text, safe="")
        parts.append("text=" + re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), escaped))
    return f"{digest}.{commit[:12]}:" + ":".join(parts)


@dataclass(frozen=True)
class BriefRef:
    """What a brief_id says: the checksum, the commit prefix and the query."""

    digest: str
    commit_prefix: str
    query: Query


def parse_brief_id(value: str) -> BriefRef:
    """The parts of a brief_id; UsageError naming what is wrong with a malformed one (the
    checksum is verified by whoever knows the full commit: memkb.advice.followed)."""
    found = BRIEF_ID_RE.fullmatch(value.strip())
    if found is None:
        raise UsageError(
            f"'{_short(value)}' is not a brief_id",
            hint="pass the brief_id of a `memkb recommend` or `memkb brief` answer, whole",
        )
    digest, prefix, rest = found.groups()
    fields = dict(part.split("=", 1) for part in rest.split(":")[1:])
    lists = {n: tuple(fields.pop(n).split(",")) if n in fields else () for n in LIST_FIELDS}
    limit = fields.pop("limit", "")
    try:
        text = urllib.parse.unquote(fields.pop("text", ""), errors="strict")
    except UnicodeDecodeError:
        fields["text"] = "not UTF-8"
    if fields or not limit.isdigit():
        raise UsageError(
            f"brief_id '{_short(value)}' does not hold a readable query (is it cut short?)",
            hint="copy the brief_id whole from the `recommend` or `brief` answer",
        )
    query = Query(lists["domains"], lists["phases"], lists["droids"], text, int(limit))
    return BriefRef(digest, prefix, query)


def _short(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "..."
