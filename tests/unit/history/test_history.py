"""Figures from Git history: a repository with a known history, queried at several points."""

from __future__ import annotations

import importlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import PROJECT, git, make_kb_repo
from memkb.cli.main import app
from memkb.history import (
    CACHE_NAME,
    JOURNAL_NAME,
    Cache,
    Replay,
    chain,
    code_fingerprint,
    iso,
    record_history,
    report,
    series,
    summarize,
)
from memkb.history.query import FORMULA_FILES

GOLDEN = PROJECT / "tests" / "golden"
ANN = ("Ann Analyst", "ann@example.com")
BOB = ("Bob Builder", "bob@example.com")


def commit(
    repo: Path,
    day: str,
    files: dict[str, str | None],
    message: str = "memory",
    *,
    author: tuple[str, str] = ANN,
    agent: str | None = None,
    moves: dict[str, str] | None = None,
) -> str:
    """Write/delete `files`, `git mv` each of `moves`, commit at noon UTC on `day`."""
    for rel, text in files.items():
        path = repo / rel
        if text is None:
            git(repo, "rm", "-q", rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        git(repo, "add", rel)
    for old, new in (moves or {}).items():
        (repo / new).parent.mkdir(parents=True, exist_ok=True)
        git(repo, "mv", old, new)
    if agent:
        message += f"\n\nMemory-Agent: {agent}"
    git(repo, "commit", "-q", "-m", message, env=_when(day, author))
    return git(repo, "rev-parse", "HEAD").strip()


def _when(day: str, author: tuple[str, str] = ANN) -> dict[str, str]:
    stamp = f"{day}T12:00:00+0000"
    return {
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_DATE": stamp,
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": author[0],
        "GIT_COMMITTER_EMAIL": author[1],
    }


def pattern(
    pid: str, *, rate: float | None = None, status: str = "active", practices: int = 1
) -> str:
    prior = f"prior:\n  success_rate: {rate}\n  weight: 10\n" if rate is not None else ""
    lines = "".join(f"  - Practice number {i}\n" for i in range(practices))
    return (
        f"kind: pattern\nschema_version: 1\nid: {pid}\nstatus: {status}\n"
        f"domains: [backend]\nphases: [security_first]\nkey_droids: [security-auditor]\n"
        f"best_practices:\n{lines}{prior}"
    )


def outcome(
    oid: str, result: str, *, patterns: list[str], template: str | None = None, extra: str = ""
) -> str:
    tpl = f"template: {template}\n" if template else ""
    return (
        f"kind: outcome\nschema_version: 2\nid: {oid}\nproject: {oid}\ndate: {oid[:10]}\n"
        f"outcome: {result}\ndomains: [backend]\n{tpl}patterns_applied: [{', '.join(patterns)}]"
        f"\ndroids_used: [security-auditor]\n{extra}"
    )


O1, O2, O3, O4, O5 = (
    "2025-01-04-alpha",
    "2025-02-09-beta",
    "2025-02-28-gamma",
    "2025-03-14-delta",
    "2025-05-02-eps",
)


def opath(oid: str) -> str:
    return f"kb/outcomes/2025/{oid}.yaml"


@pytest.fixture
def story(tmp_path: Path) -> dict[str, Any]:
    """A repository with a known history: seven commits on main, a branch and a merge."""
    repo = tmp_path / "story"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shas: dict[str, str] = {}
    template = (
        "kind: template\nschema_version: 1\nid: t1\ndomains: [backend]\nphases:\n"
        "  - {phase: security_first, name: S, droids: [security-auditor]}\n"
        "risk_level: low\nprior:\n  success_probability: 0.9\n  weight: 10\n"
    )
    failure = (
        "kind: failure\nschema_version: 1\nid: f1\ncommon_causes: [x]\n"
        "prevention_strategies: [retry]\n"
    )
    # C1: p_a, t1, f1 and the first outcome, which also cites p_b (not in the KB yet)
    shas["c1"] = commit(
        repo,
        "2025-01-05",
        {
            "kb/patterns/p_a.yaml": pattern("p_a", rate=0.8),
            "kb/templates/t1.yaml": template,
            "kb/failures/f1.yaml": failure,
            opath(O1): outcome(
                O1,
                "success",
                patterns=["p_a", "p_b"],
                template="t1",
                extra=(
                    "timeline: {planned_days: 10, actual_days: 15}\nquality_score: 0.6\n"
                    "error_count: 4\nuser_satisfaction: 0.5\nfailures_met:\n"
                    "  - {failure: f1, recovered: true, prevention_used: [retry]}\n"
                ),
            ),
        },
    )
    shas["c2"] = commit(
        repo,
        "2025-02-10",
        {
            opath(O2): outcome(
                O2,
                "partial",
                patterns=["p_b"],
                template="t1",
                extra=(
                    "timeline: {planned_days: 10, actual_days: 13}\nquality_score: 0.7\n"
                    "error_count: 2\nuser_satisfaction: 0.7\nfailures_met:\n"
                    "  - {failure: f1, recovered: false}\n"
                ),
            )
        },
    )
    # C3: p_b added in the same commit as an outcome that applies it
    shas["c3"] = commit(
        repo,
        "2025-03-01",
        {
            "kb/patterns/p_b.yaml": pattern("p_b"),
            opath(O3): outcome(O3, "failure", patterns=["p_b"]),
        },
    )
    git(repo, "checkout", "-q", "-b", "feature")
    shas["c4"] = commit(
        repo,
        "2025-03-15",
        {opath(O4): outcome(O4, "success", patterns=["p_a"])},
        author=BOB,
        agent="orchestrator-7",
    )
    git(repo, "checkout", "-q", "main")
    shas["c5"] = commit(
        repo,
        "2025-03-20",
        {"kb/patterns/p_a.yaml": pattern("p_a", rate=0.85, practices=2)},
        agent="reviewer-bot",
    )
    git(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature", env=_when("2025-04-02"))
    shas["merge"] = git(repo, "rev-parse", "HEAD").strip()
    shas["c6"] = commit(
        repo,
        "2025-04-20",
        {"kb/patterns/p_a.yaml": pattern("p_a", rate=0.85, practices=2, status="deprecated")},
        moves={opath(O2): f"kb/outcomes/archive/{O2}.yaml"},
    )
    shas["c7"] = commit(repo, "2025-05-03", {opath(O5): outcome(O5, "success", patterns=["p_a"])})
    return {"repo": repo, "shas": shas}


def lm(rep: dict[str, Any]) -> dict[str, Any]:
    return dict(rep["learning_metrics"])


def test_as_of_dates_reproduce_each_past_state(story: dict[str, Any]) -> None:
    repo, shas = story["repo"], story["shas"]
    # commit ids depend only on content, authors and dates: the goldens can pin them
    jan = report(repo, as_of="2025-01-31")
    assert lm(jan) == {
        "total_projects": 1,
        "success_rate": 1.0,
        "learning_effectiveness": None,
        "pattern_application_rate": 1.0,
        "failure_recovery_rate": 1.0,
        "last_update": "2025-01-05T12:00:00Z",
    }
    assert jan["as_of"]["commit"] == shas["c1"]
    feb = lm(report(repo, as_of="2025-02-28"))
    # O2 cites p_b, which did not exist when O2 was recorded
    assert (
        feb["total_projects"],
        feb["success_rate"],
        feb["pattern_application_rate"],
        feb["failure_recovery_rate"],
    ) == (2, 0.75, 0.5, 0.5)
    mar = lm(report(repo, as_of="2025-03-31"))  # the merge (2025-04-02) is not in yet
    assert (mar["total_projects"], mar["success_rate"]) == (3, 0.5)
    assert mar["pattern_application_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert mar["last_update"] == "2025-03-20T12:00:00Z"


def test_merge_commit_brings_branch_outcomes_at_its_own_date(story: dict[str, Any]) -> None:
    rep = report(story["repo"], as_of="2025-04-10")
    assert rep["as_of"]["commit"] == story["shas"]["merge"]
    m = lm(rep)
    assert (m["total_projects"], m["success_rate"], m["pattern_application_rate"]) == (
        4,
        0.625,
        0.75,
    )
    assert m["last_update"] == "2025-04-02T12:00:00Z"


def test_as_of_a_revision_on_a_branch(story: dict[str, Any]) -> None:
    rep = report(story["repo"], as_of=story["shas"]["c4"])
    assert (lm(rep)["total_projects"], lm(rep)["success_rate"]) == (4, 0.625)
    assert rep["as_of"]["requested"] == story["shas"]["c4"]
    assert [p["id"] for p in rep["patterns"]] == ["p_a", "p_b"]
    assert rep["patterns"][0]["prior"] == {"rate": 0.8, "weight": 10}  # before C5's change


def test_head_deprecated_pattern_moved_outcome_and_git_dates(story: dict[str, Any]) -> None:
    rep = report(story["repo"])
    m = lm(rep)
    # O2 was moved, not re-recorded: still one outcome, recorded at C2
    assert (m["total_projects"], m["success_rate"], m["learning_effectiveness"]) == (5, 0.7, 0.25)
    # O5 applies p_a after it was deprecated: that does not count as applying memory
    assert m["pattern_application_rate"] == 0.6
    p_a = rep["patterns"][0]
    assert (p_a["status"], p_a["applications"], p_a["successes"]) == ("deprecated", 3, 3)
    assert p_a["posterior_mean"] == pytest.approx(11.5 / 13, abs=1e-6)
    assert (p_a["first_seen"], p_a["last_changed"]) == (
        "2025-01-05T12:00:00Z",
        "2025-04-20T12:00:00Z",
    )
    assert rep["patterns"][1]["first_seen"] == "2025-03-01T12:00:00Z"
    (t1,) = rep["templates"]
    assert (t1["uses"], t1["observed_rate"], t1["declared"]) == (2, 0.75, 0.9)
    pm = rep["performance_metrics"]
    assert pm["quality_score_improvement"] == pytest.approx(0.1)
    assert pm["execution_time_improvement"] == pytest.approx((1.5 - 1.3) / 1.5, abs=1e-6)
    assert pm["error_rate_reduction"] == 0.5
    assert pm["user_satisfaction"] == 0.6


def test_a_move_keeps_the_recording_commit_and_is_not_a_change(story: dict[str, Any]) -> None:
    cache = Cache.load(story["repo"], enabled=False)
    commits = chain(story["repo"], cache, story["shas"]["c7"])
    replay = Replay(commits)
    replay.advance(len(commits) - 1)
    c2 = next(i for i, c in enumerate(commits) if c.sha == story["shas"]["c2"])
    assert replay.recorded[O2] == (c2, 1)  # recorded at C2, when one pattern existed
    assert iso(replay.last_changed[("outcome", O2)]) == "2025-02-10T12:00:00Z"
    assert replay.state[f"kb/outcomes/archive/{O2}.yaml"]
    assert opath(O2) not in replay.state


def test_before_any_commit_and_since(story: dict[str, Any]) -> None:
    before = report(story["repo"], as_of="2024-12-01")
    assert lm(before)["total_projects"] == 0 and lm(before)["last_update"] is None
    assert before["as_of"]["commit"] is None and before["patterns"] == []
    since = report(story["repo"], since="2025-03-01")
    assert (lm(since)["total_projects"], lm(since)["success_rate"]) == (2, 1.0)


def test_series_by_month_is_the_learning_curve(story: dict[str, Any]) -> None:
    points = series(story["repo"])["series"]
    assert [p["month"] for p in points] == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]
    assert [p["learning_metrics"]["total_projects"] for p in points] == [1, 2, 3, 4, 5]
    assert [p["learning_metrics"]["success_rate"] for p in points] == [1.0, 0.75, 0.5, 0.625, 0.7]
    assert points[3]["commit"] == story["shas"]["c6"]
    upto_march = series(story["repo"], as_of="2025-03-31")["series"]
    assert [p["month"] for p in upto_march] == ["2025-01", "2025-02", "2025-03"]


def test_series_since_starts_at_that_month_and_counts_later_outcomes(
    story: dict[str, Any],
) -> None:
    points = series(story["repo"], since="2025-03-01")["series"]
    assert [p["month"] for p in points] == ["2025-03", "2025-04", "2025-05"]
    # O4 (2025-03-14) arrives with the April merge, O5 (2025-05-02) in May
    assert [p["learning_metrics"]["total_projects"] for p in points] == [0, 1, 2]
    assert points[0]["learning_metrics"]["success_rate"] is None


def test_series_since_after_as_of_has_no_month(story: dict[str, Any]) -> None:
    """A month after the state asked for is not part of its learning curve."""
    assert series(story["repo"], as_of="2025-03-31", since="2025-06-01")["series"] == []


def test_series_as_a_markdown_table(story: dict[str, Any]) -> None:
    result = runner.invoke(
        app, ["metrics", "--series", "month", "--format", "markdown", "--repo", str(story["repo"])]
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "## memkb metrics by month (as known at each month's end)"
    assert (
        "| 2025-02 | 2 | 0.750 | -0.500 | 0.500 | 0.500 | 0.600 | unknown | unknown | unknown |"
        in lines
    )


# -------------------------------------------------------------------------- the cache


def test_cache_is_written_and_a_corrupt_one_is_rebuilt(
    story: dict[str, Any], tmp_path: Path
) -> None:
    repo = tmp_path / "clone"
    git(story["repo"], "clone", "-q", str(story["repo"]), str(repo))
    fresh = report(repo, use_cache=False)
    assert not (repo / ".git" / "memkb" / CACHE_NAME).exists()
    assert report(repo) == fresh
    cache_file = repo / ".git" / "memkb" / CACHE_NAME
    raw = cache_file.read_bytes()
    assert raw.startswith(b"memkb-history 4 ")
    first = Cache.load(repo)
    assert len(first.commits) == 7  # main: c4 is on a branch
    [stored] = (repo / ".git" / "memkb" / "reports").glob("*.bin")
    stored.write_bytes(stored.read_bytes()[:-10])  # a damaged report is recomputed
    assert report(repo) == fresh
    tampered = raw.replace(b"kb/patterns/p_a", b"kb/patterns/p_x")
    for damaged in (b"garbage", raw[: len(raw) // 2], tampered, raw.split(b"\n", 1)[0] + b"\n{}"):
        cache_file.write_bytes(damaged)
        shutil.rmtree(stored.parent)  # no finished report: the history cache must be read
        assert report(repo) == fresh
        rebuilt = cache_file.read_bytes()
        assert rebuilt != damaged and rebuilt.startswith(b"memkb-history 4 ")
        assert Cache.load(repo).commits == first.commits
    cache_file.unlink()
    assert report(repo) == fresh


def test_warm_run_reads_only_new_commits(story: dict[str, Any], tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    git(story["repo"], "clone", "-q", str(story["repo"]), str(repo))
    report(repo)
    before = Cache.load(repo)
    assert story["shas"]["c7"] in before.commits
    new = commit(
        repo,
        "2025-06-01",
        {
            "kb/outcomes/2025/2025-06-01-zeta.yaml": outcome(
                "2025-06-01-zeta", "failure", patterns=[]
            )
        },
    )
    base = (repo / ".git" / "memkb" / CACHE_NAME).read_bytes()
    rep = report(repo)
    after = Cache.load(repo)
    assert set(after.commits) - set(before.commits) == {new}
    assert lm(rep)["total_projects"] == 6 and lm(rep)["success_rate"] == pytest.approx(3.5 / 6)
    # the new commit went to the journal; the big file was not rewritten
    assert (repo / ".git" / "memkb" / CACHE_NAME).read_bytes() == base
    journal = repo / ".git" / "memkb" / JOURNAL_NAME
    assert journal.read_bytes().startswith(b"memkb-journal ")
    # a damaged journal frame is ignored: the commit is walked again, figures unchanged
    journal.write_bytes(journal.read_bytes()[:-3])
    shutil.rmtree(repo / ".git" / "memkb" / "reports")
    assert set(Cache.load(repo).commits) == set(before.commits)
    assert report(repo) == rep


def test_a_branch_walk_stops_where_it_left_main(story: dict[str, Any]) -> None:
    report(story["repo"])  # main is cached
    calls: list[tuple[str, int, int]] = []
    rep = report(story["repo"], as_of="feature", progress=lambda *call: calls.append(call))
    assert [c for c in calls if c[0] == "commits"] == [("commits", 1, 1)]  # only C4
    assert lm(rep)["total_projects"] == 4
    assert rep == report(story["repo"], as_of="feature", use_cache=False)


def test_a_long_journal_is_folded_into_the_cache(
    story: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "clone"
    git(story["repo"], "clone", "-q", str(story["repo"]), str(repo))
    report(repo)
    monkeypatch.setattr("memkb.history.store.MAX_JOURNAL_BYTES", 0)
    commit(
        repo,
        "2025-06-01",
        {
            "kb/outcomes/2025/2025-06-01-zeta.yaml": outcome(
                "2025-06-01-zeta", "success", patterns=[]
            )
        },
    )
    report(repo)  # first frame: the journal was empty
    journal = repo / ".git" / "memkb" / JOURNAL_NAME
    assert journal.exists()
    commit(
        repo,
        "2025-06-02",
        {"kb/outcomes/2025/2025-06-02-eta.yaml": outcome("2025-06-02-eta", "success", patterns=[])},
    )
    rep = report(repo)
    assert not journal.exists()  # folded: everything is in the main file again
    assert len(Cache.load(repo).commits) == 9 and lm(rep)["total_projects"] == 7


def test_every_public_name_of_memkb_history_resolves() -> None:
    """memkb.history imports its names on first use: each must name what it says."""
    import memkb.history as package

    assert sorted(package.__all__) == sorted(package._WHERE)
    for name in package.__all__:
        module = importlib.import_module(package._WHERE[name])
        assert getattr(package, name) is getattr(module, name), name
    with pytest.raises(AttributeError):
        _ = package.no_such_name


@pytest.mark.parametrize("module", ["memkb.metrics.formulas", "memkb.metrics.beta"])
def test_a_changed_formula_is_a_new_report(
    module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored reports are keyed by the code that computes them, Beta numerics included."""
    real = Path(str(importlib.import_module(module).__file__))
    assert real in FORMULA_FILES  # found by path (not imported), so the path must be right
    before = code_fingerprint()
    edited = tmp_path / "edited.py"
    edited.write_bytes(real.read_bytes() + b"# a changed formula\n")
    files = tuple(edited if f == real else f for f in FORMULA_FILES)
    monkeypatch.setattr("memkb.history.query.FORMULA_FILES", files)
    assert code_fingerprint() != before


def test_a_changed_formula_is_not_served_from_the_interval_memo(
    story: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history cache keeps Beta intervals across runs; new code computes its own."""
    repo = tmp_path / "clone"
    git(story["repo"], "clone", "-q", str(story["repo"]), str(repo))
    report(repo)  # the cache now holds the intervals of every pattern and template
    monkeypatch.setattr("memkb.history.query.code_fingerprint", lambda: "a changed formula")
    monkeypatch.setattr("memkb.metrics.formulas.beta_quantile", lambda *_: 0.5)
    rep = report(repo)
    rows = [*rep["patterns"], *rep["templates"]]
    assert {tuple(r["interval_90"]) for r in rows if r["interval_90"]} == {(0.5, 0.5)}


# ------------------------------------------------------------------ memkb history


def test_record_history_with_field_summary_and_agent(story: dict[str, Any]) -> None:
    hist = record_history(story["repo"], "pattern", "p_a")
    assert [c["commit"] for c in hist["commits"]] == [
        story["shas"]["c6"],
        story["shas"]["c5"],
        story["shas"]["c1"],
    ]
    deprecate, learn, create = hist["commits"]
    assert deprecate["summary"] == ['status: "active" -> "deprecated"']
    assert learn["summary"] == ["best_practices: +1 item", "prior.success_rate: 0.8 -> 0.85"]
    assert learn["agent"] == "reviewer-bot" and learn["author"] == ANN[0]
    assert create["summary"] == ["created"] and create["change"] == "added"
    assert create["date"] == "2025-01-05T12:00:00Z"


def test_record_history_follows_a_move(story: dict[str, Any]) -> None:
    hist = record_history(story["repo"], "outcome", O2)
    assert hist["path"] == f"kb/outcomes/archive/{O2}.yaml"
    moved, added = hist["commits"]
    assert moved["change"] == "renamed" and moved["from_path"] == opath(O2)
    assert moved["summary"] == [f"moved from {opath(O2)}"]
    assert added["commit"] == story["shas"]["c2"]
    branch = record_history(story["repo"], "outcome", O4)["commits"]
    assert [(c["author"], c["agent"]) for c in branch] == [(BOB[0], "orchestrator-7")]


def test_summarize_lists_ids_by_name_and_sentences_by_count() -> None:
    old = {
        "key_droids": ["security-airditor", "backend-architect"],
        "best_practices": ["A b"],
        "prior": {"success_rate": 0.89, "weight": 10},
        "title": "x",
    }
    new = {
        "key_droids": ["security-auditor", "backend-architect"],
        "best_practices": ["A b", "C d", "E f"],
        "prior": {"success_rate": 0.9, "weight": 10},
        "status": "deprecated",
    }
    assert summarize(old, new) == [
        "key_droids: -security-airditor +security-auditor",
        "best_practices: +2 items",
        "prior.success_rate: 0.89 -> 0.9",
        "title: removed",
        'status: added ("deprecated")',
    ]
    assert summarize(None, None) == [] and summarize(old, None) == ["deleted"]


# ------------------------------------------------------------------------- the CLI

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "golden"),
    [
        (["metrics", "--json"], "metrics.json"),
        (["metrics", "--series", "month", "--format", "json"], "metrics_series.json"),
        (["metrics", "--as-of", "2025-02-28", "--json"], "metrics_asof.json"),
        (["history", "pattern", "p_a", "--json"], "metrics_history_pattern.json"),
        (["history", "outcome", O2, "--json"], "metrics_history_moved.json"),
    ],
)
def test_json_shape_matches_golden(story: dict[str, Any], args: list[str], golden: str) -> None:
    result = runner.invoke(app, [*args, "--repo", str(story["repo"])])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    path = GOLDEN / golden
    if os.environ.get("MEMKB_UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=2) + "\n")
    assert got == json.loads(path.read_text())


def test_text_and_markdown_show_unknown_not_zero(empty_kb_repo: Path) -> None:
    text = runner.invoke(app, ["metrics", "--repo", str(empty_kb_repo)])
    assert text.exit_code == 0, text.output
    assert "success_rate              unknown" in text.stdout
    assert "total_projects            0" in text.stdout
    md = runner.invoke(app, ["metrics", "--format", "markdown", "--repo", str(empty_kb_repo)])
    assert "| success_rate | unknown |" in md.stdout
    assert "| last_update | unknown |" in md.stdout


def test_markdown_tables_for_a_pull_request(story: dict[str, Any]) -> None:
    md = runner.invoke(app, ["metrics", "--format", "markdown", "--repo", str(story["repo"])])
    assert "| total_projects | 5 |" in md.stdout
    assert "| p_a | deprecated | 3 | 3 | 0 | 0 | 1.000 | 0.850 (w 10) | 0.885 |" in md.stdout
    hist = runner.invoke(app, ["history", "pattern", "p_a", "--repo", str(story["repo"])])
    assert hist.exit_code == 0
    assert "via reviewer-bot  modified\n    best_practices: +1 item" in hist.stdout


def test_free_text_cannot_break_a_markdown_table() -> None:
    """A prevention strategy may span lines or hold a pipe; its row stays one row."""
    from memkb.report.metrics import table

    cells = [["f1", {"retry\nwith backoff": 2, "a|b": 1}]]
    rows = table(["failure", "prevention used"], cells, True).splitlines()
    assert rows[2:] == ["| f1 | retry with backoff: 2, a\\|b: 1 |"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["metrics", "--as-of", "no-such-rev"], "'no-such-rev' is not a commit"),
        (["metrics", "--as-of", "2025-13-45"], "'2025-13-45' is not a date"),
        (["metrics", "--since", "yesterday"], "'yesterday' is not a date"),
        (["metrics", "--since", "2025-3-1"], "'2025-3-1' is not a date"),
        (["metrics", "--series", "week"], "unknown series 'week'"),
        (["history", "pattern", "nope"], "no pattern 'nope' in the history"),
        (["history", "widget", "x"], "unknown kind 'widget'"),
    ],
)
def test_bad_input_is_a_message_and_exit_2(
    story: dict[str, Any], args: list[str], message: str
) -> None:
    result = runner.invoke(app, [*args, "--repo", str(story["repo"])])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_repository_without_commits_is_exit_2(tmp_path: Path) -> None:
    repo = tmp_path / "new"
    (repo / "kb").mkdir(parents=True)
    git(repo, "init", "-q")
    result = runner.invoke(app, ["metrics", "--repo", str(repo)])
    assert result.exit_code == 2 and "no commits yet" in result.output


def test_outside_a_git_repository_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "plain" / "kb").mkdir(parents=True)
    result = runner.invoke(app, ["metrics", "--repo", str(tmp_path / "plain")])
    assert result.exit_code == 2 and "not a git repository" in result.output.lower()
    assert "Traceback" not in result.output


def test_empty_kb_reports_nothing_known(empty_kb_repo: Path) -> None:
    rep = report(empty_kb_repo)
    assert lm(rep)["total_projects"] == 0 and lm(rep)["last_update"] is None
    assert rep["patterns"] == [] and rep["droids"] == []


def test_bundled_kb_counts_its_seed_outcome(tmp_path: Path) -> None:
    repo = make_kb_repo(tmp_path / "seeded")
    rep = report(repo)
    assert lm(rep)["total_projects"] == 1 and lm(rep)["success_rate"] == 1.0
    seeded = {p["id"]: p for p in rep["patterns"]}["ecommerce_security_first"]
    # prior 0.92 x 10 plus one success: (9.2 + 1) / 11
    assert seeded["posterior_mean"] == pytest.approx(10.2 / 11, abs=1e-6)


# ------------------------------------------------------------------------ progress


def test_cold_walk_reports_progress_and_warm_run_does_not(story: dict[str, Any]) -> None:
    calls: list[tuple[str, int, int]] = []
    # a date: no reading ahead in a thread, so the order of the reports is fixed
    report(story["repo"], as_of="2099-01-01", progress=lambda *call: calls.append(call))
    walked = [call for call in calls if call[0] == "commits"]
    assert calls[: len(walked)] == walked  # the walk first, counted as git's output arrives
    assert walked[-1] == ("commits", 7, 7)  # seven commits on main
    assert [done for _, done, _ in walked] == sorted(done for _, done, _ in walked)
    assert calls[-1] == ("records", 9, 9)  # 5 outcomes, 2 patterns, 1 template, 1 failure
    calls.clear()
    report(story["repo"], as_of="2099-01-01", progress=lambda *call: calls.append(call))
    assert calls == []
    # at HEAD the records are read during the walk; only the walk must be reported
    shutil.rmtree(story["repo"] / ".git" / "memkb")
    report(story["repo"], progress=lambda *call: calls.append(call))
    assert ("commits", 7, 7) in calls
    assert all(call[0] == "commits" or call[2] <= 9 for call in calls)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal_and_long_walks(monkeypatch: pytest.MonkeyPatch) -> None:
    from memkb.cli import metrics_cmd

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert metrics_cmd.progress_bar() is None  # piped: no bar at all
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    show = metrics_cmd.progress_bar()
    assert show is not None
    show("commits", 10, 100)  # a short walk: not worth a bar
    assert tty.getvalue() == ""
    show("commits", 1000, 1000)
    assert tty.getvalue() == f"\rreading history [{'#' * 30}] 1000/1000 commits\n"


def test_cli_output_piped_has_no_progress(story: dict[str, Any]) -> None:
    result = runner.invoke(app, ["metrics", "--no-cache", "--repo", str(story["repo"])])
    assert result.exit_code == 0 and result.stderr == ""
    assert not (story["repo"] / ".git" / "memkb").exists()  # --no-cache writes nothing


# --------------------------------------------- the plain-record fast path is exact

TRICKY = [
    "kind: outcome\nid: x\ndate: 2025-01-01\noutcome: success\nquality_score: .5\n",
    "kind: outcome\ndate: 2025-01-01\noutcome: partial\nerror_count: 0x10\n",
    "kind: outcome\ndate: 2025-01-01\noutcome: success\nerror_count: 1_000\n",
    "kind: outcome\ndate: 2025-01-01\noutcome: failure\nuser_satisfaction: 1e-1\n",
    "kind: outcome\ndate: 2025-01-01\noutcome: failure\nuser_satisfaction: .inf\n",
    "kind: outcome\ndate: 2025-01-01\noutcome: failure\nerror_count: 010\n",  # octal 8
    "kind: outcome\ndate: 2025-01-01\noutcome: failure\nerror_count: -0\n",
    "kind: outcome\ndate: 2025-01-01\noutcome: failure\nquality_score: 1.5e+3\n",
    "kind: outcome\ndate: 2025-01-01\noutcome: failure\nquality_score: 1_0.5\n",
    "kind: outcome\ndate: 2025-01-01\noutcome: failure\nerror_count: 1:30\n",
    "kind: outcome\ndate: 2025-01-01\noutcome: success\noutcome: failure\n",  # duplicate
    "kind: outcome\ndate: &d 2025-01-01\noutcome: success\nnotes: *d\n",  # anchor, alias
    "kind: pattern\nstatus: !!str deprecated\nprior: {success_rate: 0.5, weight: 2}\n",
    "kind: pattern\nstatus: yes\nprior: {success_rate: 1, weight: ~}\n",
    "kind: pattern\nprior:\n  <<: {success_rate: 0.5}\n  weight: 3\n",
    "kind: pattern\n1: one\nprior: {success_rate: 0.25, weight: 4}\n",
    "\ufeffkind: template\nprior: {success_probability: 0.7, weight: 1.5}\n",
    "kind: template\nprior: {success_probability: 0.7, weight: 1.5\n",  # syntax error
    "- a list\n- not a mapping\n",
    "# only a comment\n",
    "",
    "kind: outcome\ndate: 2025-01-01\noutcome: success\nproject: caf\u00e9 & co\n",
]


def _both_ways(kind: str, raw: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    from memkb.history import blobs

    fast = blobs.facts(kind, raw, "x.yaml")
    with monkeypatch.context() as patch:
        patch.setattr(blobs, "_plain_doc", lambda _raw: None)
        slow = blobs.facts(kind, raw, "x.yaml")
    return fast, slow


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("kind", ["outcome", "pattern", "template"])
def test_fast_facts_equal_the_safe_loader_on_tricky_yaml(
    kind: str, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = _both_ways(kind, text.encode(), monkeypatch)
    assert fast == slow


def test_fast_facts_equal_the_safe_loader_on_real_and_synthetic_kbs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = PROJECT
    monkeypatch.syspath_prepend(str(project))  # tooling/bench is not an installed package
    from tooling.bench.synth import generate_kb

    generate_kb(tmp_path / "synth", 300, broken_fraction=0.1, seed=3)
    files = [*(tmp_path / "synth" / "kb").rglob("*.yaml"), *(project / "kb").rglob("*.yaml")]
    assert len(files) > 300
    from memkb.history.blobs import _plain_doc

    plain = sum(_plain_doc(path.read_bytes()) is not None for path in files)
    assert plain > 0.8 * len(files)  # the fast path is the one that ran
    for path in files:
        kind = path.parent.name.rstrip("s") if "outcomes" not in path.parts else "outcome"
        fast, slow = _both_ways(kind, path.read_bytes(), monkeypatch)
        assert fast == slow, path


@pytest.mark.parametrize(
    "path",
    [
        "kb/patterns/p_a.yaml",
        "kb/outcomes/2025/2025-01-04-alpha.yaml",
        "kb/outcomes/archive/x/2025-01-04-alpha.yaml",
        "kb/vocabulary.yaml",
        "kb/patterns/README.md",
        "kb/widgets/w.yaml",
        "kb/p.yaml",
        "docs/patterns/p.yaml",
        "kb/templates/t.v2.yaml",
    ],
)
def test_record_key_agrees_with_layout(path: str) -> None:
    from memkb.history.replay import record_key
    from memkb.kb.layout import location_of

    loc = location_of(path)
    usable = path.endswith(".yaml") and loc.kind not in (None, "vocabulary")
    assert record_key(path) == ((loc.kind, loc.stem) if usable else None)


def test_an_error_while_reading_ahead_reaches_the_caller(
    story: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from memkb.history import readahead

    def broken(*_args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(readahead, "ensure_facts", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        report(story["repo"])  # raised in the caller's thread, not printed by the thread


def test_unreadable_records_are_skipped_and_named(story: dict[str, Any]) -> None:
    repo = story["repo"]
    commit(repo, "2025-06-01", {
        "kb/outcomes/2025/2025-06-01-broken.yaml": "kind: outcome\noutcome: [unclosed\n",
        "kb/outcomes/2025/2025-06-02-nodate.yaml": "kind: outcome\noutcome: success\n",
    })  # fmt: skip
    rep = report(repo)
    assert lm(rep)["total_projects"] == 5  # neither counts
    assert [s["path"] for s in rep["skipped"]] == [
        "kb/outcomes/2025/2025-06-01-broken.yaml",
        "kb/outcomes/2025/2025-06-02-nodate.yaml",
    ]
    assert "memkb validate" in rep["skipped"][0]["reason"]
    text = runner.invoke(app, ["metrics", "--repo", str(repo)]).stdout
    assert "Skipped (unreadable) records" in text and "2025-06-01-broken.yaml" in text


def test_as_of_a_date_with_a_trailing_newline_is_not_a_date(kb_repo: Path) -> None:
    from memkb.history.query import DATE_RE

    assert DATE_RE.fullmatch("2025-01-01") and not DATE_RE.fullmatch("2025-01-01\n")
    result = runner.invoke(app, ["metrics", "--repo", str(kb_repo), "--as-of", "2025-01-01\n"])
    assert result.exit_code == 2, result.output


def test_a_build_pauses_the_cycle_collector_and_restores_it(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The collector is off while a report is built, then as it was before."""
    import gc

    import memkb.metrics.formulas as formulas

    seen: list[bool] = []
    real = formulas.compute
    monkeypatch.setattr(
        formulas, "compute", lambda *a, **k: seen.append(gc.isenabled()) or real(*a, **k)
    )
    assert gc.isenabled()
    report(kb_repo, use_cache=False)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        report(kb_repo, use_cache=False)
        assert seen == [False, False] and not gc.isenabled()  # left off, as the caller had it
    finally:
        gc.enable()
