"""Every finding code memkb can emit, with a one-line description. Codes are stable:
users grep for them, suppress them and search the docs by them."""

from __future__ import annotations

CODES: dict[str, str] = {
    # KB1xx: reading the file
    "KB101": "YAML syntax error",
    "KB102": "duplicate key in a mapping",
    "KB103": "custom YAML tag (e.g. !!python/object) is not allowed",
    "KB104": 'anchors and aliases expand beyond the limit ("billion laughs")',
    "KB105": "file larger than the size limit",
    "KB106": "file is not valid UTF-8",
    "KB107": "tab character in a knowledge file",
    "KB108": "file is empty",
    "KB109": "top level of the file is not a mapping",
    "KB110": "file cannot be read",
    "KB111": "values nest too deeply, or an alias refers to itself",
    "KB112": "integer beyond ±9007199254740991 (2^53 - 1)",
    # KB2xx: schema
    "KB201": "value violates the kind's JSON Schema",
    "KB202": "missing or unknown 'kind'",
    "KB210": "a derived figure (computed from outcomes or Git) is typed by hand",
    # KB3xx: repository rules
    "KB301": "id does not equal the file name",
    "KB302": "file is not in the folder of its kind",
    "KB303": "two records of one kind share an id",
    "KB304": "reference to a droid, domain, phase, pattern, failure or template that "
    "does not exist",
    "KB305": "reference uses an alias instead of the canonical name",
    "KB306": "outcome date lies in the future",
    "KB307": "symlink that leaves the repository",
    "KB308": "outcome file is not under kb/outcomes/<year of its date>/ or its id does not "
    "start with its date",
    "KB309": "reference to a deprecated record",
    "KB310": "superseded_by without status: deprecated, or pointing to itself",
    "KB311": "knowledge file with a .yml suffix (use .yaml)",
    "KB312": "kb/vocabulary.yaml is missing",
    "KB313": "missing or wrong `# yaml-language-server: $schema=...` modeline (warning)",
    # KB4xx: rules about a change (memkb check)
    "KB401": "a merged record was renamed (new id or kind): ids are permanent",
    "KB402": "a merged outcome was edited or deleted: outcomes are append-only evidence",
    "KB403": "a deleted (or renamed) record is still referenced",
    "KB404": "a record deprecated in this change is still used by active knowledge",
    "KB405": "a merged record's declared prior figure was edited by hand",
    "KB406": "a schema changed without raising its schema_version, or was deleted",
    "KB407": "the change conflicts with the base (checking its merge is impossible)",
    "KB410": "a changed file is larger than the per-file limit of a change",
    "KB411": "the change touches more files or bytes than the per-change limit",
    # KB5xx: content safety (memkb check)
    "KB501": "a secret or credential (API key, token, private key, password in a URL)",
    "KB502": "text that instructs the orchestrator instead of describing knowledge "
    "(prompt injection)",
    "KB503": "kb/.memkb-allow.yaml (reviewed exceptions) is malformed",
    # KB6xx: importing legacy memory (memkb import-legacy)
    "KB601": "legacy memory unreadable, not UTF-8, or without JSON or memory sections",
    "KB602": "JSON syntax error in the legacy memory (that block is not imported)",
    "KB603": "an entry's key and its declared id disagree (the key becomes the id)",
    "KB604": "reference to an unknown droid, domain, phase, pattern, failure or template",
    "KB605": "converted record violates its schema (missing field, bad value, wrong shape)",
    "KB606": "a different record with this id already exists (skipped; --force replaces it)",
    "KB607": "derived figure not imported: memkb computes it from outcomes and Git history",
    "KB608": "leading '@' stripped from a droid name",
    "KB609": "reference uses an alias instead of the canonical vocabulary name",
    "KB610": "duplicate id or duplicate JSON key (the later entry is not imported)",
    "KB611": "unknown section ignored",
}
