"""The formulas of memkb.metrics.formulas, pinned on hand-built evidence (docs/metrics.md)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from memkb.metrics.beta import beta_cdf, beta_quantile
from memkb.metrics.formulas import (
    Evidence,
    FailureMet,
    Outcome,
    Record,
    compute,
    halves,
    posterior,
)
from memkb.records.schema import DERIVED_FIELDS
from memkb.validation.engine import validate_repo

# ------------------------------------------------------------------ Beta function


@pytest.mark.parametrize("x", [0.01, 0.2, 0.5, 0.77, 0.99])
def test_beta_cdf_matches_closed_forms(x: float) -> None:
    assert beta_cdf(x, 1, 1) == pytest.approx(x, abs=1e-12)
    assert beta_cdf(x, 2, 2) == pytest.approx(3 * x**2 - 2 * x**3, abs=1e-12)
    assert beta_cdf(x, 1, 4) == pytest.approx(1 - (1 - x) ** 4, abs=1e-12)
    assert beta_cdf(x, 3, 1) == pytest.approx(x**3, abs=1e-12)
    # arcsine distribution
    assert beta_cdf(x, 0.5, 0.5) == pytest.approx(2 / math.pi * math.asin(math.sqrt(x)), abs=1e-10)


@pytest.mark.parametrize("p", [0.05, 0.5, 0.95])
def test_beta_quantile_matches_closed_forms(p: float) -> None:
    assert beta_quantile(p, 1, 4) == pytest.approx(1 - (1 - p) ** 0.25, abs=1e-9)
    assert beta_quantile(p, 3, 1) == pytest.approx(p ** (1 / 3), abs=1e-9)
    assert beta_quantile(p, 0.5, 0.5) == pytest.approx(math.sin(math.pi * p / 2) ** 2, abs=1e-9)


def test_beta_quantile_symmetry_large_parameters_and_point_masses() -> None:
    assert beta_quantile(0.5, 7.3, 7.3) == pytest.approx(0.5, abs=1e-9)
    lo, hi = beta_quantile(0.05, 900, 100), beta_quantile(0.95, 900, 100)
    assert lo == pytest.approx(1 - beta_quantile(0.95, 100, 900), abs=1e-9)
    assert beta_cdf(lo, 900, 100) == pytest.approx(0.05, abs=1e-9)
    assert beta_cdf(hi, 900, 100) == pytest.approx(0.95, abs=1e-9)
    assert beta_quantile(0.3, 0, 5) == 0.0
    assert beta_quantile(0.3, 5, 0) == 1.0
    with pytest.raises(ValueError):
        beta_quantile(0.3, 0, 0)


def test_beta_quantile_is_exact_to_1e10_across_parameters() -> None:
    """F(Q(p) - 1e-10) <= p <= F(Q(p) + 1e-10): the quantile search never stops early,
    including extreme shapes (mass piled near 0 or 1) and large pseudo-counts."""
    rng = random.Random(2)
    shapes = [(rng.uniform(0.01, 50), rng.uniform(0.01, 50)) for _ in range(150)]
    shapes += [(rng.uniform(1, 2000), rng.uniform(0.5, 2000)) for _ in range(50)]
    shapes += [(1000, 2), (2, 1000), (0.01, 0.3), (0.2, 9), (500, 500)]
    for a, b in shapes:
        for p in (0.05, 0.5, 0.95):
            x = beta_quantile(p, a, b)
            assert beta_cdf(max(x - 1e-10, 0), a, b) <= p <= beta_cdf(min(x + 1e-10, 1), a, b)


def test_posterior_uses_prior_as_pseudo_counts() -> None:
    post = posterior(0.89, 10, 3, 1)
    assert (post["alpha"], post["beta"], post["mean"]) == (11.9, 2.1, 0.85)
    lo, hi = post["interval_90"]
    assert beta_cdf(lo, 11.9, 2.1) == pytest.approx(0.05, abs=1e-6)
    assert beta_cdf(hi, 11.9, 2.1) == pytest.approx(0.95, abs=1e-6)


def test_posterior_without_prior_or_evidence_is_unknown() -> None:
    assert posterior(None, None, 0, 0)["mean"] is None
    assert posterior(0.9, 0, 0, 0)["interval_90"] is None
    # a prior alone is what memory knows before any evidence
    assert posterior(0.9, 10, 0, 0)["mean"] == 0.9
    # evidence alone (no prior): the plain observed rate
    assert posterior(None, None, 3, 1)["mean"] == 0.75


# --------------------------------------------------------------- report figures


def _o(oid: str, outcome: str, date: str, **kw: object) -> Outcome:
    return Outcome(id=oid, outcome=outcome, date=date, **kw)  # type: ignore[arg-type]


def _evidence() -> Evidence:
    outcomes = [
        _o(
            "a",
            "success",
            "2025-01-01",
            template="t1",
            patterns=("p1",),
            droids=("d1", "d2"),
            planned_days=10,
            actual_days=15,
            quality=0.6,
            errors=4,
            satisfaction=0.5,
            patterns_available=1,
            known_applied=1,
            failures_met=(FailureMet("f1", True, ("retry", "tests")),),
        ),
        _o(
            "b",
            "partial",
            "2025-02-01",
            template="t1",
            patterns=("p1", "p2"),
            droids=("d1",),
            planned_days=10,
            actual_days=13,
            quality=0.7,
            errors=2,
            satisfaction=0.7,
            patterns_available=1,
            known_applied=1,
            failures_met=(FailureMet("f1", False, ("retry",)),),
        ),
        _o(
            "c",
            "failure",
            "2025-03-01",
            patterns=("p2",),
            droids=("d2",),
            patterns_available=0,
            known_applied=0,
        ),
        _o(
            "d",
            "success",
            "2025-04-01",
            template="t1",
            patterns=("p2",),
            droids=("d1",),
            planned_days=10,
            actual_days=11,
            quality=0.9,
            errors=1,
            satisfaction=0.9,
            patterns_available=2,
            known_applied=0,
        ),
        _o(
            "e",
            "success",
            "2025-05-01",
            droids=("d1",),
            planned_days=4,
            actual_days=4,
            quality=0.95,
            errors=0,
            satisfaction=1.0,
            patterns_available=2,
            known_applied=0,
            failures_met=(FailureMet("f1", True, ()), FailureMet("f2", True, ())),
        ),
    ]
    return Evidence(
        outcomes=outcomes,
        patterns={
            "p1": Record("p1", "active", 0.8, 10, "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"),
            "p2": Record("p2", "deprecated", None, None),
        },
        templates={"t1": Record("t1", "active", 0.9, 10)},
        failures={"f1": Record("f1"), "f2": Record("f2")},
        last_update="2025-05-02T00:00:00Z",
    )


def test_learning_metrics_exact() -> None:
    lm = compute(_evidence())["learning_metrics"]
    assert lm == {
        "total_projects": 5,
        "success_rate": 0.7,  # (1 + 0.5 + 0 + 1 + 1) / 5
        # later half (d, e) = 1.0, earlier half (a, b) = 0.75; c is the middle one
        "learning_effectiveness": 0.25,
        # c had no pattern in the KB; a, b applied one, d, e did not: 2 / 4
        "pattern_application_rate": 0.5,
        "failure_recovery_rate": 0.75,  # 3 of 4 failures met were recovered
        "last_update": "2025-05-02T00:00:00Z",
    }


def test_performance_metrics_exact() -> None:
    pm = compute(_evidence())["performance_metrics"]
    # ratios actual/planned by date: a 1.5, b 1.3, d 1.1, e 1.0 -> early 1.4, late 1.05
    assert pm["execution_time_improvement"] == pytest.approx(0.25)  # (1.4 - 1.05) / 1.4
    assert pm["quality_score_improvement"] == pytest.approx(0.275)  # 0.925 - 0.65
    assert pm["error_rate_reduction"] == pytest.approx(5 / 6)  # (3 - 0.5) / 3
    assert pm["user_satisfaction"] == pytest.approx(0.775)


def test_per_pattern_template_failure_droid() -> None:
    rep = compute(_evidence())
    p1, p2 = rep["patterns"]
    assert (p1["applications"], p1["successes"], p1["partials"], p1["failures"]) == (2, 1, 1, 0)
    assert p1["observed_rate"] == 0.75
    # alpha = 8 + 1 + 0.5, beta = 2 + 0 + 0.5
    assert p1["posterior_mean"] == pytest.approx(9.5 / 12, abs=1e-6)
    assert p1["prior"] == {"rate": 0.8, "weight": 10}
    assert p1["first_seen"] == "2025-01-01T00:00:00Z"
    assert (p2["status"], p2["applications"], p2["observed_rate"]) == ("deprecated", 3, 0.5)
    assert p2["posterior_mean"] == 0.5 and p2["prior"] is None
    (t1,) = rep["templates"]
    assert (t1["uses"], t1["observed_rate"], t1["declared"]) == (3, pytest.approx(2.5 / 3), 0.9)
    assert t1["realised_minus_declared"] == pytest.approx(2.5 / 3 - 0.9, abs=1e-6)
    f1, f2 = rep["failures"]
    assert (f1["occurrences"], f1["recoveries"]) == (3, 2)
    assert f1["recovery_rate"] == pytest.approx(2 / 3)
    assert f1["prevention_used"] == {"retry": 2, "tests": 1}
    assert (f2["occurrences"], f2["recovery_rate"]) == (1, 1.0)
    assert rep["droids"] == [
        {"id": "d1", "projects": 4, "success_rate": 0.875},
        {"id": "d2", "projects": 2, "success_rate": 0.5},
    ]


def test_since_filters_outcomes_by_project_date() -> None:
    rep = compute(_evidence(), since="2025-03-01")
    assert rep["learning_metrics"]["total_projects"] == 3
    assert rep["learning_metrics"]["success_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert rep["learning_metrics"]["learning_effectiveness"] == 1.0  # c (0) then e (1)


def test_no_data_is_unknown_never_zero() -> None:
    rep = compute(Evidence(patterns={"p": Record("p")}, failures={"f": Record("f")}))
    assert rep["learning_metrics"] == {
        "total_projects": 0,
        "success_rate": None,
        "learning_effectiveness": None,
        "pattern_application_rate": None,
        "failure_recovery_rate": None,
        "last_update": None,
    }
    assert set(rep["performance_metrics"].values()) == {None}
    assert rep["patterns"][0]["posterior_mean"] is None
    assert rep["patterns"][0]["interval_90"] is None
    assert rep["failures"][0]["recovery_rate"] is None
    assert rep["droids"] == []


def test_error_rate_reduction_unknown_when_earlier_half_had_no_errors() -> None:
    ev = Evidence(
        outcomes=[
            _o("a", "success", "2025-01-01", errors=0),
            _o("b", "success", "2025-01-02", errors=3),
        ]
    )
    assert compute(ev)["performance_metrics"]["error_rate_reduction"] is None


def test_halves_skip_the_middle_and_need_two() -> None:
    outs = [_o(x, "success", f"2025-01-0{i}") for i, x in enumerate("abc", start=1)]
    split = halves(outs, lambda o: bool(o.id))
    assert split is not None
    assert [o.id for o in split[0]] == ["a"] and [o.id for o in split[1]] == ["c"]
    assert halves(outs[:1], lambda o: bool(o.id)) is None


# ----------------------------------------------- derived figures stay derived (KB210)

REPORTED = [
    "learning_effectiveness",
    "pattern_application_rate",
    "failure_recovery_rate",
    "execution_time_improvement",
    "quality_score_improvement",
    "error_rate_reduction",
    "observed_rate",
    "posterior_mean",
    "first_seen",
    "last_changed",
]


@pytest.mark.parametrize("figure", REPORTED)
def test_a_reported_figure_typed_into_a_record_is_flagged(kb_repo: Path, figure: str) -> None:
    path = kb_repo / "kb" / "patterns" / "ecommerce_security_first.yaml"
    path.write_text(path.read_text() + f"{figure}: 0.5\n")
    result = validate_repo(kb_repo)
    [finding] = [f for f in result.findings if f.code == "KB210"]
    assert finding.path == "kb/patterns/ecommerce_security_first.yaml"
    assert f"'{figure}' is a derived figure" in finding.message
    assert finding.line == len(path.read_text().splitlines())
    assert not result.ok


def test_every_figure_of_the_report_is_guarded() -> None:
    """Each figure name `memkb metrics` prints (except outcome fields) is in DERIVED_FIELDS."""
    rep = compute(_evidence())
    names = {
        *rep["learning_metrics"],
        *rep["performance_metrics"],
        *rep["patterns"][0],
        *rep["failures"][0],
    }
    outcome_fields = {
        "user_satisfaction",
        "id",
        "status",
        "prior",
        "successes",
        "partials",
        "failures",
        "interval_90",
        "prevention_used",
    }
    assert names - outcome_fields - set(DERIVED_FIELDS) == set()


def test_figures_under_prior_are_not_flagged(kb_repo: Path) -> None:
    result = validate_repo(kb_repo)  # the bundled patterns carry prior.success_rate
    assert [f for f in result.findings if f.code == "KB210"] == []
