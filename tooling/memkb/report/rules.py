"""Render rules of the registry for `memkb rules`: a list, one rule in full, or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from memkb.rules.registry import Rule

FORMAT = "memkb.rules/1"


def render_list(rules: Sequence[Rule]) -> str:
    """One line per rule: `CODE  summary`."""
    return "".join(f"{rule.code}  {rule.summary}\n" for rule in rules)


def render_one(rule: Rule) -> str:
    """A rule in full: summary, then scope, severity and where it is raised, then its doc."""
    return (
        f"{rule.code}  {rule.summary}\n"
        f"scope: {rule.scope}  severity: {rule.severity}  raised in: {rule.raised_in}\n"
        f"\n{rule.doc}\n"
    )


def render_json(rules: Sequence[Rule]) -> str:
    """{"format": ..., "rules": [...]} with every field of each rule."""
    return json.dumps({"format": FORMAT, "rules": [r.as_dict() for r in rules]}, indent=2) + "\n"
