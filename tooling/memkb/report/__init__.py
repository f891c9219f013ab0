"""Every renderer of memkb's output, behind one registry (check-jsonschema's
REPORTER_BY_NAME): what is rendered -> format -> `module:function` under memkb.report.

The table is plain text on purpose: the CLI lists a command's formats in its help without
importing any renderer (each one imports part of the core), and a run imports only the
renderer it uses. A test checks that every entry resolves to a function.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

FINDINGS = {
    "text": "findings:render_text",
    "json": "findings:render_json",
    "github": "findings:render_github",
    "sarif": "findings:render_sarif",
    "markdown": "findings:render_markdown",
}
TABLES = {fmt: f"metrics:render_{{}}_{fmt}" for fmt in ("text", "json", "markdown")}

REPORTERS: dict[str, dict[str, str]] = {
    "validate": FINDINGS,
    "check": {fmt: f"check:render_{fmt}" for fmt in FINDINGS},
    "check-outputs": {"text": "check:render_outputs"},  # $GITHUB_OUTPUT lines
    "metrics": {fmt: spec.format("report") for fmt, spec in TABLES.items()},
    "metrics-series": {fmt: spec.format("series") for fmt, spec in TABLES.items()},
    "history": {fmt: spec.format("history") for fmt, spec in TABLES.items()},
    "import-legacy": {"text": "legacy:render_text", "json": "legacy:render_json"},
    "export-legacy": {"text": "legacy:render_export_text", "json": "legacy:render_export_json"},
    "export-legacy-document": {"json": "legacy:render_export_document"},
    "write": {"text": "writes:render_text", "json": "writes:render_json"},
    "show": {"text": "writes:render_show_text", "json": "writes:render_show_json"},
    "list": {fmt: f"writes:render_list_{fmt}" for fmt in ("text", "json", "markdown")},
    "rules": {"text": "rules:render_text", "json": "rules:render_json"},
    "recommend": {fmt: f"advice:render_{fmt}" for fmt in ("text", "json", "markdown")},
    "brief": {
        "text": "advice:render_brief",
        "json": "advice:render_brief_json",
        "markdown": "advice:render_brief",
    },
    "search": {"text": "search:render_text", "json": "search:render_json"},
    "error": {"text": "errors:render_text", "json": "errors:render_json"},
}

JSON_VERSION = 1  # bumped for a command when its JSON changes in a way readers must know


def formats(what: str) -> list[str]:
    """The formats `what` can be rendered in, text first."""
    return list(REPORTERS[what])


def reporter(what: str, fmt: str) -> Callable[..., str]:
    """The function rendering `what` in `fmt`; KeyError for a pair not in the table."""
    module, _, name = REPORTERS[what][fmt].partition(":")
    found: Callable[..., str] = getattr(importlib.import_module(f"memkb.report.{module}"), name)
    return found


def json_document(what: str, body: dict[str, Any]) -> str:
    """The one JSON convention: a `format` key naming the document and its version first,
    two-space indent, UTF-8 kept as is, a final newline."""
    return json_text({"format": f"memkb.{what}/{JSON_VERSION}", **body})


def json_text(value: Any) -> str:
    """`value` as two-space indented JSON with a final newline: the layout of
    json.dumps(indent=2, ensure_ascii=False) (only tiny floats are spelled 1e-7, not 1e-07).

    orjson writes it about 80x faster than the stdlib, whose C encoder only runs without
    indent (a 10,000-record metrics report: 1.8 ms against 151 ms). A value orjson
    refuses (an integer beyond 64 bits, a non-string key, a lone surrogate) takes the
    stdlib path."""
    import orjson  # imported here: commands that print no JSON need not load it

    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n"
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        import json  # only here: every command imports this module, few need json

        return json.dumps(value, indent=2, ensure_ascii=False) + "\n"
