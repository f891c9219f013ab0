"""A cold report's forked worker: the Beta intervals and the history cache from a child,
the same figures and the same cache, and the parent's own work whenever the child cannot
help."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import PROJECT, git
from memkb.history import report, worker
from memkb.history.store import JOURNAL_NAME, Cache
from memkb.metrics import formulas


@pytest.fixture(scope="module")
def synth_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 400-record synthetic KB (a tenth of it broken) in one commit: enough patterns
    and templates for the worker, and outcomes that cite them. Made once for the module,
    so before the per-test git isolation of conftest: no git config is read here either."""
    root = tmp_path_factory.mktemp("worker") / "repo"
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(PROJECT))  # tooling/bench is not an installed package
        from tooling.bench.synth import generate_kb

        generate_kb(root, 400, broken_fraction=0.1, seed=5)
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    git(root, "init", "-q", "-b", "main", env=env)
    git(root, "add", "-A", env=env)
    ident = ("-c", "user.name=t", "-c", "user.email=t@invalid", "-c", "commit.gpgsign=false")
    git(root, *ident, "commit", "-q", "-m", "kb", env=env)
    return root


def _counted_quantiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the quantile searches this process runs (a forked child counts its own)."""
    calls = [0]
    real = formulas.beta_quantile

    def counting(p: float, a: float, b: float) -> float:
        calls[0] += 1
        return real(p, a, b)

    monkeypatch.setattr(formulas, "beta_quantile", counting)
    return calls


def _cold(repo: Path, monkeypatch: pytest.MonkeyPatch, min_rated: int, **kw: Any) -> Any:
    monkeypatch.setattr(worker, "MIN_RATED", min_rated)
    return report(repo, use_cache=False, **kw)


@pytest.mark.parametrize("since", [None, "2025-06-01"])
def test_the_child_s_intervals_give_the_same_report_and_spare_the_parent(
    synth_repo: Path, monkeypatch: pytest.MonkeyPatch, since: str | None
) -> None:
    calls = _counted_quantiles(monkeypatch)
    alone = _cold(synth_repo, monkeypatch, 10**9, since=since)
    searched_alone = calls[0]
    calls[0] = 0
    helped = _cold(synth_repo, monkeypatch, 0, since=since)
    assert helped == alone
    assert searched_alone > 100  # the KB has intervals worth computing
    assert calls[0] == 0  # every one of them came from the child


def test_a_child_that_fails_leaves_the_work_to_the_parent(
    synth_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _cold(synth_repo, monkeypatch, 10**9)

    def broken(*_args: object) -> dict[str, Any]:
        raise RuntimeError("child on fire")

    monkeypatch.setattr(worker, "tip_intervals", broken)  # runs in the child only
    calls = _counted_quantiles(monkeypatch)
    assert _cold(synth_repo, monkeypatch, 0) == expected
    assert calls[0] > 100


def test_no_child_is_forked_beside_another_thread() -> None:
    wanted = {f"pattern:{n}": ("pattern", f"kb/patterns/p{n}.yaml") for n in range(500)}
    cache = Cache(None)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert worker.fork_worker(cache, wanted, "t:", None) is None
    finally:
        stop.set()
        other.join()
    child = worker.fork_worker(cache, wanted, "t:", None)
    assert child is not None  # alone, the same request forks
    memo: dict[str, Any] = {}
    child.merge(memo)
    child.finish(cache)
    assert memo == {}  # none of those records was read: nothing to compute


def _cache_files(repo: Path) -> dict[str, Any]:
    """The history cache as a later run loads it (file and journal merged)."""
    loaded = Cache.load(repo)
    assert not loaded.dirty
    return {name: getattr(loaded, name) for name in ("commits", "tips", "blobs", "applied")} | {
        "intervals": dict(sorted(loaded.intervals.items()))
    }


def _built_alone(
    synth_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Any, dict[str, Any]]:
    """A copy of `synth_repo`, its report and cache files as the parent alone builds them;
    then the cache is removed and the worker forks for any KB."""
    import shutil

    repo = tmp_path / "copy"
    shutil.copytree(synth_repo, repo)
    monkeypatch.setattr(worker, "MIN_RATED", 10**9)
    alone = report(repo)
    expected = _cache_files(repo)
    shutil.rmtree(repo / ".git" / "memkb")
    monkeypatch.setattr(worker, "MIN_RATED", 0)
    return repo, alone, expected


def test_the_child_writes_the_cache_and_the_parent_appends_the_rest(
    synth_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo, alone, expected = _built_alone(synth_repo, tmp_path, monkeypatch)
    assert report(repo) == alone
    journal = repo / ".git" / "memkb" / JOURNAL_NAME
    assert journal.exists()  # what the parent added after the fork
    assert _cache_files(repo) == expected


def test_a_worker_left_unmerged_ends_and_is_waited_for(
    synth_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The caller fails between the fork and the merge: finish() must not wait forever on
    # a child blocked writing more than a pipe holds.
    from memkb.history import replay

    def broken(*_args: object) -> None:
        raise RuntimeError("replay on fire")

    monkeypatch.setattr(worker, "MIN_RATED", 0)
    monkeypatch.setattr(replay, "evidence", broken)
    with pytest.raises(RuntimeError, match="replay on fire"):
        report(synth_repo, use_cache=False)


def test_tip_intervals_are_the_memo_entries_the_figures_compute(synth_repo: Path) -> None:
    from memkb.history.blobs import ensure_facts
    from memkb.history.query import tip_of
    from memkb.history.readahead import tip_records

    cache = Cache(None)
    wanted = tip_records(synth_repo, tip_of(synth_repo, None))
    ensure_facts(synth_repo, cache, wanted)
    got = worker.tip_intervals(cache, wanted, "t:", None)
    ev = worker._tip_evidence(cache.blobs, wanted)
    ev.intervals_tag = "t:"
    formulas.compute(ev)
    assert got == ev.intervals and len(got) > 50


def test_a_child_reaped_by_the_host_leaves_the_cache_to_the_parent(
    synth_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A host process that ignores SIGCHLD has its children reaped at once: waitpid then
    # fails, the child's exit status is unknown, and the parent writes the whole cache.
    import signal

    repo, alone, expected = _built_alone(synth_repo, tmp_path, monkeypatch)
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        assert report(repo) == alone
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert not (repo / ".git" / "memkb" / JOURNAL_NAME).exists()  # written whole, here
    assert _cache_files(repo) == expected
