"""Give issues their line and column: the one place where a finding about a YAML record
(a file and a path in its document) is located. The validation engine and the change
rules locate through it; the safety scan and the legacy importer locate by text offset
in what they scan (a regex match, a JSON position) instead."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from memkb.findings import Finding
from memkb.rules.base import Issue

if TYPE_CHECKING:  # PyYAML's composer, imported when an issue is first located
    from memkb.records.load import Locator


def locate(issues: Iterable[Issue], read: Callable[[str], bytes | None]) -> list[Finding]:
    """Each issue as a finding at its document path (1:1 for the whole file, or when the
    file cannot be read or parsed), parsing each affected file once. `read` gives a file's
    bytes: a snapshot's reader, or a dict's `get`."""
    locators: dict[str, Locator] = {}
    out = []
    for issue in issues:
        raw = read(issue.relpath)
        line, col = 1, 1
        if raw is not None and issue.path:
            if issue.relpath not in locators:
                from memkb.records.load import Locator

                locators[issue.relpath] = Locator(raw.decode("utf-8", errors="replace"))
            line, col = locators[issue.relpath].find(issue.path, key=issue.at_key)
        out.append(
            Finding(issue.relpath, line, col, issue.severity, issue.code, issue.message, issue.hint)
        )
    return out
