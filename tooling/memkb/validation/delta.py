"""The metrics delta of a change: which figures it moves, from what to what.

Figures at base come from memkb.history (main's history up to the base commit, cached by
commit and blob id); figures at head are the same evidence with the change applied.
Only the figures the change can move are computed: the overall learning metrics and the
rows of the patterns, templates and failures that a changed file touches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memkb import cachefile as cache
from memkb import history
from memkb.kb.layout import location_of
from memkb.metrics import formulas as metrics

if TYPE_CHECKING:
    from memkb.records.changes import FileChange

# Per-row figures worth showing a reviewer, by section of metrics.compute.
ROW_FIGURES = {
    "patterns": ("applications", "observed_rate", "posterior_mean"),
    "templates": ("uses", "observed_rate", "posterior_mean"),
    "failures": ("occurrences", "recovery_rate"),
}
OVERALL_FIGURES = ("total_projects", "success_rate", "failure_recovery_rate")
# Whether following the advice pays (metrics.advice_figures), overall and per pattern.
ADVICE_FIGURES = ("followed_rate", "success_when_followed", "success_when_ignored")
EVIDENCE_CACHE = "check-evidence.cache"
EVIDENCE_VERSION = 2  # bump when _freeze changes (the rest: history.code_fingerprint)
SECTION_OF = {"pattern": "patterns", "template": "templates", "failure": "failures"}
FIGURES_OF = {
    "patterns": metrics.pattern_figures,
    "templates": metrics.template_figures,
    "failures": metrics.failure_figures,
}


@dataclass(frozen=True)
class Move:
    """One figure that the change moves: e.g. ("pattern x", "posterior_mean", 0.9, 0.91)."""

    subject: str
    figure: str
    before: Any
    after: Any


@dataclass
class Delta:
    """Every figure the change moves, overall first, then per record."""

    moves: list[Move] = field(default_factory=list)
    outcomes_before: int = 0
    outcomes_after: int = 0
    # The learning curve's two rates at base and at head: what check's summary draws.
    rates_before: dict[str, float | None] = field(default_factory=dict)
    rates_after: dict[str, float | None] = field(default_factory=dict)


def metrics_delta(
    root: Path, base: str, changes: Sequence[FileChange], *, use_cache: bool = True
) -> Delta:
    """Figures before (at commit `base`) and after the change; raise RepoError if the
    history cannot be read."""
    before = base_evidence(root, base, use_cache=use_cache)
    after = _apply(before, changes)
    touched = _touched(before, after, changes)
    delta = Delta(outcomes_before=len(before.outcomes), outcomes_after=len(after.outcomes))
    delta.moves += _overall_moves(before, after)
    delta.moves += _advice_moves(before, after)
    delta.rates_before, delta.rates_after = learning_rates(before), learning_rates(after)
    for section in ("patterns", "templates", "failures"):
        delta.moves += _row_moves(section, before, after, touched[section])
    return delta


def base_evidence(root: Path, base: str, *, use_cache: bool = True) -> metrics.Evidence:
    """The Evidence of commit `base` (a full commit id), from memkb.history; kept in a
    small cache keyed by the commit, since every check of a branch shares its base, and
    by the code that builds it (as history's own reports are)."""
    path = cache.cache_dir(root) / EVIDENCE_CACHE
    key = f"{EVIDENCE_VERSION}:{history.code_fingerprint()}:{base}"
    stored = cache.load(path, key) if use_cache else {}
    if "evidence" in stored:
        return _thaw(stored["evidence"])
    store = history.Cache.load(root, enabled=use_cache)
    commits = history.chain(root, store, history.resolve(root, base))
    replay = history.Replay(commits)
    replay.advance(len(commits) - 1)
    ev = history.evidence(root, store, replay)
    store.save()
    if use_cache:
        cache.save(path, key, {"evidence": _freeze(ev)})
    return ev


MET = metrics.Outcome._fields.index("failures_met")
ADVICE = metrics.Outcome._fields.index("advice")  # the last field


def _freeze(ev: metrics.Evidence) -> tuple[Any, ...]:
    """Evidence as plain tuples (what marshal stores: no named tuples, no dataclasses)."""
    outcomes = tuple(
        (*o[:MET], tuple(tuple(f) for f in o.failures_met), *o[MET + 1 : ADVICE],
         None if o.advice is None else tuple(o.advice))
        for o in ev.outcomes
    )  # fmt: skip
    records = [tuple(astuple(r) for r in group.values()) for group in _groups(ev)]
    return (outcomes, *records, ev.last_update)


def _thaw(data: tuple[Any, ...]) -> metrics.Evidence:
    outcomes, patterns, templates, failures, last_update = data
    ev = metrics.Evidence(last_update=last_update)
    for fields in outcomes:
        met = tuple(metrics.FailureMet._make(f) for f in fields[MET])
        advice = None if fields[ADVICE] is None else metrics.Advised(*fields[ADVICE])
        ev.outcomes.append(
            metrics.Outcome._make((*fields[:MET], met, *fields[MET + 1 : ADVICE], advice))
        )
    for group, rows in zip(_groups(ev), (patterns, templates, failures), strict=True):
        group.update({row[0]: metrics.Record(*row) for row in rows})
    return ev


def _groups(ev: metrics.Evidence) -> tuple[dict[str, metrics.Record], ...]:
    return ev.patterns, ev.templates, ev.failures


def _apply(before: metrics.Evidence, changes: Sequence[FileChange]) -> metrics.Evidence:
    """The evidence with the change's new, edited and removed records applied."""
    outcomes = {o.id: o for o in before.outcomes}
    records = {
        "pattern": dict(before.patterns),
        "template": dict(before.templates),
        "failure": dict(before.failures),
    }
    for change in changes:
        sides = ((change.old_path, change.old, True), (change.path, change.new, False))
        for path, raw, gone in sides:
            loc = location_of(path) if path else None
            if loc is None or loc.kind is None or loc.kind == "vocabulary":
                continue
            if gone or raw is None:
                if loc.kind == "outcome":
                    outcomes.pop(loc.stem, None)
                else:
                    records[loc.kind].pop(loc.stem, None)
                continue
            got = history.facts(loc.kind, raw, path or "")
            if "bad" in got:
                continue
            if loc.kind == "outcome":
                outcomes[loc.stem] = _outcome(loc.stem, got)
            else:
                old = records[loc.kind].get(loc.stem, metrics.Record(loc.stem))
                records[loc.kind][loc.stem] = replace(
                    old, status=got["status"], prior_rate=got["rate"], prior_weight=got["weight"]
                )
    return metrics.Evidence(
        outcomes=list(outcomes.values()),
        patterns=records["pattern"],
        templates=records["template"],
        failures=records["failure"],
        last_update=before.last_update,
    )


def _outcome(oid: str, got: dict[str, Any]) -> metrics.Outcome:
    lists = ("failures_met", "patterns", "droids", "advice")
    fields = {k: v for k, v in got.items() if k not in lists}
    met = tuple(metrics.FailureMet(f, bool(r), tuple(p)) for f, r, p in got["failures_met"])
    return metrics.Outcome(
        id=oid,
        **fields,
        patterns=tuple(got["patterns"]),
        droids=tuple(got["droids"]),
        failures_met=met,
        advice=None if got["advice"] is None else metrics.Advised(*got["advice"]),
    )


def _touched(
    before: metrics.Evidence, after: metrics.Evidence, changes: Sequence[FileChange]
) -> dict[str, set[str]]:
    """Ids per section whose figures the change can move."""
    touched: dict[str, set[str]] = {section: set() for section in ROW_FIGURES}
    old_by_id = {o.id: o for o in before.outcomes}
    new_by_id = {o.id: o for o in after.outcomes}
    for change in changes:
        for path in (change.old_path, change.path):
            loc = location_of(path) if path else None
            if loc is None or loc.kind is None:
                continue
            if loc.kind in SECTION_OF:
                touched[SECTION_OF[loc.kind]].add(loc.stem)
            if loc.kind != "outcome":
                continue
            for outcome in (old_by_id.get(loc.stem), new_by_id.get(loc.stem)):
                if outcome is not None:
                    for section, ids in touched.items():
                        ids.update(_cited(section, outcome))
    return touched


def _cited(section: str, outcome: metrics.Outcome) -> Sequence[str]:
    """Ids of `section` whose figures count `outcome`."""
    if section == "patterns":
        return outcome.patterns
    if section == "templates":
        return (outcome.template,) if outcome.template else ()
    return [f.failure for f in outcome.failures_met]


def _overall_moves(before: metrics.Evidence, after: metrics.Evidence) -> list[Move]:
    old = metrics.learning_metrics(before, metrics.select(before.outcomes, None))
    new = metrics.learning_metrics(after, metrics.select(after.outcomes, None))
    return [
        Move("all projects", name, old[name], new[name])
        for name in OVERALL_FIGURES
        if old[name] != new[name]
    ]


def learning_rates(ev: metrics.Evidence) -> dict[str, float | None]:
    """Success rate of every outcome, and the share of advised records followed."""
    outcomes = metrics.select(ev.outcomes, None)
    return {
        "success_rate": metrics.learning_metrics(ev, outcomes)["success_rate"],
        "followed_rate": metrics.advice_figures(outcomes)["followed_rate"],
    }


def _advice_moves(before: metrics.Evidence, after: metrics.Evidence) -> list[Move]:
    """Advice figures the change moves: overall ("advice"), then per advised pattern."""
    old = metrics.advice_figures(before.outcomes)
    new = metrics.advice_figures(after.outcomes)
    overall = (*ADVICE_FIGURES, "learning_effectiveness")
    moves = [Move("advice", n, old[n], new[n]) for n in overall if old[n] != new[n]]
    old_rows = {row["id"]: row for row in old["patterns"]}
    new_rows = {row["id"]: row for row in new["patterns"]}
    for pid in sorted(old_rows.keys() | new_rows.keys()):
        was, now = old_rows.get(pid, {}), new_rows.get(pid, {})
        moves += [Move(f"advice on pattern {pid}", name, was.get(name), now.get(name))
                  for name in ADVICE_FIGURES if was.get(name) != now.get(name)]  # fmt: skip
    return moves


def _row_moves(
    section: str, before: metrics.Evidence, after: metrics.Evidence, ids: set[str]
) -> list[Move]:
    if not ids:
        return []
    old_rows = _rows(section, before, ids)
    new_rows = _rows(section, after, ids)
    singular = section[:-1]
    moves = []
    for rid in sorted(ids):
        old, new = old_rows.get(rid, {}), new_rows.get(rid, {})
        for name in ROW_FIGURES[section]:
            if old.get(name) != new.get(name):
                moves.append(Move(f"{singular} {rid}", name, old.get(name), new.get(name)))
    return moves


def _rows(section: str, ev: metrics.Evidence, ids: set[str]) -> dict[str, dict[str, Any]]:
    """Figure rows of `section` for `ids` only, from the outcomes that cite them."""
    sub = metrics.Evidence()
    getattr(sub, section).update((k, v) for k, v in getattr(ev, section).items() if k in ids)
    cited = [o for o in ev.outcomes if any(i in ids for i in _cited(section, o))]
    return {row["id"]: row for row in FIGURES_OF[section](sub, metrics.select(cited, None))}
