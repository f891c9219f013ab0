"""The rule registry: one entry per code, the source and the docs agree with it, and each
rule's test reads `rule(ctx) == [Issue(...)]`."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conftest import PROJECT
from memkb.findings import Severity
from memkb.kb.index import Index, Record
from memkb.rules import COLLECTION_RULES, FILE_RULES
from memkb.rules.base import FileContext, Issue, RunContext
from memkb.rules.registry import REGISTRY, Scope, markdown

PACKAGE = PROJECT / "tooling" / "memkb"
CODE_LITERAL = re.compile(r"[\"'](KB\d{3})[\"']")
TODAY = RunContext(date(2026, 1, 1))
MODELINE = "# yaml-language-server: $schema=../../schemas/pattern.schema.json"


def raised_codes() -> dict[str, set[str]]:
    """code -> source files (outside the registry) that hold it as a string literal."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name in {"registry.py", "codes.py"}:
            continue
        for code in CODE_LITERAL.findall(path.read_text(encoding="utf-8")):
            found.setdefault(code, set()).add(path.relative_to(PACKAGE).as_posix())
    return found


def test_every_raised_code_is_registered_and_every_registered_code_is_raised() -> None:
    raised = raised_codes()
    assert sorted(set(raised) - set(REGISTRY)) == []
    assert sorted(set(REGISTRY) - set(raised)) == []


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_each_code_is_raised_where_its_entry_says(code: str) -> None:
    rule = REGISTRY[code]
    module_name, _, function = rule.raised_in.partition(":")
    module = importlib.import_module(module_name)
    assert module.__file__ is not None
    assert code in CODE_LITERAL.findall(Path(module.__file__).read_text(encoding="utf-8"))
    if function:
        assert callable(getattr(module, function))
    if rule.check is not None:
        assert rule.check.__module__ == module_name
    assert rule.code.startswith("KB") and len(rule.code) == 5
    assert rule.summary and rule.doc and "\n" not in rule.summary


def test_scopes_follow_the_code_families() -> None:
    family = {"KB1": {Scope.LOAD}, "KB2": {Scope.FILE}, "KB3": {Scope.FILE, Scope.COLLECTION}}
    family |= {"KB4": {Scope.CHANGE}, "KB5": {Scope.CHANGE}, "KB6": {Scope.IMPORT}}
    family |= {"KB7": {Scope.COLLECTION}}  # expectations about advice, on the whole KB
    odd = [c for c, r in REGISTRY.items() if r.scope not in family[c[:3]] and c != "KB307"]
    assert odd == []  # KB307 (a symlink leaving the repo) is found while discovering files


def test_every_file_and_collection_rule_function_is_registered() -> None:
    # Rule functions live in perfile/completeness (one file) and collection (the whole
    # KB); each public one must be in the tables.
    from memkb.rules import collection, completeness, perfile

    def public(*modules: object) -> set[str]:
        return {
            name
            for module in modules
            for name, value in vars(module).items()
            if callable(value)
            and getattr(value, "__module__", "") == getattr(module, "__name__", "")
            and not name.startswith("_")
        }

    assert public(perfile, completeness) == {f.__name__ for f in FILE_RULES}
    assert public(collection) == {f.__name__ for f in COLLECTION_RULES}


def test_docs_table_is_generated_from_the_registry() -> None:
    text = (PROJECT / "docs" / "validation.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- codes:start[^>]*-->\n(.*?)<!-- codes:end -->", text, re.S)
    assert block is not None, "docs/validation.md lost its generated code table"
    assert block.group(1) == markdown()
    documented = re.findall(r"^\| `(KB\d{3})` \|", block.group(1), re.M)
    assert documented == sorted(REGISTRY)


def test_markdown_script_prints_the_table() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "memkb.rules.registry", "--markdown"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == markdown()


