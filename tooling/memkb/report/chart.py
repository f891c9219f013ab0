"""Mermaid `xychart-beta` line charts, which GitHub draws in Markdown (job summaries,
pull-request comments): a reviewer looks at the learning curve instead of reading a table.

xychart-beta draws no legend, so the caption under the chart names each line by its
order and says how an unknown value is drawn."""

from __future__ import annotations

from collections.abc import Sequence

# The two rates of the learning curve: (key in a point's group, group, caption name).
LEARNING_LINES = (
    ("learning_metrics", "success_rate", "success rate"),
    ("advice", "followed_rate", "advice-followed rate"),
)


def xychart(
    title: str, labels: Sequence[str], lines: Sequence[tuple[str, Sequence[float | None]]]
) -> str:
    """A fenced Mermaid block: one line per (name, values), y from 0 to 1, then a caption
    naming the lines. A line with no known value is left out (the caption says so); an
    unknown value on a drawn line is drawn as 0, since Mermaid has no gaps."""
    missing = [name for name, values in lines if all(v is None for v in values)]
    lines = [(name, values) for name, values in lines if name not in missing]

    def num(value: float | None) -> str:
        return "0" if value is None else f"{value:.3f}".rstrip("0").rstrip(".")

    body = [
        "```mermaid",
        "xychart-beta",
        f'    title "{_quoted(title)}"',
        "    x-axis [" + ", ".join(f'"{_quoted(label)}"' for label in labels) + "]",
        '    y-axis "rate" 0 --> 1',
        *("    line [" + ", ".join(num(v) for v in values) + "]" for _, values in lines),
        "```",
    ]
    order = ("first", "second", "third", "fourth")
    named = [f"{order[n] if n < len(order) else f'line {n + 1}'}: {name}"
             for n, (name, _) in enumerate(lines)]  # fmt: skip
    caption = "Lines, " + "; ".join(named) + "."
    gaps = [name for name, values in lines if any(v is None for v in values)]
    if gaps:
        caption += " Drawn as 0 where unknown (no outcome to count yet): " + ", ".join(gaps) + "."
    if missing:
        caption += " Not drawn, no outcome to count yet: " + ", ".join(missing) + "."
    return "\n".join(body) + "\n\n" + caption + "\n"


def learning_curve(points: Sequence[dict[str, object]], title: str) -> str:
    """The success rate and advice-followed rate of `points` (each with a "month" or
    "label" and the groups of LEARNING_LINES) as one chart, from the first point with a
    known rate; "" when there is none."""
    while points and all(_rate(points[0], g, k) is None for g, k, _ in LEARNING_LINES):
        points = points[1:]  # months before any outcome: nothing to draw yet
    if not points:
        return ""
    labels = [str(p.get("month", p.get("label", ""))) for p in points]
    lines = [(name, [_rate(p, group, key) for p in points]) for group, key, name in LEARNING_LINES]
    return xychart(title, labels, lines)


def _rate(point: dict[str, object], group: str, key: str) -> float | None:
    figures = point.get(group)
    value = figures.get(key) if isinstance(figures, dict) else None
    return float(value) if isinstance(value, int | float) else None


def _quoted(text: str) -> str:
    """Text safe inside a Mermaid double-quoted string: no quote, no line break."""
    return " ".join(text.replace('"', "'").split())
