"""Advice followed vs ignored (memkb.metrics.formulas.advice_figures) on a hand-made KB
whose answers are worked out by hand below; the monthly chart and check's delta of the
same figures (docs/metrics.md, "Advice followed or ignored")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import git, make_kb_repo
from memkb import history
from memkb.advice import make_query, recommend
from memkb.cli.main import app
from memkb.metrics.formulas import Advised, Outcome, advice_figures
from memkb.validation.check import run_check
from memkb.write.authoring import record_outcome

runner = CliRunner()
SHOP = make_query(domains=["e-commerce"], phases=["security_first"])
# The bundled KB advises SHOP: template T = ecommerce_standard, patterns E =
# ecommerce_security_first and A = authentication_jwt_security_first, guards P =
# payment_webhook_timeout and D = database_migration_failures.
E, A = "ecommerce_security_first", "authentication_jwt_security_first"
P, D = "payment_webhook_timeout", "database_migration_failures"
BASE = {"domains": ["e-commerce"], "droids_used": ["security-auditor"]}
# Three projects given that brief (plus the bundled 2025-01-20 success, given none):
#   O1 2025-02-03 success (1): T, E applied, P met with prevention
#      followed T E P, ignored A                  (not met: D)
#   O2 2025-02-10 failure (0): no template, A applied, D met without prevention
#      followed A, ignored T E D                  (not met: P)
#   O3 2025-03-05 partial (0.5): T, E, A applied
#      followed T E A, ignored nothing             (not met: P D)
PROJECTS: list[tuple[str, dict[str, Any]]] = [
    ("2025-02-03T12:00:00Z", {"project": "O1", "date": "2025-02-03", "outcome": "success",
      "template": "ecommerce_standard", "patterns_applied": [E],
      "failures_met": [{"failure": P, "recovered": True, "prevention_used": ["retry"]}]}),
    ("2025-02-10T12:00:00Z", {"project": "O2", "date": "2025-02-10", "outcome": "failure",
      "patterns_applied": [A], "failures_met": [{"failure": D, "recovered": False}]}),
    ("2025-03-05T12:00:00Z", {"project": "O3", "date": "2025-03-05", "outcome": "partial",
      "template": "ecommerce_standard", "patterns_applied": [E, A]}),
]  # fmt: skip


def at(monkeypatch: pytest.MonkeyPatch, stamp: str) -> None:
    """Commits made from now on are dated `stamp` (git and GitPython read these)."""
    monkeypatch.setenv("GIT_AUTHOR_DATE", stamp)
    monkeypatch.setenv("GIT_COMMITTER_DATE", stamp)


@pytest.fixture
def learned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled KB committed on 2025-01-25, then O1..O3 recorded with SHOP's brief_id."""
    at(monkeypatch, "2025-01-25T12:00:00Z")
    repo = make_kb_repo(tmp_path / "repo")
    given = recommend(repo, SHOP).brief_id
    for stamp, fields in PROJECTS:
        at(monkeypatch, stamp)
        record_outcome(repo, {**BASE, **fields}, brief_id=given)
    return repo


def test_followed_vs_ignored_on_the_hand_made_kb(learned: Path) -> None:
    got = history.report(learned, use_cache=False)["advice"]
    # Pairs (project, advised record): O1 F F F I, O2 F I I I, O3 F F F -> 11 advised,
    # 7 followed, 4 ignored. Followed: O1 x3 (1) + O2 x1 (0) + O3 x3 (0.5) = 4.5 / 7;
    # ignored: O1 x1 (1) + O2 x3 (0) = 1 / 4. Patterns only: O1 E A, O2 A E, O3 E A ->
    # 6 advised, 4 followed.
    assert {k: v for k, v in got.items() if k != "patterns"} == {
        "briefed_projects": 3,
        "advised": 11,
        "followed": 7,
        "ignored": 4,
        "followed_rate": 0.636364,  # 7 / 11
        "success_when_followed": 0.642857,  # 4.5 / 7
        "success_when_ignored": 0.25,  # 1 / 4
        "lift": 0.392857,  # 4.5/7 - 1/4
        "learning_effectiveness": 0.392857,
        "pattern_application_rate": 0.666667,  # 4 / 6
    }
    # A: followed by O2 (0) and O3 (0.5), ignored by O1 (1): following it did worse.
    # E: followed by O1 (1) and O3 (0.5), ignored by O2 (0).
    assert got["patterns"] == [
        {"id": A, "advised": 3, "followed": 2, "ignored": 1, "followed_rate": 0.666667,
         "success_when_followed": 0.25, "success_when_ignored": 1.0, "lift": -0.75},
        {"id": E, "advised": 3, "followed": 2, "ignored": 1, "followed_rate": 0.666667,
         "success_when_followed": 0.75, "success_when_ignored": 0.0, "lift": 0.75},
    ]  # fmt: skip


