"""`memkb metrics` and `memkb history`: figures as aligned text tables or GitHub
markdown, and the `memkb.metrics/1`, `memkb.metrics-series/1` and `memkb.history/1`
JSON documents. Pure functions over the plain data memkb.history returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from memkb.report import json_document
from memkb.report.chart import learning_curve
from memkb.report.findings import markdown_cell, printable

UNKNOWN = "unknown"


def _fmt(value: Any) -> str:
    """One cell: None is 'unknown', floats get 3 decimals, lists and dicts are joined."""
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value + 0.0:.3f}".replace("-0.000", "0.000")  # no "-0.000" for a tiny loss
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) or "-"
    return printable(str(value))  # ids and paths are data: none may start a line of its own


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], markdown: bool) -> str:
    """A text table with aligned columns, or a GitHub markdown table."""
    cells = [[_fmt(c) for c in row] for row in rows]
    if markdown and not cells:
        return "_none_\n"
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(map(markdown_cell, row)) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    if not cells:
        return "(none)\n"
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    out = [headers, *cells]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in out
    )


def _section(title: str, body: str, markdown: bool) -> str:
    return f"\n### {title}\n\n{body}" if markdown else f"\n{title}\n{body}"


def _pairs(figures: dict[str, Any], markdown: bool) -> str:
    return table(["figure", "value"], list(figures.items()), markdown)


def _interval(row: dict[str, Any]) -> str:
    iv = row["interval_90"]
    return UNKNOWN if iv is None else f"{iv[0]:.3f}-{iv[1]:.3f}"


def _prior(row: dict[str, Any]) -> str:
    p = row["prior"]
    return "-" if p is None else f"{p['rate']:.3f} (w {_fmt(p['weight'])})"


def _day(stamp: str | None) -> str | None:
    return stamp[:10] if stamp else None


# Each table of the report: title, key in the report, column headers, row builder.
TABLES: list[tuple[str, str, list[str], Callable[[dict[str, Any]], list[Any]]]] = [
    ("Success patterns", "patterns",
     ["pattern", "status", "applied", "success", "partial", "failure", "observed", "prior",
      "posterior", "90% interval", "first seen", "last changed"],
     lambda r: [r["id"], r["status"], r["applications"], r["successes"], r["partials"],
                r["failures"], r["observed_rate"], _prior(r), r["posterior_mean"],
                _interval(r), _day(r["first_seen"]), _day(r["last_changed"])]),
    ("Templates", "templates",
     ["template", "status", "uses", "success", "partial", "failure", "realised", "declared",
      "posterior", "90% interval"],
     lambda r: [r["id"], r["status"], r["uses"], r["successes"], r["partials"], r["failures"],
                r["observed_rate"], r["declared"], r["posterior_mean"], _interval(r)]),
    ("Failure patterns", "failures",
     ["failure", "status", "occurrences", "recoveries", "recovery rate", "prevention used"],
     lambda r: [r["id"], r["status"], r["occurrences"], r["recoveries"], r["recovery_rate"],
                r["prevention_used"]]),
    ("Droids", "droids", ["droid", "projects", "success rate"],
     lambda r: [r["id"], r["projects"], r["success_rate"]]),
]  # fmt: skip


def render_report(rep: dict[str, Any], markdown: bool) -> str:
    """The full metrics report as text tables or markdown."""
    asof = rep["as_of"]
    where = f"{asof['commit'][:10]} ({asof['date']})" if asof["commit"] else "no commit yet"
    since = f", outcomes since {rep['since']}" if rep["since"] else ""
    head = f"memkb metrics as of {where}{since}"
    out = f"## {head}\n" if markdown else head + "\n"
    out += _section("Learning metrics", _pairs(rep["learning_metrics"], markdown), markdown)
    out += _section("Performance metrics", _pairs(rep["performance_metrics"], markdown), markdown)
    for title, key, headers, row in TABLES:
        out += _section(title, table(headers, [row(r) for r in rep[key]], markdown), markdown)
    out += _advice_sections(rep.get("advice"), markdown)
    if rep["skipped"]:
        skipped = [[s["path"], s["reason"]] for s in rep["skipped"]]
        out += _section(
            "Skipped (unreadable) records", table(["path", "reason"], skipped, markdown), markdown
        )
    return out


ADVICE_COLUMNS = ["advised", "followed", "ignored", "followed rate", "success if followed",
                  "success if ignored", "lift"]  # fmt: skip


def _advice_row(r: dict[str, Any]) -> list[Any]:
    return [r["advised"], r["followed"], r["ignored"], r["followed_rate"],
            r["success_when_followed"], r["success_when_ignored"], r["lift"]]  # fmt: skip


def _advice_sections(adv: dict[str, Any] | None, markdown: bool) -> str:
    """Advice followed vs ignored: overall figures, then one row per advised pattern."""
    if adv is None:
        return ""
    overall = {k: v for k, v in adv.items() if k != "patterns"}
    out = _section("Advice followed or ignored", _pairs(overall, markdown), markdown)
    rows = [[r["id"], *_advice_row(r)] for r in adv["patterns"]]
    return out + _section(
        "Advice per pattern", table(["pattern", *ADVICE_COLUMNS], rows, markdown), markdown
    )


SERIES_COLUMNS = [
    ("learning_metrics", "total_projects"),
    ("learning_metrics", "success_rate"),
    ("learning_metrics", "learning_effectiveness"),
    ("learning_metrics", "pattern_application_rate"),
    ("learning_metrics", "failure_recovery_rate"),
    ("performance_metrics", "user_satisfaction"),
    ("advice", "followed_rate"),
    ("advice", "success_when_followed"),
    ("advice", "success_when_ignored"),
]


def _series_header(group: str, name: str) -> str:
    return f"advice_{name}" if group == "advice" else name


def render_series(rep: dict[str, Any], markdown: bool) -> str:
    """The monthly learning curve as one table; in markdown, then drawn as a chart."""
    rows = [
        [p["month"], *(p.get(group, {}).get(name) for group, name in SERIES_COLUMNS)]
        for p in rep["series"]
    ]
    head = "memkb metrics by month (as known at each month's end)"
    out = (f"## {head}\n\n" if markdown else head + "\n") + table(
        ["month", *(_series_header(g, n) for g, n in SERIES_COLUMNS)], rows, markdown
    )
    chart = learning_curve(rep["series"], "Success rate and advice followed, by month")
    return out + ("\n" + chart if markdown and chart else "")


def render_history(rep: dict[str, Any], markdown: bool) -> str:
    """One record's commits, newest first, with the field-level summary of each."""
    head = f"{rep['kind']} {rep['id']} ({rep['path']}): {len(rep['commits'])} commit(s)"
    if markdown:
        rows = [
            [
                c["commit"][:10],
                c["date"],
                c["author"],
                c["agent"] or "-",
                c["change"],
                "; ".join(c["summary"]) or "-",
            ]
            for c in rep["commits"]
        ]
        return f"## {head}\n\n" + table(
            ["commit", "date", "author", "agent", "change", "summary"], rows, True
        )
    # Authors, agents and summaries come from commits anyone can write: escaped, so none
    # can forge a line of its own (a GitHub workflow command, say) when history runs in CI.
    out = printable(head) + "\n"
    for c in rep["commits"]:
        agent = f" via {c['agent']}" if c["agent"] else ""
        line = f"{c['commit'][:10]}  {c['date']}  {c['author']}{agent}  {c['change']}"
        out += f"\n{printable(line)}\n"
        out += "".join(f"    {printable(summary)}\n" for summary in c["summary"])
    return out


