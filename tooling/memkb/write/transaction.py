"""The write transaction: lock, check Git's state, validate, write atomically, commit, push.

    result = write(root, plan, WriteOptions(agent="orchestrator"))

`plan` receives a `Target` (the state being edited: the work tree, or a proposal
branch's tree) and returns an `Edit` (the bytes of every file to write, None to
delete). Nothing touches disk before the edit validates. A write on the
checked-out branch goes through `memkb.write.journal`: journaled before any file
changes, so a process killed at any point is completed or rolled back by the
next write (see `memkb.write.journal.recover`).
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from memkb import startup
from memkb.errors import RecordError, RepoError, UsageError
from memkb.findings import Finding, Severity
from memkb.gitio.repo import Change, GitRepo, PushRejected
from memkb.kb.snapshot import GitTree, Snapshot, WorkTree
from memkb.write.journal import commit_in_worktree, fault, recover, write_files
from memkb.write.lock import write_lock

PUSH_ATTEMPTS = 100
PUSH_SECONDS = 120.0


class WriteOptions(NamedTuple):
    """How to write: commit or not, on which branch, push where, as which agent."""

    commit: bool = True
    branch: str | None = None
    push: str | None = None
    agent: str | None = None
    lock_timeout: float | None = None


class Edit(NamedTuple):
    """What one authoring step writes: the files, and what the commit says about them."""

    kind: str
    id: str
    action: str
    files: Mapping[str, bytes | None]
    detail: str = ""
    # More trailers after the Memory-* four (an import names its source: Memory-Source).
    trailers: tuple[tuple[str, str], ...] = ()


@dataclass
class WriteResult:
    """What a write did: the paths, and the commit/branch/push if any."""

    edit: Edit
    commit: str | None = None
    branch: str | None = None
    pushed_to: str | None = None
    push_attempts: int = 0
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        return sorted(self.edit.files)


class Target:
    """The state an edit starts from: the work tree, or the tip of a branch not checked out."""

    def __init__(
        self,
        root: Path,
        repo: GitRepo | None,
        rev: str | None,
        in_worktree: bool,
        *,
        new_branch: bool = False,
    ) -> None:
        self.root, self.repo, self.rev, self.in_worktree = root, repo, rev, in_worktree
        # A branch that does not exist yet starts at `rev` but must still be absent
        # when the commit is published (compare-and-swap against "no such ref").
        self.branch_tip = None if new_branch else rev

        # What the edit is judged against: the branch it lands on, always.
        self.snapshot: Snapshot = (
            WorkTree(root) if in_worktree or rev is None else GitTree(root, rev)
        )

    def read(self, relpath: str) -> bytes | None:
        """Current bytes of `relpath`, or None if it does not exist."""
        return self.snapshot.read(relpath)

    def names(self, folder: str) -> list[str]:
        """File names directly in `folder` of the target (what validate_changes lists)."""
        return self.snapshot.names(folder)

    def exists(self, relpath: str) -> bool:
        """True if `relpath` exists in the target (or, in a work tree, on disk)."""
        return self.snapshot.exists(relpath)


def agent_name(explicit: str | None) -> str:
    """The Memory-Agent trailer: --agent, else MEMKB_AGENT, else "human:<login name>".

    Raises UsageError for a name with a line break or another control or format
    character: it goes into a trailer line, and a newline would add trailers of its own
    (`--agent $'x\\nMemory-Id: y'`)."""
    if explicit:
        return _checked_agent(explicit, "--agent")
    if os.environ.get("MEMKB_AGENT"):
        return _checked_agent(os.environ["MEMKB_AGENT"], "MEMKB_AGENT")
    try:
        import getpass

        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return f"human:{login}"


def _checked_agent(name: str, source: str) -> str:
    bad = next((c for c in name if unicodedata.category(c)[0] in "CZ" and c != " "), None)
    if bad is not None:
        raise UsageError(
            f"{source} holds the control character U+{ord(bad):04X}; an agent name is one line",
            hint="name the agent with letters, digits and punctuation, e.g. orchestrator/v2",
        )
    return name


def commit_message(edit: Edit, agent: str) -> str:
    """`memory(<kind>): <action> <id>`, an optional body, and the Memory-* trailers."""
    lines = [f"memory({edit.kind}): {edit.action} {edit.id}", ""]
    if edit.detail:
        lines += [edit.detail, ""]
    lines += [
        f"Memory-Kind: {edit.kind}",
        f"Memory-Id: {edit.id}",
        f"Memory-Action: {edit.action}",
        f"Memory-Agent: {agent}",
    ]
    lines += [f"{key}: {value}" for key, value in edit.trailers]
    return "\n".join(lines)


def write(root: Path, plan: Callable[[Target], Edit], options: WriteOptions) -> WriteResult:
    """Run one write transaction; return what it did.

    Raises RecordError (with findings) if the edit does not validate, RepoError if
    Git's state forbids the write (detached HEAD, rebase in progress, the record
    has uncommitted changes, lock timeout, push refused for good).
    """
    if options.commit:
        agent_name(options.agent)  # a bad agent name fails before any work, not at commit
    repo = _open_repo(root, options)
    lock_path = repo.memkb_dir / "write.lock" if repo else _scratch_lock(root)
    load_checkers()
    with write_lock(lock_path, options.lock_timeout):
        fault("after-lock")
        recovered = recover(repo) if repo is not None else None
        target, branch = _target(root, repo, options)
        if options.push and repo is not None and branch is not None:
            refuse_foreign_unpushed(repo, options.push, branch, target.rev)
        edit = plan(target)
        staged: list[str] = []
        if options.commit and repo is not None and target.in_worktree:
            # Before validating: the user's own uncommitted edit is the first thing to say.
            staged = repo.staged()
            _refuse_dirty(repo, edit, staged)
        findings = check_edit(root, edit, target)
        if not options.commit:
            # --no-commit edits the work tree as it is, the user's own changes included.
            write_files(root, edit.files)
            return WriteResult(edit, findings=findings, notes=[recovered] if recovered else [])
        assert repo is not None and branch is not None
        result = _commit(repo, target, branch, edit, options, staged)
        result.findings = findings
        if recovered:
            result.notes.insert(0, recovered)
        if options.push:
            fault("before-push")
            try:
                result.push_attempts = push_with_retry(
                    repo, options.push, branch, target.in_worktree
                )
            except RepoError as exc:
                # The commit stands; say so, so that an agent does not write it twice.
                raise RepoError(
                    f"committed {result.commit} on {branch}, but the push failed: {exc.message}",
                    hint=exc.hint,
                ) from exc
            result.pushed_to = options.push
        return result


def load_checkers() -> None:
    """Import what check_edit runs (the validation engine, the schemas and RE2, the plain
    schema validator, yaml-rs and its pre-filter, the secret scanner) before the lock is
    taken, with the cycle collector paused in a console-script process (memkb.startup).
    Loaded under the lock, that time was spent by one writer at a time and capped 8
    concurrent `memkb record` processes; loaded here, the writers load them side by side
    while another commits."""
    # Neither jsonschema (the reference engine, ~90 ms to import) nor jsonschema-rs
    # (~15 ms): memkb.records.plain_schema vouches for a valid record, and a record it
    # cannot vouch for loads them when judged.
    with startup.importing():
        import re2  # noqa: F401  (memkb.records.schema searches a schema's patterns with it)

        import memkb.records.plain_schema
        import memkb.records.prefilter  # what yaml-rs reads a record through
        import memkb.records.schema
        import memkb.rules.locate
        import memkb.rules.safety
        import memkb.validation.engine  # noqa: F401  (the rules and the loader)
        from memkb.records.load import fast_yaml

        fast_yaml()  # yaml-rs, the reader of the record and its neighbours (main thread)


def _open_repo(root: Path, options: WriteOptions) -> GitRepo | None:
    if options.commit or options.branch or options.push:
        if not options.commit and (options.branch or options.push):
            raise RepoError(
                "--no-commit cannot be combined with --branch or --push",
                hint="drop --no-commit, or commit yourself afterwards",
            )
        return GitRepo(root)
    try:
        return GitRepo(root)
    except RepoError:
        return None  # --no-commit works in a plain folder too


def _scratch_lock(root: Path) -> Path:
    import hashlib
    import tempfile

    digest = hashlib.sha1(str(root.resolve()).encode(), usedforsecurity=False).hexdigest()
    return Path(tempfile.gettempdir()) / f"memkb-{digest[:16]}.lock"


def _target(root: Path, repo: GitRepo | None, options: WriteOptions) -> tuple[Target, str | None]:
    """Where the edit applies, after checking that Git's state allows it."""
    if repo is None or not options.commit:
        return Target(root, repo, None, True), None
    if options.branch is not None and not repo.is_branch_name(options.branch):
        raise UsageError(
            f"'{options.branch}' is not a valid branch name",
            hint="use letters, digits, '-', '_' and '/' (e.g. memory/add-shop-pattern)",
        )
    current = repo.current_branch()
    branch = options.branch or current
    busy = repo.operation_in_progress()
    if busy and branch in (None, current):
        raise RepoError(
            f"{busy} in this checkout; memkb will not commit in the middle of it",
            hint="finish it (or abort it) first, or pass "
            "--branch NAME to commit on a proposal branch",
        )
    if branch is None:
        raise RepoError(
            "HEAD is detached: memkb commits memory on a branch",
            hint="`git switch main` first, pass --branch NAME to commit on a "
            "proposal branch, or --no-commit to only write the file",
        )
    if branch == current:
        return Target(root, repo, repo.rev(f"refs/heads/{branch}"), True), branch
    tip = repo.rev(f"refs/heads/{branch}")
    if tip is not None:
        return Target(root, repo, tip, False), branch
    base = repo.rev("refs/heads/main") or repo.rev("HEAD")
    if base is None:
        raise RepoError(
            f"cannot create branch '{branch}': the repository has no commit yet",
            hint="commit the knowledge base once first",
        )
    return Target(root, repo, base, False, new_branch=True), branch


