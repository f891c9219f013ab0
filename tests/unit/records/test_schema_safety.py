"""Schemas that cannot hurt: references stay inside schemas/ (nothing is fetched), regular
expressions run on a linear-time engine, and a broken schema is a finding, not a crash."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkcases import PATTERN, TODAY, head_branch
from conftest import git
from memkb.cli.main import app
from memkb.kb.snapshot import WorkTree
from memkb.validation.check import run_check
from memkb.validation.engine import validate_changes, validate_repo

SCHEMA = "schemas/pattern.schema.json"
runner = CliRunner()


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - one server per test, reset by the fixture

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b'{"type": "string"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/schema+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that serves a schema and records every request it gets."""
    _Recorder.hits = []
    httpd = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", _Recorder.hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def edit_schema(repo: Path, prop: str, spec: dict[str, object]) -> str:
    """The pattern schema with property `prop` replaced by `spec`, written to the work tree."""
    doc = json.loads((repo / SCHEMA).read_text())
    doc["properties"][prop] = spec
    text = json.dumps(doc, indent=2) + "\n"
    (repo / SCHEMA).write_text(text)
    return text


def codes_at(findings: list, path: str) -> list[str]:  # type: ignore[type-arg]
    return sorted(f.code for f in findings if f.path == path)


# ------------------------------------------------------------------ references


def test_remote_ref_is_a_finding_and_never_fetched(
    kb_repo: Path, server: tuple[str, list[str]]
) -> None:
    url, hits = server
    edit_schema(kb_repo, "description", {"$ref": f"{url}/evil.json"})
    result = validate_repo(kb_repo, use_cache=False)
    [finding] = [f for f in result.findings if f.path == SCHEMA]
    assert finding.code == "KB211" and url in finding.message
    assert finding.line > 1  # at the reference, not the top of the file
    assert not result.ok
    # A write is judged by the same schemas, and fetches nothing either.
    pattern = (kb_repo / PATTERN).read_bytes()
    written = validate_changes(WorkTree(kb_repo), {PATTERN: pattern + b"title: Changed\n"})
    assert "KB211" in codes_at(written.findings, SCHEMA)
    assert hits == []


def test_remote_ref_in_a_pull_request_is_never_fetched(
    kb_repo: Path, server: tuple[str, list[str]]
) -> None:
    url, hits = server
    doc = json.loads((kb_repo / SCHEMA).read_text())
    doc["properties"]["description"] = {"$ref": f"{url}/evil.json"}
    doc["properties"]["schema_version"] = {"const": 2}
    head_branch(kb_repo, "remote-ref", {SCHEMA: json.dumps(doc, indent=2)})
    result = run_check(kb_repo, "main", "remote-ref", today=TODAY)
    assert "KB211" in codes_at(result.findings, SCHEMA)
    assert hits == []


@pytest.mark.parametrize(
    "ref",
    [
        "http://127.0.0.1:1/unreachable.json",
        "https://schemas.invalid/x.json",
        "file:///etc/passwd",
        "../kb/vocabulary.yaml",
        "missing.schema.json",
        "#/$defs/no_such_definition",
    ],
)
def test_unresolvable_or_outside_ref_is_a_finding_not_a_traceback(kb_repo: Path, ref: str) -> None:
    edit_schema(kb_repo, "description", {"$ref": ref})
    result = validate_repo(kb_repo, use_cache=False)
    assert codes_at(result.findings, SCHEMA) == ["KB211"]


def test_ref_to_another_schema_file_inside_schemas_resolves(kb_repo: Path) -> None:
    (kb_repo / "schemas/common.json").write_text(
        '{"$defs": {"text": {"type": "string", "maxLength": 5}}}\n'
    )
    edit_schema(kb_repo, "id", {"$ref": "common.json#/$defs/text"})
    result = validate_repo(kb_repo, use_cache=False)
    assert codes_at(result.findings, SCHEMA) == []
    # The referenced definition is applied: every pattern id is longer than 5.
    assert {f.code for f in result.findings if f.path.startswith("kb/patterns/")} == {"KB201"}


def test_recursive_local_definition_does_not_crash(kb_repo: Path) -> None:
    doc = json.loads((kb_repo / SCHEMA).read_text())
    doc["$defs"]["tree"] = {"type": "array", "items": {"$ref": "#/$defs/tree"}}
    doc["properties"]["tree"] = {"$ref": "#/$defs/tree"}
    (kb_repo / SCHEMA).write_text(json.dumps(doc, indent=2))
    (kb_repo / PATTERN).write_text((kb_repo / PATTERN).read_text() + "tree: [[[]], [1]]\n")
    result = validate_repo(kb_repo, use_cache=False)
    assert [(f.path, f.code) for f in result.findings] == [(PATTERN, "KB201")]