def render_report_text(rep: dict[str, Any]) -> str:
    """The metrics report as aligned text tables."""
    return render_report(rep, markdown=False)


def render_report_markdown(rep: dict[str, Any]) -> str:
    """The metrics report as GitHub markdown tables."""
    return render_report(rep, markdown=True)


def render_report_json(rep: dict[str, Any]) -> str:
    """The `memkb.metrics/1` document."""
    return json_document("metrics", rep)


def render_series_text(rep: dict[str, Any]) -> str:
    """The monthly learning curve as a text table."""
    return render_series(rep, markdown=False)


def render_series_markdown(rep: dict[str, Any]) -> str:
    """The monthly learning curve as a markdown table and a Mermaid chart."""
    return render_series(rep, markdown=True)


def render_series_json(rep: dict[str, Any]) -> str:
    """The `memkb.metrics-series/1` document."""
    return json_document("metrics-series", rep)


def render_history_text(rep: dict[str, Any]) -> str:
    """One record's commits as text."""
    return render_history(rep, markdown=False)


def render_history_markdown(rep: dict[str, Any]) -> str:
    """One record's commits as a markdown table."""
    return render_history(rep, markdown=True)


def render_history_json(rep: dict[str, Any]) -> str:
    """The `memkb.history/1` document."""
    return json_document("history", rep)
