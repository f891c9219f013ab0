"""A regular expression compiled on first use and searched only where it can match.

The safety scan holds about sixty patterns (memkb.rules.safety, memkb.rules.secret_detectors).
Compiled at import they cost every `memkb record` process about 15 ms, and searched in every
string they cost a scan as much again, while a benign record holds the keywords of a few
at most. So each pattern carries keywords: literal strings one of which occurs in every
text it matches (lower case when the pattern ignores case). A text holding none is not
searched, and a pattern no text needs is never compiled: the pre-filter of detect-secrets
and pySigma. tests/unit/rules/test_safety_keywords.py derives the keywords again from each
pattern's parse tree and holds the tables equal to them.

The filter applies to ASCII text only: there `\\d` is an ASCII digit and lower() is what
IGNORECASE compares; any other text is searched by every pattern, as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import NamedTuple


class LazyRegex(NamedTuple):
    """A pattern, its keywords (empty: none promised, always searched) and its flags."""

    source: str
    keywords: tuple[str, ...] = ()
    ignore_case: bool = False
    flags: int = 0

    @property
    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern (compiled once, on first use)."""
        return _compiled(self.source, self.flags)

    def may_match(self, text: str) -> bool:
        """False only if the pattern cannot match `text` (it holds none of the keywords)."""
        if not self.keywords or not text.isascii():
            return True
        haystack = text.lower() if self.ignore_case else text
        return any(keyword in haystack for keyword in self.keywords)

    def search(self, text: str) -> re.Match[str] | None:
        """re.search, skipped (None) where the keywords say it cannot match."""
        return self.compiled.search(text) if self.may_match(text) else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """re.finditer, empty where the keywords say the pattern cannot match."""
        return self.compiled.finditer(text) if self.may_match(text) else iter(())


@cache  # once per pattern: later searches find it here
def _compiled(source: str, flags: int) -> re.Pattern[str]:
    return re.compile(source, flags)
