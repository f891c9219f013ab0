"""export_legacy: the seed and sections shapes, the round trip through import_legacy
without counting evidence twice, --as-of, determinism and bad destinations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import BUNDLED_KB, git, make_kb_repo
from memkb import history
from memkb.errors import UsageError
from memkb.legacy.commit_records import timeline_text
from memkb.legacy.convert import parse_timeline
from memkb.legacy.export import EXPORT_FORMAT, check_output, export_legacy, write_export
from memkb.legacy.export_sections import legacy_id
from memkb.legacy.importer import import_legacy
from memkb.records.load import load_bytes
from memkb.report import json_text, reporter

render = reporter("export-legacy-document", "json")

# A pattern without a prior (its rate is evidence only), and two outcomes with every
# field an outcome can carry: what a lossy export or a double-counting import would show.
EVIDENCE_ONLY = """\
kind: pattern
schema_version: 3
id: evidence_only
title: Evidence only
domains: [e-commerce]
phases: [security_first]
key_droids: [security-auditor]
"""
OUTCOMES = {
    "kb/outcomes/2025/2025-02-01-shop-one.yaml": """\
kind: outcome
schema_version: 2
id: 2025-02-01-shop-one
project: Shop One
date: 2025-02-01
outcome: success
domains: [e-commerce]
template: ecommerce_standard
patterns_applied: [evidence_only, ecommerce_security_first]
droids_used: [security-auditor]
failures_met:
  - failure: payment_webhook_timeout
    recovered: true
    how: Retried with backoff
timeline:
  planned_days: 10
  actual_days: 12
quality_score: 0.9
error_count: 2
user_satisfaction: 0.8
notes: Went live on time.
""",
    "kb/outcomes/2025/2025-03-01-second-shop.yaml": """\
