"""Which codes a run reports: ignores from `--ignore`, `[tool.memkb]` in pyproject.toml and
kb/.memkb.yaml, plus per-record exclusions (a path glob -> codes), as in ruff and pySigma.

Every source adds to the others (there is no un-ignore); a code that is not registered,
or one that protects the orchestrator (the change and safety codes, KB4xx/KB5xx, which
only a reviewed entry in kb/.memkb-allow.yaml can waive), is a usage error naming where
it was written. Only codes `validate` reports (scopes load, file, collection) can be
ignored.

Usage::

    selection = load_selection(root, ignore=["KB313"])
    findings = selection.apply(findings)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from memkb.errors import UsageError
from memkb.findings import Finding

# The rule table (and the TOML reader) load only when there is something to check: a run
# with nothing configured and no code on the command line (every warm `memkb validate`
# of such a KB) needs neither.
if TYPE_CHECKING:
    from memkb.rules.registry import Scope

PYPROJECT = "pyproject.toml"
KB_CONFIG = "kb/.memkb.yaml"
KEYS = ("ignore", "per-file-ignores")


@cache
def ignorable_scopes() -> frozenset[Scope]:
    """The scopes of the codes `validate` reports, the only ones that can be ignored."""
    from memkb.rules.registry import Scope

    return frozenset({Scope.LOAD, Scope.FILE, Scope.COLLECTION})


@cache
def protected_codes() -> frozenset[str]:
    """The change and safety codes: never ignored (only kb/.memkb-allow.yaml waives them)."""
    from memkb.rules.registry import REGISTRY, Scope

    return frozenset(c for c, r in REGISTRY.items() if r.scope is Scope.CHANGE)


class Selection(NamedTuple):
    """Codes switched off everywhere, and per path glob (matched against the finding's
    root-relative path; `*` also matches `/`); with `select`, only those codes are kept
    (before the ignores apply)."""

    ignore: frozenset[str] = frozenset()
    per_file: tuple[tuple[str, frozenset[str]], ...] = ()
    select: frozenset[str] | None = None

    def keeps(self, finding: Finding) -> bool:
        """False when the finding is ignored. Protected codes are always kept, whoever
        built the selection (a Python caller can construct one without the checks)."""
        if finding.code in protected_codes():
            return True
        if finding.code in self.ignore or (
            self.select is not None and finding.code not in self.select
        ):
            return False
        return not any(
            finding.code in codes and fnmatch.fnmatchcase(finding.path, glob)
            for glob, codes in self.per_file
        )

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings that are not ignored, in their order."""
        if not self.ignore and not self.per_file and self.select is None:
            return list(findings)  # nothing switched off: no need for the rule table
        return [f for f in findings if self.keeps(f)]

    def __or__(self, other: Selection) -> Selection:
        select = self.select if other.select is None else other.select
        return Selection(self.ignore | other.ignore, self.per_file + other.per_file, select)


def load_selection(
    root: Path, ignore: Sequence[str] = (), select: Sequence[str] | None = None
) -> Selection:
    """The selection of the repository at `root` (its pyproject.toml and kb/.memkb.yaml)
    plus `ignore` and `select` (from the command line). Raises UsageError for a bad entry."""
    return selection_from(_read(root / PYPROJECT), _read(root / KB_CONFIG), ignore, select)


def selection_from(
    pyproject: bytes | None,
    kb_config: bytes | None,
    ignore: Sequence[str] = (),
    select: Sequence[str] | None = None,
) -> Selection:
    """The selection given the two configuration files' bytes (None = absent), so it can be
    read from a Git revision as well as from the work tree."""
    chosen = frozenset(_code(c, "--select", None) for c in select) if select else None
    cli = Selection(frozenset(_code(c, "--ignore", None) for c in ignore), select=chosen)
    return _from_pyproject(pyproject) | _from_kb_config(kb_config) | cli


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read {path.name}: {exc.strerror}") from exc


def _from_pyproject(raw: bytes | None) -> Selection:
    if raw is None:
        return Selection()
    import tomllib

    text = raw.decode("utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{PYPROJECT}: {exc}", hint="fix the TOML syntax") from exc
    section = data.get("tool", {}).get("memkb")
    if section is None:
        return Selection()
    return _parse(section, Where(PYPROJECT, text, "[tool.memkb]"))


def _from_kb_config(raw: bytes | None) -> Selection:
    text = raw.decode("utf-8", errors="replace") if raw is not None else ""
    if raw is None or not [line for line in text.splitlines() if line.split("#")[0].strip()]:
        return Selection()  # absent, or only comments: nothing configured
    from memkb.records.load import load_bytes  # PyYAML only when the file exists

    loaded = load_bytes(raw, KB_CONFIG, fast=False)
    if loaded.findings:
        first = loaded.findings[0]
        raise UsageError(f"{first.path}:{first.line}:{first.col}: {first.message}")
    return _parse(loaded.doc, Where(KB_CONFIG, text, ""))


class Where(NamedTuple):
    """A configuration file being read: its name, text (to locate entries) and section."""

    name: str
    text: str
    section: str

    def at(self, needle: str) -> str:
        """`file:line:col` of the first occurrence of `needle` (1:1 if not found)."""
        for number, line in enumerate(self.text.splitlines(), start=1):
            if (col := line.find(needle)) >= 0:
                return f"{self.name}:{number}:{col + 1}"
        return f"{self.name}:1:1"


def _parse(section: Any, where: Where) -> Selection:
    label = f"{where.section} in {where.name}" if where.section else where.name
    if not isinstance(section, dict):
        raise UsageError(f"{where.at('')}: {label} must be a table of settings")
    for key in section:
        if key not in KEYS:
            raise UsageError(
                f"{where.at(str(key))}: unknown setting '{key}' in {label}",
                hint=f"the settings are: {', '.join(KEYS)}",
            )
    ignore = frozenset(_codes(section.get("ignore", []), "ignore", where))
    per_file = section.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise UsageError(f"{where.at('per-file-ignores')}: per-file-ignores maps globs to codes")
    globs = tuple(
        (str(glob), frozenset(_codes(codes, f"per-file-ignores '{glob}'", where)))
        for glob, codes in per_file.items()
    )
    return Selection(ignore, globs)


def _codes(value: Any, key: str, where: Where) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise UsageError(f"{where.at(key.split()[0])}: {key} must be a list of codes like KB313")
    return [_code(code, key, where) for code in value]


def _code(code: str, key: str, where: Where | None) -> str:
    """`code` in upper case if it may be ignored; else a UsageError naming its place."""
    import difflib

    from memkb.rules.registry import REGISTRY

    place = f"{where.at(code)}: " if where is not None else ""
    wanted = code.strip().upper()
    rule = REGISTRY.get(wanted)
    if rule is None:
        close = difflib.get_close_matches(wanted, list(REGISTRY), n=1, cutoff=0.6)
        guess = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"{place}unknown code '{code}' in {key}{guess}",
                         hint="`memkb rules` lists every code")  # fmt: skip
    if rule.scope not in ignorable_scopes():
        why = (
            "protects the orchestrator; a reviewed exception goes in kb/.memkb-allow.yaml"
            if wanted in protected_codes()
            else "is not reported by validate"
        )
        raise UsageError(f"{place}{wanted} cannot be ignored: it {why}")
    return wanted
