"""The entry points: figures as memory knew them at a commit or date, and by month."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memkb.cachefile import gc_paused
from memkb.errors import RepoError, UsageError
from memkb.gitio.log import Commit, Progress, git, iso, resolve
from memkb.history.store import Cache, cached_report, store_report

# The walk, the replay and the formulas (with the YAML readers under them) are imported
# by the functions that build a report: a warm run answers from a stored report without
# them (docs/metrics.md "Caching").

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Target:
    """Which state of memory to report: a chain of main and how far along it to go."""

    commits: list[Commit]
    upto: int  # index into commits; -1 = before any knowledge commit
    label: str | None  # what the user asked for (rev or date), None for HEAD


def end_of_day(day: str) -> int:
    """Seconds since the epoch at 23:59:59 UTC of `day` (YYYY-MM-DD); UsageError if invalid.

    strptime alone accepts 2025-3-1, which then compares wrongly with the outcomes'
    YYYY-MM-DD dates (as text): only the zero-padded form is a date here."""
    try:
        if not DATE_RE.fullmatch(day):
            raise ValueError(day)
        parsed = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise UsageError(f"'{day}' is not a date", hint="write dates as YYYY-MM-DD") from exc
    return int(parsed.timestamp()) + 86_399


def tip_of(root: Path, as_of: str | None) -> str:
    """The commit whose main is read: HEAD, or the revision given as --as-of.

    Raise RepoError when the repository has no commit, UsageError for a bad revision.
    """
    head = git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).strip()
    if not head:
        git(root, "rev-parse", "--git-dir")  # raises RepoError outside a Git repository
        raise RepoError(
            "the repository has no commits yet",
            hint="commit the knowledge base first: memory is read from Git",
        )
    if as_of is None or DATE_RE.fullmatch(as_of):
        return head
    return resolve(root, as_of)


def target(
    root: Path, cache: Cache, tip: str, as_of: str | None, progress: Progress | None = None
) -> Target:
    """The state to report: all of `tip`'s main, or (for a YYYY-MM-DD --as-of) up to the
    last commit dated on or before the end of that day (UTC)."""
    from memkb.history.walk import chain

    commits = chain(root, cache, tip, progress)
    if as_of is not None and DATE_RE.fullmatch(as_of):
        limit = end_of_day(as_of)
        upto = max((i for i, c in enumerate(commits) if c.time <= limit), default=-1)
        return Target(commits, upto, as_of)
    return Target(commits, len(commits) - 1, as_of)


def _request(root: Path, mode: str, as_of: str | None, since: str | None) -> tuple[str, str]:
    """Validate the request; return the tip commit and the key of its finished report.

    The key names everything a report depends on: the tip commit (content-addressed),
    the options, and the code that computes it."""
    if since is not None:
        end_of_day(since)  # validates the date
    if as_of is not None and DATE_RE.fullmatch(as_of):
        end_of_day(as_of)
    tip = tip_of(root, as_of)
    return tip, "\0".join((mode, as_of or "", since or "", tip, code_fingerprint()))


# The formulas' modules, found by path rather than imported: a warm run reads these
# files without loading them (tests hold them equal to the modules' __file__).
FORMULA_FILES = tuple(
    Path(__file__).parent.parent / "metrics" / name for name in ("formulas.py", "beta.py")
)


def code_fingerprint() -> str:
    """Hash of the modules whose code shapes a report: a changed formula is a new report."""
    digest = hashlib.sha256()
    for module_file in (*sorted(Path(__file__).parent.glob("*.py")), *FORMULA_FILES):
        digest.update(module_file.read_bytes())
    return digest.hexdigest()[:16]


def _as_of_info(tg: Target) -> dict[str, Any]:
    last = tg.commits[tg.upto] if tg.upto >= 0 else None
    return {
        "requested": tg.label,
        "commit": last.sha if last else None,
        "date": iso(last.time) if last else None,
    }


def report(
    root: Path,
    *,
    as_of: str | None = None,
    since: str | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    docs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every figure as memory knew it at `as_of`, from outcomes dated on/after `since`.

    `docs`, if given, receives the documents of the records parsed to build the report
    ("kind:blob" -> document; nothing when the finished report came from the cache).
    Raise UsageError for a bad date or revision, RepoError outside a usable repository.
    """

    def build(cache: Cache, tip: str) -> dict[str, Any]:
        from memkb.history.walk import Walk

        ahead = _walk_ahead(cache, as_of)
        walk = Walk(root, cache, tip, progress)  # git walks while the imports below run
        try:
            from memkb.history.readahead import ReadAhead
            from memkb.history.replay import Replay, evidence
            from memkb.history.worker import fork_worker
            from memkb.metrics.formulas import compute

            cache.docs = docs
            prefetch = ReadAhead(root, cache, tip, progress) if ahead else None
            walk.finish()
        finally:
            walk.close()
        tg = target(root, cache, tip, as_of, progress)
        tag = code_fingerprint() + ":"
        worker = None
        if prefetch is not None:
            prefetch.join()
            worker = fork_worker(cache, prefetch.wanted, tag, since)  # the second core
        try:
            replay = Replay(tg.commits)
            replay.advance(tg.upto)
            ev = evidence(root, cache, replay, progress)
            if worker is not None:
                worker.merge(cache.intervals)
            ev.intervals, ev.intervals_tag = cache.intervals, tag
            figures = compute(ev, since=since)
        finally:
            if worker is not None:
                worker.finish(cache)  # before cache.save(), which then appends the rest
        return {"as_of": _as_of_info(tg), "since": since, **figures, "skipped": ev.skipped}

    return _answer(root, "report", as_of, since, use_cache, build)


