"""Schema version 3 of pattern, failure and template (issue 10's data model): tools,
tech_stack and legacy are accepted in their house order, and every bad shape of them is
a KB201 at the offending value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import SCHEMAS
from memkb.records.render import render_record
from memkb.validation.engine import validate_repo

TEMPLATE: dict[str, Any] = {
    "legacy": {
        "extra": {
            "file_structure": {"src": ["app/", "components/"]},
            "initial_commands": ["npx create-next-app@latest my-app", "npm i -D prisma"],
            "utility_score": 0.8,
        },
        "shape": "nested",
        "id": "next.js-react-shadcn",
        "source": "project_templates.json",
    },
    "tools": ["react", "jest"],
    "tech_stack": {"frontend": ["next.js", "react", "shadcn/ui"], "database": ["postgres"]},
    "domains": ["frontend"],
    "id": "next_app",
    "schema_version": 3,
    "kind": "template",
}
RENDERED = """\
# yaml-language-server: $schema=../../schemas/template.schema.json
kind: template
schema_version: 3
id: next_app
domains: [frontend]
tech_stack:
  frontend: [next.js, react, shadcn/ui]
  database: [postgres]
tools: [react, jest]
legacy:
  id: next.js-react-shadcn
  source: project_templates.json
  shape: nested
  extra:
    file_structure:
      src: [app/, components/]
    initial_commands:
      - npx create-next-app@latest my-app
      - npm i -D prisma
    utility_score: 0.8
"""


def findings(repo: Path, kind: str, doc: dict[str, Any]) -> list[tuple[int, str, str]]:
    path = repo / "kb" / f"{kind}s" / f"{doc['id']}.yaml"
    path.write_text(render_record(kind, doc))
    result = validate_repo(repo, use_cache=False)
    return [(f.line, f.code, f.message) for f in result.findings if f.code != "KB321"]


def test_new_fields_render_in_house_order_and_validate(kb_repo: Path) -> None:
    assert render_record("template", TEMPLATE) == RENDERED
    assert findings(kb_repo, "template", TEMPLATE) == []


def test_every_kind_takes_legacy_and_the_three_defs_are_one(kb_repo: Path) -> None:
    defs = [json.loads((SCHEMAS / f"{k}.schema.json").read_text())["$defs"]["legacy"]
            for k in ("pattern", "failure", "template")]  # fmt: skip
    assert defs[0] == defs[1] == defs[2]
    failure = {"kind": "failure", "schema_version": 3, "id": "old_failure",
               "common_causes": ["x"], "prevention_strategies": ["y"],
               "legacy": {"id": "old-failure", "shape": "entry"}}  # fmt: skip
    assert findings(kb_repo, "failure", failure) == []


@pytest.mark.parametrize(
    "change,line,message",
    [
        ({"tools": ["react", "react"]}, 6, "tools: ['react', 'react'] has non-unique elements"),
        ({"tools": [""]}, 7, "tools[0]: '' should be non-empty"),
        ({"tech_stack": {"front-end": ["react"]}}, 7, "tech_stack: 'front-end' does not match"),
        ({"legacy": {"source": "x.json"}}, 7, "'id' is a required property in 'legacy'"),
        ({"legacy": {"id": "x", "shape": "flat"}}, 8, "legacy.shape: 'flat' is not one of"),
        ({"legacy": {"id": "x", "times_used": 3}}, 8, "unknown field 'times_used' in 'legacy'"),
    ],
)
def test_bad_new_fields_are_kb201_at_the_value(
    kb_repo: Path, change: dict[str, Any], line: int, message: str
) -> None:
    doc = {"kind": "template", "schema_version": 3, "id": "bad", "domains": ["frontend"], **change}
    [(at, code, said)] = findings(kb_repo, "template", doc)
    assert (at, code) == (line, "KB201")
    assert said.startswith(message), said
