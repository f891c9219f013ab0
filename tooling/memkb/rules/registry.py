"""The one table of finding codes: every code memkb can emit is a registered Rule.

A rule has a stable code, a scope (when it is judged), a one-line summary, a longer doc,
a default severity and, where a rule function raises it, that function (`check`). Codes
raised inside the loader, the schema check, the change check or the importer cannot be
plain rule functions (they are found while reading bytes or JSON); their entry names the
module that raises them instead (`raised_in`). `memkb rules`, docs/validation.md
(`python -m memkb.rules.registry --markdown`) and the rule tables FILE_RULES and
COLLECTION_RULES are all derived from REGISTRY.

Scopes:
    load        reading one file's bytes: YAML safety, encoding, size, discovery (KB1xx, KB307)
    file        one record on its own: schema, kind, id, place (KB2xx, most KB30x)
    collection  the whole KB at once: uniqueness, references, deprecation, dates (KB3xx),
                and the expectations about advice (KB701)
    change      a change from base to head, `memkb check` only (KB4xx, KB5xx)
    import      importing legacy memory, `memkb import-legacy` only (KB6xx)

A rule function is named in the table (`perfile:kind_matches_folder`, under memkb.rules),
not imported: this module imports no rule module, so `memkb rules` lists the codes
without them. A rule's `check` and `doc` (its function's docstring) import its module
when first read, and FILE_RULES and COLLECTION_RULES are built on first use.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from memkb.errors import UsageError
from memkb.findings import Severity

if TYPE_CHECKING:
    from memkb.rules.base import CollectionRule, FileRule, Issue

    FILE_RULES: tuple[FileRule, ...]  # built by __getattr__ on first use
    COLLECTION_RULES: tuple[CollectionRule, ...]


class Scope(StrEnum):
    LOAD = "load"
    FILE = "file"
    COLLECTION = "collection"
    CHANGE = "change"
    IMPORT = "import"


Check = Callable[..., Iterable["Issue"]]


class Rule(NamedTuple):
    """One finding code. `check` is the rule function that raises it (None when the code
    is raised inside `raised_in`, a module or `module:function`), named by `function`
    (`module:function`) and imported when first read; `doc` is the text given, else
    that function's docstring."""

    code: str
    scope: Scope
    summary: str
    raised_in: str
    severity: Severity = Severity.ERROR
    function: str | None = None
    text: str | None = None

    @property
    def check(self) -> Check | None:
        """The rule function (its module imported on first use), or None."""
        if self.function is None:
            return None
        module, _, name = self.function.partition(":")
        found: Check = getattr(importlib.import_module(module), name)
        return found

    @property
    def doc(self) -> str:
        """What the rule catches, on one line: the text given, else the docstring of the
        rule function (the summary if it has none)."""
        if self.text is not None:
            return self.text
        check = self.check
        return " ".join(((check.__doc__ if check else None) or self.summary).split())

    def __call__(self, *args: Any) -> list[Issue]:
        """The issues of this code that its check finds in `args` (a FileContext, or an
        Index and a RunContext). One function may raise several codes; only this rule's
        are returned, so a test reads `REGISTRY["KB301"](ctx) == [Issue(...)]`."""
        check = self.check
        if check is None:
            raise TypeError(f"{self.code} is raised inside {self.raised_in}, not by a rule")
        return [issue for issue in check(*args) if issue.code == self.code]

    def as_dict(self) -> dict[str, str]:
        """Plain data, for --json."""
        return {
            "code": self.code,
            "scope": self.scope.value,
            "severity": self.severity.value,
            "summary": self.summary,
            "doc": self.doc,
            "raised_in": self.raised_in,
        }


W = Severity.WARNING


def _rule(
    code: str, scope: Scope, summary: str, check: str, *, severity: Severity = Severity.ERROR
) -> Rule:
    """A code raised by a rule function, `check` = "module:function" under memkb.rules;
    its doc is the function's docstring."""
    module = f"memkb.rules.{check.partition(':')[0]}"
    return Rule(code, scope, summary, module, severity, f"memkb.rules.{check}")


