"""One knowledge file as a change has it: its bytes and documents before and after."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from memkb.kb.layout import KB_DIR, location_of
from memkb.records.load import load_bytes


@dataclass(frozen=True)
class FileChange:
    """One changed knowledge file. `status` is added, modified, deleted, renamed (a delete
    plus an add of the same record under a new id) or moved (same id, new place)."""

    status: str
    path: str  # the path at head; for a deletion, the path at base
    old_path: str | None
    old: bytes | None
    new: bytes | None

    @property
    def kind(self) -> str | None:
        """Record kind implied by the path at head (base for a deletion), or None."""
        return location_of(self.path).kind if self.path.startswith(f"{KB_DIR}/") else None

    @property
    def old_kind(self) -> str | None:
        """Record kind implied by the path at base, or None."""
        if self.old_path is None or not self.old_path.startswith(f"{KB_DIR}/"):
            return None
        return location_of(self.old_path).kind

    # Parsed once per change: the change rules and every reporter read the same documents.
    @functools.cached_property
    def old_doc(self) -> dict[str, Any] | None:
        """The document at base (None if there is none, or it is not a readable mapping)."""
        return _mapping_doc(self.old, self.old_path or self.path)

    @functools.cached_property
    def new_doc(self) -> dict[str, Any] | None:
        """The document at head (None if there is none, or it is not a readable mapping)."""
        return _mapping_doc(self.new, self.path)


def _mapping_doc(raw: bytes | None, path: str) -> dict[str, Any] | None:
    doc = load_bytes(raw, path).doc if raw is not None else None
    return doc if isinstance(doc, dict) else None
