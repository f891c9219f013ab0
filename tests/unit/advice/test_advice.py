"""memkb.advice.recommend and `memkb recommend`: exact rankings on known KBs with known
outcomes, evidence overturning a prior, aliases, deprecation, --as-of, determinism and
the bad-input paths (docs/advice.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import BUNDLED_KB, git, make_kb_repo
from memkb.advice import make_query, recommend
from memkb.advice.rank import DEMOTION, OTHER_DOMAIN_WEIGHT, W_DOMAIN, W_PHASE
from memkb.cli.main import app
from memkb.errors import RepoError, UsageError
from memkb.metrics.beta import beta_quantile

runner = CliRunner()

PATTERN = """\
# yaml-language-server: $schema=../../schemas/pattern.schema.json
kind: pattern
schema_version: 3
id: {id}
{extra}domains: [{domains}]
phases: [security_first]
key_droids: [security-auditor, backend-architect]
{guards}prior:
  success_rate: {rate}
  weight: 10
"""

FAILURE = """\
# yaml-language-server: $schema=../../schemas/failure.schema.json
kind: failure
schema_version: 3
id: {id}
domains: [{domains}]
phases: [{phases}]
warning_signs:
  - {sign}
common_causes: [Something breaks]
prevention_strategies: [{prevent}]
"""

TEMPLATE = """\
# yaml-language-server: $schema=../../schemas/template.schema.json
kind: template
schema_version: 3
id: {id}
domains: [{domains}]
phases:
  - phase: security_first
    name: Security First
    droids: [security-auditor]
  - phase: database_api
    name: Database and API
    droids: [backend-architect]
risk_level: medium
prior:
  success_probability: {rate}
  weight: 10
