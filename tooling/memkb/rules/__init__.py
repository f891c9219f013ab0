"""Validation rules. Per-file rules see one record; collection rules see the whole index.

Rules are registered explicitly in memkb.rules.registry (no import magic), one entry per
stable code; the tables below are derived from it.
"""

from __future__ import annotations

from memkb.rules.base import Issue
from memkb.rules.registry import COLLECTION_RULES, FILE_RULES

__all__ = ["COLLECTION_RULES", "FILE_RULES", "Issue"]
