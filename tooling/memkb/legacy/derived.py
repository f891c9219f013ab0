"""Sections that hold derived figures (insights, learning metrics...): reported, not imported.

Their numbers are what `memkb metrics` computes from outcome records, so they are not
copied; their prose (recommendations, success factors) is advice a person wrote, so each
section is named in a finding that quotes its text for the reviewer (KB622), and the
figures are named as not imported (KB607). Nothing in them is dropped silently.
"""

from __future__ import annotations

from typing import Any

from memkb.findings import Severity
from memkb.legacy.convert import Run
from memkb.legacy.source import LegacyPath

__all__ = ["report_header", "report_section"]


def report_section(run: Run, name: str, value: Any, where: LegacyPath) -> None:
    """KB622 for each part of section `name` that holds text (quoted), KB607 naming its
    figures. A part is a key of the section (insights.common_success_factors) or, for a
    list or a string, the section itself."""
    parts = value.items() if isinstance(value, dict) else [(None, value)]
    figures: list[str] = []
    for key, part in parts:
        label = name if key is None else f"{name}.{key}"
        at: LegacyPath = where if key is None else (*where, key)
        texts, numbers = _leaves(part, name if key is None else key)
        figures += [n for n in numbers if n not in figures]
        if texts:
            quoted = "; ".join(f'"{t}"' for t in dict.fromkeys(texts))
            run.report(
                "KB622",
                f"'{label}' not imported (a derived section); its text, for review: {quoted}",
                at,
                key=True,
                severity=Severity.WARNING,
                hint="keep what is still true as a pattern, failure or template by hand",
            )
    if figures:
        run.report(
            "KB607",
            f"'{name}' figures not imported ({', '.join(figures)}): derived figures, "
            "`memkb metrics` computes them from outcome records",
            where,
            key=True,
            severity=Severity.WARNING,
        )


def report_header(run: Run, header: dict[str, Any], where: LegacyPath) -> None:
    """KB607 for a file's version / last_updated: Git history versions and dates the KB."""
    shown = ", ".join(f"{name} {value!r}" for name, value in header.items())
    run.report(
        "KB607",
        f"file header not imported ({shown}): Git history versions and dates the KB; "
        "a last_updated only dates the imported priors",
        where,
        key=True,
        severity=Severity.WARNING,
    )


def _leaves(value: Any, key: str | None) -> tuple[list[str], list[str]]:
    """(strings, names of non-string leaves) under `value`; a leaf's name is its key."""
    texts: list[str] = []
    numbers: list[str] = []
    stack: list[tuple[Any, str | None]] = [(value, key)]
    while stack:
        node, name = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, str(k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, name) for v in reversed(node))
        elif isinstance(node, str):
            texts.append(node)
        elif name is not None and name not in numbers:
            numbers.append(name)
    return texts, numbers
