"""Helpers for the legacy-shape tests: a generator of big section files, and a vocabulary
extender standing in for `import-legacy --extend-vocabulary` (built on another branch)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from memkb.kb.refs import VOCABULARY_TARGETS, refs_of
from memkb.records.load import load_bytes

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


def extend_vocabulary(root: Path) -> list[str]:
    """Declare in kb/vocabulary.yaml every droid, domain and phase the records use that it
    lacks; returns them as 'target name'. (What --extend-vocabulary will do.)"""
    vocab_path = root / "kb" / "vocabulary.yaml"
    vocab = load_bytes(vocab_path.read_bytes(), "kb/vocabulary.yaml").doc
    assert isinstance(vocab, dict)
    known = {t: set(vocab.get(f"{t}s") or {}) for t in VOCABULARY_TARGETS}
    missing: dict[str, list[str]] = {t: [] for t in VOCABULARY_TARGETS}
    for path in sorted((root / "kb").rglob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        doc = load_bytes(path.read_bytes(), rel).doc
        if not isinstance(doc, dict) or doc.get("kind") == "vocabulary":
            continue
        for ref in refs_of(str(doc.get("kind")), doc):
            if ref.target in known and ref.value not in known[ref.target]:
                known[ref.target].add(ref.value)
                missing[ref.target].append(ref.value)
    text = vocab_path.read_text(encoding="utf-8")
    for target, names in missing.items():
        if names:
            text = _add_names(text, f"{target}s", names)
    vocab_path.write_text(text, encoding="utf-8")
    return [f"{t} {n}" for t, names in missing.items() for n in names]


def _add_names(text: str, section: str, names: list[str]) -> str:
    """Insert `names` at the end of the top-level `section:` block of the vocabulary."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{section}:"))
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "\n")), len(lines)
    )
    added = [f"  {n}:\n    description: Imported from a legacy memory by the tests.\n"
             for n in names]  # fmt: skip
    return "".join(lines[:end] + added + lines[end:])
