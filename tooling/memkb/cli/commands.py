"""The commands of the console script, and the module of memkb.cli that registers each,
named without importing any of them (memkb.cli.entry, memkb.cli.group)."""

from __future__ import annotations

import importlib

# command name -> module under memkb.cli that registers it. Listed explicitly, not
# discovered; tests check that it names every command.
COMMAND_MODULES: dict[str, str] = {
    "validate": "validate_cmd",
    "rules": "rules_cmd",
    "import-legacy": "legacy_cmd",
    "export-legacy": "legacy_cmd",
    "new": "author_cmd",
    "record": "author_cmd",
    "set": "author_cmd",
    "add": "author_cmd",
    "remove": "author_cmd",
    "deprecate": "author_cmd",
    "rm": "author_cmd",
    "rename": "author_cmd",
    "show": "author_cmd",
    "list": "author_cmd",
    "metrics": "metrics_cmd",
    "history": "metrics_cmd",
    "check": "check_cmd",
    "recommend": "advice_cmd",
    "brief": "advice_cmd",
    "search": "search_cmd",
    "mcp": "mcp_cmd",
}


# command name -> the first paragraph of its help: what `memkb --help` lists, without
# importing the command's module. tests/cli/test_entry.py holds it equal to the commands'
# own help; a command missing here is still listed (its module is imported for it).
COMMAND_SUMMARIES: dict[str, str] = {
    "validate": "Check every knowledge file: YAML safety, schema, file names, ids and references.",
    "rules": "List every finding code memkb can report, with what it means; with CODE, show one.",
    "import-legacy": "Convert the orchestrator's legacy JSON memory into records in kb/.",
    "export-legacy": "Write memory in the legacy JSON shapes that orchestrators still read, "
    "with memkb as the source of truth.",
    "new": "Create a pattern, failure or template. Missing required fields are prompted "
    "for at\na terminal; without one, the command fails and lists them.",
    "record": "Record a finished project's outcome as kb/outcomes/<yyyy>/<date>-<slug>.yaml.",
    "set": "Set one field of a record; every other line of the file keeps its bytes.",
    "add": "Append a value to a list field (a best practice, a prevention strategy, a key "
    "droid...).",
    "remove": "Remove a value from a list field.",
    "deprecate": "Mark a record deprecated (kept for history, no longer applied).",
    "rm": "Delete a record no other record refers to (otherwise: deprecate it).",
    "rename": "Refused: ids are permanent. Says how to replace a record instead.",
    "show": "Print one record: its file as written, or its fields as JSON.",
    "list": "List records, filtered by kind, domain, phase and droid; a table, or JSON.",
    "metrics": "Figures derived from outcome records and Git history (formulas: docs/metrics.md).",
    "history": "Every commit that touched one record (following renames): date, author, "
    "agent\n(Memory-Agent trailer) and what changed, field by field.",
    "check": "Check a change to memory: everything `validate` checks on the head state, plus "
    "the\nchange rules (permanent ids, append-only outcomes, referenced deletions and\n"
    "deprecations, hand-edited figures, schema versions, size limits) and content safety\n"
    "(secrets, prompt injection). Prints the risk class: none, evidence, knowledge or\n"
    "structure. Exit 0 clean, 1 errors, 2 usage or environment problem.",
    "recommend": "Templates, success patterns and failure guards for a project, ranked by "
    "relevance\nand evidence, each with its reasons and outcome ids (formulas: "
    "docs/advice.md).",
    "brief": "The same advice as a compact Markdown context brief for the orchestrator's "
    "prompt,\nheaded by the commit, the record ids used and the brief_id (docs/advice.md).",
    "search": "Full-text search over every record of HEAD, ranked by BM25, with the field "
    "and a\nsnippet of each match (docs/search.md). Exit 1 when no record matches.",
    "mcp": "Serve memkb's tools (recommend, brief, search, show, list, metrics, history,\n"
    "validate, record_outcome, propose) and resources to an MCP client over stdio\n"
    "(docs/mcp.md). Needs the extra: pip install 'memkb[mcp]'.",
}


def register(argv: list[str] | None = None) -> None:
    """Import the module of the command named in `argv` (none if no command is named:
    --help, --version, a typo, no arguments), or of every command without `argv`."""
    if argv is None:
        wanted = list(COMMAND_MODULES.values())
    else:
        name = next((arg for arg in argv if not arg.startswith("-")), None)
        wanted = [COMMAND_MODULES[name]] if name in COMMAND_MODULES else []
    for module in dict.fromkeys(wanted):
        importlib.import_module(f"memkb.cli.{module}")
