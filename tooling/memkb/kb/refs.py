"""What each kind of record refers to, as data: (path pattern in the document, target kind)."""

from __future__ import annotations

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
    return [Ref(*ref) for ref in ref_tuples(kind, doc)]


def ref_tuples(kind: str, doc: dict[str, Any]) -> tuple[RefTuple, ...]:
    """`refs_of` as plain tuples (what caches store), built directly: a cold validate
    finds the references of every record."""
    found: list[RefTuple] = []
    for pattern, target in REFERENCES.get(kind, ()):
        head = pattern[0]
        if head in doc:  # most patterns name a field a record does not have
            _collect(doc[head], pattern, 1, (head,), target, found)
    return tuple(found)


def _collect(
    node: Any,
    pattern: tuple[str, ...],
    at: int,
    path: tuple[str | int, ...],
    target: str,
    found: list[RefTuple],
) -> None:
    """Append to `found` the references at `pattern[at:]` below `node` (reached by
    `path`). A plain recursion: generators (`yield from` at every level) and a NamedTuple
    per reference made finding references a sixth of a cold validate."""
    if at == len(pattern):
        if isinstance(node, str):
            found.append((target, node, path))
        return
    step = pattern[at]
    if step == "*":
        if isinstance(node, list):
            for index, item in enumerate(node):
                _collect(item, pattern, at + 1, (*path, index), target, found)
    elif isinstance(node, dict) and step in node:
        _collect(node[step], pattern, at + 1, (*path, step), target, found)