kind: outcome
schema_version: 2
id: 2025-03-01-second-shop
project: Shop Two
date: 2025-03-01
outcome: partial
domains: [e-commerce]
patterns_applied: [evidence_only]
droids_used: [security-auditor]
""",
}


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def rich_repo(kb_repo: Path) -> Path:
    """The bundled KB plus a prior-less pattern and two outcomes with every field."""
    commit_files(kb_repo, {"kb/patterns/evidence_only.yaml": EVIDENCE_ONLY, **OUTCOMES}, "more")
    return kb_repo


def records(repo: Path) -> dict[str, Any]:
    """Every record of kb/ (but the vocabulary and expectations) as loaded data."""
    return {
        p.relative_to(repo).as_posix(): load_bytes(p.read_bytes(), p.name).doc
        for p in sorted((repo / "kb").rglob("*.yaml"))
        if p.name != "vocabulary.yaml" and "expectations" not in p.parts
    }


def reimport(tmp_path: Path, text: str) -> Path:
    """A new repository with the bundled vocabulary, `text` imported into it, committed."""
    target = make_kb_repo(tmp_path / "again", with_kb=False)
    shutil.copy(BUNDLED_KB / "vocabulary.yaml", target / "kb" / "vocabulary.yaml")
    (tmp_path / "memory.json").write_text(text)
    result = import_legacy(target, tmp_path / "memory.json")
    assert result.ok, result.findings
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "import")
    return target


def test_seed_shape_uses_the_seeds_names_and_the_derived_figures(rich_repo: Path) -> None:
    export = export_legacy(rich_repo)
    [(name, body)] = export.documents.items()
    figures = history.report(rich_repo)
    rows = {r["id"]: r for r in figures["patterns"]}
    entry = body["success_patterns"]["ecommerce_security_first"]
    assert name == "memory.json"
    assert list(entry)[:6] == [
        "pattern_id", "domain", "success_rate", "applicable_phases", "key_droids",
        "timeline_optimization",
    ]  # fmt: skip
    assert entry["success_rate"] == rows["ecommerce_security_first"]["posterior_mean"]
    assert entry["success_rate"] != 0.92  # the prior moved by two successes
    assert entry["last_updated"] == rows["ecommerce_security_first"]["last_changed"]
    assert [e["outcome_id"] for e in entry["project_examples"]] == [
        "2025-01-20-shumica-marketplace",
        "2025-02-01-shop-one",
    ]
    template = body["project_templates"]["e-commerce"]
    assert template["template_id"] == "ecommerce_standard"
    assert template["estimated_timeline"] == "2-4 weeks"
    assert template["phases"][0] == {
        "phase_name": "Security First",
        "droids": ["security-auditor"],
        "description": "Security audit and threat modeling",
    }
    assert body["learning_metrics"] == figures["learning_metrics"]
    assert body["performance_metrics"] == figures["performance_metrics"]
    assert body["failure_patterns"]["payment_webhook_timeout"]["occurrences"] == 1
    assert render(body).startswith(f'{{\n  "format": "{EXPORT_FORMAT}",')


def test_round_trip_gives_the_same_records_and_the_same_figures(
    rich_repo: Path, tmp_path: Path
) -> None:
    text = render(export_legacy(rich_repo).documents["memory.json"])
    again = reimport(tmp_path, text)
    assert records(again) == records(rich_repo)
    before, after = history.report(rich_repo), history.report(again)
    for table in ("patterns", "templates", "failures", "droids"):
        assert [_figures(r) for r in after[table]] == [_figures(r) for r in before[table]]
    assert after["learning_metrics"]["success_rate"] == before["learning_metrics"]["success_rate"]


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("first_seen", "last_changed")}


def test_exported_rates_do_not_come_back_as_priors(rich_repo: Path, tmp_path: Path) -> None:
    """The posterior of two outcomes, re-imported as a prior on top of those same two
    outcomes, would count them twice: the pattern must come back without a prior."""
    body = export_legacy(rich_repo).documents["memory.json"]
    assert body["success_patterns"]["evidence_only"]["success_rate"] == 0.75
    again = reimport(tmp_path, render(body))
    assert "prior" not in records(again)["kb/patterns/evidence_only.yaml"]
    rows = {r["id"]: r for r in history.report(again)["patterns"]}
    assert rows["evidence_only"]["posterior_mean"] == 0.75


def test_the_same_document_without_the_export_mark_imports_rates_as_priors(
    rich_repo: Path, tmp_path: Path
) -> None:
    """The control: what the mark prevents (a hand-written memory's rate is a prior)."""
    body = dict(export_legacy(rich_repo).documents["memory.json"])
    again = reimport(tmp_path, json_text(body))  # no `format` key: a plain legacy memory
    prior = records(again)["kb/patterns/evidence_only.yaml"]["prior"]
    assert prior["success_rate"] == 0.75 and prior["weight"] == 10


def test_as_of_exports_memory_as_it_was(rich_repo: Path) -> None:
    first = git(rich_repo, "rev-list", "--max-parents=0", "HEAD").strip()
    commit_files(
        rich_repo,
        {"kb/outcomes/2025/2025-04-01-late-shop.yaml": OUTCOMES[
            "kb/outcomes/2025/2025-03-01-second-shop.yaml"
        ].replace("2025-03-01-second-shop", "2025-04-01-late-shop").replace(
            "2025-03-01", "2025-04-01"
        )},
        "one more",
    )  # fmt: skip
    now = export_legacy(rich_repo).documents["memory.json"]
    then = export_legacy(rich_repo, as_of=first)
    assert then.commit == first
    old = then.documents["memory.json"]
    assert "evidence_only" not in old["success_patterns"]
    assert len(now["success_patterns"]["evidence_only"]["project_examples"]) == 3
    assert old["learning_metrics"]["total_projects"] == 1
    assert (
        export_legacy(rich_repo, as_of="1999-01-01").documents["memory.json"]["success_patterns"]
        == {}
    )
    with pytest.raises(UsageError, match="not a commit"):
        export_legacy(rich_repo, as_of="no-such-rev")


def test_output_is_byte_identical_run_to_run_and_cache_to_no_cache(rich_repo: Path) -> None:
    for shape in ("seed", "sections"):
        cold = export_legacy(rich_repo, shape=shape, use_cache=False).documents
        warm = [export_legacy(rich_repo, shape=shape).documents for _ in range(2)]
        texts = [{k: render(v) for k, v in d.items()} for d in (cold, *warm)]
        assert texts[0] == texts[1] == texts[2]


def test_sections_shape_has_the_orchestrators_fields(rich_repo: Path) -> None:
    docs = export_legacy(rich_repo, shape="sections").documents
    assert list(docs) == [
        "success_patterns.json", "failure_patterns.json", "project_templates.json",
        "learning_metrics.json",
    ]  # fmt: skip
    patterns = {p["id"]: p for p in docs["success_patterns.json"]["patterns"]}
    shop = patterns["ecommerce-security-first"]
    assert shop["projects"] == ["Shumica Marketplace", "Shop One"]
    assert shop["times_used"] == 2 and shop["last_used"] == "2025-02-01"
    assert shop["category"] == "e-commerce" and shop["common_tools"] == []
    assert patterns["evidence-only"]["name"] == "Evidence only"
    failure = docs["failure_patterns.json"]["patterns"][1]
    assert failure["id"] == "payment-webhook-timeout"
    assert failure["failure_rate"] == round(1 / 3, 6)  # met by one project of three
    assert failure["solutions"][0] == "Test webhooks during development"
    [template] = docs["project_templates.json"]["templates"]
    assert template["complexity"] == "medium" and template["estimated_setup_time"] == "2-4 weeks"
    metrics = docs["learning_metrics.json"]
    assert metrics["global_metrics"]["total_projects"] == 3
    assert metrics["global_metrics"]["most_used_patterns"][0] == "ecommerce-security-first"
    for doc in docs.values():
        assert doc["version"] == "1.0" and doc["last_updated"].endswith("Z")


def test_legacy_id_prefers_the_id_the_import_kept() -> None:
    assert legacy_id({"id": "jwt_refresh", "legacy": {"id": "jwt-refresh-2025-11"}}) == (
        "jwt-refresh-2025-11"
    )
    assert legacy_id({"id": "jwt_refresh"}) == "jwt-refresh"
    assert legacy_id({"id": "jwt_refresh", "legacy": {"utility_score": 3}}) == "jwt-refresh"


@pytest.mark.parametrize(
    ("weeks", "text"),
    [({"min_weeks": 2, "max_weeks": 4}, "2-4 weeks"), ({"min_weeks": 3, "max_weeks": 3},
     "3 weeks"), ({"min_weeks": 1.5, "max_weeks": 2}, "1.5-2 weeks")],
)  # fmt: skip
def test_timelines_are_written_as_the_importer_reads_them(
    weeks: dict[str, float], text: str
) -> None:
    assert timeline_text(weeks) == text
    assert parse_timeline(text) == weeks


def test_an_outcome_that_applied_no_pattern_is_named_as_omitted(kb_repo: Path) -> None:
    lone = OUTCOMES["kb/outcomes/2025/2025-03-01-second-shop.yaml"].replace(
        "patterns_applied: [evidence_only]\n", ""
    )
    commit_files(kb_repo, {"kb/outcomes/2025/2025-03-01-second-shop.yaml": lone}, "lone")
    export = export_legacy(kb_repo)
    assert export.omitted == ["2025-03-01-second-shop"]


def test_an_empty_repository_exports_empty_sections(empty_kb_repo: Path) -> None:
    body = export_legacy(empty_kb_repo).documents["memory.json"]
    assert body["success_patterns"] == body["project_templates"] == {}
    assert body["learning_metrics"]["total_projects"] == 0


def test_unknown_shape_is_a_usage_error(kb_repo: Path) -> None:
    with pytest.raises(UsageError, match="unknown shape 'csv'"):
        export_legacy(kb_repo, shape="csv")


@pytest.mark.parametrize(
    ("where", "shape", "message"),
    [
        ("kb/memory.json", "seed", "inside kb/"),
        ("kb", "sections", "inside kb/"),
        ("missing/dir/memory.json", "seed", "does not exist"),
        ("taken.json", "sections", "is a file"),
    ],
)
def test_bad_destinations_are_refused_before_any_work(
    kb_repo: Path, where: str, shape: str, message: str
) -> None:
    (kb_repo / "taken.json").write_text("{}")
    with pytest.raises(UsageError, match=message):
        check_output(kb_repo, kb_repo / where, shape)


def test_writing_sections_creates_the_directory_and_every_file(
    kb_repo: Path, tmp_path: Path
) -> None:
    export = export_legacy(kb_repo, shape="sections")
    texts = {name: render(body) for name, body in export.documents.items()}
    target = check_output(kb_repo, tmp_path / "legacy", "sections")
    assert target is not None
    written = write_export(target, "sections", texts)
    assert sorted(p.name for p in written) == sorted(texts)
    for path in written:
        assert json.loads(path.read_text())["format"] == EXPORT_FORMAT


def test_a_new_commit_is_a_new_export_not_the_cached_one(kb_repo: Path) -> None:
    first = export_legacy(kb_repo)
    assert export_legacy(kb_repo) == first  # the cached export of the same commit
    commit_files(kb_repo, {"kb/patterns/evidence_only.yaml": EVIDENCE_ONLY}, "one more pattern")
    second = export_legacy(kb_repo)
    assert second.commit != first.commit
    assert "evidence_only" in second.documents["memory.json"]["success_patterns"]


def test_a_synthetic_kb_of_200_records_round_trips_byte_for_byte(tmp_path: Path) -> None:
    """Every kind and field the benchmark generator writes, templates sharing a domain
    (keyed "<domain>/<id>") included: the same files, and the same posteriors."""
    from tooling.bench.synth import generate_kb, git_commit_all

    source = tmp_path / "source"
    generate_kb(source, 200, seed=3)
    git_commit_all(source)
    body = export_legacy(source).documents["memory.json"]
    assert any("/" in key for key in body["project_templates"])
    target = make_kb_repo(tmp_path / "target", with_kb=False)
    shutil.copy(source / "kb" / "vocabulary.yaml", target / "kb" / "vocabulary.yaml")
    (tmp_path / "memory.json").write_text(render(body))
    assert import_legacy(target, tmp_path / "memory.json").ok
    files = sorted(p.relative_to(source) for p in (source / "kb").rglob("*.yaml"))
    assert files == sorted(p.relative_to(target) for p in (target / "kb").rglob("*.yaml"))
    for rel in files:
        assert (target / rel).read_bytes() == (source / rel).read_bytes(), rel
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "import")
    before, after = history.report(source), history.report(target)
    assert [_figures(r) for r in after["patterns"]] == [_figures(r) for r in before["patterns"]]