def _answer(
    root: Path,
    mode: str,
    as_of: str | None,
    since: str | None,
    use_cache: bool,
    build: Callable[[Cache, str], dict[str, Any]],
) -> dict[str, Any]:
    """The finished report for the request if one is stored; else `build(cache, tip)`,
    then the history cache and the report are saved for the next run."""
    tip, key = _request(root, mode, as_of, since)
    hit = cached_report(root, key) if use_cache else None
    if hit is not None:
        return hit
    # The report is stored with the collector still paused: restarted, its first pass
    # would traverse every object the build made (about 40 ms after a cold build of
    # 10,000 commits), while the cache is still alive.
    with gc_paused():
        cache = Cache.load(root, enabled=use_cache)
        result = build(cache, tip)
        cache.save()
        if use_cache:
            store_report(root, key, result)
        del cache  # freed here, before the collector runs again
    return result


def _walk_ahead(cache: Cache, as_of: str | None) -> bool:
    """Whether to read the tip's records while history is walked: on a cold cache (a
    warm one already holds nearly every record), for a report of the tip itself (an
    --as-of date may need older versions instead)."""
    return not cache.tips and (as_of is None or not DATE_RE.fullmatch(as_of))


def months(first: int, last: int) -> Iterator[tuple[str, int]]:
    """(YYYY-MM, end of that month in epoch seconds) from the month of `first` to `last`;
    nothing when `first` is after `last`."""
    if first > last:
        return
    start = datetime.fromtimestamp(first, UTC)
    year, month = start.year, start.month
    while True:
        nxt = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        yield f"{year:04d}-{month:02d}", int(nxt.timestamp()) - 1
        if int(nxt.timestamp()) > last:
            return
        year, month = nxt.year, nxt.month


def series(
    root: Path,
    *,
    as_of: str | None = None,
    since: str | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The learning curve: learning and performance metrics as known at each month's end.

    Raise UsageError for a bad date or revision, RepoError outside a usable repository.
    """

    def build(cache: Cache, tip: str) -> dict[str, Any]:
        tg = target(root, cache, tip, as_of, progress)
        points = _monthly(root, cache, tg, as_of, since) if tg.upto >= 0 else []
        return {"as_of": _as_of_info(tg), "since": since, "series": points}

    return _answer(root, "series", as_of, since, use_cache, build)


def _monthly(
    root: Path, cache: Cache, tg: Target, as_of: str | None, since: str | None
) -> list[dict[str, Any]]:
    """One point per month: the figures at the last commit dated within that month."""
    from memkb.history.replay import Replay, evidence
    from memkb.metrics.formulas import (
        advice_figures,
        learning_metrics,
        performance_metrics,
        select,
    )

    replay = Replay(tg.commits)
    last = end_of_day(as_of) if as_of and DATE_RE.fullmatch(as_of) else tg.commits[tg.upto].time
    floor = end_of_day(since) - 86_399 if since else 0
    times = [c.time for c in tg.commits[: tg.upto + 1]]
    points = []
    for month, end in months(max(times[0], floor), last):
        upto = max((i for i, t in enumerate(times) if t <= end), default=-1)
        replay.advance(upto)
        ev = evidence(root, cache, replay)
        chosen = select(ev.outcomes, since)
        points.append(
            {
                "month": month,
                "commit": tg.commits[upto].sha if upto >= 0 else None,
                "learning_metrics": learning_metrics(ev, chosen),
                "performance_metrics": performance_metrics(chosen),
                "advice": {k: v for k, v in advice_figures(chosen).items() if k != "patterns"},
            }
        )
    return points
