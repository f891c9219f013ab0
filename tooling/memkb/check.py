"""`memkb check`: judge a change to memory (base -> head) the way a reviewer needs it judged.

Everything `validate` checks, on the head state (in CI: the pull request's merge
commit), plus rules about the change itself (memkb.check_rules), content safety
(memkb.safety), size limits and the change's risk class. Work done grows with the
change: one `git diff`, one `git cat-file --batch` for the changed blobs, and a
validate whose cache (keyed by path and blob id) makes unchanged files nearly free.

Usage from Python::

    result = run_check(Path("."), "origin/main")        # head = the working tree
    result.ok, result.risk, result.findings, result.changes
"""

from __future__ import annotations

import functools
import io
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from memkb import check_rules, safety
from memkb.check_delta import Delta, metrics_delta
from memkb.errors import RepoError, UsageError
from memkb.findings import Finding, Severity, error, has_errors
from memkb.gitio import GitRepo
from memkb.history import BlobReader
from memkb.layout import KB_DIR, SCHEMAS_DIR, location_of
from memkb.validate import ValidationResult, validate_repo
from memkb.yamlio import load_bytes

KNOWLEDGE_PREFIXES = (f"{KB_DIR}/", f"{SCHEMAS_DIR}/")
RISKS = ("none", "evidence", "knowledge", "structure")  # in increasing order of review need
ZERO = "0" * 40


@dataclass(frozen=True)
class FileChange:
    """One changed knowledge file. `status` is added, modified, deleted, renamed (a delete
    plus an add of the same record under a new id) or moved (same id, new place)."""

    status: str
    path: str  # the path at head; for a deletion, the path at base
    old_path: str | None
    old: bytes | None
    new: bytes | None

    @property
    def kind(self) -> str | None:
        """Record kind implied by the path at head (base for a deletion), or None."""
        return location_of(self.path).kind if self.path.startswith(f"{KB_DIR}/") else None

    @property
    def old_kind(self) -> str | None:
        """Record kind implied by the path at base, or None."""
        if self.old_path is None or not self.old_path.startswith(f"{KB_DIR}/"):
            return None
        return location_of(self.old_path).kind

    # Parsed once per change: the change rules and every reporter read the same documents.
    @functools.cached_property
    def old_doc(self) -> dict[str, Any] | None:
        """The document at base (None if there is none, or it is not a readable mapping)."""
        return _mapping_doc(self.old, self.old_path or self.path)

    @functools.cached_property
    def new_doc(self) -> dict[str, Any] | None:
        """The document at head (None if there is none, or it is not a readable mapping)."""
        return _mapping_doc(self.new, self.path)


def _mapping_doc(raw: bytes | None, path: str) -> dict[str, Any] | None:
    doc = load_bytes(raw, path).doc if raw is not None else None
    return doc if isinstance(doc, dict) else None


@dataclass(frozen=True)
class Allowed:
    """A finding waived by a reviewed exception, kept so the report can show it."""

    finding: Finding
    reason: str


