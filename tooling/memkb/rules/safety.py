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

import functools
import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from memkb.findings import Finding, error
from memkb.kb.snapshot import Snapshot
from memkb.records.load import load_bytes
from memkb.rules.lazy_regex import LazyRegex
from memkb.rules.secret_detectors import KEYWORD, keyword_values, regex_detectors

# PyYAML (~20 ms to import) composes a file to find its strings and their places; a new
# file memkb rendered itself is scanned without it (see unsafe_additions).
if TYPE_CHECKING:
    import yaml

ALLOW_FILE = "kb/.memkb-allow.yaml"
# Codes a reviewed exception may waive. Validation rules (KB1xx-KB3xx) cannot be waived:
# an invalid record is never right.
ALLOWABLE = frozenset({"KB402", "KB405", "KB501", "KB502", "KB504"})


class Pattern(NamedTuple):
    """One thing to look for: a name users see, the finding code, the regex, what to do."""

    name: str
    code: str
    regex: LazyRegex
    hint: str


def _p(name: str, code: str, regex: str, hint: str) -> Pattern:
    keywords, ignore_case = PATTERN_KEYWORDS.get(name, ((), False))  # none: always run
    return Pattern(name, code, LazyRegex(regex, keywords, ignore_case), hint)


# Each pattern's keywords (memkb.rules.lazy_regex): one of them occurs in every text the
# pattern matches, lower case where it ignores case (True). Derived from the patterns by
# tests/unit/rules/test_safety_keywords.py, which holds this table equal to them.
PATTERN_KEYWORDS: dict[str, tuple[tuple[str, ...], bool]] = {
    "AWS access key or unique id": (
        ("3T", "BIA", "CCA", "GPA", "IDA", "IPA", "KIA", "NPA", "NVA", "PKA", "ROA", "SIA"),
        False,
    ),
    "Slack app token": (
        (
            "xapp-0-",
            "xapp-1-",
            "xapp-2-",
            "xapp-3-",
            "xapp-4-",
            "xapp-5-",
            "xapp-6-",
            "xapp-7-",
            "xapp-8-",
            "xapp-9-",
        ),
        True,
    ),
    "npm token": (("npm_",), False),
    "GitHub token": (("github_pat_",), False),
    "API secret key": (("sk-",), False),
    "Google API key": (("AIza",), False),
    "Stripe key": (("rk_live_", "sk_live_"), False),
    "JSON Web Token": ((".eyJ",), False),
    "Azure storage key": (("accountkey=",), True),
    "private key body": (("MII",), False),
    "password in a URL": (("://",), False),
    "credential assigned a value": (
        ("access", "api", "client", "passwd", "password", "private", "pwd", "secret", "token"),
        True,
    ),
    "instruction override": (
        (
            "abandon",
            "discard",
            "disregard",
            "forget",
            "ignore",
            "override",
            "overrule",
            "set aside",
            "stop following",
        ),
        False,
    ),
    "role header": (("assistant", "orchestrator", "system"), False),
    "instruction header": (("instruction", "prompt", "system", "task"), False),
    "new instructions": (("directive", "instruction", "orders", "system prompt"), False),
    "addressing the reader": (
        ("assistant", "attention", "dear", "hey", "note to", "orchestrator"),
        False,
    ),
    "privilege request": (("elevate", "escalate", "give", "grant"), False),
    "role override": (
        (
            "act as ",
            "from now on",
            "pretend that you",
            "pretend to be",
            "pretend you are",
            "you are now",
            "you're now",
            "your new ",
            "your real ",
        ),
        False,
    ),
    "approval directive": (
        ("always", "approve", "automatically", "silently", "unconditionally"),
        False,
    ),
    "system prompt probe": (
        ("developer message", "hidden instructions", "initial instructions", "system prompt"),
        False,
    ),
    "safety bypass": (("content filter", "guardrail", "safety ", "security controls"), False),
    "exfiltration": (
        ("api key", "credential", "environment variables", "password", "secret", "token"),
        False,
    ),
    "chat-template markup": (
        ("assistant", "endoftext", "im_end", "im_start", "inst]", "sys"),
        False,
    ),
}


