"""Growing kb/vocabulary.yaml from a legacy memory (`import-legacy --extend-vocabulary`).

The importer collects every droid, domain and phase its records name that the
vocabulary does not know, with every place it is used (`UnknownNames`). `sort_unknown`
decides each name's fate: a near miss of an existing name (the "did you mean" cutoff of
the reference rules, so the importer and `memkb validate` agree) and a name the
vocabulary's schema does not admit stay errors; with `--extend-vocabulary` every other
name is added, with a description saying where it came from. `extended_text` renders
the grown vocabulary round-trip: every existing line keeps its bytes (comments, order,
quoting), the new entries come last in their section, sorted.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from memkb.kb.layout import VOCABULARY_FILE
from memkb.kb.refs import VOCABULARY_TARGETS
from memkb.records import edit as yamledit

__all__ = [
    "NEAR_MISS_CUTOFF",
    "Sorted",
    "UnknownNames",
    "admits",
    "extended_text",
    "near_miss",
    "sort_unknown",
]

# The cutoff of the reference rules' "did you mean" (KB304, KB604): a name this close
# to an existing one is taken for a typo of it, never for a new name.
NEAR_MISS_CUTOFF = 0.75
Where = tuple[int | str, ...]


@dataclass
class UnknownNames:
    """Vocabulary names the imported records use but kb/vocabulary.yaml lacks: per
    (target, name), every legacy place using it, in the order met."""

    uses: dict[tuple[str, str], list[Where]] = field(default_factory=dict)

    def add(self, target: str, name: str, where: Where) -> None:
        """Remember that `where` uses the unknown `target` name `name`."""
        self.uses.setdefault((target, name), []).append(where)

    def __len__(self) -> int:
        return len(self.uses)


@dataclass
class Sorted:
    """The fate of each unknown name: `typos` maps a near miss to the existing name it is
    close to; `invalid` cannot be a name of its section; `new` may be added."""

    typos: dict[tuple[str, str], str] = field(default_factory=dict)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    new: list[tuple[str, str]] = field(default_factory=list)


def near_miss(name: str, known: set[str]) -> str | None:
    """The existing name `name` is most likely a misspelling of, or None."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=NEAR_MISS_CUTOFF)
    return close[0] if close else None


def admits(schema: Mapping[str, Any], target: str, name: str) -> bool:
    """True if the vocabulary schema `schema` allows `name` as a key of `target`'s section
    (droids and domains are kebab-case, phases snake_case: the schema says which)."""
    section = schema.get("properties", {}).get(f"{target}s", {})
    rule = section.get("propertyNames", {})
    ref = rule.get("$ref", "")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        rule = schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
    pattern, longest = rule.get("pattern"), rule.get("maxLength")
    if isinstance(longest, int) and len(name) > longest:
        return False
    return not isinstance(pattern, str) or re.search(pattern, name) is not None


def sort_unknown(
    unknown: UnknownNames, known: Mapping[str, set[str]], schema: Mapping[str, Any]
) -> Sorted:
    """Sort every unknown name into typos (with the name meant), invalid names and new
    names (each list sorted by target, then name)."""
    out = Sorted()
    for target, name in sorted(unknown.uses):
        meant = near_miss(name, known[target])
        if meant is not None:
            out.typos[(target, name)] = meant
        elif not admits(schema, target, name):
            out.invalid.append((target, name))
        else:
            out.new.append((target, name))
    return out


def extended_text(raw: bytes, additions: Mapping[str, Mapping[str, str]]) -> bytes:
    """The vocabulary file `raw` with `additions` (target -> name -> description) added
    at the end of their sections; every other line keeps its bytes. Raises RecordError
    if the vocabulary cannot be parsed (then nothing can be added to it)."""

    from ruamel.yaml.comments import CommentedMap

    def add(doc: Any, _key: str | int) -> None:
        for target in VOCABULARY_TARGETS:
            names = additions.get(target, {})
            if not names:
                continue
            section = doc.get(f"{target}s")
            if not isinstance(section, dict):
                section = doc[f"{target}s"] = CommentedMap()
            trailing = _detach_trailing_comment(section)
            for name in sorted(names):
                section[name] = entry = CommentedMap(description=yamledit.scalar(names[name]))
            if trailing is not None:
                entry.ca.items["description"] = [None, None, trailing, None]

    return yamledit.edit_text(raw, VOCABULARY_FILE, [], add)


def _detach_trailing_comment(section: Any) -> Any:
    """Detach and return the comment lines after the last entry of `section` (ruamel keeps
    the comment above the next section there, e.g. "# Domains" above `domains:`), so that
    they stay above the next section once entries are added after it; None if there are
    none. An end-of-line comment of the last value stays where it is."""
    import copy

    node, key = section, None
    while isinstance(node, dict) and node:
        key = list(node)[-1]
        if not (isinstance(node[key], dict) and node[key]):
            break
        node = node[key]
    items = getattr(node, "ca", None)
    entry = items.items.get(key) if items is not None and key is not None else None
    if not entry or len(entry) < 3 or entry[2] is None:
        return None
    token = entry[2]
    text = str(token.value)
    if text.startswith("\n"):
        entry[2] = None
        return token
    own, newline, rest = text.partition("\n")  # the value's end-of-line comment first
    if not rest:
        return None
    moved = copy.copy(token)
    moved.value = "\n" + rest
    token.value = own + newline
    return moved
