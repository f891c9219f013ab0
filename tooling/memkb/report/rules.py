"""`memkb rules`: every finding code with what it means, as text or JSON."""

from __future__ import annotations

from collections.abc import Mapping

from memkb.report import json_document


def render_text(codes: Mapping[str, str]) -> str:
    """`KB304  summary`, one code per line."""
    return "".join(f"{code}  {summary}\n" for code, summary in codes.items())


def render_json(codes: Mapping[str, str]) -> str:
    """The `memkb.rules/1` document: a list of {code, summary}."""
    rules = [{"code": code, "summary": summary} for code, summary in codes.items()]
    return json_document("rules", {"rules": rules})
