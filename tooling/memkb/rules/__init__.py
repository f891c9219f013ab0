"""Validation rules. Per-file rules see one record; collection rules see the whole index.

Rules are listed explicitly here (no import magic); each has a stable code in memkb.rules.codes.
"""

from __future__ import annotations

from memkb.rules.base import CollectionRule, FileRule, Issue
from memkb.rules.collection import (
    deprecated_references,
    duplicate_ids,
    future_outcomes,
    missing_vocabulary,
    references,
    supersession,
)
from memkb.rules.perfile import (
    id_matches_file_name,
    kind_matches_folder,
    outcome_placement,
    schema_modeline,
)

FILE_RULES: tuple[FileRule, ...] = (
    kind_matches_folder,
    id_matches_file_name,
    outcome_placement,
    schema_modeline,
)
COLLECTION_RULES: tuple[CollectionRule, ...] = (
    missing_vocabulary,
    deprecated_references,
    duplicate_ids,
    references,
    supersession,
    future_outcomes,
)

__all__ = ["COLLECTION_RULES", "FILE_RULES", "Issue"]
