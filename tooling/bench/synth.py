"""Synthetic knowledge bases for benchmarks: N valid records, optionally some broken.

`generate_kb(root, n)` writes a repository (schemas/ copied from the project, kb/
with a vocabulary and N records across kinds) that is valid against the schemas
and the repository rules: file name = id, folder = kind, every reference
exists, outcome dates in the past under kb/outcomes/<yyyy>/. With
`broken_fraction`, that share of record files is broken in varied ways, each
confined to its own file (a broken record is never referenced by another), so
the files with findings are exactly the ones reported in `GeneratedKB.broken`.

Output is a pure function of (n_records, broken_fraction, seed): dates come
from a fixed range, not from today.

    python -m tooling.bench.synth OUT --records 10000 [--broken 0.03] [--seed 0] [--git]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from memkb.kb.layout import SCHEMA_VERSIONS
from memkb.records.render import render_record

PROJECT = Path(__file__).resolve().parents[2]
SHARES = {"pattern": 0.20, "failure": 0.10, "template": 0.05}  # outcomes take the rest


def _words(text: str) -> list[str]:
    """Word lists written as one string, to keep the data compact."""
    return text.split()


FIRST_DAY, LAST_DAY = date(2019, 1, 1), date(2025, 12, 31)  # fixed, so output is repeatable
# Ways a file is broken, in the order they are handed out (round robin).
BREAKAGES = tuple(
    _words(
        "schema_violation unknown_droid duplicate_key yaml_syntax wrong_file_name rate_out_of_range"
    )
)
NO_DROIDS_OR_RATES = {"unknown_droid", "rate_out_of_range"}  # failures have neither


# The vocabulary: 60 droids (area x role), 30 domains, 15 phases.
DROIDS = [
    f"{area}-{role}"
    for area in _words(
        "security backend frontend database performance test mobile cloud data ml api devops"
    )
    for role in _words("architect engineer auditor reviewer specialist")
]
DOMAINS = _words(
    "e-commerce finance healthcare authentication security backend frontend database "
    "performance logistics education gaming media travel insurance real-estate energy telecom "
    "government retail manufacturing agriculture legal hr marketing analytics iot mobile social "
    "search"
)
PHASES = _words(
    "discovery requirements security_first architecture database_api backend_build "
    "frontend_integration data_migration testing_qa performance_tuning security_review "
    "documentation deployment monitoring handover"
)
ALIASES = {"e-commerce": ["ecommerce"], "authentication": ["auth"], "real-estate": ["realty"]}
WORDS = {
    "pattern": _words("security_first api_first test_driven incremental parallel"),
    "failure": _words("timeout migration_failure data_loss outage regression"),
    "template": _words("standard minimal enterprise rapid"),
}
PROJECT_WORDS = _words("marketplace portal dashboard gateway platform tracker booking checkout")
IMPROVEMENTS = _words(
    "early_security_audit parallel_execution context_injection query_optimization caching "
    "contract_testing code_review"
)
SENTENCES = [
    "Run a threat model before writing code.",
    "Validate every schema change in CI.",
    "Keep environments at parity.",
    "Retry webhooks with exponential backoff.",
    "Index the columns the hot queries filter on.",
    "Review every change with a peer.",
    "Write the migration and its rollback together.",
    "Measure before optimizing.",
    "Pin dependency versions and update them deliberately.",
    "Document the error handling contract of every external API.",
]


def vocabulary_doc() -> dict[str, Any]:
    """The vocabulary record: every droid, domain and phase the records may name."""

    def entries(names: Sequence[str]) -> dict[str, Any]:
        return {
            name: {
                "description": f"Synthetic entry {name}.",
                **({"aliases": ALIASES[name]} if name in ALIASES else {}),
            }
            for name in names
        }

    return {
        "kind": "vocabulary",
        "schema_version": 1,
        "droids": entries(DROIDS),
        "domains": entries(DOMAINS),
        "phases": entries(PHASES),
    }


def misspell(name: str) -> str:
    """A near miss of `name` that is still a well-formed kebab id but names nothing."""
    return name[:-1] + ("x" if name[-1] != "x" else "z")


def render(kind: str, doc: dict[str, Any], relpath: str) -> str:
    """The file text of one record in the kb/ house style (modeline first)."""
    return render_record(kind, doc, relpath)


@dataclass(frozen=True)
class BrokenFile:
    """One file the generator broke on purpose, and how (one of BREAKAGES)."""

    relpath: str
    how: str


@dataclass
class GeneratedKB:
    """What `generate_kb` wrote: where, how many records per kind, which files it broke."""

    root: Path
    counts: dict[str, int]
    broken: list[BrokenFile] = field(default_factory=list)
    seed: int = 0

    @property
    def n_records(self) -> int:
        """Record files written, broken ones included, vocabulary excluded."""
        return sum(self.counts.values())

    @property
    def breakages(self) -> Counter[str]:
        """How many files were broken in each way."""
        return Counter(b.how for b in self.broken)

    def to_json(self) -> str:
        """A manifest a later run can reload with `from_json` to reuse this KB."""
        data = asdict(self)
        data["root"] = str(self.root)
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> GeneratedKB:
        """Rebuild a GeneratedKB from `to_json` output; raise KeyError/ValueError if malformed."""
        data = json.loads(text)
        return cls(
            Path(data["root"]),
            dict(data["counts"]),
            [BrokenFile(**b) for b in data["broken"]],
            int(data["seed"]),
        )


@dataclass
class _Plan:
    """Ids per kind and which records will be broken, decided before anything is written."""

    ids: dict[str, list[str]]
    broken: dict[tuple[str, int], str]  # (kind, index) -> how

    def valid(self, kind: str) -> list[str]:
        """Ids of `kind` that stay valid: the only ones other records may reference."""
        return [rid for i, rid in enumerate(self.ids[kind]) if (kind, i) not in self.broken]


def generate_kb(
    root: Path, n_records: int = 10_000, *, broken_fraction: float = 0.0, seed: int = 0
) -> GeneratedKB:
    """Write a synthetic KB repository at `root` (created; must be empty or absent).

    Returns what was written. Raises ValueError for a bad count or fraction and
    FileExistsError if `root` holds files already.
    """
    if n_records < 4:
        raise ValueError("n_records must be at least 4 (one record of each kind)")
    if not 0.0 <= broken_fraction <= 1.0:
        raise ValueError("broken_fraction must be between 0 and 1")
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty")
    rng = random.Random(seed)
    plan = _plan(rng, n_records, broken_fraction)
    shutil.copytree(PROJECT / "schemas", root / "schemas")
    (root / "kb").mkdir(parents=True)
    _write(root, "kb/vocabulary.yaml", render("vocabulary", vocabulary_doc(), "kb/vocabulary.yaml"))
    result = GeneratedKB(root, {kind: len(ids) for kind, ids in plan.ids.items()}, seed=seed)
    makers: dict[str, Callable[[random.Random, str, _Plan], dict[str, Any]]] = {
        "pattern": _pattern,
        "failure": _failure,
        "template": _template,
        "outcome": _outcome,
    }
    for kind, ids in plan.ids.items():
        for index, rid in enumerate(ids):
            doc = makers[kind](rng, rid, plan)
            how = plan.broken.get((kind, index))
            relpath = _emit(root, kind, doc, how, rng)
            if how is not None:
                result.broken.append(BrokenFile(relpath, how))
    return result


def _plan(rng: random.Random, n_records: int, broken_fraction: float) -> _Plan:
    counts = {kind: max(1, round(n_records * share)) for kind, share in SHARES.items()}
    counts["outcome"] = n_records - sum(counts.values())
    ids = {
        "pattern": [_snake_id(rng, "pattern", i) for i in range(counts["pattern"])],
        "failure": [_snake_id(rng, "failure", i) for i in range(counts["failure"])],
        "template": [_snake_id(rng, "template", i) for i in range(counts["template"])],
        "outcome": [_outcome_id(rng, i) for i in range(counts["outcome"])],
    }
    slots = [(kind, i) for kind, kind_ids in ids.items() for i in range(len(kind_ids))]
    n_broken = round(n_records * broken_fraction)
    # Keep at least one valid record of each referenced kind so references have targets.
    spare = [s for s in slots if s[0] == "outcome" or s[1] > 0]
    chosen = sorted(
        rng.sample(spare, min(n_broken, len(spare))), key=lambda s: (list(ids).index(s[0]), s[1])
    )
    broken: dict[tuple[str, int], str] = {}
    for turn, slot in enumerate(chosen):
        hows = [h for h in BREAKAGES if slot[0] != "failure" or h not in NO_DROIDS_OR_RATES]
        broken[slot] = hows[turn % len(hows)]
    return _Plan(ids, broken)


def _snake_id(rng: random.Random, kind: str, index: int) -> str:
    domain = rng.choice(DOMAINS).replace("-", "_")
    word = rng.choice(WORDS[kind])
    return f"{domain}_{word}_{index}"


def _outcome_id(rng: random.Random, index: int) -> str:
    day = FIRST_DAY + timedelta(days=rng.randrange((LAST_DAY - FIRST_DAY).days + 1))
    return f"{day.isoformat()}-{rng.choice(PROJECT_WORDS)}-{index}"


def _pick(rng: random.Random, pool: Sequence[str], low: int, high: int) -> list[str]:
    return rng.sample(list(pool), min(len(pool), rng.randint(low, high)))


def _sentences(rng: random.Random, low: int, high: int) -> list[str]:
    return [rng.choice(SENTENCES) for _ in range(rng.randint(low, high))]


def _head(kind: str, rid: str) -> dict[str, Any]:
    return {"kind": kind, "schema_version": SCHEMA_VERSIONS[kind], "id": rid}


def _pattern(rng: random.Random, rid: str, _plan: _Plan) -> dict[str, Any]:
    return {
        **_head("pattern", rid),
        "title": rid.replace("_", " ").capitalize(),
        "description": " ".join(_sentences(rng, 1, 3)),
        "domains": _pick(rng, DOMAINS, 1, 3),
        "phases": _pick(rng, PHASES, 1, 3),
        "key_droids": _pick(rng, DROIDS, 2, 4),
        "quality_improvements": _pick(rng, IMPROVEMENTS, 1, 3),
        "best_practices": _sentences(rng, 1, 4),
        "prior": {
            "success_rate": round(rng.uniform(0.5, 0.99), 2),
            "timeline_optimization": round(rng.uniform(0.0, 0.5), 2),
            "weight": rng.choice([5, 10, 20]),
            "source": "synthetic benchmark data",
        },
    }


def _failure(rng: random.Random, rid: str, _plan: _Plan) -> dict[str, Any]:
    return {
        **_head("failure", rid),
        "title": rid.replace("_", " ").capitalize(),
        "domains": _pick(rng, DOMAINS, 1, 3),
        "common_causes": _sentences(rng, 2, 5),
        "prevention_strategies": _sentences(rng, 2, 4),
        "fallback_strategies": _sentences(rng, 1, 3),
    }


def _template(rng: random.Random, rid: str, _plan: _Plan) -> dict[str, Any]:
    phases = [
        {
            "phase": phase,
            "name": phase.replace("_", " ").title(),
            "droids": _pick(rng, DROIDS, 1, 3),
            "description": rng.choice(SENTENCES),
        }
        for phase in _pick(rng, PHASES, 3, 5)
    ]
    low = rng.randint(1, 8)
    return {
        **_head("template", rid),
        "title": rid.replace("_", " ").capitalize(),
        "domains": _pick(rng, DOMAINS, 1, 2),
        "phases": phases,
        "risk_level": rng.choice(["low", "medium", "high", "critical"]),
        "estimated_timeline": {"min_weeks": low, "max_weeks": low + rng.randint(1, 8)},
        "prior": {
            "success_probability": round(rng.uniform(0.5, 0.95), 2),
            "weight": 10,
            "source": "synthetic benchmark data",
        },
    }


def _outcome(rng: random.Random, rid: str, plan: _Plan) -> dict[str, Any]:
    doc: dict[str, Any] = {
        **_head("outcome", rid),
        "project": rid[11:].replace("-", " ").title(),
        "date": rid[:10],
        "outcome": rng.choices(["success", "partial", "failure"], [7, 2, 1])[0],
        "domains": _pick(rng, DOMAINS, 1, 3),
    }
    if rng.random() < 0.7:
        doc["template"] = rng.choice(plan.valid("template"))
    doc["patterns_applied"] = _pick(rng, plan.valid("pattern"), 1, 3)
    doc["droids_used"] = _pick(rng, DROIDS, 2, 5)
    failures = _pick(rng, plan.valid("failure"), 0, 2)
    if failures:
        doc["failures_met"] = [
            {"failure": f, "recovered": rng.random() < 0.7, "how": rng.choice(SENTENCES)}
            for f in failures
        ]
    planned = rng.randint(5, 90)
    doc["timeline"] = {
        "planned_days": planned,
        "actual_days": max(1, planned + rng.randint(-5, 30)),
    }
    doc["quality_score"] = round(rng.uniform(0.4, 1.0), 2)
    doc["error_count"] = rng.randint(0, 20)
    doc["user_satisfaction"] = round(rng.uniform(0.3, 1.0), 2)
    return doc


def _emit(root: Path, kind: str, doc: dict[str, Any], how: str | None, rng: random.Random) -> str:
    """Render and write one record, broken as `how` says; return its relative path."""
    relpath = _relpath(kind, doc["id"])
    if how is not None:
        doc = _break_doc(kind, doc, how)
    if how == "wrong_file_name":
        stem, _ = relpath.rsplit(".", 1)
        relpath = f"{stem}{'-' if kind == 'outcome' else '_'}misnamed.yaml"
    text = render(kind, doc, relpath)
    if how == "duplicate_key":
        text += "schema_version: 1\n"  # a second top-level key: YAML would keep the last
    elif how == "yaml_syntax":
        lines = text.splitlines(keepends=True)
        at = rng.randint(2, len(lines))  # after the modeline, anywhere in the body
        lines.insert(at, "notes: a colon: inside a plain value\n")  # always a syntax error
        text = "".join(lines)
    _write(root, relpath, text)
    return relpath


def _break_doc(kind: str, doc: dict[str, Any], how: str) -> dict[str, Any]:
    """A copy of `doc` with the content-level defect `how` (text-level ones pass through)."""
    doc = json.loads(json.dumps(doc))  # deep copy: plain JSON data
    if how == "schema_violation":
        doc.pop(
            {
                "pattern": "key_droids",
                "failure": "common_causes",
                "template": "risk_level",
                "outcome": "outcome",
            }[kind]
        )
    elif how == "unknown_droid":
        droids = {
            "pattern": doc.get("key_droids"),
            "outcome": doc.get("droids_used"),
            "template": doc["phases"][0]["droids"] if kind == "template" else None,
        }[kind]
        assert droids, "only kinds that name droids are broken this way"
        droids[0] = misspell(droids[0])
    elif how == "rate_out_of_range":
        if kind == "outcome":
            doc["quality_score"] = 1.5
        else:
            key = "success_rate" if kind == "pattern" else "success_probability"
            doc["prior"][key] = 1.25
    return doc


def _relpath(kind: str, rid: str) -> str:
    folder = {"pattern": "patterns", "failure": "failures", "template": "templates"}
    if kind == "outcome":
        return f"kb/outcomes/{rid[:4]}/{rid}.yaml"
    return f"kb/{folder[kind]}/{rid}.yaml"


def _write(root: Path, relpath: str, text: str) -> None:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def git_commit_all(root: Path, message: str = "synthetic knowledge base") -> None:
    """Make `root` a Git repository with everything in one commit; raise CalledProcessError."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "memkb bench",
        "GIT_AUTHOR_EMAIL": "bench@invalid",
        "GIT_COMMITTER_NAME": "memkb bench",
        "GIT_COMMITTER_EMAIL": "bench@invalid",
    }
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "commit.gpgsign=false", "commit", "-q", "-m", message],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write a KB to OUT and print what was written; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m tooling.bench.synth", description="Write a synthetic memkb knowledge base."
    )
    parser.add_argument("out", type=Path, help="directory to create (must be empty or absent)")
    parser.add_argument("--records", type=int, default=10_000, help="record files to write")
    parser.add_argument("--broken", type=float, default=0.0, help="fraction of files to break")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same KB)")
    parser.add_argument("--git", action="store_true", help="make OUT a Git repo, one commit")
    args = parser.parse_args(argv)
    try:
        kb = generate_kb(args.out, args.records, broken_fraction=args.broken, seed=args.seed)
    except (ValueError, FileExistsError) as exc:
        print(f"synth: error: {exc}", file=sys.stderr)
        return 2
    if args.git:
        git_commit_all(args.out)
    counts = ", ".join(f"{n} {kind}s" for kind, n in kb.counts.items())
    print(f"wrote {kb.n_records} records to {args.out}: {counts}")
    if kb.broken:
        ways = ", ".join(f"{how} {n}" for how, n in sorted(kb.breakages.items()))
        print(f"broke {len(kb.broken)} files: {ways}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