def _raised(
    code: str,
    scope: Scope,
    summary: str,
    raised_in: str,
    doc: str,
    *,
    severity: Severity = Severity.ERROR,
) -> Rule:
    """A code raised inside `raised_in` (the loader, schema, change check or importer)."""
    return Rule(code, scope, summary, raised_in, severity, text=doc)


# Short names keep the table below readable.
LOAD, FILE, COLL = Scope.LOAD, Scope.FILE, Scope.COLLECTION
CHANGE, IMPORT = Scope.CHANGE, Scope.IMPORT
_LOADER = "memkb.records.load"
_CHANGE = "memkb.rules.change"
_SAFETY = "memkb.rules.safety"
_CONVERT = "memkb.legacy.convert"
_IMPORTER = "memkb.legacy.importer"
_SOURCE = "memkb.legacy.source"
_MAPPING = "memkb.legacy.mapping"
_DERIVED = "memkb.legacy.derived"

# One entry per line group, aligned by hand: the formatter is kept off the table.
# fmt: off
_RULES: tuple[Rule, ...] = (
    # KB1xx: reading the file
    _raised("KB101", LOAD, "YAML syntax error", _LOADER,
            "The file does not parse as YAML; the finding is at the parser's line and column."),
    _raised("KB102", LOAD, "duplicate key in a mapping", _LOADER,
            "A key appears twice in one mapping; every duplicate is reported, not just the "
            "first."),
    _raised("KB103", LOAD, "custom YAML tag (e.g. !!python/object) is not allowed", _LOADER,
            "Files are read with a safe loader: tags such as !!python/object are refused."),
    _raised("KB104", LOAD,
            'anchors and aliases expand beyond the limit ("billion laughs")', _LOADER,
            "Anchors and aliases are allowed, but their expansion is bounded (20,000 nodes), "
            "so a billion-laughs file fails in microseconds."),
    _raised("KB105", LOAD, "file larger than the size limit", "memkb.limits",
            "A file over 256 KiB is refused before it is parsed."),
    _raised("KB106", LOAD, "file is not valid UTF-8", _LOADER,
            "Knowledge files are UTF-8; the finding points at the offending byte."),
    _raised("KB107", LOAD, "tab character in a knowledge file", _LOADER,
            "YAML indentation is spaces; a tab is reported where it stands."),
    _raised("KB108", LOAD, "file is empty", _LOADER,
            "An empty file holds no record."),
    _raised("KB109", LOAD, "top level of the file is not a mapping", _LOADER,
            "A record is a mapping of fields (kind, id, ...)."),
    _raised("KB110", LOAD, "file cannot be read", "memkb.kb.discover",
            "The file exists but reading it failed (permissions, a broken symlink)."),
    _raised("KB111", LOAD, "values nest too deeply, or an alias refers to itself", _LOADER,
            "Nesting is bounded, and a recursive alias is refused."),
    # KB2xx: schema
    _raised("KB112", LOAD, "integer beyond ±9007199254740991 (2^53 - 1)", _LOADER,
            "JSON's exact range, so every reader of a record sees the same number; the "
            "value is refused before conversion, so a 5,000-digit integer costs nothing."),
    _raised("KB201", FILE, "value violates the kind's JSON Schema", "memkb.records.schema",
            "Each record is checked against schemas/<kind>.schema.json (2020-12); every "
            "violation is reported at the offending value (an unknown field at its key, a "
            "missing field at its parent)."),
    _rule("KB202", FILE, "missing or unknown 'kind'", "perfile:kind_matches_folder"),
    _raised("KB210", FILE, "a derived figure (computed from outcomes or Git) is typed by hand",
            "memkb.records.schema",
            "Figures memkb derives from evidence (success_rate, last_updated, ...) are never "
            "typed; a figure declared without evidence belongs under prior: with a weight."),
    _raised("KB211", FILE, "schema reference that leaves schemas/ (remote, file:, ../) or "
            "leads nowhere (nothing is ever fetched)", "memkb.records.schema",
            "References resolve only to files inside schemas/; the schema's records are not "
            "judged until it is fixed."),
    _raised("KB212", FILE, "schema regular expression that cannot run on the linear-time "
            "engine (RE2)", "memkb.records.schema",
            "Backreferences and lookaround are refused: a backtracking regex can hang "
            "validation (ReDoS)."),
    # KB3xx: repository rules
    _rule("KB301", FILE, "id does not equal the file name", "perfile:id_matches_file_name"),
    _rule("KB302", FILE, "file is not in the folder of its kind", "perfile:kind_matches_folder"),
    _rule("KB303", COLL, "two records of one kind share an id", "collection:duplicate_ids"),
    _rule("KB304", COLL,
          "reference to a droid, domain, phase, pattern, failure or template that does not "
          "exist", "collection:references"),
    _rule("KB305", COLL, "reference uses an alias instead of the canonical name",
          "collection:references", severity=W),
    _rule("KB306", COLL, "outcome date lies in the future", "collection:future_outcomes"),
    _raised("KB307", LOAD, "symlink that leaves the repository", "memkb.kb.discover",
            "A knowledge file may be a symlink only to a file inside the repository."),
    _rule("KB308", FILE,
          "outcome file is not under kb/outcomes/<year of its date>/ or its id does not "
          "start with its date", "perfile:outcome_placement"),
    _rule("KB309", COLL, "reference to a deprecated record", "collection:deprecated_references",
          severity=W),
    _rule("KB310", COLL, "superseded_by without status: deprecated, or pointing to itself",
          "collection:supersession"),
    _rule("KB311", FILE,
          "knowledge file with a suffix other than .yaml exactly (.yml, .YAML, .Yaml)",
          "perfile:file_name"),
    _rule("KB312", COLL, "kb/vocabulary.yaml is missing", "collection:missing_vocabulary"),
    _rule("KB313", FILE,
          "missing or wrong `# yaml-language-server: $schema=...` modeline (warning)",
          "perfile:schema_modeline", severity=W),
    _rule("KB314", FILE,
          "file name holds a control character (a newline could forge report lines)",
          "perfile:file_name"),
    # KB32x: what a record lacks for advice (fields optional since schema version 3)
    _rule("KB320", FILE, "pattern without key_droids or phases: advice cannot staff it or "
          "match it by phase (warning)", "completeness:pattern_gaps", severity=W),
    _rule("KB321", FILE, "template without phases or risk_level: it plans no work, or its "
          "risk is unknown (warning)", "completeness:template_gaps", severity=W),
    # KB4xx: rules about a change (memkb check)
    _raised("KB401", CHANGE, "a merged record was renamed (new id or kind): ids are permanent",
            f"{_CHANGE}:permanent_ids", "A record keeps its id and kind once merged."),
    _raised("KB402", CHANGE,
            "a merged outcome was edited or deleted: outcomes are append-only evidence",
            f"{_CHANGE}:append_only_outcomes",
            "Outcomes are evidence: never edited or deleted once merged (a reviewed exception "
            "in kb/.memkb-allow.yaml can waive it)."),
    _raised("KB403", CHANGE, "a deleted (or renamed) record is still referenced",
            f"{_CHANGE}:referenced_deletions", "The referrers are listed."),
    _raised("KB404", CHANGE,
            "a record deprecated in this change is still used by active knowledge",
            f"{_CHANGE}:referenced_deprecations",
            "Other knowledge (e.g. another record's superseded_by) still uses it; outcomes "
            "may keep citing it."),
    _raised("KB405", CHANGE, "a merged record's declared prior figure was edited by hand",
            f"{_CHANGE}:hand_edited_figures",
            "prior.success_rate, weight, ... move only with evidence (a reviewed exception "
            "can waive it)."),
    _raised("KB406", CHANGE, "a schema changed without raising its schema_version, was "
            "deleted, or is not valid JSON", f"{_CHANGE}:schema_versions",
            "Schemas are versioned and never removed; a schema that is not JSON judges no "
            "record, so it fails every run (validate too) at its line and column."),
    _raised("KB407", CHANGE, "the change conflicts with the base (checking its merge is "
            "impossible)", "memkb.validation.check",
            "The merged result cannot be built, so it cannot be checked."),
    _raised("KB410", CHANGE, "a changed file is larger than the per-file limit of a change",
            f"{_CHANGE}:size_limits", "Default 64 KiB (--max-file-bytes)."),
    _raised("KB411", CHANGE, "the change touches more files or bytes than the per-change limit",
            f"{_CHANGE}:size_limits", "Defaults 500 files, 4 MiB (--max-files, "
            "--max-change-bytes)."),
    _raised("KB412", CHANGE, "a changed schema accepts more than before (warning; structure "
            "risk)", f"{_CHANGE}:schema_widening",
            "Reported field by field (a const or enum widened, required shrunk, "
            "additionalProperties opened, a bound relaxed), even with a version bump.",
            severity=W),
    # KB5xx: content safety (memkb check)
    _raised("KB501", CHANGE,
            "a secret or credential (API key, token, private key, password in a URL)", _SAFETY,
            "A credential in memory leaks to every agent that reads it."),
    _raised("KB502", CHANGE, "text that instructs the orchestrator instead of describing "
            "knowledge (prompt injection)", _SAFETY,
            "Memory is fed to an AI: an instruction in it is a prompt-injection channel."),
    _raised("KB503", CHANGE, "kb/.memkb-allow.yaml (reviewed exceptions) is malformed", _SAFETY,
            "Each entry needs code, path, the exact text (or its sha256), a reason and a "
            "reviewer; only KB402, KB405, KB501, KB502 and KB504 can be waived."),
    _raised("KB504", CHANGE,
            "an invisible, format (Unicode Cf), bidi or TAG character in knowledge text",
            _SAFETY, "Hidden characters let text read differently to a person and to the "
            "orchestrator; write the plain character."),
    _raised("KB505", CHANGE,
            "a reviewed exception in kb/.memkb-allow.yaml waives nothing (warning)",
            "memkb.validation.check",
            "Remove the entry, or correct its text so it names what it waives.",
            severity=W),
    # KB6xx: importing legacy memory (memkb import-legacy)
    _raised("KB601", IMPORT,
            "legacy memory unreadable, not UTF-8, or without JSON or memory sections", _SOURCE,
            "The file is refused, saying which shapes were expected and what it holds "
            "(memkb.legacy.shapes). With no importable file, nothing is written (exit 2); "
            "with others, they are imported. In a folder, a file without JSON is a warning."),
    _raised("KB602", IMPORT, "JSON syntax error in the legacy memory (that block is not "
            "imported)", _SOURCE, "Other blocks are still imported."),
    _raised("KB603", IMPORT, "an entry's key and its declared id disagree (the key becomes "
            "the id)", _CONVERT, "A pattern_id / failure_id that disagrees with its key."),
    _raised("KB604", IMPORT,
            "reference to an unknown droid, domain, phase, pattern, failure or template",
            _IMPORTER, "With a did-you-mean for near misses."),
    _raised("KB605", IMPORT,
            "converted record violates its schema (missing field, bad value, wrong shape)",
            _CONVERT, "Or the entry cannot be converted at all; it is not imported."),
    _raised("KB606", IMPORT,
            "a different record with this id already exists (skipped; --force replaces it)",
            _IMPORTER, "The existing record is kept unless --force is given."),
    _raised("KB607", IMPORT,
            "derived figure not imported: memkb computes it from outcomes and Git history",
            _CONVERT, "`memkb metrics` computes it.", severity=W),
    _raised("KB608", IMPORT, "leading '@' stripped from a droid name", _IMPORTER,
            "The droid is imported under its plain name.", severity=W),
    _raised("KB609", IMPORT, "reference uses an alias instead of the canonical vocabulary name",
            _IMPORTER, "The canonical name is written.", severity=W),
    _raised("KB610", IMPORT,
            "duplicate id or duplicate JSON key (the later entry is not imported)", _IMPORTER,
            "Also raised by the JSON reader (memkb.legacy.source) for duplicate keys."),
    _raised("KB611", IMPORT, "unknown section ignored", _CONVERT,
            "An unknown section, or a block that is not an object, is skipped.", severity=W),
    _raised("KB612", IMPORT, "a droid, domain or phase added to kb/vocabulary.yaml "
            "(--extend-vocabulary)", _IMPORTER,
            "Reported once per name, where the memory first uses it; the entry's description "
            "says which file it came from and when. Near misses of existing names are never "
            "added (they stay KB604).", severity=W),
    _raised("KB620", IMPORT, "a rate written as a percentage was converted to a fraction",
            _MAPPING, "success_rate 95 (or \"95%\") becomes the prior 0.95.", severity=W),
    _raised("KB621", IMPORT,
            "fields no record field holds were kept verbatim in legacy.extra", _MAPPING,
            "Names every such field (file_structure, times_used...) and why it is not "
            "evidence where that is the reason.", severity=W),
    _raised("KB622", IMPORT,
            "a derived section was not imported; its text is quoted for review", _DERIVED,
            "insights, learning metrics, core_patterns named by id: each is named, with "
            "its prose quoted, so a reviewer decides what to keep.", severity=W),
    # KB7xx: advice (expectations in kb/expectations/)
    _raised("KB701", COLL, "an expectation about advice does not hold",
            "memkb.advice.expectations",
            "kb/expectations/<id>.yaml names a query and what its advice must be (top "
            "template, patterns included, guards...); the answer `memkb recommend` gives "
            "breaks it. Update the expectation in the same change if the new advice is right."),
)
# fmt: on

