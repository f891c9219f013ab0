"""Every finding code memkb can emit, with a one-line description. Codes are stable:
users grep for them, suppress them and search the docs by them.

Derived from the one rule table, memkb.rules.registry; kept for the modules that only
need code -> summary."""

from __future__ import annotations

from memkb.rules.registry import REGISTRY

CODES: dict[str, str] = {code: rule.summary for code, rule in REGISTRY.items()}