"""

OUTCOME = """\
# yaml-language-server: $schema=../../../schemas/outcome.schema.json
kind: outcome
schema_version: 2
id: {id}
project: {id}
date: {date}
outcome: {outcome}
domains: [{domains}]
patterns_applied: [{pattern}]
droids_used: [security-auditor]
{failures}"""

WEBHOOK_MET = "failures_met:\n  - failure: webhook_f\n    recovered: false\n"


def write(repo: Path, relpath: str, text: str) -> None:
    path = repo / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def commit(repo: Path, message: str, date: str = "2025-02-01T12:00:00Z") -> str:
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD").strip()


def pattern(rid: str, rate: float, domains: str = "e-commerce", **kw: str) -> str:
    return PATTERN.format(id=rid, rate=rate, domains=domains, extra=kw.get("extra", ""),
                          guards=kw.get("guards", ""))  # fmt: skip


def outcome(
    repo: Path, n: int, result: str, pattern_id: str, domains: str = "e-commerce", met: str = ""
) -> None:
    oid = f"2025-03-{n:02d}-project-{n}"
    text = OUTCOME.format(id=oid, date=oid[:10], outcome=result, domains=domains,
                          pattern=pattern_id, failures=met)  # fmt: skip
    write(repo, f"kb/outcomes/2025/{oid}.yaml", text)


def known_kb(root: Path) -> Path:
    """Records only, no outcomes yet: committed on 2025-02-01."""
    repo = make_kb_repo(root, with_kb=False)
    shutil.copy(BUNDLED_KB / "vocabulary.yaml", repo / "kb" / "vocabulary.yaml")
    write(repo, "kb/patterns/strong_prior.yaml", pattern("strong_prior", 0.9))
    write(repo, "kb/patterns/modest_prior.yaml",
          pattern("modest_prior", 0.7, guards="guards: [migration_f]\n"))  # fmt: skip
    write(repo, "kb/patterns/elsewhere.yaml", pattern("elsewhere", 0.95, domains="healthcare"))
    write(repo, "kb/patterns/old_way.yaml", pattern(
        "old_way", 0.99, extra="status: deprecated\nsuperseded_by: modest_prior\n"))  # fmt: skip
    write(repo, "kb/failures/webhook_f.yaml", FAILURE.format(
        id="webhook_f", domains="e-commerce, finance", phases="database_api",
        sign="Orders stay pending", prevent="Retry webhooks"))  # fmt: skip
    write(repo, "kb/failures/migration_f.yaml", FAILURE.format(
        id="migration_f", domains="database", phases="optimization",
        sign="Schemas drift", prevent="Test migrations"))  # fmt: skip
    write(repo, "kb/templates/shop_t.yaml", TEMPLATE.format(id="shop_t", domains="e-commerce",
                                                            rate=0.8))  # fmt: skip
    commit(repo, "known KB", "2025-02-01T12:00:00Z")
    return repo


def add_outcomes(repo: Path) -> str:
    """Five e-commerce failures with strong_prior (each meeting webhook_f, unrecovered),
    five e-commerce successes with modest_prior; committed on 2025-04-01."""
    for n in range(1, 6):
        outcome(repo, n, "failure", "strong_prior", met=WEBHOOK_MET)
    for n in range(6, 11):
        outcome(repo, n, "success", "modest_prior")
    return commit(repo, "ten outcomes", "2025-04-01T12:00:00Z")


@pytest.fixture
def known(tmp_path: Path) -> Path:
    repo = known_kb(tmp_path / "known")
    add_outcomes(repo)
    return repo


ECOMMERCE_SECURITY = make_query(domains=["ecommerce"], phases=["security_first"])


def ids(items: object) -> list[str]:
    return [item.id for item in items]  # type: ignore[attr-defined]


# ------------------------------------------------------------------ rankings


def test_evidence_overturns_a_prior(known: Path) -> None:
    advice = recommend(known, ECOMMERCE_SECURITY)
    # Prior 0.9 and five failures here ranks below prior 0.7 and five successes, and,
    # demoted, even below the healthcare pattern that matches the phase only.
    assert ids(advice.patterns) == ["modest_prior", "elsewhere", "strong_prior"]
    top, failed = advice.patterns[0], advice.patterns[2]
    assert failed.posterior is not None and failed.posterior.mean == 0.6  # Beta(9 + 0, 1 + 5)
    assert top.posterior is not None and top.posterior.mean == 0.8  # Beta(7 + 5, 3 + 0)
    assert "5 of 5 e-commerce projects that applied it succeeded" in top.reasons
    assert "0 of 5 e-commerce projects that applied it succeeded" in failed.reasons
    assert "prior 0.9 worth 10 outcomes" in failed.reasons
    assert f"failed in similar projects: score x{1 - DEMOTION:.3f}" in failed.reasons


def test_the_score_is_relevance_times_lower_bound(known: Path) -> None:
    advice = recommend(known, ECOMMERCE_SECURITY)
    failed = advice.patterns[2]
    # From the figures as shown (the bound rounded to 6 digits), so a reader can redo it.
    lower = round(beta_quantile(0.05, 0.9 * 10 + 0, 0.1 * 10 + 5), 6)
    assert failed.posterior is not None and failed.posterior.low == lower
    assert failed.score == round(1.0 * lower * (1 - DEMOTION), 6)
    elsewhere = advice.patterns[1]  # phase only: W_PHASE of W_DOMAIN + W_PHASE
    lower = round(beta_quantile(0.05, 9.5, 0.5), 6)
    assert elsewhere.score == round(W_PHASE / (W_DOMAIN + W_PHASE) * lower, 6)
    assert elsewhere.reasons[0] == "matches phase security_first"
    assert elsewhere.evidence == ()


def test_outcomes_from_other_domains_count_less(known: Path) -> None:
    advice = recommend(known, make_query(domains=["finance"], phases=["security_first"]))
    failed = next(i for i in advice.patterns if i.id == "strong_prior")
    assert failed.posterior is not None
    alpha, beta = 9.0, 1.0 + 5 * OTHER_DOMAIN_WEIGHT
    assert failed.posterior.mean == pytest.approx(round(alpha / (alpha + beta), 6))
    assert (
        f"0 of 5 projects in other domains that applied it succeeded (each counts "
        f"{OTHER_DOMAIN_WEIGHT})"
    ) in failed.reasons


def test_guards_rank_met_unrecovered_failures_and_declared_guards(known: Path) -> None:
    advice = recommend(known, ECOMMERCE_SECURITY)
    assert ids(advice.guards) == ["webhook_f", "migration_f"]
    webhook, migration = advice.guards
    assert "met in 5 of 10 e-commerce projects, recovered 0 of 5" in webhook.reasons
    assert "matches domain e-commerce" in webhook.reasons
    assert webhook.evidence == tuple(f"2025-03-{n:02d}-project-{n}" for n in range(1, 6))
    # 0.4/0.7 declared relevance + 5/10 met x (0+1)/(5+2) unrecovered
    assert webhook.score == round(W_DOMAIN / (W_DOMAIN + W_PHASE) + 0.5 * 6 / 7, 6)
    assert migration.reasons[-1] == "guarded against by modest_prior"
    assert migration.evidence == ()


def test_templates_with_phases_and_prior(known: Path) -> None:
    advice = recommend(known, ECOMMERCE_SECURITY)
    [template] = advice.templates
    assert template.id == "shop_t"
    assert template.reasons[:2] == (
        "matches domain e-commerce and phase security_first",
        "no recorded project applied it yet",
    )
    assert template.posterior is not None and template.posterior.mean == 0.8


def test_droids_and_text_add_relevance(known: Path) -> None:
    query = make_query(domains=["e-commerce"], droids=["security-auditor"], text="orders pending")
    advice = recommend(known, query)
    webhook = advice.guards[0]
    assert webhook.id == "webhook_f"
    assert "text matches: orders, pending" in webhook.reasons
    assert "1 of its 2 droids available: security-auditor" in advice.patterns[0].reasons


# ------------------------------------------------------------- vocabulary


def test_aliases_resolve_to_canonical_names(known: Path) -> None:
    advice = recommend(known, make_query(domains=["ecommerce", "e-commerce"]))
    assert advice.query.domains == ("e-commerce",)
    assert advice.to_dict()["query"]["domains"] == ["e-commerce"]
    assert advice.brief_id == recommend(known, make_query(domains=["e-commerce"])).brief_id


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--domain", "e-comerce", "unknown domain 'e-comerce' (did you mean 'e-commerce'?)"),
        ("--phase", "securityfirst",
         "unknown phase 'securityfirst' (did you mean 'security_first'?)"),
        ("--droid", "security-airditor",
         "unknown droid 'security-airditor' (did you mean 'security-auditor'?)"),
    ],
)  # fmt: skip
def test_unknown_name_is_a_usage_error_with_did_you_mean(
    known: Path, option: str, value: str, message: str
) -> None:
    result = runner.invoke(app, ["recommend", option, value, "--repo", str(known)])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    as_json = runner.invoke(app, ["recommend", option, value, "--json", "--repo", str(known)])
    assert as_json.exit_code == 2 and json.loads(as_json.stdout)["error"]["message"] == message


# ------------------------------------------------------------- deprecation


def test_deprecated_records_never_appear_and_successors_say_so(known: Path) -> None:
    advice = recommend(known, ECOMMERCE_SECURITY)
    assert "old_way" not in advice.ids()
    successor = advice.patterns[0]
    assert successor.supersedes == ("old_way",)
    assert successor.reasons[-1] == "supersedes old_way (deprecated)"


def test_a_deprecated_failure_is_no_guard_and_its_successor_says_so(known: Path) -> None:
    text = (known / "kb/failures/webhook_f.yaml").read_text()
    deprecated = "id: webhook_old\nstatus: deprecated\nsuperseded_by: webhook_f"
    old = text.replace("id: webhook_f", deprecated)
    write(known, "kb/failures/webhook_old.yaml", old)
    commit(known, "an older webhook failure, deprecated")
    guards = recommend(known, ECOMMERCE_SECURITY).guards
    assert [g.id for g in guards] == ["webhook_f", "migration_f"]
    assert guards[0].supersedes == ("webhook_old",)
    assert guards[0].reasons[-1] == "supersedes webhook_old (deprecated)"


# ------------------------------------------------------------- history


def test_as_of_reproduces_an_earlier_ranking(tmp_path: Path) -> None:
    repo = known_kb(tmp_path / "repo")
    first = git(repo, "rev-parse", "HEAD").strip()
    before = runner.invoke(app, ["recommend", "--domain", "e-commerce", "--phase",
                                 "security_first", "--json", "--repo", str(repo)])  # fmt: skip
    assert [p["id"] for p in json.loads(before.stdout)["patterns"]] == [
        "strong_prior", "modest_prior", "elsewhere"]  # fmt: skip
    add_outcomes(repo)
    now = recommend(repo, ECOMMERCE_SECURITY)
    assert ids(now.patterns)[0] == "modest_prior"
    for as_of in (first, "2025-03-01"):
        again = runner.invoke(app, ["recommend", "--domain", "e-commerce", "--phase",
                                    "security_first", "--json", "--as-of", as_of,
                                    "--repo", str(repo)])  # fmt: skip
        body = json.loads(again.stdout)
        assert body["commit"] == first
        body["query"]["as_of"] = None  # the only field that names how the commit was asked for
        assert body == json.loads(before.stdout)


def test_as_of_before_the_first_commit_is_a_clear_error(known: Path) -> None:
    with pytest.raises(UsageError, match="before the first commit of the knowledge base"):
        recommend(known, make_query(as_of="2024-12-31"))
    result = runner.invoke(app, ["recommend", "--as-of", "2024-12-31", "--repo", str(known)])
    assert result.exit_code == 2 and "before the first commit" in result.stderr


def test_a_repository_without_commits_is_an_environment_error(tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    (repo / "kb").mkdir(parents=True)
    git(repo, "init", "-q")
    with pytest.raises(RepoError, match="no commits yet"):
        recommend(repo, make_query())
    result = runner.invoke(app, ["recommend", "--repo", str(repo)])
    assert result.exit_code == 2 and "no commits yet" in result.stderr


def test_advice_reads_the_commit_not_the_work_tree(known: Path) -> None:
    (known / "kb/patterns/strong_prior.yaml").unlink()
    assert "strong_prior" in recommend(known, ECOMMERCE_SECURITY).ids()


# ------------------------------------------------------------- output


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_same_query_same_commit_gives_byte_identical_output(known: Path, fmt: str) -> None:
    args = ["recommend", "--domain", "ecommerce", "--phase", "security_first", "--text",
            "webhook orders", "--format", fmt, "--repo", str(known)]  # fmt: skip
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout and "modest_prior" in first.stdout


def test_json_document_fields(known: Path) -> None:
    result = runner.invoke(app, ["recommend", "--domain", "e-commerce", "--limit", "1",
                                 "--json", "--repo", str(known)])  # fmt: skip
    body = json.loads(result.stdout)
    assert body["format"] == "memkb.recommend/1"
    assert list(body) == ["format", "commit", "brief_id", "query", "templates", "patterns",
                          "guards", "notes"]  # fmt: skip
    assert body["commit"] == git(known, "rev-parse", "HEAD").strip()
    assert [len(body[s]) for s in ("templates", "patterns", "guards")] == [1, 1, 1]
    item = body["patterns"][0]
    assert list(item) == ["id", "score", "reasons", "evidence", "posterior", "supersedes"]
    assert item["reasons"] and all(isinstance(r, str) and r for r in item["reasons"])
    assert item["posterior"]["interval_90"][0] < item["posterior"]["mean"]


def test_ties_break_by_id(tmp_path: Path) -> None:
    repo = make_kb_repo(tmp_path / "ties", with_kb=False)
    shutil.copy(BUNDLED_KB / "vocabulary.yaml", repo / "kb" / "vocabulary.yaml")
    for rid in ("zeta_p", "alpha_p", "mid_p"):
        write(repo, f"kb/patterns/{rid}.yaml", pattern(rid, 0.8))
    commit(repo, "three equal patterns")
    assert ids(recommend(repo, ECOMMERCE_SECURITY).patterns) == ["alpha_p", "mid_p", "zeta_p"]
    assert ids(recommend(repo, make_query(domains=["e-commerce"], limit=2)).patterns) == [
        "alpha_p", "mid_p"]  # fmt: skip


# ------------------------------------------------------------- empty answers


def test_empty_kb_gives_empty_lists_with_reasons(tmp_path: Path) -> None:
    repo = make_kb_repo(tmp_path / "empty", with_kb=False)
    shutil.copy(BUNDLED_KB / "vocabulary.yaml", repo / "kb" / "vocabulary.yaml")
    commit(repo, "vocabulary only")
    advice = recommend(repo, ECOMMERCE_SECURITY)
    assert (advice.templates, advice.patterns, advice.guards) == ((), (), ())
    assert advice.notes == (
        "no templates: the knowledge base at this commit has no active template",
        "no patterns: the knowledge base at this commit has no active pattern",
        "no guards: the knowledge base at this commit has no active failure",
    )
    text = runner.invoke(app, ["recommend", "--domain", "e-commerce", "--repo", str(repo)])
    assert text.exit_code == 0 and "note: no patterns: the knowledge base" in text.stdout


def test_query_nothing_matches_gives_empty_lists_with_reasons(known: Path) -> None:
    advice = recommend(known, make_query(domains=["frontend"], phases=["frontend_integration"]))
    assert (advice.templates, advice.patterns, advice.guards) == ((), (), ())
    none = "none matches the query's domains, phases, droids or text"
    assert advice.notes == tuple(f"no {s}: {none}" for s in ("templates", "patterns", "guards"))


def test_bad_limit_is_a_usage_error(known: Path) -> None:
    result = runner.invoke(app, ["recommend", "--limit", "0", "--repo", str(known)])
    assert result.exit_code == 2 and "--limit must be between 1 and 1000" in result.stderr


def test_bundled_kb_recommends_for_an_ecommerce_project(kb_repo: Path) -> None:
    advice = recommend(kb_repo, ECOMMERCE_SECURITY)
    assert ids(advice.templates) == ["ecommerce_standard"]
    assert ids(advice.patterns) == ["ecommerce_security_first", "authentication_jwt_security_first"]
    assert ids(advice.guards) == ["payment_webhook_timeout", "database_migration_failures"]
    assert advice.patterns[0].evidence == ("2025-01-20-shumica-marketplace",)


def test_pruning_bound_holds_where_the_mean_is_below_the_lower_bound() -> None:
    from memkb.advice.rank import exact_posterior, upper_bound

    # Beta(1, 0.01): most mass near 1, its 5% quantile lies above its mean.
    post = exact_posterior(1.0, 1.0, 0.0, 0.01)
    assert post is not None and post.low > post.mean
    assert upper_bound(1.0, 1.0, 0.0, 0.01) >= post.low


def test_the_corpus_cache_answers_as_git_does_and_survives_damage(known: Path) -> None:
    from memkb.advice.load import forget
    from memkb.cachefile import cache_dir

    answers = cache_dir(known) / "advice" / "answers"
    fresh = recommend(known, ECOMMERCE_SECURITY, use_cache=False)
    assert not (cache_dir(known) / "advice").exists()
    first = recommend(known, ECOMMERCE_SECURITY)  # prepares and writes the corpus cache
    [cached] = (cache_dir(known) / "advice").glob("*.cache")
    assert cached.name == f"{fresh.commit}.cache"
    shutil.rmtree(answers)  # so the corpus is read back from disk, not the answer
    forget()
    assert recommend(known, ECOMMERCE_SECURITY) == first == fresh
    cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")  # damaged: rebuilt
    shutil.rmtree(answers)
    forget()
    assert recommend(known, ECOMMERCE_SECURITY) == fresh


def test_a_cached_answer_is_the_computed_one_and_a_damaged_one_is_recomputed(
    known: Path,
) -> None:
    from memkb.cachefile import cache_dir

    query = make_query(domains=["e-commerce"], droids=["security-auditor"], text="orders")
    fresh = recommend(known, query, use_cache=False)
    assert recommend(known, query) == fresh  # computed, then stored
    [stored] = (cache_dir(known) / "advice" / "answers").glob("*.cache")
    assert recommend(known, query) == fresh  # read back
    stored.write_bytes(b"garbage")
    assert recommend(known, query) == fresh
    other = make_query(domains=["e-commerce"], limit=1)
    assert recommend(known, other) == recommend(known, other, use_cache=False)
    assert len(list(stored.parent.glob("*.cache"))) == 2


def test_a_record_whose_id_is_no_identifier_never_reaches_an_answer(known: Path) -> None:
    text = pattern("x", 0.99).replace("id: x", "id: '`|bad id'")
    write(known, "kb/patterns/bad.yaml", text)
    commit(known, "a pattern with a hostile id")
    advice = recommend(known, ECOMMERCE_SECURITY)
    assert ids(advice.patterns) == ["modest_prior", "elsewhere", "strong_prior"]
