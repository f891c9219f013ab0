"""Helpers for the legacy-shape tests: a generator of big section files."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

CATEGORIES = ("frontend", "backend", "database", "security", "Mobile Apps", "devops")
TOOLS = ("react", "vue", "fastapi", "django", "postgres", "redis", "docker", "zod")


def success_patterns_file(path: Path, count: int, *, seed: int = 10) -> Path:
    """Write a success_patterns.json (one-file-per-section shape) of `count` patterns:
    kebab-case ids, percentages and fractions, named and dated projects, extras."""
    rng = random.Random(seed)
    patterns: list[dict[str, Any]] = []
    for i in range(count):
        entry: dict[str, Any] = {
            "id": f"generated-pattern-{i}",
            "name": f"Generated pattern {i}",
            "category": rng.choice(CATEGORIES),
            "description": f"Pattern number {i}, made by the test generator.",
            "success_rate": rng.choice((rng.randint(50, 99), round(rng.random(), 2))),
            "key_elements": [f"Element {i}.{k}" for k in range(rng.randint(1, 3))],
            "common_tools": rng.sample(TOOLS, rng.randint(1, 3)),
            "times_used": rng.randint(0, 40),
            "last_used": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "utility_score": round(rng.random(), 2),
        }
        if i % 3 == 0:
            entry["projects"] = [f"project-{rng.randint(0, 50)}" for _ in range(2)]
        patterns.append(entry)
    doc = {
        "version": "3.0",
        "last_updated": "2025-11-30",
        "patterns": patterns,
        "insights": {"common_success_factors": ["Generated factor"]},
    }
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path
