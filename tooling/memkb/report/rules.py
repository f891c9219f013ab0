"""Render rules of the registry for `memkb rules`: a list, one rule in full, or JSON."""

from __future__ import annotations

from collections.abc import Sequence

from memkb.report import json_document
from memkb.rules.registry import Rule


def render_text(rules: Sequence[Rule], *, one: bool = False) -> str:
    """One line per rule (`CODE  summary`); with `one`, the rule in full: summary, then
    scope, severity and where it is raised, then its doc."""
    if not one:
        return "".join(f"{rule.code}  {rule.summary}\n" for rule in rules)
    (rule,) = rules
    return (
        f"{rule.code}  {rule.summary}\n"
        f"scope: {rule.scope}  severity: {rule.severity}  raised in: {rule.raised_in}\n"
        f"\n{rule.doc}\n"
    )


def render_json(rules: Sequence[Rule], *, one: bool = False) -> str:
    """The `memkb.rules/1` document: every field of each rule (a list, even for one)."""
    del one  # the same shape either way, so a reader parses one kind of document
    return json_document("rules", {"rules": [r.as_dict() for r in rules]})
