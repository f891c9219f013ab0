"""The searchable text of one record file, read from libyaml's event stream.

Search needs the strings under each top-level field, not typed values, so it skips what
makes a full load slow (building every value, resolving every scalar's tag, checking
duplicates): 2.0-2.8 s for the 10,000 synthetic records against 0.9 s here. It is safe
by construction: events are never built into objects, an alias is not followed (no
expansion, however the anchors nest), and nesting deeper than MAX_DEPTH stops the file.
A file that is not a YAML mapping gives None: `memkb validate` is what explains it.
"""

from __future__ import annotations

import re

import yaml

from memkb.kb.layout import LEGACY_ID_FIELD
from memkb.limits import MAX_FILE_BYTES
from memkb.records.load import MAX_DEPTH

_Parser: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Plain scalars YAML reads as numbers, booleans or null: figures, not text.
_NOT_TEXT = re.compile(
    r"[-+]?(\d[\d_]*(\.[\d_]*)?|\.\d+)([eE][-+]?\d+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
    r"|true|True|TRUE|false|False|FALSE|null|Null|NULL|~|"
)


def fields_of(raw: bytes) -> list[tuple[str, list[str]]] | None:
    """(top-level key, its strings in document order) for each field of a mapping
    document; None if `raw` is too large, not UTF-8, not YAML or not a mapping."""
    if len(raw) > MAX_FILE_BYTES:
        return None
    try:
        parser = _Parser(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    try:
        return _walk(parser)
    except yaml.YAMLError:
        return None
    finally:
        parser.dispose()


def _walk(parser: yaml.SafeLoader) -> list[tuple[str, list[str]]] | None:
    """Follow the events of the first document. `stack` holds, per open collection,
    whether it is a mapping waiting for a key (True), a mapping waiting for a value
    (False) or a sequence (None). Events are told apart by exact type, scalars first:
    `isinstance` chains cost a third of the walk."""
    fields: list[tuple[str, list[str]]] = []
    stack: list[bool | None] = []
    opened = False
    # The strings of the current top-level field, and where the next one goes: there,
    # except legacy.id's, a field of its own so that it weighs like the record's id.
    current: list[str] | None = None
    target: list[str] | None = None
    top = ""
    while parser.check_event():
        event = parser.get_event()  # type: ignore[no-untyped-call]
        kind = type(event)
        if kind is yaml.ScalarEvent or kind is yaml.AliasEvent:
            if not stack:
                return None  # a document that is a single scalar
            if stack[-1] is True:  # a key
                if len(stack) == 1:
                    top, current = str(getattr(event, "value", "")), []
                    fields.append((top, current))
                    target = current
                elif len(stack) == 2 and top == "legacy" and getattr(event, "value", "") == "id":
                    target = []
                    fields.append((LEGACY_ID_FIELD, target))
                stack[-1] = False
                continue
            if kind is yaml.ScalarEvent and target is not None and _is_text(event):
                target.append(event.value)
            target = current
            _value_done(stack)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            if not stack and (opened or kind is yaml.SequenceStartEvent):
                return None
            opened = True
            stack.append(True if kind is yaml.MappingStartEvent else None)
            if len(stack) > MAX_DEPTH:
                return None
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            stack.pop()
            _value_done(stack)
        elif kind is yaml.DocumentEndEvent:
            break
    return fields if opened else None


def _value_done(stack: list[bool | None]) -> None:
    """A value ended: its mapping now waits for the next key."""
    if stack and stack[-1] is False:
        stack[-1] = True


def _is_text(event: yaml.ScalarEvent) -> bool:
    """True for a string worth indexing: quoted, or plain and not a number/bool/null."""
    if not event.value.strip():
        return False
    return bool(event.style) or not _NOT_TEXT.fullmatch(event.value)  # "" or None: plain