def test_the_registry_names_its_rule_functions_and_imports_them_on_first_use() -> None:
    # A fresh process: the table lists every code without importing a rule module; a
    # rule's doc or check imports its module, and FILE_RULES is built when asked for.
    probe = (
        "import sys; from memkb.rules.registry import REGISTRY; "
        "rules = lambda: sorted(m for m in sys.modules if m.startswith('memkb.rules.')); "
        "print(len(REGISTRY), rules()); doc = REGISTRY['KB301'].doc; print(rules()); "
        "from memkb.rules import FILE_RULES; print(len(FILE_RULES), rules())"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    first, after_doc, after_table = done.stdout.splitlines()
    assert first == f"{len(REGISTRY)} ['memkb.rules.registry']"
    assert "'memkb.rules.perfile'" in after_doc and "'memkb.rules.collection'" not in after_doc
    assert (
        after_table.startswith(f"{len(FILE_RULES)} ") and "memkb.rules.completeness" in after_table
    )


def test_a_loader_code_cannot_be_called_as_a_rule() -> None:
    with pytest.raises(TypeError, match=r"raised inside memkb\.records\.load"):
        REGISTRY["KB101"](None)


# ------------------------------------------------------------------ per-file rules


def file_ctx(relpath: str, doc: dict[str, Any], text: str = "") -> FileContext:
    folder = relpath.split("/")[1] if relpath.startswith("kb/") else None
    kinds = {"patterns": "pattern", "outcomes": "outcome", "failures": "failure"}
    return FileContext(relpath, kinds.get(folder or ""), doc, text)


PATTERN_DOC = {"kind": "pattern", "id": "p1"}


def test_kb202_unknown_kind() -> None:
    ctx = file_ctx("kb/patterns/p1.yaml", {"kind": "patern", "id": "p1"})
    assert REGISTRY["KB202"](ctx) == [
        Issue("kb/patterns/p1.yaml", ("kind",), "KB202", "unknown kind 'patern'",
              hint="use one of: pattern, failure, template, outcome, expectation, vocabulary"),
    ]  # fmt: skip
    assert REGISTRY["KB202"](file_ctx("kb/patterns/p1.yaml", PATTERN_DOC)) == []


def test_kb301_id_differs_from_file_name() -> None:
    ctx = file_ctx("kb/patterns/p2.yaml", PATTERN_DOC)
    assert REGISTRY["KB301"](ctx) == [
        Issue("kb/patterns/p2.yaml", ("id",), "KB301",
              "id 'p1' does not match the file name 'p2'",
              hint="ids are permanent: rename the file to match, or fix a typo in the id"),
    ]  # fmt: skip
    assert REGISTRY["KB301"](file_ctx("kb/patterns/p1.yaml", PATTERN_DOC)) == []


def test_kb302_record_in_the_wrong_folder() -> None:
    ctx = file_ctx("kb/failures/p1.yaml", PATTERN_DOC)
    assert REGISTRY["KB302"](ctx) == [
        Issue("kb/failures/p1.yaml", ("kind",), "KB302",
              "a record of kind 'pattern' must live in kb/patterns/",
              hint="move the file or fix its kind"),
    ]  # fmt: skip
    assert REGISTRY["KB302"](file_ctx("kb/patterns/p1.yaml", PATTERN_DOC)) == []


def test_kb308_outcome_id_without_its_date() -> None:
    doc = {"kind": "outcome", "id": "shop", "date": "2025-01-20"}
    ctx = file_ctx("kb/outcomes/2025/shop.yaml", doc)
    assert REGISTRY["KB308"](ctx) == [
        Issue("kb/outcomes/2025/shop.yaml", ("id",), "KB308",
              "outcome id 'shop' does not start with its date 2025-01-20",
              hint="name it 2025-01-20-<project-slug>"),
    ]  # fmt: skip
    good = {**doc, "id": "2025-01-20-shop"}
    assert REGISTRY["KB308"](file_ctx("kb/outcomes/2025/2025-01-20-shop.yaml", good)) == []


def test_kb311_yml_suffix() -> None:
    ctx = file_ctx("kb/patterns/p1.yml", PATTERN_DOC)
    assert REGISTRY["KB311"](ctx) == [
        Issue("kb/patterns/p1.yml", (), "KB311", "knowledge files end in .yaml, not .yml",
              hint="rename the file to .yaml"),
    ]  # fmt: skip
    assert REGISTRY["KB311"](file_ctx("kb/patterns/p1.yaml", PATTERN_DOC)) == []


def test_kb313_missing_modeline_is_a_warning() -> None:
    ctx = file_ctx("kb/patterns/p1.yaml", PATTERN_DOC, "kind: pattern\n")
    assert REGISTRY["KB313"](ctx) == [
        Issue("kb/patterns/p1.yaml", (), "KB313", "missing or wrong schema modeline",
              severity=Severity.WARNING, hint=f"make the first line: {MODELINE}"),
    ]  # fmt: skip
    ok = file_ctx("kb/patterns/p1.yaml", PATTERN_DOC, MODELINE + "\nkind: pattern\n")
    assert REGISTRY["KB313"](ok) == []


# ---------------------------------------------------------------- collection rules

VOCABULARY = {
    "kind": "vocabulary",
    "droids": {"security-auditor": {"description": "x", "aliases": ["sec-auditor"]}},
    "domains": {"e-commerce": {"description": "x"}},
    "phases": {"security_first": {"description": "x"}},
}


def index_of(*docs: tuple[str, dict[str, Any]], vocabulary: bool = True) -> Index:
    from memkb.validation.engine import build_index

    results = [("kb/vocabulary.yaml", VOCABULARY)] if vocabulary else []
    return build_index(_result(p, d) for p, d in [*results, *docs])


def _result(relpath: str, doc: dict[str, Any]) -> Any:
    from memkb.validation.engine import FileResult, refs_in

    return FileResult(relpath, "", doc, [], refs_in(doc))


def pattern(rid: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    doc = {"kind": "pattern", "id": rid, "key_droids": ["security-auditor"], **fields}
    return f"kb/patterns/{rid}.yaml", doc


def test_kb303_duplicate_ids() -> None:
    index = index_of(pattern("p1"), ("kb/patterns/other.yaml", pattern("p1")[1]))
    assert REGISTRY["KB303"](index, TODAY) == [
        Issue("kb/patterns/p1.yaml", ("id",), "KB303",
              "pattern id 'p1' is also used by kb/patterns/other.yaml",
              hint="ids are unique within a kind: give one record a new id"),
        Issue("kb/patterns/other.yaml", ("id",), "KB303",
              "pattern id 'p1' is also used by kb/patterns/p1.yaml",
              hint="ids are unique within a kind: give one record a new id"),
    ]  # fmt: skip
    assert REGISTRY["KB303"](index_of(pattern("p1"), pattern("p2")), TODAY) == []


def test_kb304_unknown_droid_with_did_you_mean() -> None:
    index = index_of(pattern("p1", key_droids=["security-airditor"]))
    assert REGISTRY["KB304"](index, TODAY) == [
        Issue("kb/patterns/p1.yaml", ("key_droids", 0), "KB304",
              "unknown droid 'security-airditor' (did you mean 'security-auditor'?)",
              hint="droids are defined in kb/vocabulary.yaml (droids:)"),
    ]  # fmt: skip
    assert REGISTRY["KB304"](index_of(pattern("p1")), TODAY) == []


def test_kb305_alias_is_a_warning_naming_the_real_name() -> None:
    index = index_of(pattern("p1", key_droids=["sec-auditor"]))
    assert REGISTRY["KB305"](index, TODAY) == [
        Issue("kb/patterns/p1.yaml", ("key_droids", 0), "KB305",
              "'sec-auditor' is an alias of droid 'security-auditor'",
              severity=Severity.WARNING, hint="write 'security-auditor'"),
    ]  # fmt: skip
    assert REGISTRY["KB304"](index, TODAY) == []  # one function, each code its own issues


def test_kb306_outcome_in_the_future() -> None:
    doc = {"kind": "outcome", "id": "2027-01-02-shop", "date": "2027-01-02"}
    index = index_of(("kb/outcomes/2027/2027-01-02-shop.yaml", doc))
    assert REGISTRY["KB306"](index, TODAY) == [
        Issue("kb/outcomes/2027/2027-01-02-shop.yaml", ("date",), "KB306",
              "outcome date 2027-01-02 is in the future (today is 2026-01-01)",
              hint="record an outcome once the project has finished"),
    ]  # fmt: skip
    assert REGISTRY["KB306"](index, RunContext(date(2027, 1, 2))) == []


def test_kb309_reference_to_a_deprecated_record() -> None:
    # No kind's reference table names a record outside superseded_by (exempt) except
    # outcomes (exempt too), so the reference is built by hand: the rule reads refs only.
    old = pattern("old", status="deprecated", superseded_by="new")
    index = index_of(old, pattern("new"))
    index.add(Record("template", "t1", "kb/templates/t1.yaml", {"kind": "template"},
                     (("pattern", "old", ("patterns", 0)),)))  # fmt: skip
    assert REGISTRY["KB309"](index, TODAY) == [
        Issue("kb/templates/t1.yaml", ("patterns", 0), "KB309", "pattern 'old' is deprecated",
              severity=Severity.WARNING, hint="use 'new' instead"),
    ]  # fmt: skip
    assert REGISTRY["KB309"](index_of(old, pattern("new")), TODAY) == []


def test_kb310_superseded_by_without_deprecation() -> None:
    index = index_of(pattern("p1", superseded_by="p2"), pattern("p2"))
    assert REGISTRY["KB310"](index, TODAY) == [
        Issue("kb/patterns/p1.yaml", ("superseded_by",), "KB310",
              "superseded_by needs status: deprecated and another record's id",
              hint="set status: deprecated, or remove superseded_by"),
    ]  # fmt: skip
    fine = pattern("p1", status="deprecated", superseded_by="p2")
    assert REGISTRY["KB310"](index_of(fine, pattern("p2")), TODAY) == []


def test_kb312_missing_vocabulary() -> None:
    assert REGISTRY["KB312"](index_of(pattern("p1"), vocabulary=False), TODAY) == [
        Issue("kb/vocabulary.yaml", (), "KB312", "kb/vocabulary.yaml is missing",
              hint="restore it: every droid, domain and phase must be declared there"),
    ]  # fmt: skip
    assert REGISTRY["KB312"](index_of(pattern("p1")), TODAY) == []


# -------------------------------------------------------------------- memkb rules


def run_rules(*args: str) -> Any:
    from typer.testing import CliRunner

    from memkb.cli.main import app

    return CliRunner().invoke(app, ["rules", *args])


def test_rules_with_a_code_shows_its_summary_scope_severity_and_doc() -> None:
    result = run_rules("KB304")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"KB304  {REGISTRY['KB304'].summary}"
    assert "scope: collection" in lines[1] and "severity: error" in lines[1]
    assert REGISTRY["KB304"].doc in result.stdout


def test_rules_code_is_case_insensitive() -> None:
    assert run_rules("kb313").stdout.startswith("KB313  ")


def test_rules_json_lists_every_rule() -> None:
    import json

    data = json.loads(run_rules("--json").stdout)
    assert data["format"] == "memkb.rules/1"
    assert [r["code"] for r in data["rules"]] == list(REGISTRY)
    one = json.loads(run_rules("KB313", "--json").stdout)["rules"]
    assert one == [REGISTRY["KB313"].as_dict()] and one[0]["severity"] == "warning"


def test_rules_unknown_code_is_a_usage_error_with_did_you_mean() -> None:
    result = run_rules("KB399")
    assert result.exit_code == 2
    assert "unknown code 'KB399'" in result.stderr and "did you mean" in result.stderr
    assert "Traceback" not in result.output


def test_rules_starts_without_heavy_imports() -> None:
    # `memkb rules` is the baseline of bare start-up: no schema, YAML or Git library.
    probe = (
        "import sys; from memkb.cli import commands; commands.register(['rules']); "
        "heavy = ('jsonschema', 'ruamel', 'git', 'yaml'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------------ locating


def test_locate_gives_an_issue_the_line_and_column_of_its_path() -> None:
    from memkb.findings import Finding
    from memkb.rules.locate import locate

    raw = b"kind: pattern\nid: p1\nkey_droids:\n  - nobody\n"
    issues = [
        Issue("kb/patterns/p1.yaml", ("key_droids", 0), "KB304", "unknown droid 'nobody'"),
        Issue("kb/patterns/p1.yaml", ("key_droids",), "KB201", "bad", at_key=True),
        Issue("kb/patterns/gone.yaml", ("id",), "KB301", "no file"),
    ]
    assert locate(issues, {"kb/patterns/p1.yaml": raw}.get) == [
        Finding("kb/patterns/p1.yaml", 4, 5, Severity.ERROR, "KB304", "unknown droid 'nobody'"),
        Finding("kb/patterns/p1.yaml", 3, 1, Severity.ERROR, "KB201", "bad"),
        Finding("kb/patterns/gone.yaml", 1, 1, Severity.ERROR, "KB301", "no file"),
    ]
