"""The nested-by-category shape: `{category: {id: entry}}`, or `{id: entry}` for templates.

A top-level key holding entries is their category (it becomes their domain); a top-level
key holding one entry is that entry's id. Rates here are usually percentages (95), which
mapping converts with a KB620 warning. Anything else at the top is reported by name.
"""

from __future__ import annotations

from typing import Any

from memkb.legacy.convert import Draft, Run
from memkb.legacy.derived import report_header, report_section
from memkb.legacy.mapping import convert_entry, guess_kind
from memkb.legacy.shapes import HEADER_FIELDS, LegacyFile, Shape, is_entry
from memkb.legacy.source import LegacyPath

__all__ = ["read_nested"]


def read_nested(run: Run, block: int, data: Any, file: LegacyFile) -> list[Draft]:
    """Drafts for every entry of a nested document (reported: what is not an entry)."""
    if not isinstance(data, dict):
        run.report("KB605", "a nested memory must be a JSON object; not imported", (block,))
        return []
    header = {k: v for k, v in data.items() if k in HEADER_FIELDS}
    if header:
        report_header(run, header, (block, next(iter(header))))
    drafts: list[Draft] = []
    for key, value in data.items():
        where: LegacyPath = (block, key)
        if key in HEADER_FIELDS:
            continue
        if is_entry(value):
            drafts += _entry(run, key, value, where, file, category=None)
        elif isinstance(value, dict) and value and all(is_entry(v) for v in value.values()):
            for entry_id, entry in value.items():
                drafts += _entry(run, entry_id, entry, (*where, entry_id), file, category=key)
        else:
            report_section(run, key, value, where)
    return drafts


def _entry(
    run: Run,
    key: str,
    entry: dict[str, Any],
    where: LegacyPath,
    file: LegacyFile,
    *,
    category: str | None,
) -> list[Draft]:
    declared = entry.get("id")
    legacy_id = declared if isinstance(declared, str) and declared else key
    return convert_entry(
        run,
        guess_kind(entry, file.kind),
        entry,
        where,
        legacy_id=legacy_id,
        category=category,
        source=file.name,
        shape=Shape.NESTED.value,
    )