_SECRET_HINT = "remove it and rotate the credential: Git history keeps it"
_INJECT_HINT = (
    "describe knowledge, do not instruct the reader; if the text is quoted on purpose, "
    f"add a reviewed exception to {ALLOW_FILE}"
)
COMMIT_HINT = (
    "rewrite the commit (git commit --amend, or git rebase -i) so that its author, "
    "committer and message only describe the change"
)
_INVISIBLE_HINT = "remove it: the text a reviewer sees must be the text the orchestrator reads"

# KB501, the gaps of detect-secrets 1.5.0 (which does the bulk, see _detectors), written
# after gitleaks' published rules. Matched on the value with invisible characters removed.
SECRETS: tuple[Pattern, ...] = (
    _p(
        "AWS access key or unique id",
        "KB501",
        r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b",
        _SECRET_HINT,
    ),
    _p("Slack app token", "KB501", r"(?i)\bxapp-\d-[a-z0-9]+-\d+-[a-z0-9]+", _SECRET_HINT),
    _p("npm token", "KB501", r"\bnpm_[A-Za-z0-9]{36}\b", _SECRET_HINT),
    _p("GitHub token", "KB501", r"\bgithub_pat_[A-Za-z0-9_]{22,}", _SECRET_HINT),
    _p("API secret key", "KB501", r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}", _SECRET_HINT),
    _p("Google API key", "KB501", r"\bAIza[0-9A-Za-z_-]{35}", _SECRET_HINT),
    _p("Stripe key", "KB501", r"\b[rs]k_live_[0-9A-Za-z]{16,}", _SECRET_HINT),
    # detect-secrets reports a JWT only if its parts decode; the shape alone is enough here.
    _p(
        "JSON Web Token",
        "KB501",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        _SECRET_HINT,
    ),
    _p("Azure storage key", "KB501", r"(?i)\bAccountKey=[a-z0-9+/=]{20,}", _SECRET_HINT),
    # A DER private key (or certificate) in base64 starts "MII"; the body alone is the key.
    _p("private key body", "KB501", r"\bMII[A-Za-z0-9+/]{60,}", _SECRET_HINT),
    _p(
        "password in a URL",
        "KB501",
        r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]*:[^\s/@'\"]+@[^\s/'\"]+",
        "write the URL without user:password@",
    ),
    _p(
        "credential assigned a value",
        "KB501",
        r"(?i)(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?key|access[_-]?token|"
        r"auth[_-]?token|client[_-]?secret|private[_-]?key)\w*\s*[:=]\s*['\"]?"
        r"(?=[^\s'\"]*\d)(?=[^\s'\"]*[A-Za-z])[^\s'\"]{8,}",
        _SECRET_HINT,
    ),
)