REGISTRY: dict[str, Rule] = {rule.code: rule for rule in _RULES}


def _checks(scope: Scope) -> tuple[Check, ...]:
    """The distinct rule functions of `scope`, in code order (one may raise several codes)."""
    found = (r.check for r in REGISTRY.values() if r.scope is scope and r.function is not None)
    return tuple(check for check in dict.fromkeys(found) if check is not None)


_TABLES = {"FILE_RULES": Scope.FILE, "COLLECTION_RULES": Scope.COLLECTION}


def __getattr__(name: str) -> Any:
    """FILE_RULES and COLLECTION_RULES (the rule functions the validation engine runs),
    built on first use, as they import the rule modules (PEP 562)."""
    if name not in _TABLES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = _checks(_TABLES[name])
    return value


def lookup(code: str) -> Rule:
    """The rule of `code` (any case). Raises UsageError, with a near miss, if unknown."""
    wanted = code.strip().upper()
    if wanted in REGISTRY:
        return REGISTRY[wanted]
    close = difflib.get_close_matches(wanted, list(REGISTRY), n=3, cutoff=0.6)
    guess = f" (did you mean {', '.join(close)}?)" if close else ""
    raise UsageError(f"unknown code '{code}'{guess}", hint="`memkb rules` lists every code")


def markdown() -> str:
    """The code table of docs/validation.md."""
    lines = ["| code | scope | severity | what it catches |", "|---|---|---|---|"]
    lines += [f"| `{r.code}` | {r.scope} | {r.severity} | {r.summary} |" for r in _RULES]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m memkb.rules.registry --markdown")
    sys.stdout.write(markdown())
