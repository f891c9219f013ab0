"""Figures derived from evidence: outcome records plus facts taken from Git history.

Pure functions: nothing here reads files or runs git. `memkb.history` gathers the
facts, this module turns them into the report; every formula is in docs/metrics.md.
A figure without data is None (rendered "unknown"), never 0.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from memkb.metrics.beta import beta_quantile

# How each outcome counts towards a success rate: a partial outcome is half a success.
SCORE: dict[str, float] = {"success": 1.0, "partial": 0.5, "failure": 0.0}
INTERVAL = 0.90  # mass of the equal-tailed credible interval reported for each rate
DIGITS = 6  # figures are rounded once, here, so every renderer shows the same number


class FailureMet(NamedTuple):
    """One failure pattern met by one project."""

    failure: str
    recovered: bool
    prevention_used: tuple[str, ...] = ()


class Advised(NamedTuple):
    """An outcome's `advice` field: the advised records it followed and ignored, each
    "<kind>:<id>" with kind template, pattern or guard (guards not met are neither)."""

    followed: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()


class Outcome(NamedTuple):
    """The facts of one outcome record that the figures use."""

    id: str
    outcome: str
    date: str
    template: str | None = None
    patterns: tuple[str, ...] = ()
    droids: tuple[str, ...] = ()
    failures_met: tuple[FailureMet, ...] = ()
    planned_days: float | None = None
    actual_days: float | None = None
    quality: float | None = None
    errors: int | None = None
    satisfaction: float | None = None
    # From history: active patterns in the KB when the outcome was recorded, and
    # how many of the ones it applied were among them (None = not known).
    patterns_available: int | None = None
    known_applied: int | None = None
    advice: Advised | None = None  # None: recorded without --brief-id


@dataclass(frozen=True)
class Record:
    """A pattern, template or failure record: status, declared prior and Git dates."""

    id: str
    status: str = "active"
    prior_rate: float | None = None
    prior_weight: float | None = None
    first_seen: str | None = None
    last_changed: str | None = None


@dataclass
class Evidence:
    """Everything the figures are computed from, as memory knew it at one commit."""

    outcomes: list[Outcome] = field(default_factory=list)
    patterns: dict[str, Record] = field(default_factory=dict)
    templates: dict[str, Record] = field(default_factory=dict)
    failures: dict[str, Record] = field(default_factory=dict)
    last_update: str | None = None
    intervals: dict[str, list[float | None]] = field(default_factory=dict)  # posterior memo
    intervals_tag: str = ""  # names the code in memo keys: a kept memo outlives the code
    skipped: list[dict[str, str]] = field(default_factory=list)  # unreadable records


# ---------------------------------------------------------------- small statistics


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DIGITS)


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or None for no values."""
    items = list(values)
    return sum(items) / len(items) if items else None


def success_score(outcomes: Sequence[Outcome]) -> float | None:
    """Mean SCORE of `outcomes` (success 1, partial 0.5, failure 0); None if empty."""
    return mean(SCORE[o.outcome] for o in outcomes)


def _by_date(o: Outcome) -> tuple[str, str]:
    return (o.date, o.id)


def halves(
    outcomes: Sequence[Outcome], has: Callable[[Outcome], bool]
) -> tuple[list[Outcome], list[Outcome]] | None:
    """Earlier and later halves of the outcomes for which `has` holds; `outcomes` must
    be in date order (as `select` returns them).

    With an odd count the middle outcome belongs to neither half. None below 2 outcomes.
    """
    usable = [o for o in outcomes if has(o)]
    half = len(usable) // 2
    if half == 0:
        return None
    return usable[:half], usable[-half:]


def _trend(
    outcomes: Sequence[Outcome],
    has: Callable[[Outcome], bool],
    value: Callable[[Outcome], float],
    relative: bool,
) -> float | None:
    """Earlier-half mean minus later-half mean (relative to the earlier mean if asked)."""
    split = halves(outcomes, has)
    if split is None:
        return None
    early = mean(value(o) for o in split[0])
    late = mean(value(o) for o in split[1])
    assert early is not None and late is not None  # halves are never empty
    if not relative:
        return early - late
    return None if early == 0 else (early - late) / early


# ------------------------------------------------------------------ Beta posterior


