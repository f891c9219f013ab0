"""`memkb check`: judge a change to memory (base -> head) the way a reviewer needs it judged.

Everything `validate` checks, on the head state (in CI: the pull request's merge
commit), plus rules about the change itself (memkb.rules.change), content safety
(memkb.rules.safety), size limits and the change's risk class. Work done grows with the
change: one `git diff`, one `git cat-file --batch` for the changed blobs, and a
validate whose cache (keyed by path and blob id) makes unchanged files nearly free.

Usage from Python::

    result = run_check(Path("."), "origin/main")        # head = the working tree
    result.ok, result.risk, result.findings, result.changes
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from memkb.errors import RepoError, UsageError
from memkb.findings import Finding, Severity, error, has_errors, warning
from memkb.gitio.objects import BlobReader
from memkb.gitio.repo import GitRepo
from memkb.kb.index import Index
from memkb.kb.layout import KB_DIR, SCHEMAS_DIR
from memkb.kb.snapshot import GitTree, Snapshot, WorkTree
from memkb.records.changes import FileChange
from memkb.rules import change as check_rules
from memkb.rules import safety
from memkb.rules.selection import KB_CONFIG, PYPROJECT, Selection, selection_from
from memkb.validation.delta import Delta, metrics_delta
from memkb.validation.engine import ValidationResult, validate

if TYPE_CHECKING:  # imported when a check has expectations to compare
    from memkb.advice.expectations import AdviceMove

KNOWLEDGE_PREFIXES = (f"{KB_DIR}/", f"{SCHEMAS_DIR}/")
RISKS = ("none", "evidence", "knowledge", "structure")  # in increasing order of review need
ZERO = "0" * 40


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
    # How the change moves the answers of the expectations' queries (kb/expectations/).
    advice_delta: list[AdviceMove] = field(default_factory=list)

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
    snapshot = head_snapshot(root, state)
    validation = validate(snapshot, use_cache=use_cache, today=today)
    allow_raw = snapshot.read(safety.ALLOW_FILE)
    allows, allow_problems = safety.load_allowlist(allow_raw)
    kept = _base_selection(repo, fork).apply(validation.findings)
    raw_findings = check_rules.run_rules(changes, validation.index, limits)
    hits = _safety_hits(changes) + commit_hits(repo, fork, head_sha or "HEAD")
    findings, allowed, used = _apply_allows(raw_findings, hits, allows, changes)
    allow_problems += stale_allows(snapshot, allows, used)
    risk, reasons = classify(changes, others, bool(allowed))
    result = CheckResult(
        base_sha,
        head_sha,
        fork,
        changes,
        others,
        sorted(set(kept + findings + allow_problems + conflicts)),
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
    if changes:
        result.advice_delta = advice_moves(GitTree(root, fork), snapshot, validation.index)
    return result


def advice_moves(base: Snapshot, head: Snapshot, head_index: Index) -> list[AdviceMove]:
    """Which expectations' answers the change moves: every expectation's query answered on
    the base and on the head (nothing to do, and nothing imported, without expectations)."""
    from memkb.advice.expectations import advice_delta, answers
    from memkb.validation.engine import index_of

    base_index = index_of(base)
    if not any(
        True for _ in (*base_index.of_kind("expectation"), *head_index.of_kind("expectation"))
    ):
        return []
    return advice_delta(answers(base_index, "base"), answers(index_of(head), "head"))


def _base_selection(repo: GitRepo, fork: str) -> Selection:
    """The ignores configured at the base: a change cannot switch off the checks that judge
    it, and codes of the change itself (KB4xx, KB5xx) are never dropped (Selection.keeps)."""
    return selection_from(repo.read_blob(fork, PYPROJECT), repo.read_blob(fork, KB_CONFIG))


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
            new_raw = blobs.get(new) if head is not None else WorkTree(root).read(path)
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


# ------------------------------------------------------------------- the head state


def head_snapshot(root: Path, head: str | None) -> Snapshot:
    """The state a check judges: the working tree as it is (None), or revision `head` read
    from Git's objects, so no attribute (export-ignore...) can hide a file from the check."""
    return WorkTree(root) if head is None else GitTree(root, head)