# ------------------------------------------------------------ regular expressions


def test_catastrophic_pattern_does_not_hang(kb_repo: Path) -> None:
    edit_schema(kb_repo, "description", {"type": "string", "pattern": "^(a+)+$"})
    text = (kb_repo / PATTERN).read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith("description:")]
    (kb_repo / PATTERN).write_text("\n".join([*lines, f"description: {'a' * 35}!"]) + "\n")
    # A subprocess, so a hang is a timeout and not a stuck test run.
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("memkb")),
            "validate",
            "--no-cache",
            "--repo",
            str(kb_repo),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert f"{PATTERN}:" in done.stdout and "KB201" in done.stdout
    assert "Traceback" not in done.stderr


def test_pattern_properties_and_additional_properties_use_the_same_engine(kb_repo: Path) -> None:
    edit_schema(
        kb_repo,
        "extra",
        {
            "type": "object",
            "patternProperties": {"^(a+)+$": {"type": "integer"}},
            "additionalProperties": False,
        },
    )
    key = "a" * 35 + "!"
    (kb_repo / PATTERN).write_text((kb_repo / PATTERN).read_text() + f"extra: {{{key}: 1}}\n")
    result = validate_repo(kb_repo, use_cache=False)  # returns at once, or the test hangs
    [finding] = result.findings
    assert finding.code == "KB201" and key in finding.message


@pytest.mark.parametrize("regex", [r"^(a)\1$", r"^(?=a)a$", r"^(?<!b)a$"])
def test_pattern_the_linear_engine_cannot_run_is_refused(kb_repo: Path, regex: str) -> None:
    edit_schema(kb_repo, "description", {"type": "string", "pattern": regex})
    result = validate_repo(kb_repo, use_cache=False)
    [finding] = [f for f in result.findings if f.path == SCHEMA]
    assert finding.code == "KB212" and finding.line > 1


def test_dollar_does_not_match_before_a_final_newline(kb_repo: Path) -> None:
    text = (kb_repo / PATTERN).read_text()
    (kb_repo / PATTERN).write_text(text.replace("id: ecommerce_security_first", 'id: "x\\n"'))
    result = validate_repo(kb_repo, use_cache=False)
    assert "KB201" in codes_at(result.findings, PATTERN)


def test_new_with_an_id_ending_in_a_newline_is_refused(kb_repo: Path) -> None:
    before = git(kb_repo, "rev-parse", "HEAD")
    got = runner.invoke(
        app,
        [
            "new", "pattern", "x\n", "--repo", str(kb_repo), "--title", "X",
            "--description", "A pattern.", "--domain", "e-commerce", "--phase", "security_first",
            "--droid", "security-auditor",
        ],
    )  # fmt: skip
    assert got.exit_code == 1, got.output
    assert "KB201" in got.output
    assert git(kb_repo, "rev-parse", "HEAD") == before
    assert not list((kb_repo / "kb/patterns").glob("x*"))


# ------------------------------------------------------------------ invalid JSON


def test_invalid_schema_json_is_a_finding_at_its_line_and_column(kb_repo: Path) -> None:
    text = (kb_repo / SCHEMA).read_text()
    (kb_repo / SCHEMA).write_text(text.replace('"title": "Success pattern",', '"title": ,', 1))
    got = runner.invoke(app, ["validate", "--repo", str(kb_repo), "--no-cache"])
    assert got.exit_code == 1, got.output
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if '"title": "Success' in ln)
    assert f"{SCHEMA}:{line}:" in got.output and "KB406" in got.output


def test_invalid_schema_json_in_a_pull_request_is_a_finding(kb_repo: Path) -> None:
    head_branch(kb_repo, "broken-schema", {SCHEMA: '{"properties": {\n  "kind": ,\n}}\n'})
    result = run_check(kb_repo, "main", "broken-schema", today=TODAY)
    assert any(
        (f.code, f.path, f.line) == ("KB406", SCHEMA, 2) and "not valid JSON" in f.message
        for f in result.findings
    ), result.findings
    assert not result.ok


def test_import_legacy_refuses_to_import_under_a_schema_it_cannot_trust(
    empty_kb_repo: Path,
) -> None:
    from conftest import LEGACY_SEED
    from memkb.errors import RepoError
    from memkb.legacy.importer import import_legacy

    edit_schema(empty_kb_repo, "description", {"$ref": "https://schemas.invalid/x.json"})
    with pytest.raises(RepoError, match="KB211"):
        import_legacy(empty_kb_repo, LEGACY_SEED)
    assert not list((empty_kb_repo / "kb").rglob("*.yaml"))