@dataclass
class CheckResult:
    """What `run_check` found: the change, the findings, the risk class, the metrics delta."""

    base: str
    head: str | None  # None = the working tree
    fork: str
    changes: list[FileChange]
    other_paths: list[str]
    findings: list[Finding]
    allowed: list[Allowed]
    risk: str
    risk_reasons: list[str]
    validation: ValidationResult
    delta: Delta | None = None
    delta_error: str | None = None
    merged: bool = False  # True when head was merged into base to get the state checked

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings do not fail a check)."""
        return not has_errors(self.findings)

    @property
    def files(self) -> int:
        """Knowledge files validated at head."""
        return self.validation.files

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)


def run_check(
    root: Path,
    base: str,
    head: str | None = None,
    *,
    limits: check_rules.Limits | None = None,
    use_cache: bool = True,
    today: date | None = None,
    with_metrics: bool = True,
) -> CheckResult:
    """Check the change from `base` to `head` (a revision, or None for the working tree).

    With a revision that `base` is not an ancestor of, the state checked is the merge of
    the two (as CI checks a pull request's merge commit) and a conflict is an error; the
    working tree is checked as it is, against its merge base with `base`. Either way only
    the change's own edits count as changes. Raises UsageError for a revision that does
    not exist and RepoError when `root` is not a usable Git repository."""
    repo = GitRepo(root)
    base_sha = _resolve(repo, base, "--base")
    head_sha = _resolve(repo, head, "--head") if head is not None else None
    state, fork, conflicts = _head_state(repo, base_sha, head_sha)
    changes, others = change_set(repo, root, fork, state)
    validation = _validate_head(repo, root, state, use_cache, today)
    allow_raw = _head_content(repo, root, state, safety.ALLOW_FILE)
    allows, allow_problems = safety.load_allowlist(allow_raw)
    raw_findings = check_rules.run_rules(changes, validation.index, limits)
    findings, allowed = _apply_allows(raw_findings, _safety_hits(changes), allows)
    risk, reasons = classify(changes, others, bool(allowed))
    result = CheckResult(
        base_sha,
        head_sha,
        fork,
        changes,
        others,
        sorted(set(validation.findings + findings + allow_problems + conflicts)),
        allowed,
        risk,
        reasons,
        validation,
        merged=state is not None and state != head_sha,
    )
    if with_metrics and changes:
        try:
            result.delta = metrics_delta(root, fork, changes, use_cache=use_cache)
        except RepoError as exc:
            result.delta_error = exc.message
    return result


# ------------------------------------------------------------------------ the change


def change_set(
    repo: GitRepo, root: Path, fork: str, head: str | None
) -> tuple[list[FileChange], list[str]]:
    """Changed knowledge files from `fork` to `head` (None = working tree, untracked files
    included) with both contents, renames paired; and the other changed paths."""
    entries = _diff_raw(repo, fork, head)
    if head is None:
        untracked = repo.run("ls-files", "-z", "--others", "--exclude-standard", "--", KB_DIR)
        entries += [(ZERO, ZERO, "A", p) for p in untracked.split("\0") if p]
    knowledge = [e for e in entries if e[3].startswith(KNOWLEDGE_PREFIXES)]
    others = sorted(e[3] for e in entries if not e[3].startswith(KNOWLEDGE_PREFIXES))
    blobs = BlobReader(root).read(
        b for old, new, _, _ in knowledge for b in (old, new) if b != ZERO
    )
    changes = []
    for old, new, status, path in knowledge:
        old_raw = blobs.get(old) if status != "A" else None
        if status == "D":
            new_raw = None
        else:
            new_raw = blobs.get(new) if head is not None else _worktree_file(root, path)
        kind = {"A": "added", "D": "deleted"}.get(status, "modified")
        changes.append(FileChange(kind, path, None if kind == "added" else path, old_raw, new_raw))
    return check_rules.pair_renames(changes), others


def _diff_raw(repo: GitRepo, fork: str, head: str | None) -> list[tuple[str, str, str, str]]:
    """(old blob, new blob, status letter, path) for every path changed from `fork`."""
    out = repo.run(
        "diff", "--raw", "-z", "--no-renames", "--no-abbrev", "--no-ext-diff", fork,
        *([head] if head else []), "--",
    )  # fmt: skip
    tokens = out.split("\0")
    entries = []
    for meta, path in zip(tokens[0::2], tokens[1::2], strict=False):
        fields = meta.lstrip(":").split()
        if len(fields) < 5 or "160000" in fields[:2]:
            continue  # a submodule is not knowledge
        entries.append((fields[2], fields[3], fields[4][0], path))
    return entries


def _head_content(repo: GitRepo, root: Path, head: str | None, path: str) -> bytes | None:
    return repo.read_blob(head, path) if head is not None else _worktree_file(root, path)


def _worktree_file(root: Path, path: str) -> bytes | None:
    try:
        return (root / path).read_bytes()
    except OSError:
        return None  # missing or unreadable: validate reports a knowledge file (KB110)


# ------------------------------------------------------------------- the head state


def _validate_head(
    repo: GitRepo, root: Path, head: str | None, use_cache: bool, today: date | None
) -> ValidationResult:
    """Validate the head state: the working tree as is, or revision `head` via an overlay
    of the files where it differs from the working tree. When the schemas differ too, the
    revision's kb/ and schemas/ are unpacked to a temporary folder (every record must be
    checked against new schemas anyway)."""
    if head is None:
        return validate_repo(root, use_cache=use_cache, today=today)
    schemas_differ = repo.try_run("diff", "--quiet", head, "--", SCHEMAS_DIR)[0] != 0
    untracked_schemas = repo.run("ls-files", "--others", "--", SCHEMAS_DIR).strip()
    if schemas_differ or untracked_schemas:
        return _validate_unpacked(root, head, today)
    overlay: dict[str, bytes | None] = {}
    entries = _diff_raw(repo, head, None)
    wanted = [(old, path) for old, _, _, path in entries if _is_knowledge_file(path)]
    blobs = BlobReader(root).read(old for old, _ in wanted if old != ZERO)
    for old, path in wanted:
        overlay[path] = blobs.get(old) if old != ZERO else None
    untracked = repo.run("ls-files", "-z", "--others", "--", KB_DIR)
    overlay.update({p: None for p in untracked.split("\0") if _is_knowledge_file(p)})
    return validate_repo(root, overlay=overlay, use_cache=use_cache, today=today)


def _is_knowledge_file(path: str) -> bool:
    """True for the files validate reads: kb/**.yaml|yml, no hidden file or folder."""
    parts = path.split("/")
    return (
        parts[0] == KB_DIR
        and path.lower().endswith((".yaml", ".yml"))
        and not any(p.startswith(".") for p in parts)
    )


def _validate_unpacked(root: Path, head: str, today: date | None) -> ValidationResult:
    done = subprocess.run(
        ["git", "archive", "--format=tar", head, "--", KB_DIR, SCHEMAS_DIR],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise RepoError(f"git archive {head} failed: {done.stderr.decode(errors='replace')}")
    with tempfile.TemporaryDirectory(prefix="memkb-check-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        (Path(tmp) / KB_DIR).mkdir(exist_ok=True)
        return validate_repo(Path(tmp), use_cache=False, today=today)


# ------------------------------------------------------------- safety and exceptions


def _safety_hits(changes: list[FileChange]) -> list[safety.Hit]:
    """Safety hits in the new content of every added or changed knowledge file. The
    exceptions file quotes the waived text on purpose: only secrets count there."""
    return [
        hit
        for change in changes
        if change.new is not None and change.new != change.old
        for hit in safety.scan_text(change.path, change.new)
        if change.path != safety.ALLOW_FILE or hit.pattern.code == "KB501"
    ]


def _apply_allows(
    findings: list[Finding], hits: list[safety.Hit], allows: list[safety.Allow]
) -> tuple[list[Finding], list[Allowed]]:
    """Split findings into those that stand and those waived by a reviewed exception."""
    kept, allowed = [], []
    candidates = [(f, None) for f in findings] + [(h.finding(), h.text) for h in hits]
    for finding, text in candidates:
        rule = next((a for a in allows if a.covers(finding, text)), None)
        if rule is None:
            kept.append(finding)
        else:
            allowed.append(Allowed(finding, rule.reason))
    return kept, allowed


# ---------------------------------------------------------------------------- risk


def classify(
    changes: list[FileChange], others: list[str], used_exception: bool
) -> tuple[str, list[str]]:
    """The change's risk class (one of RISKS) and the reasons for it, most severe first.

    evidence: only new outcome records; knowledge: patterns, failures or templates added
    or changed (or a reviewed exception used); structure: schemas, vocabulary, deletions,
    renames, moves, edited outcomes, the exceptions file, or any path outside kb/."""
    reasons: dict[str, list[str]] = {risk: [] for risk in RISKS}
    for change in changes:
        risk, why = _risk_of(change)
        reasons[risk].append(why)
        reasons["structure"] += _widening_reasons(change)
    if others:
        reasons["structure"].append(f"{len(others)} file(s) outside kb/ and schemas/ changed")
    if used_exception:
        reasons["knowledge"].append("a reviewed exception waived a finding")
    risk = next((r for r in reversed(RISKS) if reasons[r]), "none")
    ordered = [why for r in reversed(RISKS) for why in reasons[r]]
    return risk, ordered


def _widening_reasons(change: FileChange) -> list[str]:
    """`schemas/x.schema.json: properties.kind: const 1 widened to enum [1, 2]`, one per
    way a changed schema accepts more than before (a version bump does not excuse it)."""
    if not change.path.startswith(f"{SCHEMAS_DIR}/") or change.old is None or not change.new:
        return []
    widened = check_rules.schema_widenings(change.old, change.new)
    return [f"{change.path}: {where}: {what}" for where, what in widened]


def _risk_of(change: FileChange) -> tuple[str, str]:
    path = change.path
    if path.startswith(f"{SCHEMAS_DIR}/"):
        return "structure", f"schema {path} {change.status}"
    if path == safety.ALLOW_FILE:
        return "structure", f"reviewed exceptions ({path}) {change.status}"
    if change.status in ("deleted", "renamed", "moved"):
        return "structure", f"{path} {change.status}"
    kind = change.kind
    if kind == "outcome" and change.status == "added":
        return "evidence", f"new outcome {path}"
    if kind in ("pattern", "failure", "template"):
        return "knowledge", f"{kind} {path} {change.status}"
    if kind == "outcome":
        return "structure", f"merged outcome {path} edited"
    return "structure", f"{path} {change.status}"


# ---------------------------------------------------------------------------- git


def _resolve(repo: GitRepo, rev: str, option: str) -> str:
    sha = repo.rev(rev)
    if sha is None:
        if option == "HEAD":
            raise RepoError("the repository has no commits yet", hint="commit kb/ first")
        raise UsageError(
            f"{option} {rev!r} is not a commit in this repository",
            hint="pass a branch, tag or commit id; in CI fetch enough history "
            "(actions/checkout with fetch-depth: 0)",
        )
    return sha


def _head_state(
    repo: GitRepo, base: str, head: str | None
) -> tuple[str | None, str, list[Finding]]:
    """The tree-ish to check (None = working tree), the commit its changes are taken
    from, and KB407 findings for paths where `head` conflicts with `base`."""
    if head is None:
        return None, _merge_base(repo, base, _resolve(repo, "HEAD", "HEAD")), []
    if repo.is_ancestor(base, head):
        return head, base, []
    status, out, _ = repo.try_run(
        "merge-tree", "--write-tree", "-z", "--name-only", "--no-messages", base, head
    )
    fields = [f for f in out.split("\0") if f]
    if status == 0 and fields:
        return fields[0], base, []
    conflicts = [
        error(
            path,
            "KB407",
            "the change conflicts with the base here",
            hint="merge the base into the branch (or rebase it) and resolve the conflict",
        )
        for path in sorted(set(fields[1:])) if status == 1
    ]  # fmt: skip
    return head, _merge_base(repo, base, head), conflicts


def _merge_base(repo: GitRepo, base: str, head: str) -> str:
    status, out, _ = repo.try_run("merge-base", base, head)
    return out.strip() if status == 0 and out.strip() else base
