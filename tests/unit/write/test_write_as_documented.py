"""memkb used as its docs describe: what a write accepts, `memkb check` accepts; values
are stored as the schema and the vocabulary mean them; help shows its examples."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import PROJECT, RECORD, git, make_kb_repo
from memkb.cli.main import app
from memkb.errors import RecordError
from memkb.validation.check import run_check
from memkb.write.authoring import set_field

PATTERN = "kb/patterns/ecommerce_security_first.yaml"


def run(repo: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--repo", str(repo)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


# ------------------------------------------------------------ KB405: write = check


def test_setting_a_merged_prior_is_refused_as_check_would(kb_repo: Path) -> None:
    head = git(kb_repo, "rev-parse", "HEAD")
    code, out = run(kb_repo, "set", "pattern", "ecommerce_security_first", "prior.weight", "12")
    assert code == 1, out
    assert "KB405" in out and "prior.weight" in out
    assert git(kb_repo, "rev-parse", "HEAD") == head
    assert git(kb_repo, "status", "--porcelain") == ""


def allow_weight_12(repo: Path, reason: str) -> None:
    """A reviewed KB405 exception for exactly the file that `prior.weight 12` leaves."""
    after = (repo / PATTERN).read_text().replace("weight: 10", "weight: 12")
    digest = hashlib.sha256(after.encode()).hexdigest()
    (repo / "kb/.memkb-allow.yaml").write_text(
        f"allow:\n  - code: KB405\n    path: {PATTERN}\n    sha256: {digest}\n"
        f"    reason: {reason}\n    reviewer: Test Person\n"
    )


def test_a_reviewed_exception_lets_the_write_and_the_check_pass(kb_repo: Path) -> None:
    allow_weight_12(kb_repo, "the legacy weight was mistyped (ticket 7)")
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "reviewed exception")
    base = git(kb_repo, "rev-parse", "HEAD").strip()

    result = set_field(kb_repo, "pattern", "ecommerce_security_first", "prior.weight", 12)

    checked = run_check(kb_repo, base, "main")
    assert [a.finding.code for a in checked.allowed] == ["KB405"]
    assert result.commit is not None and checked.ok


def test_a_prior_of_a_record_not_yet_merged_can_be_set(kb_repo: Path) -> None:
    git(kb_repo, "checkout", "-q", "-b", "proposal")
    code, out = run(
        kb_repo,
        "new",
        "pattern",
        "fresh_pattern",
        "--domain",
        "e-commerce",
        "--phase",
        "security_first",
        "--droid",
        "security-auditor",
        "--field",
        "prior={success_rate: 0.5, weight: 2}",
    )
    assert code == 0, out
    result = set_field(kb_repo, "pattern", "fresh_pattern", "prior.weight", 3)
    assert run_check(kb_repo, "main", "proposal").ok and result.commit


def test_the_documented_prior_example_shows_the_refusal() -> None:
    docs = (PROJECT / "docs/authoring.md").read_text()
    example = docs.split("set pattern ecommerce_security_first prior.weight 12\n", 1)[1]
    assert example.startswith("memkb: error:") and "KB405" in example.splitlines()[1]


def test_record_error_is_raised_by_the_library_too(kb_repo: Path) -> None:
    with pytest.raises(RecordError) as caught:
        set_field(kb_repo, "pattern", "ecommerce_security_first", "prior.success_rate", 0.99)
    assert any("KB405" in str(f) for f in caught.value.findings)


# ------------------------------------------------------- --push: only memory commits


def test_push_never_publishes_an_unrelated_local_commit(tmp_path: Path) -> None:
    seed = make_kb_repo(tmp_path / "seed")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(remote))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    (clone / "notes.txt").write_text("unreviewed work in progress\n")
    git(clone, "add", "notes.txt")
    git(clone, "commit", "-q", "-m", "WIP: unreviewed")
    head, remote_head = git(clone, "rev-parse", "HEAD"), git(remote, "rev-parse", "main")

    code, out = run(clone, *RECORD, "--push")

    assert code == 2, out
    assert "WIP: unreviewed" in out and "not memory writes" in out
    assert git(remote, "rev-parse", "main") == remote_head
    assert git(clone, "rev-parse", "HEAD") == head  # nothing committed either
    assert git(clone, "status", "--porcelain") == ""


def test_push_publishes_the_memory_commits_it_finds_unpushed(tmp_path: Path) -> None:
    seed = make_kb_repo(tmp_path / "seed")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(remote))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    assert run(clone, *RECORD)[0] == 0  # committed, not pushed
    code, out = run(clone, *RECORD[:2], "Second", *RECORD[3:], "--push")
    assert code == 0, out
    assert git(remote, "rev-parse", "main") == git(clone, "rev-parse", "HEAD")


# ------------------------------------------------ vocabulary: canonical names only


def test_record_stores_the_canonical_domain_and_list_finds_it(kb_repo: Path) -> None:
    code, out = run(kb_repo, *RECORD[:6], "ecommerce", *RECORD[7:])
    assert code == 0, out
    text = (kb_repo / "kb/outcomes/2025/2025-05-05-shop.yaml").read_text()
    assert "e-commerce" in text and "- ecommerce" not in text and "[ecommerce" not in text
    code, out = run(kb_repo, "list", "--kind", "outcome", "--domain", "e-commerce")
    assert code == 0 and "2025-05-05-shop" in out, out


def test_add_stores_the_canonical_name(kb_repo: Path) -> None:
    path = kb_repo / "kb/failures/payment_webhook_timeout.yaml"
    assert "authentication" not in path.read_text()
    code, out = run(kb_repo, "add", "failure", "payment_webhook_timeout", "domains", "auth")
    assert code == 0, out
    assert "authentication" in path.read_text() and "auth\n" not in path.read_text()


def test_list_resolves_an_alias(kb_repo: Path) -> None:
    code, canonical = run(kb_repo, "list", "--domain", "e-commerce")
    assert run(kb_repo, "list", "--domain", "ecommerce") == (0, canonical)
    assert code == 0 and "ecommerce_security_first" in canonical


@pytest.mark.parametrize(
    ("option", "value", "guess"),
    [
        ("--domain", "ecomerce", "e-commerce"),
        ("--droid", "security-airditor", "security-auditor"),
        ("--phase", "security_frist", "security_first"),
        ("--domain", "nonsense", None),
    ],
)
def test_list_with_an_unknown_name_is_a_usage_error(
    kb_repo: Path, option: str, value: str, guess: str | None
) -> None:
    code, out = run(kb_repo, "list", option, value)
    assert code == 2, out
    assert f"unknown {option[2:]} '{value}'" in out
    assert (f"did you mean '{guess}'" in out) == (guess is not None)


# ------------------------------------------------------ values: text stays text


@pytest.mark.parametrize("command", ["set", "add", "remove"])
def test_edit_help_shows_the_list_example(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "[a, b]" in result.output and "(12, true, , text)" not in result.output


def test_add_takes_text_with_a_colon_verbatim(kb_repo: Path) -> None:
    text = "Review check: keep comments on edit"
    code, out = run(kb_repo, "add", "pattern", "ecommerce_security_first", "best_practices", text)
    assert code == 0, out
    doc = show_doc(kb_repo, "pattern", "ecommerce_security_first")
    assert doc["best_practices"][-1] == text
    assert (
        run(kb_repo, "remove", "pattern", "ecommerce_security_first", "best_practices", text)[0]
        == 0
    )
    assert text not in (kb_repo / PATTERN).read_text()


@pytest.mark.parametrize("text", ["Audit: first, then code", "yes", "12", "[draft]", "null"])
def test_set_of_a_text_field_stores_the_text_as_given(kb_repo: Path, text: str) -> None:
    code, out = run(kb_repo, "set", "pattern", "ecommerce_security_first", "title", text)
    assert code == 0, out
    assert show_doc(kb_repo, "pattern", "ecommerce_security_first")["title"] == text


def test_new_field_of_text_type_is_verbatim_and_lists_stay_yaml(kb_repo: Path) -> None:
    code, out = run(
        kb_repo,
        "new",
        "template",
        "colon_template",
        "--domain",
        "e-commerce",
        "--risk-level",
        "low",
        "--field",
        "title=Shop: the fast way",
        "--field",
        "phases=[{phase: security_first, name: Audit, droids: [security-auditor]}]",
    )
    assert code == 0, out
    doc = show_doc(kb_repo, "template", "colon_template")
    assert doc["title"] == "Shop: the fast way"
    assert doc["phases"] == [
        {"phase": "security_first", "name": "Audit", "droids": ["security-auditor"]}
    ]


def test_yaml_flag_parses_a_text_field_as_yaml(kb_repo: Path) -> None:
    code, out = run(
        kb_repo, "set", "pattern", "ecommerce_security_first", "title", "'quoted'", "--yaml"
    )
    assert code == 0, out
    assert show_doc(kb_repo, "pattern", "ecommerce_security_first")["title"] == "quoted"


def test_set_of_a_number_field_still_reads_yaml(kb_repo: Path) -> None:
    allow_weight_12(kb_repo, "typo (ticket 9)")
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "allow")
    code, out = run(kb_repo, "set", "pattern", "ecommerce_security_first", "prior.weight", "12")
    assert code == 0, out
    assert show_doc(kb_repo, "pattern", "ecommerce_security_first")["prior"]["weight"] == 12


def show_doc(repo: Path, kind: str, rid: str) -> dict[str, object]:
    code, out = run(repo, "show", kind, rid, "--json")
    assert code == 0, out
    doc: dict[str, object] = json.loads(out)["record"]
    return doc


# --------------------------------------- validate PATH: findings of those files only


def test_validate_paths_reports_only_on_those_files(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(kb_repo)  # paths are relative to the current directory
    pattern = kb_repo / PATTERN
    pattern.write_text(pattern.read_text().replace("security-auditor", "security-airditor"))
    code, out = run(kb_repo, "validate", "kb/templates")
    assert code == 0, out
    assert "KB304" not in out and "patterns/" not in out
    code, out = run(kb_repo, "validate", "kb/patterns")
    assert code == 1 and f"{PATTERN}:" in out and "KB304" in out


def test_validate_paths_reports_a_whole_kb_finding_at_a_selected_file(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(kb_repo)
    template = kb_repo / "kb/templates/ecommerce_standard.yaml"
    template.write_text(template.read_text().replace("[security-auditor]", "[nobody-droid]"))
    code, out = run(kb_repo, "validate", "kb/templates")
    assert code == 1 and "ecommerce_standard.yaml" in out and "KB304" in out


def test_set_of_a_nested_droid_list_stores_canonical_names(kb_repo: Path) -> None:
    vocab = kb_repo / "kb/vocabulary.yaml"
    vocab.write_text(
        vocab.read_text().replace(
            "  code-reviewer:\n", "  code-reviewer:\n    aliases: [reviewer]\n", 1
        )
    )
    git(kb_repo, "commit", "-qam", "alias")
    template = "ecommerce_standard"
    code, out = run(kb_repo, "set", "template", template, "phases.3.droids", "[reviewer]")
    assert code == 0, out
    doc = show_doc(kb_repo, "template", template)
    assert doc["phases"][3]["droids"] == ["code-reviewer"]  # type: ignore[index]
    code, out = run(kb_repo, "set", "template", template, "phases.99999999999.droids", "[x]")
    assert code == 1 and "has no field" in out, out  # and no list of that size is built