# KB502: text addressed to the reader (the orchestrator) rather than describing knowledge.
# Matched on the normalized text (see normalize): lower case, Latin skeleton, one space.
_VERB = r"(?:ignore|disregard|forget|override|overrule|discard|abandon|set aside|stop following)"
_EARLIER = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|former|original|all|any|every|"
    r"your|everything|anything|whatever)"
)
_GUIDANCE = (
    r"(?:instructions?|prompts?|rules|guidelines?|guidance|directives?|directions|context|"
    r"orders|commands|told|said|taught|constraints|policies|programming)"
)
_READER = r"(?:the )?(?:orchestrator|assistant|ai|agent|model|llm|droids?|reader|you)"
_IMPERATIVE = (
    r"(?:approve|ignore|disregard|grant|allow|merge|deploy|run|execute|delete|disable|send|"
    r"reveal|always|never|you|obey|follow|override|accept|forget|do)"
)
INJECTIONS: tuple[Pattern, ...] = (
    _p(
        "instruction override",
        "KB502",
        rf"\b{_VERB}\b[^.!?]{{0,40}}?\b{_EARLIER}\b[^.!?]{{0,30}}?\b{_GUIDANCE}\b",
        _INJECT_HINT,
    ),
    _p(
        "role header",
        "KB502",
        rf"\b(?:system|assistant|orchestrator)\s*(?:prompt\s*)?:\s*{_IMPERATIVE}\b",
        _INJECT_HINT,
    ),
    _p(
        "instruction header",
        "KB502",
        r"#{1,6} ?(?:new |updated )?(?:instructions?|system(?: prompt)?|prompt|task)\b",
        _INJECT_HINT,
    ),
    _p(
        "new instructions",
        "KB502",
        rf"\b(?:new|updated|revised|additional|real|actual|true)\s+(?:instructions?|directives?|"
        rf"orders|system prompt)\b\s*(?::|\bfor {_READER}\b)",
        _INJECT_HINT,
    ),
    _p(
        "addressing the reader",
        "KB502",
        r"\b(?:attention|note to|dear|hey)\s*,?\s*(?:the )?(?:orchestrator|assistant|ai|llm|"
        r"language model)\b|\b(?:orchestrator|assistant)\s*[,:]\s*(?:you must|you should|"
        r"you will|always|never|ignore|approve|do not)\b",
        _INJECT_HINT,
    ),
    _p(
        "privilege request",
        "KB502",
        r"\b(?:grant|give|escalate|elevate)\b[^.!?]{0,40}\b(?:admin|administrator|root|"
        r"sudo|superuser|owner)\b[^.!?]{0,20}\b(?:access|rights|privileges?|permissions?|role)\b",
        _INJECT_HINT,
    ),
    _p(
        "role override",
        "KB502",
        r"\b(?:you are now|you're now)\s+(?:a|an|the|my|in|no longer|free|unrestricted|"
        r"jailbroken|dan|root|admin|system|developer)\b|\bfrom now on,? (?:you|the orchestrator|"
        r"the assistant)\b|\bpretend (?:to be|you are|that you)\b|\bact as (?:an? |the )?(?:admin|"
        r"administrator|root|system|developer mode|unrestricted)\b|\byour (?:new|real) "
        r"(?:role|task|instructions?|goal|purpose) is\b",
        _INJECT_HINT,
    ),
    _p(
        "approval directive",
        "KB502",
        r"\b(?:always|automatically|unconditionally|silently)\s+(?:approve|merge|accept)\b|"
        r"\bapprove\b[^.!?]{0,30}\bwithout\b[^.!?]{0,20}\b(?:review|checks?|tests?|question)",
        _INJECT_HINT,
    ),
    _p(
        "system prompt probe",
        "KB502",
        r"\b(?:reveal|print|show|repeat|leak|output)\b[^.!?]{0,30}\b(?:system prompt|"
        r"hidden instructions|developer message|initial instructions)\b",
        _INJECT_HINT,
    ),
    _p(
        "safety bypass",
        "KB502",
        r"\b(?:disable|bypass|turn off|switch off|skip)\b[^.!?]{0,20}\b(?:guardrails?|"
        r"safety (?:checks?|filters?)|content filters?|security controls)\b",
        _INJECT_HINT,
    ),
    _p(
        "exfiltration",
        "KB502",
        r"\b(?:send|post|upload|exfiltrate|forward)\b[^.!?]{0,40}\b(?:secrets?|credentials?|"
        r"api keys?|tokens?|passwords?|environment variables)\b.{0,40}https?://",
        _INJECT_HINT,
    ),
    _p(
        "chat-template markup",
        "KB502",
        r"<\|?\s*/?\s*(?:system|im_start|im_end|assistant|endoftext)\s*\|?>|\[/?(?:inst|system)\]"
        r"|<<\s*/?sys\s*>>",
        _INJECT_HINT,
    ),
)

PATTERNS: tuple[Pattern, ...] = SECRETS + INJECTIONS

# ------------------------------------------------------------ Unicode normalization

# Characters a reader does not see: C0/C1 controls (but tab and line breaks), every
# code point of category Cf in Unicode 15 (soft hyphen, Arabic and Syriac marks,
# zero-width and bidi marks, U+FEFF, the TAG block U+E0000-E007F, ...), lone surrogates
# (from a "\udb40" escape), and the default-ignorables outside Cf (combining grapheme
# joiner, Hangul fillers, variation selectors). One regex: this runs on every value.
# invisible_chars also asks unicodedata for Cf, for characters of later Unicode versions.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd"
    "\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\ud800-\udfff\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)

