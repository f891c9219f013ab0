"""Safety corpus: how many attacks `memkb.rules.safety` catches, and how much benign text it flags.

Reads tests/data/safety/ (injections.yaml, secrets.yaml, benign.yaml; see its README)
and prints, per category, the rate and the entries on the wrong side. Targets (from
issue 13) are printed as PASS/MISS for information: this is a measurement, the
per-entry assertions live in tests/unit/rules/test_safety_corpus.py.

    .venv/bin/python -m tooling.bench.safety_corpus [--corpus DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from memkb.rules.safety import scan_text

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "data" / "safety"


@dataclass(frozen=True)
class Category:
    """A corpus file, the codes that count as caught, and the target rate."""

    file: str
    wanted: frozenset[str]  # empty: benign, nothing may be flagged
    target: float
    label: str


CATEGORIES = (
    Category("injections.yaml", frozenset({"KB502", "KB504"}), 0.90, "injections caught"),
    Category("secrets.yaml", frozenset({"KB501"}), 0.95, "secrets caught"),
    Category("benign.yaml", frozenset(), 0.05, "benign texts flagged"),
)


@dataclass(frozen=True)
class Entry:
    """One corpus case: the YAML document scanned, and whether it is asserted alone."""

    id: str
    document: str
    sure: bool


def load(path: Path) -> list[Entry]:
    """The entries of one corpus file (parts of `text`/`raw` lists are joined)."""
    entries = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8")):
        if "raw" in item:
            document = _joined(item["raw"])
        else:
            document = f"notes: {json.dumps(_joined(item['text']), ensure_ascii=False)}\n"
        entries.append(Entry(str(item["id"]), document, item.get("sure", True) is not False))
    return entries


def _joined(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def codes_of(entry: Entry) -> set[str]:
    """The safety codes the scanner reports for the entry's document."""
    return {hit.code for hit in scan_text("kb/patterns/corpus.yaml", entry.document.encode())}


def is_right(category: Category, entry: Entry) -> bool:
    """True if the scanner classifies the entry as its category expects."""
    found = codes_of(entry)
    return bool(found & category.wanted) if category.wanted else not found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    for category in CATEGORIES:
        entries = load(args.corpus / category.file)
        wrong = [e.id for e in entries if not is_right(category, e)]
        hits = len(wrong) if not category.wanted else len(entries) - len(wrong)
        rate = hits / len(entries)
        met = rate <= category.target if not category.wanted else rate >= category.target
        bound = "<=" if not category.wanted else ">="
        print(
            f"{category.label:22} {hits:3}/{len(entries):<3} = {rate:6.1%}  "
            f"(target {bound} {category.target:.0%}: {'PASS' if met else 'MISS'})"
        )
        if wrong:
            print(f"  {'flagged' if not category.wanted else 'missed'}: {', '.join(wrong)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
