"""Render `memkb recommend` (text, JSON, Markdown) and `memkb brief` (Markdown, JSON).

Memory text (ids aside) never reaches the recommend renderers: items carry ids, scores
and reasons memkb wrote itself; the brief's Markdown was fenced by memkb.advice.brief."""

from __future__ import annotations

from memkb.advice.items import Advice, Brief, Item
from memkb.report import json_document

SECTIONS = (("templates", "Templates"), ("patterns", "Success patterns"), ("guards", "Guards"))


def _items(advice: Advice, section: str) -> tuple[Item, ...]:
    found: tuple[Item, ...] = getattr(advice, section)
    return found


def _query_line(advice: Advice) -> str:
    q = advice.query
    parts = [
        f"{name} {', '.join(v) or 'any'}"
        for name, v in (("domains", q.domains), ("phases", q.phases), ("droids", q.droids))
    ]
    return "; ".join(parts) + (f"; text {q.text!r}" if q.text else "")


def render_text(advice: Advice) -> str:
    """Sections of `N. id  score` lines, each followed by its reasons."""
    lines = [f"advice at {advice.commit[:12]} (brief {advice.brief_id}) for {_query_line(advice)}"]
    for section, title in SECTIONS:
        lines += ["", f"{title}:"]
        items = _items(advice, section)
        for n, item in enumerate(items, start=1):
            lines.append(f"  {n}. {item.id}  {item.score:g}")
            lines += [f"       - {reason}" for reason in item.reasons]
        if not items:
            lines.append("  (none)")
    lines += [f"note: {note}" for note in advice.notes]
    return "\n".join(lines) + "\n"


def render_markdown(advice: Advice) -> str:
    """A table per section: rank, id, score, reasons."""
    lines = [
        "## memkb recommend",
        "",
        f"Commit `{advice.commit}`, brief `{advice.brief_id}`, query: {_query_line(advice)}.",
    ]
    for section, title in SECTIONS:
        lines += ["", f"### {title}", ""]
        items = _items(advice, section)
        if not items:
            lines.append("None.")
            continue
        lines += ["| # | id | score | reasons |", "|---|---|---|---|"]
        for n, item in enumerate(items, start=1):
            reasons = "; ".join(item.reasons).replace("|", "\\|")
            lines.append(f"| {n} | `{item.id}` | {item.score:g} | {reasons} |")
    if advice.notes:
        lines += ["", *[f"- {note}" for note in advice.notes]]
    return "\n".join(lines) + "\n"


def render_json(advice: Advice) -> str:
    """The `memkb.recommend/1` document."""
    return json_document("recommend", advice.to_dict())


def render_brief(brief: Brief) -> str:
    """The brief itself (its Markdown), for both text and markdown formats."""
    return brief.markdown


def render_brief_json(brief: Brief) -> str:
    """The `memkb.brief/1` document: the Markdown plus the ids and token figures."""
    return json_document("brief", brief.to_dict())