def check_edit(root: Path, edit: Edit, target: Target | None = None) -> list[Finding]:
    """Warnings of the edit; raise RecordError if it brings any error into the KB.

    Errors in the written files block the write; errors elsewhere block it only if
    the edit introduces them (a KB that is already broken elsewhere stays writable).
    New secrets or instructions to the orchestrator block it too (KB501, KB502).
    """
    from memkb.rules.safety import unsafe_additions
    from memkb.validation.engine import validate, validate_changes

    # Checks the written files against the records they name, not the whole KB, so a
    # write costs the same on 100 records as on 10,000 (deletions still see everything).
    # Everything is judged on the target's snapshot: a write on a branch, on that branch.
    snapshot = target.snapshot if target is not None else WorkTree(root)
    result = validate_changes(snapshot, dict(edit.files))
    written = set(edit.files)
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    mine = [f for f in errors if f.path in written]
    others = [f for f in errors if f.path not in written]
    if others:
        before = set(validate(snapshot).findings)
        mine += [f for f in others if f not in before]
    mine += unsafe_additions(snapshot, edit.files)
    mine += change_rule_errors(root, edit, target)
    if mine:
        raise RecordError(
            f"{edit.kind} '{edit.id}' is not valid; nothing was written",
            findings=list[object](sorted(mine)),
            hint="fix the values and run again",
        )
    return [f for f in result.findings if f.severity is not Severity.ERROR and f.path in written]


