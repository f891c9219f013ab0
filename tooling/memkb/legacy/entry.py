"""The one-entry-per-file shape: `{id, pattern_name, category, problem, symptoms, ...}`.

The record's kind is the file name's (failure_*.json...) or, failing that, the one whose
marker fields the entry has most of (memkb.legacy.mapping.guess_kind); its id is the
entry's `id`, else the file name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memkb.legacy.convert import Draft, Run
from memkb.legacy.mapping import convert_entry, guess_kind
from memkb.legacy.shapes import LegacyFile, Shape
from memkb.legacy.source import LegacyPath

__all__ = ["read_entry"]


def read_entry(run: Run, block: int, data: Any, file: LegacyFile) -> list[Draft]:
    """The drafts of the one entry the document holds."""
    where: LegacyPath = (block,)
    if not isinstance(data, dict):
        run.report("KB605", "an entry file must hold one JSON object; not imported", where)
        return []
    declared = data.get("id")
    legacy_id = declared if isinstance(declared, str) and declared else Path(file.name).stem
    kind = data.get("type") if data.get("type") in ("pattern", "failure", "template") else None
    return convert_entry(
        run,
        kind or guess_kind(data, file.kind),
        data,
        where,
        legacy_id=legacy_id,
        category=None,
        source=file.name,
        shape=Shape.ENTRY.value,
    )