def posterior(
    prior_rate: float | None,
    prior_weight: float | None,
    wins: float,
    losses: float,
    memo: dict[str, list[float | None]] | None = None,
    tag: str = "",
) -> dict[str, Any]:
    """Beta posterior of a success rate: the prior as pseudo-counts plus the evidence.

    alpha = rate*weight + wins, beta = (1-rate)*weight + losses (a partial outcome adds
    0.5 to each). Returns mean and 90% equal-tailed interval, None when there is neither
    a prior with weight nor evidence. `memo` ("<tag>alpha,beta" -> interval) saves the
    quantile search for parameters seen before (the history cache keeps it; `tag` names
    the code that computed the intervals, so a changed formula does not reuse them).
    """
    weight = prior_weight or 0.0
    rate = prior_rate if prior_rate is not None else 0.0
    alpha, beta = rate * weight + wins, (1.0 - rate) * weight + losses
    if alpha + beta <= 0.0:
        return {"alpha": None, "beta": None, "mean": None, "interval_90": None}
    key = f"{tag}{alpha!r},{beta!r}"
    interval = memo.get(key) if memo is not None else None
    if interval is None:
        tail = (1.0 - INTERVAL) / 2.0
        interval = [
            _round(beta_quantile(tail, alpha, beta)),
            _round(beta_quantile(1.0 - tail, alpha, beta)),
        ]
        if memo is not None:
            memo[key] = interval
    return {
        "alpha": _round(alpha),
        "beta": _round(beta),
        "mean": _round(alpha / (alpha + beta)),
        "interval_90": interval,
    }


# ------------------------------------------------------------------------- figures


