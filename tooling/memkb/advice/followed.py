"""Advice that learns: the brief an outcome was recorded against, and which of its
templates, patterns and guards the project followed or ignored (docs/advice.md).

    advice = resolve_brief(root, "28ca7bf19a109f0a.1a2b3c4d5e6f.eyJ...")
    compare_advice(advice, {"template": "shop", "patterns_applied": ["x"], ...})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from memkb.advice.items import Advice
from memkb.advice.query import brief_id, parse_brief_id
from memkb.advice.recommend import recommend
from memkb.errors import RecordError, UsageError

KINDS = ("templates", "patterns", "guards")


def resolve_brief(root: Path, value: str) -> Advice:
    """The advice a brief_id was given for, recomputed at its commit.

    Raise UsageError (exit 2) for a malformed brief_id, RecordError (exit 1, refused) for
    one whose commit is not in this repository or whose checksum does not match."""
    ref = parse_brief_id(value)
    commit = _commit_of(root, ref.commit_prefix, value)
    if brief_id(commit, ref.query) != value.strip():
        raise RecordError(
            f"brief_id {ref.digest} does not match its commit and query (altered or mistyped)",
            hint="copy the brief_id whole from the `recommend` or `brief` answer",
        )
    try:
        advice = recommend(root, replace(ref.query, as_of=commit))
    except UsageError as exc:  # a name the vocabulary at that commit does not know
        raise RecordError(f"brief_id {ref.digest} does not resolve: {exc.message}") from exc
    return replace(advice, query=ref.query)  # as it was given: --as-of only chose the commit


def _commit_of(root: Path, prefix: str, value: str) -> str:
    from memkb.gitio.log import git

    out = git(root, "rev-parse", "--verify", "--quiet", f"{prefix}^{{commit}}", check=False)
    if not out.strip():
        raise RecordError(
            f"brief_id {value[:16]} was given at commit {prefix}, which this repository "
            "does not have",
            hint="fetch the branch the advice was read from (git fetch), or record the "
            "outcome without --brief-id",
        )
    return out.strip()


def compare_advice(advice: Advice, outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome's `advice` field: what of `advice` the outcome followed and ignored.

    - templates: followed when the outcome's template is one of the advised ones; else
      the advice's first template is ignored.
    - patterns: each advised pattern is followed if in `patterns_applied`, else ignored.
    - guards: an advised failure met with `prevention_used` was followed, met without
      it was ignored; one not met is `not_met` (no evidence either way)."""
    followed: dict[str, list[str]] = {k: [] for k in KINDS}
    ignored: dict[str, list[str]] = {k: [] for k in KINDS}
    _templates(advice, outcome.get("template"), followed, ignored)
    applied = set(outcome.get("patterns_applied") or ())
    for item in advice.patterns:
        (followed if item.id in applied else ignored)["patterns"].append(item.id)
    met = _met(outcome.get("failures_met") or ())
    not_met = []
    for item in advice.guards:
        if item.id not in met:
            not_met.append(item.id)
        else:
            (followed if met[item.id] else ignored)["guards"].append(item.id)
    return {
        "brief_id": advice.brief_id,
        "commit": advice.commit,
        "followed": followed,
        "ignored": ignored,
        "not_met": not_met,
    }


def _templates(
    advice: Advice,
    template: Any,
    followed: dict[str, list[str]],
    ignored: dict[str, list[str]],
) -> None:
    advised = [i.id for i in advice.templates]
    if not advised:
        return
    if template in advised:
        followed["templates"].append(str(template))
    else:
        ignored["templates"].append(advised[0])


def _met(entries: Sequence[Any]) -> dict[str, bool]:
    """Failure id -> whether its prevention was in place, per `failures_met` entry."""
    out: dict[str, bool] = {}
    for entry in entries:
        if isinstance(entry, Mapping) and isinstance(entry.get("failure"), str):
            out[entry["failure"]] = out.get(entry["failure"], False) or bool(
                entry.get("prevention_used")
            )
    return out