def test_outcomes_without_a_brief_count_nowhere() -> None:
    plain = Outcome("2025-01-01-x", "success", "2025-01-01")
    briefed = Outcome("2025-01-02-y", "failure", "2025-01-02",
                      advice=Advised(("pattern:p",), ("template:t",)))  # fmt: skip
    got = advice_figures([plain, briefed])
    assert (got["briefed_projects"], got["advised"], got["followed_rate"]) == (1, 2, 0.5)
    assert (got["success_when_followed"], got["success_when_ignored"]) == (0.0, 0.0)
    assert advice_figures([plain])["followed_rate"] is None  # unknown, never 0


CHART = """\
```mermaid
xychart-beta
    title "Success rate and advice followed, by month"
    x-axis ["2025-01", "2025-02", "2025-03"]
    y-axis "rate" 0 --> 1
    line [1, 0.667, 0.625]
    line [0, 0.5, 0.636]
```

Lines, first: success rate; second: advice-followed rate. Drawn as 0 where unknown \
(no outcome to count yet): advice-followed rate.
"""


def test_series_markdown_draws_the_learning_curve(learned: Path) -> None:
    # By month's end: Jan the bundled success only (1, no brief); Feb + O1, O2:
    # (1+1+0)/3 = 0.667 and 4 of 8 followed; Mar + O3: 2.5/4 = 0.625 and 7 of 11.
    args = ["metrics", "--series", "month", "--format", "markdown", "--no-cache"]
    result = runner.invoke(app, [*args, "--repo", str(learned)])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("\n" + CHART)
    assert "| 2025-02 | 3 | 0.667 |" in result.stdout


def test_series_json_carries_the_advice_figures_by_month(learned: Path) -> None:
    points = history.series(learned, use_cache=False)["series"]
    rates = [(p["month"], p["advice"]["followed_rate"]) for p in points]
    assert rates == [("2025-01", None), ("2025-02", 0.5), ("2025-03", 0.636364)]


def test_check_shows_the_advice_figures_a_new_outcome_moves(
    learned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(learned, "branch", "base")
    at(monkeypatch, "2025-03-20T12:00:00Z")
    given = recommend(learned, make_query(domains=["e-commerce"], phases=["security_first"],
                                          as_of="base")).brief_id  # fmt: skip
    # O4 success: T E A followed, nothing ignored: 10 of 14 followed, E 3 of 4.
    fields = {**BASE, "project": "O4", "date": "2025-03-20", "outcome": "success",
              "template": "ecommerce_standard", "patterns_applied": [E, A]}  # fmt: skip
    record_outcome(learned, fields, brief_id=given)
    result = run_check(learned, "base", "HEAD")
    assert result.delta is not None
    moves = {(m.subject, m.figure): (m.before, m.after) for m in result.delta.moves}
    assert moves[("advice", "followed_rate")] == (0.636364, 0.714286)  # 7/11 -> 10/14
    # followed: 4.5/7 -> (4.5 + 3)/10 = 0.75
    assert moves[("advice", "success_when_followed")] == (0.642857, 0.75)
    assert moves[(f"advice on pattern {E}", "followed_rate")] == (0.666667, 0.75)
    assert result.delta.rates_after == {"success_rate": 0.7, "followed_rate": 0.714286}
    body = json.loads(runner.invoke(app, ["check", "--base", "base", "--head", "HEAD",
                                          "--json", "--repo", str(learned)]).stdout)  # fmt: skip
    assert body["metrics_delta"]["rates"]["before"] == {
        "success_rate": 0.625,
        "followed_rate": 0.636364,
    }