def learning_metrics(ev: Evidence, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The seed's `learning_metrics` from `outcomes` in date order (see `select`)."""
    met = [f for o in outcomes for f in o.failures_met]
    eligible = [o for o in outcomes if o.patterns_available and o.known_applied is not None]
    return {
        "total_projects": len(outcomes),
        "success_rate": _round(success_score(outcomes)),
        "learning_effectiveness": _round(
            _neg(_trend(outcomes, _always, lambda o: SCORE[o.outcome], False))
        ),
        "pattern_application_rate": _round(mean(1.0 if o.known_applied else 0.0 for o in eligible)),
        "failure_recovery_rate": _round(mean(1.0 if f.recovered else 0.0 for f in met)),
        "last_update": ev.last_update,
    }


def _always(_outcome: Outcome) -> bool:
    return True


def _neg(value: float | None) -> float | None:
    return None if value is None else -value


def _ratio(o: Outcome) -> float:
    assert o.actual_days is not None and o.planned_days is not None
    return o.actual_days / o.planned_days


def performance_metrics(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The seed's `performance_metrics` from `outcomes` in date order (see `select`)."""
    return {
        "execution_time_improvement": _round(
            _trend(outcomes, lambda o: bool(o.planned_days and o.actual_days), _ratio, True)
        ),
        "quality_score_improvement": _round(
            _neg(
                _trend(outcomes, lambda o: o.quality is not None, lambda o: o.quality or 0.0, False)
            )
        ),
        "error_rate_reduction": _round(
            _trend(outcomes, lambda o: o.errors is not None, lambda o: float(o.errors or 0), True)
        ),
        "user_satisfaction": _round(
            mean(o.satisfaction for o in outcomes if o.satisfaction is not None)
        ),
    }


def _tally(outcomes: Sequence[Outcome], count_name: str) -> dict[str, Any]:
    counts = {"success": 0, "partial": 0, "failure": 0}
    for o in outcomes:
        counts[o.outcome] += 1
    n = len(outcomes)
    score = (counts["success"] + 0.5 * counts["partial"]) / n if n else None
    return {
        count_name: n,
        "successes": counts["success"],
        "partials": counts["partial"],
        "failures": counts["failure"],
        "observed_rate": _round(score),
    }


def _evidence_rate(
    ev: Evidence, rec: Record, cited: Sequence[Outcome], count_name: str
) -> dict[str, Any]:
    tally = _tally(cited, count_name)
    half = tally["partials"] * 0.5
    wins, losses = tally["successes"] + half, tally["failures"] + half
    post = posterior(rec.prior_rate, rec.prior_weight, wins, losses, ev.intervals, ev.intervals_tag)
    prior = (
        None
        if rec.prior_rate is None
        else {"rate": rec.prior_rate, "weight": rec.prior_weight or 0.0}
    )
    return {
        "id": rec.id,
        "status": rec.status,
        **tally,
        "prior": prior,
        "posterior_mean": post["mean"],
        "interval_90": post["interval_90"],
        "first_seen": rec.first_seen,
        "last_changed": rec.last_changed,
    }


def _by(
    outcomes: Sequence[Outcome], keys: Callable[[Outcome], Iterable[str | None]]
) -> dict[str, list[Outcome]]:
    """Outcomes grouped by each key they carry: one pass, not one scan per record."""
    groups: dict[str, list[Outcome]] = {}
    add = groups.setdefault
    for o in outcomes:
        for key in keys(o):
            if key is not None:
                add(key, []).append(o)
    return groups


_patterns_of = operator.attrgetter("patterns")
_droids_of = operator.attrgetter("droids")


def _template_of(o: Outcome) -> tuple[str | None]:
    return (o.template,)


def pattern_figures(ev: Evidence, outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """Per success pattern: tally, prior, Beta posterior and its 90% interval, Git dates."""
    cited = _by(outcomes, _patterns_of)
    return [
        _evidence_rate(ev, ev.patterns[pid], cited.get(pid, []), "applications")
        for pid in sorted(ev.patterns)
    ]


def template_figures(ev: Evidence, outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """Per template: uses, realised success vs its declared success_probability."""
    used = _by(outcomes, _template_of)
    rows = []
    for tid in sorted(ev.templates):
        row = _evidence_rate(ev, ev.templates[tid], used.get(tid, []), "uses")
        declared = ev.templates[tid].prior_rate
        realised = row["observed_rate"]
        row["declared"] = declared
        row["realised_minus_declared"] = (
            None if realised is None or declared is None else _round(realised - declared)
        )
        rows.append(row)
    return rows


def failure_figures(ev: Evidence, outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """Per failure pattern: occurrences, recoveries, recovery rate, preventions used."""
    by_failure: dict[str, list[FailureMet]] = {}
    for f in (f for o in outcomes for f in o.failures_met):
        by_failure.setdefault(f.failure, []).append(f)
    rows = []
    for fid in sorted(ev.failures):
        met = by_failure.get(fid, [])
        prevention: dict[str, int] = {}
        for f in met:
            for strategy in f.prevention_used:
                prevention[strategy] = prevention.get(strategy, 0) + 1
        rec = ev.failures[fid]
        recovered = sum(1 for f in met if f.recovered)
        rows.append(
            {
                "id": fid,
                "status": rec.status,
                "occurrences": len(met),
                "recoveries": recovered,
                "recovery_rate": _round(recovered / len(met)) if met else None,
                "prevention_used": dict(sorted(prevention.items())),
                "first_seen": rec.first_seen,
                "last_changed": rec.last_changed,
            }
        )
    return rows


def droid_figures(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """Per droid named in any outcome: projects and success rate."""
    by_droid = _by(outcomes, _droids_of)
    rows = []
    for droid in sorted(by_droid):
        used = by_droid[droid]
        rows.append(
            {"id": droid, "projects": len(used), "success_rate": _round(success_score(used))}
        )
    return rows


def advice_pairs(outcomes: Sequence[Outcome]) -> list[tuple[bool, str, str, float]]:
    """(followed, kind, id, SCORE of the outcome) for every advised record of every
    outcome recorded with a brief_id: the unit the advice figures count."""
    pairs = []
    for o in outcomes:
        if o.advice is None:
            continue
        score = SCORE[o.outcome]
        for followed, items in ((True, o.advice.followed), (False, o.advice.ignored)):
            for item in items:
                kind, _, rid = item.partition(":")
                pairs.append((followed, kind, rid, score))
    return pairs


def _followed_figures(pairs: Sequence[tuple[bool, str, str, float]]) -> dict[str, Any]:
    """Counts, follow rate, success when followed and when ignored, and their difference."""
    won = [p[3] for p in pairs if p[0]]
    lost = [p[3] for p in pairs if not p[0]]
    when_followed, when_ignored = mean(won), mean(lost)
    lift = None
    if when_followed is not None and when_ignored is not None:
        lift = when_followed - when_ignored
    return {
        "advised": len(pairs),
        "followed": len(won),
        "ignored": len(lost),
        "followed_rate": _round(len(won) / len(pairs)) if pairs else None,
        "success_when_followed": _round(when_followed),
        "success_when_ignored": _round(when_ignored),
        "lift": _round(lift),
    }


def advice_figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Whether following memory's advice pays, from outcomes recorded with a brief_id:
    overall, the readings of learning_effectiveness and pattern_application_rate that
    this evidence gives, and per advised pattern (docs/metrics.md)."""
    pairs = advice_pairs(outcomes)
    patterns = [p for p in pairs if p[1] == "pattern"]
    overall = _followed_figures(pairs)
    by_pattern: dict[str, list[tuple[bool, str, str, float]]] = {}
    for pair in patterns:
        by_pattern.setdefault(pair[2], []).append(pair)
    return {
        "briefed_projects": sum(1 for o in outcomes if o.advice is not None),
        **overall,
        "learning_effectiveness": overall["lift"],
        "pattern_application_rate": _followed_figures(patterns)["followed_rate"],
        "patterns": [
            {"id": pid, **_followed_figures(by_pattern[pid])} for pid in sorted(by_pattern)
        ],
    }


def select(outcomes: Iterable[Outcome], since: str | None) -> list[Outcome]:
    """Outcomes whose project date is on or after `since` (all when None), by date then id."""
    return sorted((o for o in outcomes if since is None or o.date >= since), key=_by_date)


def compute(ev: Evidence, *, since: str | None = None) -> dict[str, Any]:
    """Every figure of the report from `ev`; outcomes dated before `since` are left out."""
    outcomes = select(ev.outcomes, since)
    return {
        "learning_metrics": learning_metrics(ev, outcomes),
        "performance_metrics": performance_metrics(outcomes),
        "patterns": pattern_figures(ev, outcomes),
        "templates": template_figures(ev, outcomes),
        "failures": failure_figures(ev, outcomes),
        "droids": droid_figures(outcomes),
        "advice": advice_figures(outcomes),
    }
