"""Record contents: read through one `git cat-file --batch`, reduced to the facts
the figures need, cached by blob id."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import yaml
from yaml.constructor import SafeConstructor

from memkb.gitio.log import Progress
from memkb.gitio.objects import BlobReader
from memkb.history.store import Cache
from memkb.records.load import MAX_FILE_BYTES, MAX_INT, KbLoader, fast_document, load_bytes


def record_doc(raw: bytes, path: str) -> Any:
    """The document of one record version (None if it cannot be loaded): the plain fast
    path, else the full safe loader."""
    doc = _plain_doc(raw)
    if doc is None:  # anything unusual: the full safe loader decides
        doc = load_bytes(raw, path).doc
    return doc


def facts(kind: str, raw: bytes, path: str) -> dict[str, Any]:
    """What the figures need from one record version; {"bad": reason} if unusable."""
    return facts_of(kind, record_doc(raw, path))


def facts_of(kind: str, doc: Any) -> dict[str, Any]:
    """What the figures need from one loaded record document; {"bad": reason} if unusable."""
    return _unpack(kind, packed_facts(kind, doc))


_NOT_MAPPING = "not a readable YAML mapping (run `memkb validate`)"
_BAD_OUTCOME = "outcome or date missing or invalid (run `memkb validate`)"


def packed_facts(kind: str, doc: Any) -> tuple[Any, ...]:
    """facts_of() as the cache stores it, built directly (no dict on the way: a cold walk
    does this for every record version): ("bad", reason), (status, rate, weight) for a
    pattern, template or failure, or the 12 outcome fields in Outcome's order. Tuples
    load several times faster than dicts, and the cache holds one per record version."""
    if not isinstance(doc, dict):
        return ("bad", _NOT_MAPPING)
    if kind == "outcome":
        return _outcome_pack(doc)
    prior = _mapping(doc.get("prior"))
    rate = prior.get("success_probability" if kind == "template" else "success_rate")
    return (str(doc.get("status", "active")), _num(rate), _num(prior.get("weight")))


def _unpack(kind: str, packed: tuple[Any, ...]) -> dict[str, Any]:
    """packed_facts() as the dict facts_of() returns (lists where the tuple has tuples)."""
    if len(packed) == 2:
        return {"bad": packed[1]}
    if kind != "outcome":
        return {"status": packed[0], "rate": packed[1], "weight": packed[2]}
    return {
        "outcome": packed[0],
        "date": packed[1],
        "template": packed[2],
        "patterns": list(packed[3]),
        "droids": list(packed[4]),
        "failures_met": [[f, r, list(p)] for f, r, p in packed[5]],
        "planned_days": packed[6],
        "actual_days": packed[7],
        "quality": packed[8],
        "errors": packed[9],
        "satisfaction": packed[10],
        "advice": packed[11],
    }


_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")  # YAML 1.1 reads 010 as octal 8
# Integers with fewer digits than MAX_INT are always in range; longer ones go to the full
# loader, which refuses those beyond MAX_INT (KB112): int() of 5,000 digits raises.
_MAX_PLAIN_INT_CHARS = len(str(MAX_INT)) - 1
_PLAIN_FLOAT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\Z")
_TAG = "tag:yaml.org,2002:"


class _PlainLoader(KbLoader):
    """KbLoader (same implicit resolvers: dates stay strings) with its per-scalar tag
    resolution memoized: a third of composing a record went to resolving the same
    droid names, dates and words again. Exact, because the tag depends only on the
    scalar (memkb defines no path-dependent resolvers, which the assert keeps true)."""

    _tags: ClassVar[dict[tuple[Any, Any, Any], str]] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        key = (kind, value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            if len(self._tags) > 100_000:
                self._tags.clear()  # bounded: a run over huge texts must not grow forever
            tag = self._tags[key] = super().resolve(kind, value, implicit)
        return tag


assert not KbLoader.yaml_path_resolvers, "path resolvers would make tags depend on place"


def _plain_doc(raw: bytes) -> dict[str, Any] | None:
    """The document of an ordinary record through a fast path, or None: yaml-rs where its
    pre-filter and checks prove it reads as libyaml does, else libyaml's node tree."""
    doc = _yaml_rs_doc(raw)
    return doc if doc is not None else _libyaml_plain_doc(raw)


# ---------------------------------------------------------------- yaml-rs (Rust)


def _yaml_rs_doc(raw: bytes) -> dict[str, Any] | None:
    """The document yaml-rs reads from `raw` when it is provably the one libyaml reads,
    else None: the one pre-filter and check of the bulk reads (memkb.records.prefilter,
    through memkb.records.load.fast_document). yaml-rs parses a record several times
    faster."""
    return fast_document(raw)