def change_rule_errors(root: Path, edit: Edit, target: Target | None) -> list[Finding]:
    """What `memkb check` would refuse in this edit as a change (KB405: a merged record's
    declared prior edited by hand), less what kb/.memkb-allow.yaml waives, as check does.

    "Merged" is the record on main (or, without a main, where the edit starts from): a
    record added on a proposal branch is still the change's own, and check agrees."""
    modified = [
        (path, old, new)
        for path, new in edit.files.items()
        if new is not None and (old := _merged(root, target, path)) is not None and old != new
    ]
    if not modified:
        return []  # a new record (every `memkb record`): the change rules are not loaded
    from memkb.kb.index import Index
    from memkb.records.changes import FileChange
    from memkb.rules import change as check_rules
    from memkb.rules import safety

    changes = [FileChange("modified", path, path, old, new) for path, old, new in modified]
    ctx = check_rules.Context(changes, Index(), check_rules.Limits())
    found = list(check_rules.hand_edited_figures(ctx))
    allow_raw = edit.files.get(safety.ALLOW_FILE) or _current(root, target, safety.ALLOW_FILE)
    allows, _ = safety.load_allowlist(allow_raw)

    # As check does, a change rule's finding is waived for the file's exact new content.
    def text(path: str) -> str | None:
        raw = edit.files.get(path)
        return None if raw is None else raw.decode("utf-8", errors="surrogateescape")

    return [f for f in found if not any(a.covers(f, text(f.path)) for a in allows)]


