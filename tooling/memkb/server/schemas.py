"""The output schema of every tool: the top level of the CLI's JSON document for the same
command (docs/mcp.md lists them). Data, not code: a client validates each structured
result against these (the SDK's client does), and a test holds every tool's real output
to them. Nested objects are described by the command's own docs (docs/advice.md,
docs/metrics.md, ...); here they are typed, not spelled out, so a new field in a nested
object does not break a client."""

from __future__ import annotations

from typing import Any

OBJ: dict[str, Any] = {"type": "object"}
ARR: dict[str, Any] = {"type": "array"}
STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
BOOL: dict[str, Any] = {"type": "boolean"}
OPT_STR: dict[str, Any] = {"type": ["string", "null"]}
OPT_OBJ: dict[str, Any] = {"type": ["object", "null"]}


def document(command: str, **properties: dict[str, Any]) -> dict[str, Any]:
    """A `memkb.<command>/1` document with these top-level properties, all required."""
    return {
        "type": "object",
        "properties": {"format": {"const": f"memkb.{command}/1"}, **properties},
        "required": ["format", *properties],
    }


ADVICE = {"commit": STR, "brief_id": STR, "query": OBJ}
WRITE = {
    "kind": STR,
    "id": STR,
    "action": STR,
    "paths": ARR,
    "commit": OPT_STR,
    "branch": OPT_STR,
    "pushed_to": OPT_STR,
    "warnings": ARR,
    "notes": ARR,
}
# A proposal's writes are the documents of `memkb new --branch` and `memkb set --branch`.
WRITE_DOCUMENT = {
    **document("new", **WRITE),
    "properties": {"format": {"enum": ["memkb.new/1", "memkb.set/1"]}, **WRITE},
}
CHECK = document(
    "check", ok=BOOL, base=STR, head=OPT_STR, files=INT, errors=INT, warnings=INT,
    changes=ARR, findings=ARR, metrics_delta=OPT_OBJ, advice_delta=ARR,
)  # fmt: skip

OUTPUT: dict[str, dict[str, Any]] = {
    "recommend": document(
        "recommend", **ADVICE, templates=ARR, patterns=ARR, guards=ARR, notes=ARR
    ),
    "brief": document(
        "brief", **ADVICE, tokens=INT, max_tokens=INT, records=ARR, left_out=ARR, markdown=STR
    ),
    "search": document("search", query=STR, terms=ARR, commit=STR, kinds=ARR, limit=INT, hits=ARR),
    "show": document("show", path=STR, record=OBJ),
    "list": document("list", records=ARR),
    "metrics": document(
        "metrics",
        as_of=OBJ,
        learning_metrics=OBJ,
        performance_metrics=OBJ,
        patterns=ARR,
        templates=ARR,
        failures=ARR,
        droids=ARR,
    ),
    "history": document("history", kind=STR, id=STR, path=STR, commits=ARR),
    "validate": document("validate", ok=BOOL, files=INT, errors=INT, warnings=INT, findings=ARR),
    "record_outcome": document("record", **WRITE),
    "propose": document(
        "propose",
        branch=STR,
        base=STR,
        writes={"type": "array", "items": WRITE_DOCUMENT},
        pushed_to=OPT_STR,
        check=CHECK,
    ),
}
