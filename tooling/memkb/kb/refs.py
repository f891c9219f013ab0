"""What each kind of record refers to, as data: (path pattern in the document, target kind)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

# '*' matches every item of a list. Targets 'droid', 'domain' and 'phase' are
# vocabulary entries; the others are record kinds.
REFERENCES: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "pattern": (
        (("domains", "*"), "domain"),
        (("phases", "*"), "phase"),
        (("key_droids", "*"), "droid"),
        (("guards", "*"), "failure"),
        (("superseded_by",), "pattern"),
    ),
    "failure": (
        (("domains", "*"), "domain"),
        (("phases", "*"), "phase"),
        (("superseded_by",), "failure"),
    ),
    "template": (
        (("domains", "*"), "domain"),
        (("phases", "*", "phase"), "phase"),
        (("phases", "*", "droids", "*"), "droid"),
        (("guards", "*"), "failure"),
        (("superseded_by",), "template"),
    ),
    "outcome": (
        (("domains", "*"), "domain"),
        (("template",), "template"),
        (("patterns_applied", "*"), "pattern"),
        (("droids_used", "*"), "droid"),
        (("failures_met", "*", "failure"), "failure"),
    ),
    "expectation": (
        (("query", "domains", "*"), "domain"),
        (("query", "phases", "*"), "phase"),
        (("query", "droids", "*"), "droid"),
        (("expect", "top_template"), "template"),
        (("expect", "top_pattern"), "pattern"),
        (("expect", "top_guard"), "failure"),
        (("expect", "templates_include", "*"), "template"),
        (("expect", "patterns_include", "*"), "pattern"),
        (("expect", "guards_include", "*"), "failure"),
        (("expect", "templates_exclude", "*"), "template"),
        (("expect", "patterns_exclude", "*"), "pattern"),
        (("expect", "guards_exclude", "*"), "failure"),
    ),
    "vocabulary": (),
}
VOCABULARY_TARGETS = ("droid", "domain", "phase")


# A reference as plain data (target, value, path): what caches store and rules read.
RefTuple = tuple[str, str, tuple[str | int, ...]]


class Ref(NamedTuple):
    """One reference found in a record: the target kind, the name used, and where."""

    target: str
    value: str
    path: tuple[str | int, ...]


def refs_of(kind: str, doc: dict[str, Any]) -> list[Ref]:
    """Every reference in `doc`, by the table above; values of the wrong type are skipped
    (the schema reports those)."""
    found: list[Ref] = []
    for pattern, target in REFERENCES.get(kind, ()):
        for path, value in _walk(doc, pattern, ()):
            if isinstance(value, str):
                found.append(Ref(target, value, path))
    return found


def _walk(
    node: Any, pattern: tuple[str, ...], prefix: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if not pattern:
        yield prefix, node
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _walk(item, rest, (*prefix, index))
    elif isinstance(node, dict) and head in node:
        yield from _walk(node[head], rest, (*prefix, head))