def test_a_sections_export_reimports_its_knowledge_without_its_figures(
    rich_repo: Path, tmp_path: Path
) -> None:
    """The sections shape is a view: its text fields come back, while its derived rates
    and counts (posteriors of the exporting KB's outcomes) never become priors."""
    export = export_legacy(rich_repo, shape="sections")
    texts = {name: render(body) for name, body in export.documents.items()}
    write_export(tmp_path / "out", "sections", texts)
    target = make_kb_repo(tmp_path / "again", with_kb=False)
    shutil.copy(BUNDLED_KB / "vocabulary.yaml", target / "kb" / "vocabulary.yaml")
    result = import_legacy(target, tmp_path / "out")
    assert result.ok, result.findings
    before, after = records(rich_repo), records(target)
    pattern, failure = "ecommerce_security_first", "payment_webhook_timeout"
    for path in (f"kb/patterns/{pattern}.yaml", f"kb/failures/{failure}.yaml"):
        for field in ("description", "domains", "phases", "key_droids", "best_practices"):
            # (a record without a description comes back with an empty one)
            assert (after[path].get(field) or None) == before[path].get(field), (path, field)
    assert (
        after[f"kb/failures/{failure}.yaml"]["warning_signs"]
        == (before[f"kb/failures/{failure}.yaml"]["warning_signs"])
    )
    patterns = [doc for path, doc in after.items() if "/patterns/" in path]
    assert patterns and all("prior" not in doc for doc in patterns)
    assert all("times_used" not in doc.get("legacy", {}).get("extra", {}) for doc in patterns)
    notes = [f.message for f in result.findings if f.code == "KB607"]
    assert any("exported by memkb" in note for note in notes)
    assert not [f for f in result.findings if f.code == "KB622" and "'format'" in f.message]