# ------------------------------------------------------------- safety and exceptions


def _safety_hits(changes: list[FileChange]) -> list[safety.Hit]:
    """Safety hits in the new content of every added or changed knowledge file. The
    exceptions file quotes the waived text on purpose: only secrets count there."""
    return [
        hit
        for change in changes
        if change.new is not None and change.new != change.old
        for hit in safety.scan_text(change.path, change.new)
        if change.path != safety.ALLOW_FILE or hit.code != "KB502"
    ]


def commit_hits(repo: GitRepo, fork: str, head: str) -> list[safety.Hit]:
    """Safety hits in the metadata of the change's own commits (fork..head): author,
    committer and message with its trailers. `memkb history` shows them to readers, so
    they are knowledge text too. Located at the pseudo path `commit <sha> (<field>)`."""
    out = repo.run("log", "-z", "--format=%H%x1f%an <%ae>%x1f%cn <%ce>%x1f%B", f"{fork}..{head}")
    hits = []
    for record in filter(None, out.split("\0")):
        sha, author, committer, message = [*record.strip("\n").split("\x1f", 3), "", "", ""][:4]
        for part, text in (("author", author), ("committer", committer), ("message", message)):
            piece = safety.Piece(text, 1, 1)
            hits += safety.scan_string(f"commit {sha[:12]} ({part})", piece)
    return hits


def _apply_allows(
    findings: list[Finding],
    hits: list[safety.Hit],
    allows: list[safety.Allow],
    changes: list[FileChange],
) -> tuple[list[Finding], list[Allowed], set[safety.Allow]]:
    """Split findings into those that stand and those waived by a reviewed exception
    (and say which exceptions were used). A change rule's finding is waived for the
    file's exact content: the new one, or for a deletion the deleted one."""
    contents = {c.path: c.new if c.new is not None else c.old for c in changes}
    kept, allowed, used = [], [], set()
    candidates = [(f, _text(contents.get(f.path))) for f in findings]
    candidates += [(h.finding(), h.text) for h in hits]
    for finding, text in candidates:
        rule = next((a for a in allows if a.covers(finding, text)), None)
        if rule is None:
            kept.append(finding)
        else:
            allowed.append(Allowed(finding, rule.reason))
            used.add(rule)
    return kept, allowed, used


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="surrogateescape")


def stale_allows(
    snapshot: Snapshot,
    allows: list[safety.Allow],
    used: set[safety.Allow],
) -> list[Finding]:
    """KB505 warnings for exceptions that waive nothing: not used by this change, and no
    safety hit in their file at head is theirs (a used-up KB402/KB405 waiver is stale)."""
    stale = []
    for allow in allows:
        if allow in used:
            continue
        raw = snapshot.read(allow.path)
        hits = safety.scan_text(allow.path, raw) if raw is not None else []
        if not any(allow.covers(hit.finding(), hit.text) for hit in hits):
            stale.append(
                warning(
                    safety.ALLOW_FILE,
                    "KB505",
                    f"the exception for {allow.code} in {allow.path} waives nothing",
                    hint="remove the entry: an exception that matches nothing is a blank "
                    "cheque for whatever text matches it later",
                )
            )
    return stale


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
        return "structure", _allow_change(change)
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


def _allow_change(change: FileChange) -> str:
    """Why an edit of the exceptions file needs a person: which entries it adds or widens."""
    old, _ = safety.load_allowlist(change.old)
    new, _ = safety.load_allowlist(change.new)
    added = [a for a in new if a not in old]
    if not added:
        return f"reviewed exceptions ({change.path}) {change.status}"
    named = ", ".join(f"{a.code} in {a.path}" for a in added)
    return f"reviewed exception(s) added or widened in {change.path}: {named}"


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