# Confusables skeleton: Cyrillic and Greek letters that look Latin, after casefold.
# (After Unicode's confusables.txt, the letters an attacker can type in a Latin word.)
# Escaped: the letters themselves would be confusing here, too (and ruff says so).
_SKELETON = str.maketrans(
    "\u0430\u0432\u0441\u0501\u0435\u0451\u04bb\u0456"
    "\u0457\u0458\u043a\u04cf\u043c\u043d\u043e\u0440"
    "\u051b\u0455\u0442\u0446\u0475\u051d\u0445\u0443"
    "\u0433\u043f\u044c\u03b1\u03b2\u03b5\u03b7\u03b9"
    "\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u03b3"
    "\u03c9\u0461\u0261\u0131\u2113",
    "abcdeehiijklmhopqstuvwxyrnbabenikvoptuxywwgil",
)


def _is_invisible(char: str) -> bool:
    return bool(_HIDDEN.match(char)) or unicodedata.category(char) == "Cf"


def invisible_chars(text: str) -> list[str]:
    """The invisible, control, format (Cf), bidi and TAG characters in `text`, in order,
    once each."""
    # ASCII text: the regex alone; other text also asks unicodedata about each character.
    found = _HIDDEN.findall(text) if text.isascii() else [c for c in text if _is_invisible(c)]
    return list(dict.fromkeys(found))


def visible(text: str) -> str:
    """`text` without invisible characters (what a reviewer sees)."""
    hidden = invisible_chars(text)
    return "".join(c for c in text if c not in hidden) if hidden else text


def normalize(text: str) -> str:
    """The text as injection rules read it: invisibles removed, NFKC (fullwidth letters),
    accents dropped, case folded, homoglyphs mapped to Latin, whitespace runs one space."""
    folded = unicodedata.normalize("NFKC", visible(text)).casefold()
    bare = "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", bare.translate(_SKELETON))


# ------------------------------------------------------------------------ the scan


class Hit(NamedTuple):
    """One finding of the scan: where, which rule, and the whole string it was found in
    (what an exception in the allow file names, by text or sha256)."""

    path: str
    line: int
    col: int
    code: str
    name: str
    text: str
    hint: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8", "surrogatepass")).hexdigest()

    def finding(self) -> Finding:
        """The hit as an error finding; the secret itself is never repeated in the message."""
        what = {
            "KB501": "credential",
            "KB502": "instruction to the orchestrator",
            "KB504": "hidden character",
        }[self.code]
        if self.path.startswith("commit "):  # cannot be waived: the commit is rewritten
            where, hint = "commit metadata", COMMIT_HINT
        else:
            where, hint = "a knowledge file", f"{self.hint} (the text's sha256 is {self.sha256})"
        return error(
            self.path,
            self.code,
            f"{what} in {where}: {self.name}",
            line=self.line,
            col=self.col,
            hint=hint,
        )


class Piece(NamedTuple):
    """One string the orchestrator (or a reviewer) reads, and where it starts (1-based)."""

    text: str
    line: int
    col: int


def scan_text(path: str, raw: bytes) -> list[Hit]:
    """Every safety hit in a knowledge file: in each parsed string value and mapping key
    (escapes decoded, multi-line scalars joined, as the orchestrator reads them) and in
    each comment. A file that does not parse is scanned line by line (validate reports
    why it does not parse)."""
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    return [hit for piece in pieces(text, path) for hit in scan_string(path, piece)]


def pieces(text: str, path: str = "") -> list[Piece]:
    """The strings of a YAML text: scalars (keys and values) and comments, in order."""
    import yaml

    from memkb.records.readers import KbLoader

    # The reference reader: the text is composed by it next anyway.
    if load_bytes(text.encode("utf-8", "surrogatepass"), path, fast=False).doc is None:
        return [Piece(line, n, 1) for n, line in enumerate(text.splitlines(), start=1)]
    node = yaml.compose(text, Loader=KbLoader)
    scalars = list(_scalars(node, set())) if node is not None else []
    spans = sorted((s.start_mark.index, s.end_mark.index) for s in scalars)
    found = [Piece(s.value, s.start_mark.line + 1, s.start_mark.column + 1) for s in scalars]
    return sorted(found + _comments(text, spans), key=lambda p: (p.line, p.col))


def _scalars(node: yaml.Node, seen: set[int]) -> Iterator[yaml.ScalarNode]:
    import yaml

    if id(node) in seen:
        return  # an alias: its text was scanned where the anchor is
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            yield from _scalars(child, seen)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(key, seen)
            yield from _scalars(value, seen)