def _merged(root: Path, target: Target | None, path: str) -> bytes | None:
    """The committed bytes of `path` on main (else at the edit's start, else on disk)."""
    repo = target.repo if target is not None else None
    if repo is None:
        return WorkTree(root).read(path)
    base = repo.rev("refs/heads/main") or (target.rev if target else None) or repo.rev("HEAD")
    return repo.read_blob(base, path)


def _current(root: Path, target: Target | None, path: str) -> bytes | None:
    return (target.snapshot if target is not None else WorkTree(root)).read(path)


def _commit(
    repo: GitRepo,
    target: Target,
    branch: str,
    edit: Edit,
    options: WriteOptions,
    staged: list[str],
) -> WriteResult:
    """Commit `edit` on `branch`; `staged` (the user's staged paths, in a work tree) are
    left out of it and named in a note."""
    message = commit_message(edit, agent_name(options.agent))
    who = repo.identity()
    if not target.in_worktree:
        changes = [
            Change(p, None if raw is None else repo.store_blob(raw))
            for p, raw in edit.files.items()
        ]
        new = repo.build_commit(target.rev, changes, message, who)
        fault("after-commit-object")
        repo.publish(branch, new, target.branch_tip, f"memkb: {edit.action} {edit.id}")
        return WriteResult(edit, new, branch)
    new = commit_in_worktree(repo, branch, target.rev, edit.files, message, who)
    result = WriteResult(edit, new, branch)
    if staged:
        shown = ", ".join(staged[:5]) + (f" and {len(staged) - 5} more" if len(staged) > 5 else "")
        result.notes.append(
            f"your staged changes ({shown}) were left out of this commit and are still staged"
        )
    return result


def refuse_foreign_unpushed(repo: GitRepo, remote: str, branch: str, tip: str | None) -> None:
    """Raise RepoError, before anything is committed, if pushing `branch` would publish a
    commit that is not a memory write (e.g. someone's unreviewed work on main): a memory
    write's push carries memory commits only. Fetches `remote`'s `branch` first; a remote
    that cannot be reached is left to the push, whose failure says the commit stands."""
    try:
        repo.fetch(remote, branch)
    except RepoError:
        return
    if tip is None:
        return
    foreign = [(c, subject) for c, subject, memory in repo.unpushed(remote, tip) if not memory]
    if not foreign:
        return
    shown = "; ".join(f"{c[:10]} '{subject}'" for c, subject in foreign[:3])
    more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
    raise RepoError(
        f"'{branch}' has {len(foreign)} commit(s) not on {remote} that are not memory writes "
        f"({shown}{more}); --push would publish them too, so nothing was written",
        hint=f"review and push them yourself first (`git log {remote}/{branch}..{branch}` "
        "lists them), or write without --push",
    )


