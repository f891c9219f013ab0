"""Which commit advice reads, and its prepared corpus: from this process's memory, from
the cache under .git/memkb/advice/ (keyed by commit id and the code that prepares it),
or read from Git and prepared. Advice never reads the work tree."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from memkb import cachefile as cache
from memkb._version import __version__
from memkb.advice.corpus import Corpus
from memkb.errors import RepoError, UsageError

if TYPE_CHECKING:
    from memkb.advice.prepare import Reuse

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # as memkb.history.query.DATE_RE
KEPT_CACHES = 4  # prepared corpora kept under .git/memkb/advice/: HEAD and a few --as-of


def resolve_commit(root: Path, as_of: str | None) -> str:
    """The commit advice is read from: HEAD, the revision given, or for a YYYY-MM-DD
    date the last commit of main's first-parent chain that touched kb/ on or before that
    day (UTC), as `memkb metrics --as-of` resolves it.

    Raise RepoError without commits, UsageError for a bad revision or a date before the
    first commit."""
    if as_of is None or not DATE_RE.match(as_of):
        return _tip(root, as_of)
    # Dates need history (the commits of main and their times): imported only for them.
    from memkb.history.query import end_of_day, target, tip_of
    from memkb.history.store import Cache

    end_of_day(as_of)  # a malformed date is a UsageError before any git work
    tip = tip_of(root, as_of)
    history = Cache.load(root)
    found = target(root, history, tip, as_of)
    history.save()
    if found.upto < 0:
        first = found.commits[0].sha[:12] if found.commits else "none"
        raise UsageError(
            f"--as-of {as_of} is before the first commit of the knowledge base",
            hint=f"use a later date; the first knowledge commit is {first}",
        )
    return found.commits[found.upto].sha


def _tip(root: Path, rev: str | None) -> str:
    """HEAD, or the commit `rev` names, as memkb.history.query.tip_of answers it (same
    errors) without importing history: that import is a third of a warm run's time."""
    from memkb.gitio.log import git, resolve

    head = git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).strip()
    if not head:
        git(root, "rev-parse", "--git-dir")  # raises RepoError outside a Git repository
        raise RepoError(
            "the repository has no commits yet",
            hint="commit the knowledge base first: memory is read from Git",
        )
    return head if rev is None else resolve(root, rev)


def load_corpus(root: Path, commit: str, *, use_cache: bool = True) -> Corpus:
    """The prepared corpus of `commit`: from memory or the cache when they hold this
    commit for this code, else read from Git and prepared (and cached)."""
    path = cache.cache_dir(root) / "advice" / f"{commit}.cache"
    fingerprint = _fingerprint()
    key = (str(path), fingerprint)
    if use_cache and key in _LAST:
        return _LAST[key]  # a commit's content never changes: the same corpus
    if use_cache:
        with cache.gc_paused():
            hit = cache.load(path, fingerprint)
        if hit.get("commit") == commit:
            return _remember(key, Corpus.from_plain(hit))
    from memkb.advice.prepare import prepare, read_index  # a warm run parses nothing

    reuse = _reuse_for(root) if use_cache else None
    corpus = prepare(commit, read_index(root, commit, reuse), reuse)
    if use_cache:
        cache.save(path, fingerprint, corpus.to_plain())
        _prune(path.parent)
        _remember(key, corpus)
    return corpus


# The last corpus loaded in this process, by cache path and code fingerprint: a program
# asking many questions of one commit (an orchestrator, an MCP server) reads it once.
_LAST: dict[tuple[str, str], Corpus] = {}


# What the last preparation in this process read and built (memkb.advice.prepare.Reuse),
# by repository: the next commit's corpus re-reads only the blobs that changed.
_REUSE: dict[str, Reuse] = {}


def forget() -> None:
    """Drop the corpus kept in memory and what its preparation read (the next call reads
    the cache or Git again, from scratch)."""
    _LAST.clear()
    _REUSE.clear()


def _reuse_for(root: Path) -> Reuse:
    """The Reuse of repository `root` (one repository is kept: a server answers for one)."""
    from memkb.advice.prepare import Reuse

    key = str(root.resolve())
    if key not in _REUSE:
        _REUSE.clear()
        _REUSE[key] = Reuse()
    return _REUSE[key]


def _remember(key: tuple[str, str], corpus: Corpus) -> Corpus:
    _LAST.clear()
    _LAST[key] = corpus
    return corpus


def _fingerprint() -> str:
    """Names the code that prepares a corpus: a changed preparation is a new cache."""
    digest = hashlib.sha256(__version__.encode())
    here = Path(__file__)
    for name in ("load.py", "corpus.py", "prepare.py", "bm25.py"):
        module = here.with_name(name)
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


def _prune(folder: Path) -> None:
    """Keep the KEPT_CACHES most recently written corpora (the cache is optional)."""
    try:
        files = sorted(folder.glob("*.cache"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[KEPT_CACHES:]:
            old.unlink()
    except OSError:
        pass