def _comments(text: str, spans: list[tuple[int, int]]) -> list[Piece]:
    """Comments: a `#` outside every scalar, at a line start or after a space, to the end
    of its line (YAML's rule; the parsed document drops them, a reviewer still sees them)."""
    found = []
    for match in re.finditer(r"(?:^|(?<=[ \t]))#[^\n]*", text, re.MULTILINE):
        start = match.start()
        if any(low <= start < high for low, high in spans):
            continue
        line = text.count("\n", 0, start) + 1
        found.append(Piece(match.group(0), line, start - text.rfind("\n", 0, start)))
    return found


def scan_string(path: str, piece: Piece) -> list[Hit]:
    """The hits in one string: hidden characters (KB504), secrets (KB501) and
    instructions to the orchestrator (KB502); at most one hit per rule."""
    hits = [
        Hit(path, piece.line, piece.col, "KB504", _char_name(char), piece.text, _INVISIBLE_HINT)
        for char in invisible_chars(piece.text)
    ]
    plain = visible(piece.text)
    for name in secret_names(plain)[:1]:  # one credential finding per string is enough
        hits.append(Hit(path, piece.line, piece.col, "KB501", name, piece.text, _SECRET_HINT))
    normal = normalize(piece.text)
    for rule in INJECTIONS:
        if rule.regex.search(normal):
            hits.append(Hit(path, piece.line, piece.col, "KB502", rule.name, piece.text, rule.hint))
    return hits


def _char_name(char: str) -> str:
    return f"invisible character U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip()


def secret_names(text: str) -> list[str]:
    """Names of the kinds of secret in `text` (detect-secrets' plugins, our gap rules,
    then an entropy check), each once."""
    if len(text) < 8:
        return []  # too short to hold a credential: skip the detectors
    names = [name for name, found in _detectors() if found(text)]
    names += [rule.name for rule in SECRETS if rule.regex.search(text)]
    if not names and _high_entropy(text):
        names.append("high-entropy string")
    return list(dict.fromkeys(names))


@functools.cache
def _detectors() -> tuple[tuple[str, Callable[[str], bool]], ...]:
    """detect-secrets' plugins as (name, does `text` hold one?) pairs: its regex plugins
    and its keyword detector, run from memkb.rules.secret_detectors (their patterns as
    data: importing detect-secrets loads `requests`, ~170 ms a writer process would pay)."""
    keyword = (KEYWORD, lambda s: any(_looks_secret(v) for v in keyword_values(s)))
    return (*regex_detectors(), keyword)


def _looks_secret(value: str) -> bool:
    """A keyword's value that is a credential, not prose ("password: bcrypt, cost 12")."""
    return (
        len(value) >= 8
        and not re.search(r"\s", value)
        and bool(re.search(r"\d", value))
        and bool(re.search(r"[A-Za-z]", value))
    )


def _high_entropy(text: str) -> bool:
    """True if `text` holds a long token of mixed case and digits that looks random
    (Shannon entropy above detect-secrets' base64 limit, scaled to the token length)."""
    for token in re.findall(r"[A-Za-z0-9+/=_-]{20,}", text):
        classes = [re.search(c, token) for c in ("[a-z]", "[A-Z]", "[0-9]")]
        if all(classes) and _entropy(token) >= min(4.5, math.log2(len(token)) - 0.3):
            return True
    return False


def _entropy(token: str) -> float:
    counts = {c: token.count(c) for c in set(token)}
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


def unsafe_additions(snapshot: Snapshot, files: Mapping[str, bytes | None]) -> list[Finding]:
    """Safety findings a write would add: hits in the new content of each written file
    that its current content does not already hold, less reviewed exceptions. A write is
    refused on them, so poisoned memory never reaches a commit, not even an unreviewed one.
    Judged against `snapshot`, the state written to (a proposal branch has its own)."""
    allows, _ = load_allowlist(snapshot.read(ALLOW_FILE))
    found = []
    for path, new in files.items():
        if new is None or path == ALLOW_FILE:
            continue
        old_raw = snapshot.read(path) or b""
        if not old_raw and _clean_rendering(path, new):
            continue  # a new record in which no string holds anything to find
        before = {(hit.code, hit.text) for hit in scan_text(path, old_raw)}
        for hit in scan_text(path, new):
            finding = hit.finding()
            if (hit.code, hit.text) not in before and not any(
                allow.covers(finding, hit.text) for allow in allows
            ):
                found.append(finding)
    return found


