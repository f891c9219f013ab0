"""Synthetic legacy memories for the import benchmark: the one-file-per-section shape.

`generate_sections(out, patterns=10_000)` writes, in the folder `out`, the shape the
orchestrators of this family write today (issue 10, shape 1):

    success_patterns.json   {version, last_updated, patterns: [{id (kebab-case), name,
                             category, description, success_rate, projects: [..],
                             key_elements: [..], common_tools: [..], times_used,
                             last_used, utility_score}], core_patterns, insights}
    failure_patterns.json   {version, last_updated, patterns: [{id, name, category,
                             description, failure_rate, common_issues: [..],
                             warning_signs: [..], solutions: [..]}], insights}
    project_templates.json  {version, last_updated, templates: [{id, name, category,
                             description, success_rate, complexity,
                             estimated_setup_time, tech_stack: {layer: [..]}}], insights}

with a tenth as many failures and a fiftieth as many templates. `seed_shape(memory)`
gives the same entries in the seed's shape (one JSON object of keyed sections), which
the importer read before the sections reader existed. Output is a pure function of
(patterns, seed): dates come from a fixed range, never from today.

    python -m tooling.bench.legacy_synth OUT [--patterns 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any


def _words(text: str) -> list[str]:
    """Word lists written as one string, to keep the data compact."""
    return text.split()


# Categories: half are domains of the bundled vocabulary, half new names that
# --extend-vocabulary adds (so the benchmark times that work too).
CATEGORIES = _words(
    "frontend backend database security performance authentication e-commerce finance "
    "logistics data-pipeline mobile devops analytics messaging search payments"
)
TOOLS = _words("react next-js postgres redis kafka docker terraform jest playwright fastapi")
WORDS = _words(
    "cache index queue token schema session retry batch stream shard replica audit "
    "webhook migration rollout feature flag contract boundary budget"
)
PHASES = ("security_first", "database_api", "frontend_integration", "testing_qa", "rollout")
DROIDS = ("backend-architect", "frontend-developer", "security-auditor", "api-designer")
COMPLEXITY = ("low", "medium", "high")
SETUP = ("15-30 minutes", "2 hours", "1-2 days", "3 weeks")
LAYERS = ("frontend", "backend", "database", "infrastructure")
FIRST_DAY = date(2024, 1, 1)
LAST_UPDATED = "2025-11-30T12:00:00Z"


@dataclass
class LegacyMemory:
    """The documents written (file name -> JSON object) and the folder holding them."""

    folder: Path
    documents: dict[str, dict[str, Any]]

    @property
    def counts(self) -> dict[str, int]:
        """Entries per file."""
        return {name: len(_entries(doc)) for name, doc in self.documents.items()}


def _entries(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc.get("patterns", doc.get("templates", [])))


def _sentence(rng: random.Random, n: int = 6) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _kebab_id(rng: random.Random, i: int) -> str:
    return f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-pattern-{i}"


def _pattern(rng: random.Random, i: int) -> dict[str, Any]:
    last_used = FIRST_DAY + timedelta(days=rng.randrange(600))
    return {
        "id": _kebab_id(rng, i),
        "name": _sentence(rng, 3).rstrip("."),
        "category": rng.choice(CATEGORIES),
        "description": _sentence(rng, 12),
        "success_rate": round(rng.uniform(0.5, 0.99), 2),
        "projects": [f"Project {rng.randrange(2000)}" for _ in range(rng.randrange(0, 3))],
        "key_elements": [_sentence(rng) for _ in range(rng.randrange(1, 4))],
        "common_tools": rng.sample(TOOLS, rng.randrange(1, 4)),
        "times_used": rng.randrange(0, 40),
        "last_used": last_used.isoformat(),
        "utility_score": round(rng.uniform(0, 10), 1),
    }


def _failure(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "id": f"{rng.choice(WORDS)}-failure-{i}",
        "name": _sentence(rng, 3).rstrip("."),
        "category": rng.choice(CATEGORIES),
        "description": _sentence(rng, 10),
        "failure_rate": round(rng.uniform(0.05, 0.6), 2),
        "common_issues": [_sentence(rng) for _ in range(rng.randrange(1, 4))],
        "warning_signs": [_sentence(rng) for _ in range(rng.randrange(1, 3))],
        "solutions": [_sentence(rng) for _ in range(rng.randrange(1, 4))],
    }


def _template(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "id": f"{rng.choice(CATEGORIES)}-starter-{i}",
        "name": _sentence(rng, 3).rstrip("."),
        "category": rng.choice(CATEGORIES),
        "description": _sentence(rng, 10),
        "success_rate": round(rng.uniform(0.6, 0.95), 2),
        "complexity": rng.choice(COMPLEXITY),
        "estimated_setup_time": rng.choice(SETUP),
        "tech_stack": {
            layer: rng.sample(TOOLS, 2) for layer in rng.sample(LAYERS, rng.randrange(1, 4))
        },
    }


def sections(patterns: int = 10_000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """The three documents of a memory with `patterns` success patterns."""
    rng = random.Random(seed)
    success = [_pattern(rng, i) for i in range(patterns)]
    failures = [_failure(rng, i) for i in range(max(1, patterns // 10))]
    templates = [_template(rng, i) for i in range(max(1, patterns // 50))]
    head = {"version": "2.0", "last_updated": LAST_UPDATED}
    best = sorted(success, key=lambda p: -p["success_rate"])[:5]
    return {
        "success_patterns.json": {
            **head,
            "patterns": success,
            "core_patterns": [p["id"] for p in success[:3]],
            "insights": {
                "most_successful_patterns": [p["id"] for p in best],
                "common_success_factors": [_sentence(rng) for _ in range(3)],
                "recommended_tools": TOOLS[:3],
            },
        },
        "failure_patterns.json": {
            **head,
            "patterns": failures,
            "insights": {"common_failure_causes": [_sentence(rng) for _ in range(3)]},
        },
        "project_templates.json": {
            **head,
            "templates": templates,
            "insights": {"fastest_setup": templates[0]["id"]},
        },
    }


def generate_sections(out: Path, patterns: int = 10_000, seed: int = 0) -> LegacyMemory:
    """Write the memory of `sections(patterns, seed)` into the folder `out`."""
    out.mkdir(parents=True, exist_ok=True)
    documents = sections(patterns, seed)
    for name, doc in documents.items():
        (out / name).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return LegacyMemory(out, documents)


def _snake(kebab: str) -> str:
    return kebab.replace("-", "_")


def seed_shape(memory: LegacyMemory) -> dict[str, Any]:
    """The same entries in the seed's shape (keyed sections, the fields its converter
    reads), with droids and phases picked from the category so every record is complete:
    what `memkb import-legacy` read before the sections reader existed."""
    docs = memory.documents
    patterns = {
        _snake(p["id"]): {
            "title": p["name"],
            "description": p["description"],
            "domain": [p["category"]],
            "applicable_phases": [PHASES[len(p["category"]) % len(PHASES)]],
            "key_droids": [DROIDS[len(p["id"]) % len(DROIDS)]],
            "success_rate": p["success_rate"],
            "best_practices": p["key_elements"],
            "last_updated": p["last_used"],
        }
        for p in docs["success_patterns.json"]["patterns"]
    }
    failures = {
        _snake(f["id"]): {
            "title": f["name"],
            "description": f["description"],
            "common_causes": f["common_issues"],
            "prevention_strategies": f["solutions"],
        }
        for f in docs["failure_patterns.json"]["patterns"]
    }
    return {
        "success_patterns": patterns,
        "failure_patterns": failures,
        "learning_metrics": {"total_projects": len(patterns)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    memory = generate_sections(args.out, args.patterns, args.seed)
    print(f"wrote {args.out}: {memory.counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