def _libyaml_plain_doc(raw: bytes) -> dict[str, Any] | None:
    """The document of an ordinary record, built straight from libyaml's node tree.

    Twice as fast as the full constructor on a cold walk of 10,000 records, and only
    for the plain case: no anchors, aliases or explicit tags, no duplicate keys, no
    scalar in an unusual notation, within the size limit, valid UTF-8. Anything else
    returns None and goes through memkb.records.load.load_bytes, which stays the definition
    (tests check both agree).
    """
    if len(raw) > MAX_FILE_BYTES or b"*" in raw or b"&" in raw or b"!" in raw:
        return None
    try:
        loader = _PlainLoader(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    try:
        node = loader.get_single_node()
        doc = _node_value(node) if isinstance(node, yaml.MappingNode) else None
    except (yaml.YAMLError, _NotPlain):
        return None
    finally:
        loader.dispose()
    return doc if isinstance(doc, dict) else None


class _NotPlain(Exception):
    """A node the plain builder leaves to the full loader."""


def _node_value(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _node_value(key_node)
            if not isinstance(key, str) or key in out:
                raise _NotPlain
            out[key] = _node_value(value_node)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_node_value(item) for item in node.value]
    tag, value = node.tag, node.value
    if tag == _TAG + "str":
        return value
    if tag == _TAG + "int" and _PLAIN_INT.match(value) and len(value) <= _MAX_PLAIN_INT_CHARS:
        return int(value)
    if tag == _TAG + "float" and _PLAIN_FLOAT.match(value):
        return float(value)
    if tag == _TAG + "bool":
        return SafeConstructor.bool_values[value.lower()]
    if tag == _TAG + "null":
        return None
    raise _NotPlain


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_NUMBER_TYPES = frozenset((int, float))  # what YAML loaders build for numbers (bool apart)


def _num(value: Any) -> Any:
    """`value` if it is a number (not a bool), else None: _is_num for the exact types
    the loaders build, one set lookup (a cold walk asks five times per outcome)."""
    return value if type(value) in _NUMBER_TYPES or _is_num(value) else None


def _outcome_pack(doc: dict[str, Any]) -> tuple[Any, ...]:
    get = doc.get
    outcome, date = get("outcome"), get("date")
    if outcome not in ("success", "partial", "failure") or not isinstance(date, str):
        return ("bad", _BAD_OUTCOME)
    timeline = get("timeline")
    if not isinstance(timeline, dict):
        timeline = {}
    met_list = get("failures_met")
    met = (
        tuple(
            (failure, m.get("recovered") is True, _strs(m.get("prevention_used")))
            for m in met_list
            if isinstance(m, dict) and isinstance(failure := m.get("failure"), str)
        )
        if isinstance(met_list, list)
        else ()  # not a list (unvalidated): none met
    )
    template = get("template")
    advice = get("advice")
    return (
        outcome,
        date,
        template if isinstance(template, str) else None,
        _strs(get("patterns_applied")),
        _strs(get("droids_used")),
        met,
        _num(timeline.get("planned_days")),
        _num(timeline.get("actual_days")),
        _num(get("quality_score")),
        _num(get("error_count")),
        _num(get("user_satisfaction")),
        None if advice is None else _advice_facts(advice),
    )


def _advice_facts(value: Any) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """("kind:id" followed, ignored) from an outcome's `advice` field (None without one)."""
    if not isinstance(value, dict):
        return None
    sides = []
    for side in ("followed", "ignored"):
        lists = _mapping(value.get(side))
        sides.append(tuple(f"{kind[:-1]}:{rid}" for kind in ("templates", "patterns", "guards")
                           for rid in _strs(lists.get(kind))))  # fmt: skip
    return sides[0], sides[1]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(map(str, value)) if isinstance(value, list) else ()


def ensure_facts(
    root: Path,
    cache: Cache,
    wanted: dict[str, tuple[str, str]],
    progress: Progress | None = None,
) -> None:
    """Fill cache.blobs for every "kind:blob" key in `wanted` (key -> (kind, path)),
    reporting ("records", done, expected) every 256 records if asked. The documents
    parsed go to cache.docs too when a caller asked for them (it is not None)."""
    blobs, docs = cache.blobs, cache.docs
    missing = {k: v for k, v in wanted.items() if k not in blobs}
    if not missing:
        return
    by_blob: dict[str, list[tuple[str, str, str]]] = {}
    for key, (kind, path) in missing.items():
        by_blob.setdefault(key.split(":", 1)[1], []).append((key, kind, path))
    for done, (blob, raw) in enumerate(BlobReader(root).stream(by_blob), start=1):
        for key, kind, path in by_blob[blob]:
            if raw is None:
                packed: tuple[Any, ...] = ("bad", "blob missing")
            else:
                doc = record_doc(raw, path)
                packed = packed_facts(kind, doc)
                if docs is not None:
                    docs[key] = doc
            blobs[key] = packed
        if progress is not None and (done % 256 == 0 or done == len(by_blob)):
            progress("records", done, len(by_blob))
