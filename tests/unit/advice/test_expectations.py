"""Expectations: advice under review. validate reports a broken one (KB701) at its line;
check shows how a change moves each expectation's answer (the advice delta)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from checkcases import TODAY, golden, head_branch
from memkb.cli.main import app
from memkb.validation.check import run_check
from memkb.validation.engine import validate_repo

EXPECT = "kb/expectations/shop.yaml"
PATTERN = "kb/patterns/ecommerce_security_first.yaml"


def expectation(
    expect: str, query: str = "domains: [e-commerce]\n  phases: [security_first]"
) -> str:
    return (
        "# yaml-language-server: $schema=../../schemas/expectation.schema.json\n"
        "kind: expectation\nschema_version: 1\nid: shop\n"
        f"query:\n  {query}\nexpect:\n{expect}"
    )


def findings(repo: Path, **kwargs: object) -> list[tuple[str, int, str, str]]:
    result = validate_repo(repo, **kwargs)  # type: ignore[arg-type]
    return [(f.path, f.line, f.code, f.message) for f in result.findings]


def test_the_bundled_expectations_hold(kb_advice: Path) -> None:
    assert sorted(p.name for p in (kb_advice / "kb/expectations").iterdir()) == [
        "authentication_security_first_advice.yaml",
        "ecommerce_security_first_advice.yaml",
        "healthcare_not_the_shop_template.yaml",
    ]
    assert findings(kb_advice) == []


def test_a_broken_top_pattern_is_kb701_at_its_line(kb_advice: Path) -> None:
    (kb_advice / EXPECT).write_text(
        expectation("  top_pattern: authentication_jwt_security_first\n")
    )
    assert findings(kb_advice) == [
        (
            EXPECT,
            9,
            "KB701",
            "e-commerce / security_first: top pattern is ecommerce_security_first, "
            "expected authentication_jwt_security_first",
        )
    ]


def test_include_and_exclude_are_each_checked(kb_advice: Path) -> None:
    (kb_advice / EXPECT).write_text(
        expectation(
            "  guards_include: [database_migration_failures, payment_webhook_timeout]\n"
            "  patterns_exclude: [ecommerce_security_first]\n",
            query="domains: [healthcare]",
        )
    )
    assert [m for *_, m in findings(kb_advice)] == [
        "healthcare / any phase: database_migration_failures is not among the guards "
        "(payment_webhook_timeout)",
        "healthcare / any phase: ecommerce_security_first is among the patterns "
        "(ecommerce_security_first), expected never",
    ]


def test_an_unknown_name_in_a_query_is_kb304_not_a_crash(kb_advice: Path) -> None:
    (kb_advice / EXPECT).write_text(
        expectation("  top_pattern: ecommerce_security_first\n", query="domains: [ecommerse]")
    )
    assert [(code, line) for _, line, code, _ in findings(kb_advice)] == [("KB304", 6)]


def test_a_warm_run_sees_a_change_that_moves_the_advice(kb_advice: Path) -> None:
    (kb_advice / EXPECT).write_text(expectation("  top_pattern: ecommerce_security_first\n"))
    assert findings(kb_advice) == [] and findings(kb_advice) == []  # cold, then warm
    cache = next((kb_advice / ".git/memkb").glob("expectations.cache"))
    assert cache.stat().st_size > 0
    pattern = kb_advice / PATTERN
    pattern.write_text(pattern.read_text().replace("domains:", "status: deprecated\ndomains:"))
    broken = {p for p, _, c, _ in findings(kb_advice) if c == "KB701"}
    assert broken == {
        EXPECT,
        "kb/expectations/authentication_security_first_advice.yaml",
        "kb/expectations/ecommerce_security_first_advice.yaml",
    }


def test_validate_cli_reports_kb701_and_exits_1(kb_advice: Path) -> None:
    (kb_advice / EXPECT).write_text(expectation("  top_template: nonexistent_template\n"))
    result = CliRunner().invoke(app, ["validate", "--repo", str(kb_advice), "--json"])
    assert result.exit_code == 1
    codes = sorted(f["code"] for f in json.loads(result.stdout)["findings"])
    assert codes == ["KB304", "KB701"]  # the unknown id, and the advice that breaks


def test_check_shows_how_a_change_moves_the_advice(kb_advice: Path) -> None:
    text = (kb_advice / PATTERN).read_text()
    head_branch(
        kb_advice,
        "deprecate",
        {PATTERN: text.replace("domains:", "status: deprecated\ndomains:")},
    )
    result = run_check(kb_advice, "main", "deprecate", today=TODAY, with_metrics=False)
    moves = [(m.expectation, m.section, m.before, m.after) for m in result.advice_delta]
    assert moves == [
        (
            "authentication_security_first_advice",
            "patterns",
            ("authentication_jwt_security_first", "ecommerce_security_first"),
            ("authentication_jwt_security_first",),
        ),
        (
            "ecommerce_security_first_advice",
            "patterns",
            ("ecommerce_security_first", "authentication_jwt_security_first"),
            ("authentication_jwt_security_first",),
        ),
        ("healthcare_not_the_shop_template", "patterns", ("ecommerce_security_first",), ()),
        # it guarded against the webhook timeout; nothing else names healthcare
        ("healthcare_not_the_shop_template", "guards", ("payment_webhook_timeout",), ()),
    ]
    assert {f.code for f in result.findings} >= {"KB701"}
    from memkb.report.check import render_markdown, render_text

    md = render_markdown(result)
    assert "### Advice delta" in md
    assert (
        "| e-commerce / security_first (ecommerce_security_first_advice) | patterns | "
        "ecommerce_security_first, authentication_jwt_security_first | "
        "authentication_jwt_security_first |" in md
    )
    assert (
        "advice: e-commerce / security_first: top pattern ecommerce_security_first -> "
        "authentication_jwt_security_first (expectation ecommerce_security_first_advice)"
    ) in render_text(result)


def test_a_change_that_leaves_the_advice_alone_has_no_advice_delta(
    kb_advice: Path,
) -> None:
    text = (kb_advice / PATTERN).read_text()
    edited = text.replace("phases:", "title: Security audit first\nphases:", 1)
    assert edited != text
    head_branch(kb_advice, "note", {PATTERN: edited})
    result = run_check(kb_advice, "main", "note", today=TODAY, with_metrics=False)
    assert result.ok, result.findings
    assert result.advice_delta == []


def test_the_advice_delta_in_the_pull_request_summary_matches_its_golden(kb_advice: Path) -> None:
    from dataclasses import replace

    text = (kb_advice / PATTERN).read_text()
    head_branch(
        kb_advice, "retire", {PATTERN: text.replace("domains:", "status: deprecated\ndomains:")}
    )
    result = run_check(kb_advice, "main", "retire", today=TODAY)
    result = replace(result, base="b" * 40, head="c" * 40, fork="b" * 40)
    from memkb.report.check import render_markdown

    golden("check_advice_delta.md", render_markdown(result))
