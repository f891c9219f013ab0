"""The records of one commit, read for export-legacy: documents by kind and id.

The history walk (memkb.history.report) already parses most of them on a cold run and
hands the documents over, so a cold export loads each record once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memkb.gitio.objects import BlobReader, tree_files
from memkb.kb.layout import KB_DIR


@dataclass
class Records:
    """The records of one commit by kind and id, and the outcomes citing each pattern."""

    by_kind: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    def of(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.by_kind.get(kind, {})

    def outcomes_citing(self) -> dict[str, list[dict[str, Any]]]:
        """Pattern id -> the outcomes that applied it, by date then id."""
        cited: dict[str, list[dict[str, Any]]] = {}
        outcomes = sorted(self.of("outcome").values(), key=_outcome_order)
        for outcome in outcomes:
            for pid in strs(outcome.get("patterns_applied")):
                cited.setdefault(pid, []).append(outcome)
        return cited


def read_records(root: Path, commit: str | None, parsed: Mapping[str, Any]) -> Records:
    """Every record of `commit` (none for None), documents taken from `parsed`
    ("kind:blob" -> document) where the history walk already loaded them."""
    from memkb.history.blobs import record_doc
    from memkb.history.replay import record_key

    records = Records()
    if commit is None:
        return records
    wanted: dict[str, list[tuple[str, str, str]]] = {}
    for path, entry in tree_files(root, commit, [KB_DIR]).items():
        key = record_key(path)
        if key is not None:
            wanted.setdefault(entry.blob, []).append((key[0], key[1], path))
    docs: dict[str, Any] = {}
    for blob, places in wanted.items():
        seen = f"{places[0][0]}:{blob}"
        if seen in parsed:
            docs[blob] = parsed[seen]
    missing = [b for b in wanted if b not in docs]
    for blob, raw in BlobReader(root).stream(missing):
        docs[blob] = None if raw is None else record_doc(raw, wanted[blob][0][2])
    for blob, places in sorted(wanted.items(), key=lambda item: item[1][0][2]):
        for kind, rid, path in places:
            doc = docs.get(blob)
            if isinstance(doc, dict):
                # Keyed by file name, as the figures are; a disagreeing id is validate's KB finding.
                doc = doc if doc.get("id") == rid else {**doc, "id": rid}
                records.by_kind.setdefault(kind, {})[rid] = doc
            else:
                records.unreadable.append(path)
    records.unreadable.sort()
    return records


def timeline_text(value: Any) -> Any:
    """{min_weeks: 2, max_weeks: 4} -> "2-4 weeks" (and 3 to 3 -> "3 weeks"): the seed's
    spelling, which memkb.legacy.convert.parse_timeline reads back. Anything else as is."""
    if not isinstance(value, dict) or set(value) != {"min_weeks", "max_weeks"}:
        return value
    low, high = (_number(value[k]) for k in ("min_weeks", "max_weeks"))
    if low is None or high is None:
        return value
    return f"{low} weeks" if low == high else f"{low}-{high} weeks"


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _outcome_order(doc: dict[str, Any]) -> tuple[str, str]:
    return (str(doc.get("date", "")), str(doc.get("id", "")))


def strs(value: Any) -> list[str]:
    """The strings of a list field (nothing for a missing or malformed one)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
