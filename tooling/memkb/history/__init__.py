"""Git history in one pass: what memory knew at each commit, cached by commit id.

One `git log --first-parent --raw` process lists every commit of main with the blob
id of every changed file under kb/ (`walk`); record contents are read through one
`git cat-file --batch` process and reduced to facts (`blobs`), on a cold run while the
walk is still going (`readahead`); commits are replayed to
give the Evidence memory held at any commit (`replay`), from which `memkb.metrics.formulas`
computes the figures (`query`). Commits, blob facts and finished reports are cached
under .git/memkb/ (`store`), so a warm run only reads what it has not seen; a
missing, truncated or corrupt cache is rebuilt, never trusted. `record` answers
`memkb history KIND ID`. The formulas and choices are in docs/metrics.md.
"""

from memkb.gitio.log import Commit, Progress, git, iso, resolve
from memkb.gitio.objects import BlobReader
from memkb.history.blobs import ensure_facts, facts
from memkb.history.query import (
    DATE_RE,
    Target,
    code_fingerprint,
    end_of_day,
    months,
    report,
    series,
    target,
    tip_of,
)
from memkb.history.record import find_record, record_history, summarize
from memkb.history.replay import Replay, evidence
from memkb.history.store import (
    CACHE_NAME,
    CACHE_VERSION,
    JOURNAL_NAME,
    Cache,
    cached_report,
    store_report,
)
from memkb.history.walk import chain

__all__ = [
    "CACHE_NAME",
    "CACHE_VERSION",
    "DATE_RE",
    "JOURNAL_NAME",
    "BlobReader",
    "Cache",
    "Commit",
    "Progress",
    "Replay",
    "Target",
    "cached_report",
    "chain",
    "code_fingerprint",
    "end_of_day",
    "ensure_facts",
    "evidence",
    "facts",
    "find_record",
    "git",
    "iso",
    "months",
    "record_history",
    "report",
    "resolve",
    "series",
    "store_report",
    "summarize",
    "target",
    "tip_of",
]
