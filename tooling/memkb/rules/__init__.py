"""Validation rules. Per-file rules see one record; collection rules see the whole index.

Rules are registered explicitly in memkb.rules.registry (no import magic), one entry per
stable code; the tables below are derived from it. They are imported on first use
(PEP 562), so importing a module of this package (`memkb rules` imports only the
registry) loads no rule module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memkb.rules.base import Issue
    from memkb.rules.registry import COLLECTION_RULES, FILE_RULES

__all__ = ["COLLECTION_RULES", "FILE_RULES", "Issue"]

# name -> the module that defines it.
_LAZY = {
    "COLLECTION_RULES": "memkb.rules.registry",
    "FILE_RULES": "memkb.rules.registry",
    "Issue": "memkb.rules.base",
}


def __getattr__(name: str) -> Any:
    """Import COLLECTION_RULES, FILE_RULES or Issue from its module on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