def _clean_rendering(path: str, raw: bytes) -> bool:
    """True if `raw` is exactly what memkb renders for its own document and none of its
    strings holds a hit: scan_text would find nothing in it, without composing it."""
    strings = rendered_strings(path, raw)
    return strings is not None and not any(scan_string(path, Piece(s, 1, 1)) for s in strings)


def rendered_strings(path: str, raw: bytes) -> list[str] | None:
    """The strings scan_text searches in `raw` (in another order) when `raw` is exactly
    render_record's text of the document it reads as: the modeline (its only comment)
    and every key and scalar as written (memkb.records.render.scalar_texts). None for
    any other file. tests/unit/rules/test_safety_rendered.py holds the two equal."""
    from memkb.records.render import render_record, scalar_texts

    doc = load_bytes(raw, path).doc
    if doc is None or not isinstance(doc.get("kind"), str):
        return None
    try:
        text = render_record(doc["kind"], doc, path)
    except (KeyError, TypeError, ValueError):
        return None
    if text.encode("utf-8", "surrogatepass") != raw:
        return None
    return [text.split("\n", 1)[0], *scalar_texts(doc)]


# --------------------------------------------------------------- reviewed exceptions


class Allow(NamedTuple):
    """One reviewed exception: `code` is waived in file `path` for exactly one text (given
    as `text`, or as its `sha256`), for the stated `reason`, as checked by `reviewer`.

    The text is the whole string a safety finding was found in, or for a change rule
    (KB402, KB405) the file's whole content at head: a later edit is not covered."""

    code: str
    path: str
    reason: str
    reviewer: str
    text: str | None = None
    sha256: str | None = None

    def covers(self, finding: Finding, text: str | None = None) -> bool:
        """True if this exception waives `finding` (whose text is `text`)."""
        if finding.code != self.code or finding.path != self.path or text is None:
            return False
        if self.text is not None and text == self.text:
            return True
        return self.sha256 is not None and _sha256(text) == self.sha256


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def load_allowlist(raw: bytes | None) -> tuple[list[Allow], list[Finding]]:
    """The exceptions of the allow file (None = no file) and findings for malformed entries."""
    if raw is None:
        return [], []
    loaded = load_bytes(raw, ALLOW_FILE, fast=False)
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
        return "an entry is a mapping with code, path, text (or sha256), reason and reviewer"
    unknown = set(entry) - {"code", "path", "reason", "reviewer", "text", "sha256"}
    if unknown:
        return f"unknown field(s) {', '.join(sorted(map(str, unknown)))}"
    code, path, reason = entry.get("code"), entry.get("path"), entry.get("reason")
    if code not in ALLOWABLE:
        return f"code {code!r} cannot be waived (allowed: {', '.join(sorted(ALLOWABLE))})"
    if not isinstance(path, str) or not path.startswith("kb/"):
        return "path must name one file under kb/"
    if not isinstance(reason, str) or len(reason.strip()) < 10:
        return "reason must say, in a sentence, why the exception is right"
    reviewer, text, digest = entry.get("reviewer"), entry.get("text"), entry.get("sha256")
    if not isinstance(reviewer, str) or not reviewer.strip():
        return "reviewer must name who reviewed the exception"
    if text is None and digest is None:
        # A blanket entry (code and path only) would waive every later addition too.
        return "name the exact text waived (text: ...) or its sha256 (sha256: <64 hex digits>)"
    if text is not None and (not isinstance(text, str) or not text):
        return "text, when given, is the exact non-empty text the finding was found in"
    if digest is not None and not (
        isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)
    ):
        return "sha256, when given, is 64 lower-case hex digits"
    return Allow(code, path, reason.strip(), reviewer.strip(), text, digest)


def _bad_allow(number: int, message: str) -> Finding:
    where = f"entry {number}: " if number else ""
    return error(
        ALLOW_FILE,
        "KB503",
        f"malformed exception: {where}{message}",
        hint="each entry: {code: KB502, path: kb/..., text: exact text (or sha256: hex), "
        "reason: why, reviewer: who}",
    )
