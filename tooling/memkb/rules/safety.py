"""Content safety: secrets and instructions aimed at the orchestrator, as a table of patterns.

Memory is fed to an AI. A credential in a knowledge file leaks to every agent that
reads memory; a sentence that tells the reader what to do ("ignore previous
instructions", "grant admin access") turns memory into a prompt-injection channel.
Both are errors in `memkb check`, unless a reviewed exception in kb/.memkb-allow.yaml
says otherwise (see docs/check.md).

Usage::

    hits = scan_text("kb/patterns/x.yaml", raw)
    allow = load_allowlist(raw_allow_file)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memkb.findings import Finding, error
from memkb.kb.snapshot import Snapshot
from memkb.records.load import load_bytes

ALLOW_FILE = "kb/.memkb-allow.yaml"
# Codes a reviewed exception may waive. Validation rules (KB1xx-KB3xx) cannot be waived:
# an invalid record is never right.
ALLOWABLE = frozenset({"KB402", "KB405", "KB501", "KB502"})


@dataclass(frozen=True)
class Pattern:
    """One thing to look for: a name users see, the finding code, the regex, what to do."""

    name: str
    code: str
    regex: re.Pattern[str]
    hint: str


def _p(name: str, code: str, regex: str, hint: str) -> Pattern:
    return Pattern(name, code, re.compile(regex), hint)


_SECRET_HINT = "remove it and rotate the credential: Git history keeps it"
_INJECT_HINT = (
    "describe knowledge, do not instruct the reader; if the text is quoted on purpose, "
    f"add a reviewed exception to {ALLOW_FILE}"
)

# KB501: credentials. Prefixed token formats first (few false positives), then the
# generic shapes: a private key block, a password inside a URL, `secret: <value>`.
SECRETS: tuple[Pattern, ...] = (
    _p("AWS access key id", "KB501", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", _SECRET_HINT),
    _p("GitHub token", "KB501", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", _SECRET_HINT),
    _p("GitHub token", "KB501", r"\bgithub_pat_[A-Za-z0-9_]{22,}", _SECRET_HINT),
    _p("Slack token", "KB501", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", _SECRET_HINT),
    _p("API secret key", "KB501", r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}", _SECRET_HINT),
    _p("Stripe key", "KB501", r"\b[rs]k_live_[0-9A-Za-z]{16,}", _SECRET_HINT),
    _p("Google API key", "KB501", r"\bAIza[0-9A-Za-z_-]{35}", _SECRET_HINT),
    _p(
        "JSON Web Token",
        "KB501",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        _SECRET_HINT,
    ),
    _p(
        "private key", "KB501", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----", _SECRET_HINT
    ),
    _p(
        "password in a URL",
        "KB501",
        r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:[^\s/@'\"]+@[^\s/'\"]+",
        "write the URL without user:password@",
    ),
    _p(
        "credential assigned a value",
        "KB501",
        r"(?i)\b(?:password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|"
        r"client[_-]?secret)\b\s*[:=]\s*['\"]?(?=[^\s'\"]*\d)(?=[^\s'\"]*[A-Za-z])[^\s'\"]{12,}",
        _SECRET_HINT,
    ),
)

# KB502: text addressed to the reader (the orchestrator) rather than describing knowledge.
INJECTIONS: tuple[Pattern, ...] = (
    _p(
        "instruction override",
        "KB502",
        r"(?i)\b(?:ignore|disregard|forget|override)\b[^.\n]{0,30}\b(?:previous|prior|above|"
        r"earlier|all|any|your)\b[^.\n]{0,20}\b(?:instructions?|prompts?|rules|guidelines|"
        r"directives)\b",
        _INJECT_HINT,
    ),
    _p(
        "privilege request",
        "KB502",
        r"(?i)\b(?:grant|give|escalate|elevate)\b[^.\n]{0,40}\b(?:admin|administrator|root|"
        r"sudo|superuser|owner)\b[^.\n]{0,20}\b(?:access|rights|privileges?|permissions?|role)\b",
        _INJECT_HINT,
    ),
    _p(
        "role override",
        "KB502",
        r"(?i)\b(?:you are now|from now on,? you|pretend (?:to be|you are)|"
        r"act as (?:an? )?(?:admin|root|system|developer mode))\b",
        _INJECT_HINT,
    ),
    _p(
        "system prompt probe",
        "KB502",
        r"(?i)\b(?:reveal|print|show|repeat|leak)\b[^.\n]{0,30}\b(?:system prompt|"
        r"hidden instructions|developer message)\b",
        _INJECT_HINT,
    ),
    _p(
        "safety bypass",
        "KB502",
        r"(?i)\b(?:disable|bypass|turn off|switch off)\b[^.\n]{0,20}\b(?:guardrails?|"
        r"safety (?:checks?|filters?)|content filters?|security controls)\b",
        _INJECT_HINT,
    ),
    _p(
        "exfiltration",
        "KB502",
        r"(?i)\b(?:send|post|upload|exfiltrate|forward)\b[^.\n]{0,40}\b(?:secrets?|credentials?|"
        r"api keys?|tokens?|passwords?|environment variables)\b[^\n]{0,40}https?://",
        _INJECT_HINT,
    ),
    _p(
        "chat-template markup",
        "KB502",
        r"(?i)<\|?\s*/?\s*(?:system|im_start|im_end|assistant)\s*\|?>|\[/?(?:INST|SYSTEM)\]",
        _INJECT_HINT,
    ),
    _p(
        "invisible or bidirectional control character",
        "KB502",
        "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]",
        "remove it: the text a reviewer sees must be the text the orchestrator reads",
    ),
)

PATTERNS: tuple[Pattern, ...] = SECRETS + INJECTIONS


@dataclass(frozen=True)
class Hit:
    """One match of a pattern: where, which pattern, and the matched text (for allow rules)."""

    path: str
    line: int
    col: int
    pattern: Pattern
    text: str

    def finding(self) -> Finding:
        """The hit as an error finding; the secret itself is never repeated in the message."""
        what = "credential" if self.pattern.code == "KB501" else "instruction to the orchestrator"
        return error(
            self.path,
            self.pattern.code,
            f"{what} in a knowledge file: {self.pattern.name}",
            line=self.line,
            col=self.col,
            hint=self.pattern.hint,
        )


def scan_text(path: str, raw: bytes) -> list[Hit]:
    """Every match of every pattern in `raw`, line by line (1-based line and column)."""
    text = raw.decode("utf-8", errors="replace")
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern in PATTERNS:
            for match in pattern.regex.finditer(line):
                hits.append(Hit(path, number, match.start() + 1, pattern, match.group(0)))
    return hits


def unsafe_additions(snapshot: Snapshot, files: Mapping[str, bytes | None]) -> list[Finding]:
    """Safety findings a write would add: hits in the new content of each written file
    that its current content does not already hold, less reviewed exceptions. A write is
    refused on them, so poisoned memory never reaches a commit, not even an unreviewed one."""
    allows, _ = load_allowlist(snapshot.read(ALLOW_FILE))
    found = []
    for path, new in files.items():
        if new is None or path == ALLOW_FILE:
            continue
        old_raw = snapshot.read(path) or b""
        before = {(hit.pattern.code, hit.text) for hit in scan_text(path, old_raw)}
        for hit in scan_text(path, new):
            finding = hit.finding()
            if (hit.pattern.code, hit.text) not in before and not any(
                allow.covers(finding, hit.text) for allow in allows
            ):
                found.append(finding)
    return found


# --------------------------------------------------------------- reviewed exceptions


@dataclass(frozen=True)
class Allow:
    """One reviewed exception: `code` is waived in file `path` (for text containing `match`,
    when given), for the stated `reason`."""

    code: str
    path: str
    reason: str
    match: str | None = None

    def covers(self, finding: Finding, text: str | None = None) -> bool:
        """True if this exception waives `finding` (whose matched text is `text`)."""
        if finding.code != self.code or finding.path != self.path:
            return False
        return self.match is None or (text is not None and self.match in text)


def load_allowlist(raw: bytes | None) -> tuple[list[Allow], list[Finding]]:
    """The exceptions of the allow file (None = no file) and findings for malformed entries."""
    if raw is None:
        return [], []
    loaded = load_bytes(raw, ALLOW_FILE)
    if loaded.doc is None:
        return [], loaded.findings
    entries = loaded.doc.get("allow")
    if not isinstance(entries, list) or set(loaded.doc) != {"allow"}:
        return [], [_bad_allow(0, "the file must hold one key, `allow:`, with a list")]
    allows, problems = [], []
    for number, entry in enumerate(entries, start=1):
        parsed = _parse_entry(entry)
        if isinstance(parsed, str):
            problems.append(_bad_allow(number, parsed))
        else:
            allows.append(parsed)
    return allows, problems


def _parse_entry(entry: Any) -> Allow | str:
    """An Allow, or what is wrong with the entry."""
    if not isinstance(entry, dict):
        return "an entry is a mapping with code, path and reason"
    unknown = set(entry) - {"code", "path", "reason", "match"}
    if unknown:
        return f"unknown field(s) {', '.join(sorted(map(str, unknown)))}"
    code, path, reason = entry.get("code"), entry.get("path"), entry.get("reason")
    if code not in ALLOWABLE:
        return f"code {code!r} cannot be waived (allowed: {', '.join(sorted(ALLOWABLE))})"
    if not isinstance(path, str) or not path.startswith("kb/"):
        return "path must name one file under kb/"
    if not isinstance(reason, str) or len(reason.strip()) < 10:
        return "reason must say, in a sentence, why the exception is right"
    match = entry.get("match")
    if match is not None and (not isinstance(match, str) or not match):
        return "match, when given, is a non-empty string"
    return Allow(code, path, reason.strip(), match)


def _bad_allow(number: int, message: str) -> Finding:
    where = f"entry {number}: " if number else ""
    return error(
        ALLOW_FILE,
        "KB503",
        f"malformed exception: {where}{message}",
        hint="each entry: {code: KB502, path: kb/..., reason: why, match: optional text}",
    )
