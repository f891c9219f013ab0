"""Git history in one pass: what memory knew at each commit, cached by commit id.

One `git log --first-parent --raw` process lists every commit of main with the blob
id of every changed file under kb/ (`walk`); record contents are read through one
`git cat-file --batch` process and reduced to facts (`blobs`), on a cold run while the
walk is still going (`readahead`); commits are replayed to
give the Evidence memory held at any commit (`replay`), from which `memkb.metrics.formulas`
computes the figures (`query`), a cold run's Beta intervals and cache file coming from a
child forked once the walk is over (`worker`). Commits, blob facts and finished reports are cached
under .git/memkb/ (`store`), so a warm run only reads what it has not seen; a
missing, truncated or corrupt cache is rebuilt, never trusted. `record` answers
`memkb history KIND ID`. The formulas and choices are in docs/metrics.md.

Names are imported on first use (PEP 562), as the `memkb` package does: a warm
`memkb metrics` answered by a stored report needs only `query` and `store`, not the
YAML readers, the replay and the formulas (about 60 ms of imports).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the module under memkb.history (or memkb.gitio) that defines it
_WHERE: dict[str, str] = {
    "Commit": "memkb.gitio.log",
    "Progress": "memkb.gitio.log",
    "git": "memkb.gitio.log",
    "iso": "memkb.gitio.log",
    "resolve": "memkb.gitio.log",
    "BlobReader": "memkb.gitio.objects",
    "ensure_facts": "memkb.history.blobs",
    "facts": "memkb.history.blobs",
    "DATE_RE": "memkb.history.query",
    "Target": "memkb.history.query",
    "code_fingerprint": "memkb.history.query",
    "end_of_day": "memkb.history.query",
    "months": "memkb.history.query",
    "report": "memkb.history.query",
    "series": "memkb.history.query",
    "target": "memkb.history.query",
    "tip_of": "memkb.history.query",
    "find_record": "memkb.history.record",
    "record_history": "memkb.history.record",
    "summarize": "memkb.history.record",
    "Replay": "memkb.history.replay",
    "evidence": "memkb.history.replay",
    "CACHE_NAME": "memkb.history.store",
    "CACHE_VERSION": "memkb.history.store",
    "JOURNAL_NAME": "memkb.history.store",
    "Cache": "memkb.history.store",
    "cached_report": "memkb.history.store",
    "store_report": "memkb.history.store",
    "chain": "memkb.history.walk",
}

__all__ = [  # the names of _WHERE, which tests/unit/history/test_history.py holds equal
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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'memkb.history' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports
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