def _refuse_dirty(repo: GitRepo, edit: Edit, staged: list[str]) -> None:
    # An uncommitted file that already holds exactly what the edit writes loses nothing
    # when committed (an import reviewed with git diff, then run again with --commit).
    changed = repo.dirty(sorted(edit.files), staged=staged)
    dirty = [p for p in changed if not _holds(repo.root, p, edit.files[p])]
    if dirty:
        raise RepoError(
            f"{', '.join(dirty)} has uncommitted changes; memkb will not commit over them",
            hint="commit or discard your edit of that file first, "
            "or pass --no-commit to edit the work tree only",
        )


def _holds(root: Path, relpath: str, data: bytes | None) -> bool:
    """True if the work-tree file `relpath` holds `data` (None: the file is absent)."""
    try:
        return data is not None and (root / relpath).read_bytes() == data
    except OSError:
        return data is None


def push_with_retry(repo: GitRepo, remote: str, branch: str, checked_out: bool) -> int:
    """Push `branch` to `remote`, replaying our commits onto the remote tip when rejected.

    Returns the number of attempts it took; raises RepoError after PUSH_ATTEMPTS
    rejections or PUSH_SECONDS of trying (the commits stay safe on the local branch).
    """
    deadline = time.monotonic() + PUSH_SECONDS
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        local = repo.rev(f"refs/heads/{branch}")
        assert local is not None
        try:
            repo.push(remote, local, branch)
            return attempt
        except PushRejected:
            if time.monotonic() > deadline:
                break
            if attempt > 1:
                import random  # only a rejected push needs it

                # A short jitter, not a growing backoff: a growing one would make the
                # writer that lost most often wait longest, i.e. starve it.
                time.sleep(random.uniform(0, 0.03))
            remote_tip = repo.fetch(remote, branch)
            if remote_tip is not None:
                repo.replay_onto(branch, local, remote_tip, checked_out, renumber_outcome)
    raise RepoError(
        f"push to {remote} still rejected after {attempt} attempts",
        hint=f"your commits are safe on the local branch '{branch}'; run "
        f"`git pull --rebase {remote} {branch} && git push` later",
    )


def renumber_outcome(
    repo: GitRepo, base: str, change: Change, message: str
) -> tuple[list[Change], str] | None:
    """Resolve a replay conflict on a new outcome by moving ours to the next free name.

    Two clones recording the same project on the same day both create
    <date>-<slug>.yaml; the one that pushes second becomes <date>-<slug>-N.yaml
    (file name, `id:` line and commit message alike). Anything else: None.
    """
    match = re.fullmatch(r"kb/outcomes/(\d{4})/(.+)\.yaml", change.path)
    if match is None or change.blob is None:
        return None
    year, old_id = match.group(1), match.group(2)
    stem, number = old_id, 1
    # "-N" is a suffix given by record_outcome only if the name without it is taken;
    # otherwise it is part of the project's name ("Shop 2024": not Shop number 2024).
    suffixed = re.fullmatch(r"(.+)-(\d+)", old_id)
    if suffixed and repo.blob_id(base, f"kb/outcomes/{year}/{suffixed.group(1)}.yaml"):
        stem, number = suffixed.group(1), int(suffixed.group(2))
    while True:
        number += 1
        new_id = f"{stem}-{number}"
        path = f"kb/outcomes/{year}/{new_id}.yaml"
        if repo.blob_id(base, path) is None:
            break
    text = repo.read_object(change.blob).decode("utf-8")
    text, count = re.subn(rf"(?m)^id: {re.escape(old_id)}[ \t]*$", f"id: {new_id}", text)
    if count != 1:
        return None
    renamed = re.sub(rf"(?<![\w-]){re.escape(old_id)}(?![\w-])", new_id, message)
    return [Change(path, repo.store_blob(text.encode("utf-8")))], renamed
