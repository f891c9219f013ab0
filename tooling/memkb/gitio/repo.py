"""Every Git call of the write path: state checks, objects, commits, refs, push.

A memory commit never goes through the user's index. Its tree is the target
branch's tree with only the paths memkb wrote replaced (the trees along those
paths are rewritten, nothing else), it becomes a commit with `commit-tree`, and it
is published with a compare-and-swap `update-ref`: the user's staged or unstaged
work is never swept in, and a branch that moved under us is detected, not overwritten.

Measured choices (tooling/bench/README.md, writers): plain `git` processes and a few
files read in process, no GitPython. Importing GitPython and gitdb cost a `memkb record`
process about 45 ms of its 300 ms and two `git version` children; now the repository is
found from its `.git` (by `git rev-parse` when it is anything unusual), HEAD and branch
tips are read from the ref files (0.1 ms against a 2-5 ms process), new objects are
written as loose objects in process (zlib, what `git hash-object -w` does), and the
objects a commit is built from (the parent's trees along the changed paths, a blob) come
through one `git cat-file --batch` process.
Every command runs with LC_ALL=C: the errors that decide a retry are matched in English.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import subprocess
import time
import weakref
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from memkb.errors import RepoError

ZERO = "0" * 40
_FILE_MODE, _TREE_MODE = 0o100644, 0o040000
DEFAULT_IDENTITY = ("memkb agent", "memkb@localhost")
_IN_PROGRESS = {
    "rebase-merge": "a rebase is in progress",
    "rebase-apply": "a rebase (or `git am`) is in progress",
    "MERGE_HEAD": "a merge is in progress",
    "CHERRY_PICK_HEAD": "a cherry-pick is in progress",
    "REVERT_HEAD": "a revert is in progress",
    "BISECT_LOG": "a bisect is in progress",
}
_SHA = re.compile(r"[0-9a-f]{40}")
# Git's messages are parsed (publish, push): always in English.
_C_LOCALE = {"LC_ALL": "C", "LANGUAGE": "C"}
_TMP_NUMBERS = itertools.count()


class RefMoved(RepoError):
    """The branch moved between reading it and publishing a commit on it."""


class PushRejected(RepoError):
    """The remote refused the push because it is not a fast-forward."""


class Identity(NamedTuple):
    """Who a commit is by: name and email."""

    name: str
    email: str


class Change(NamedTuple):
    """One path of a commit: its new blob id, or None when the path is deleted."""

    path: str
    blob: str | None


# (repo, base commit, conflicting change, commit message) -> (changes, message) or None
Resolver = Callable[["GitRepo", str, Change, str], "tuple[list[Change], str] | None"]


class GitRepo:
    """One repository's Git, opened once per command."""

    def __init__(self, root: Path) -> None:
        top, git_dir, common_dir = _discover(Path(root))
        if top.resolve() != Path(root).resolve():
            raise RepoError(
                f"the knowledge base {root} is inside the Git work tree {top}, not at its top",
                hint="memkb keeps kb/ at the top of its own repository (a write can also "
                "take --no-commit to only write the file)",
            )
        self.root, self.git_dir, self.common_dir = top, git_dir, common_dir
        self._batch: _CatFile | None = None

    # -- running commands ---------------------------------------------------

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Stdout of `git args` (stripped); raise RepoError with git's own words on failure."""
        status, out, err = self.try_run(*args, env=env)
        if status != 0:
            raise RepoError(f"git {args[0]} failed: {err.strip() or f'exit status {status}'}")
        return out

    def try_run(self, *args: str, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
        """Status, stdout and stderr of `git args` (one final newline dropped from each),
        never raising on a non-zero status."""
        status, out, err = _git(self.root, args, env)
        return status, _text(out), _text(err)

    @property
    def memkb_dir(self) -> Path:
        """memkb's private folder inside the repository's (common) Git directory, created
        if needed; RepoError if it cannot be."""
        return _private_dir(self.common_dir / "memkb")

    @property
    def checkout_memkb_dir(self) -> Path:
        """memkb's folder for the state of this checkout alone (the write journal): the
        same as memkb_dir in the main work tree, its own in each linked worktree."""
        return _private_dir(self.git_dir / "memkb")

    # -- state --------------------------------------------------------------

    def current_branch(self) -> str | None:
        """Name of the checked-out branch, or None for a detached HEAD (no process spawned)."""
        target = self._symbolic_head()
        return None if target is None else target.removeprefix("refs/heads/")

    def _symbolic_head(self) -> str | None:
        """The ref HEAD points to ("refs/heads/main"), or None when it is detached."""
        try:
            head = (self.git_dir / "HEAD").read_text(errors="replace").strip()
        except OSError as exc:
            raise RepoError(f"cannot read {self.git_dir / 'HEAD'}: {exc.strerror}") from exc
        return head.removeprefix("ref:").strip() if head.startswith("ref:") else None

    def rev(self, ref: str) -> str | None:
        """Commit id of `ref`, or None if it does not exist (e.g. an unborn branch)."""
        if ref.startswith("refs/") and (found := self._read_ref(ref)) is not None:
            # Read from the ref files: 0.1 ms instead of a 2-5 ms process.
            return found or None
        status, out, _ = self.try_run("rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
        return out.strip() if status == 0 else None

    def _read_ref(self, ref: str, depth: int = 0) -> str | None:
        """Object id of `ref` read from its loose file or from packed-refs ("" when it does
        not exist); None when only git can tell (a symbolic chain too long, a file that
        does not hold an id, a ref that only a reftable knows)."""
        if depth > 5 or (self.common_dir / "reftable").exists():
            return None
        if any(part in ("", ".", "..") or part.startswith(".") for part in ref.split("/")):
            return None  # not a ref name: git says so (never a file read outside refs/)
        try:
            text = (self.common_dir / ref).read_text(errors="replace").strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return self._packed_ref(ref)
        except OSError:
            return None
        if text.startswith("ref:"):
            return self._read_ref(text.removeprefix("ref:").strip(), depth + 1)
        return text if _SHA.fullmatch(text) else None

    def _packed_ref(self, ref: str) -> str:
        try:
            lines = (self.common_dir / "packed-refs").read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        for line in lines:  # "<id> <ref>", "^<peeled id>" and "# pack-refs" lines
            oid, _, name = line.partition(" ")
            if name == ref and _SHA.fullmatch(oid):
                return oid
        return ""

    def is_branch_name(self, name: str) -> bool:
        """True if `name` is a valid branch name for Git."""
        status, _, _ = self.try_run("check-ref-format", "--branch", name)
        return status == 0 and not name.startswith("-")

    def operation_in_progress(self) -> str | None:
        """A description of a rebase/merge/cherry-pick in progress in this checkout, or None."""
        for marker, what in _IN_PROGRESS.items():
            if (self.git_dir / marker).exists():
                return what
        return None

    def dirty(self, paths: Sequence[str], *, staged: Sequence[str] | None = None) -> list[str]:
        """Those of `paths` with staged, unstaged or untracked changes in this checkout.

        `staged`, what `staged()` returned, spares a `git status` process (7 ms of CPU on
        a 10,000-record KB) when no path is in the work tree, as for a new record: such a
        path has a change only if it is staged, or if HEAD holds it (deleted, unstaged)."""
        if not paths:
            return []
        head = self._symbolic_head() if staged is not None else None
        tip = self.rev(head) if head is not None else None  # the ref file: no process
        if tip is not None and staged is not None and not any(map(self._on_disk, paths)):
            listed = set(staged)
            return sorted(p for p in paths if p in listed or self._object(f"{tip}:{p}"))
        out = self.run(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", *paths
        )
        return sorted({entry[3:] for entry in out.split("\0") if len(entry) > 3})

    def _on_disk(self, relpath: str) -> bool:
        try:
            os.lstat(self.root / relpath)
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    def staged(self) -> list[str]:
        """Paths whose staged content differs from HEAD (none on an unborn branch)."""
        head = self._symbolic_head()
        if head is not None and self.rev(head) is None:
            return []  # an unborn branch: nothing is committed to differ from
        out = self.run("diff-index", "--cached", "--name-only", "-z", "--no-renames", "HEAD")
        return [p for p in out.split("\0") if p]

    def identity(self) -> Identity:
        """The committer from the environment or git config, or memkb's default agent identity.

        A machine without `user.name`/`user.email` (a fresh CI runner, a container)
        still gets a commit, attributed to "memkb agent <memkb@localhost>".
        """
        _, out, _ = self.try_run("config", "--get-regexp", r"^user\.(name|email)$")
        config = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        name = os.environ.get("GIT_AUTHOR_NAME") or config.get("user.name") or DEFAULT_IDENTITY[0]
        email = (
            os.environ.get("GIT_AUTHOR_EMAIL") or config.get("user.email") or DEFAULT_IDENTITY[1]
        )
        return Identity(name.strip(), email.strip())

    # -- objects ------------------------------------------------------------

    def store_blob(self, data: bytes) -> str:
        """Write `data` to the object database (no process) and return its blob id."""
        return self._store("blob", data)

    def _store(self, kind: str, data: bytes) -> str:
        # What `git hash-object -w` does, in process (a process costs 2-5 ms per object):
        # a zlib-compressed loose object, written to a temporary file renamed into place.
        header = b"%s %d\0" % (kind.encode(), len(data))
        sha = hashlib.sha1(header, usedforsecurity=False)
        sha.update(data)
        oid = sha.hexdigest()
        folder = self.common_dir / "objects" / oid[:2]
        path = folder / oid[2:]
        try:
            if path.exists():
                return oid
            folder.mkdir(exist_ok=True)
            _write_object(folder, path, zlib.compress(header + data))
        except OSError as exc:
            raise RepoError(
                f"cannot write to Git's object database {folder.parent}: "
                f"{exc.strerror or exc}; nothing was committed",
                hint="make the repository's .git folder writable for you, then run again",
            ) from exc
        return oid

    def read_blob(self, rev: str | None, path: str, *, spec: str | None = None) -> bytes | None:
        """Content of `path` in commit `rev`, or None if the commit or the path does not exist."""
        if rev is None and spec is None:
            return None
        found = self._object(spec or f"{rev}:{path}")
        return None if found is None or found[0] != "blob" else found[1]

    def _object(self, spec: str) -> tuple[str, bytes] | None:
        """(type, content) of the object `spec` names, or None if there is none; through the
        one `git cat-file --batch` process this repository keeps."""
        if "\n" in spec:  # the batch protocol is line-based: such a name names nothing
            return None
        if self._batch is None:
            self._batch = _CatFile(self.root)
        return self._batch.read(spec)

    def close(self) -> None:
        """Stop the `git cat-file` process, if one was started (also done when collected)."""
        if self._batch is not None:
            self._batch.close()
            self._batch = None

    def read_object(self, blob: str) -> bytes:
        """Content of the blob with id `blob`; raise RepoError if it is missing."""
        data = self.read_blob(None, blob, spec=blob)
        if data is None:
            raise RepoError(f"blob {blob} is missing from the object database")
        return data

    def blob_id(self, rev: str | None, path: str) -> str | None:
        """Blob id of `path` in commit `rev`, or None if absent."""
        if rev is None:
            return None
        status, out, _ = self.try_run("rev-parse", "--verify", "-q", f"{rev}:{path}")
        return out.strip() if status == 0 else None

    def ls_tree(self, rev: str | None, folder: str) -> list[str]:
        """Paths of the files under `folder` in commit `rev` (recursively)."""
        if rev is None:
            return []
        out = self.run("ls-tree", "-r", "--name-only", "-z", rev, "--", folder)
        return [p for p in out.split("\0") if p]

    # -- commits ------------------------------------------------------------

    def build_commit(
        self, parent: str | None, changes: Sequence[Change], message: str, who: Identity
    ) -> str:
        """A new commit: `parent`'s tree with `changes` applied. Touches no index of the user.

        Only the trees along the changed paths are rewritten (read and written in
        process through the object database), so the cost follows the depth of the
        path and the size of its folder, not the number of records: measured on a
        10,000-record KB, 45-60 ms for read-tree/update-index/write-tree through a
        temporary index against about 10 ms this way.
        """
        root = self._tree_of(parent) if parent else None
        edits = {change.path: change.blob for change in changes}
        tree = self._tree_with(root, edits) or self._store_tree({})
        ident = {
            "GIT_AUTHOR_NAME": who.name,
            "GIT_AUTHOR_EMAIL": who.email,
            "GIT_COMMITTER_NAME": who.name,
            "GIT_COMMITTER_EMAIL": who.email,
        }
        parents = ["-p", parent] if parent else []
        return self.run("commit-tree", tree, *parents, "-m", message, env=ident).strip()

    def _tree_of(self, commit: str) -> str:
        found = self._object(commit)
        if found is None or found[0] != "commit" or not found[1].startswith(b"tree "):
            raise RepoError(f"commit {commit} is missing from the object database")
        return found[1][5:45].decode()

    def _tree_with(self, tree: str | None, edits: Mapping[str, str | None]) -> str | None:
        """Id of `tree` with `edits` (path inside it -> blob id, None = delete) applied, or
        None when nothing is left in it."""
        entries: dict[str, tuple[int, bytes]] = {}
        if tree is not None:
            found = self._object(tree)
            if found is None or found[0] != "tree":
                raise RepoError(f"tree {tree} is missing from the object database")
            entries = dict(_tree_entries(found[1]))
        below: dict[str, dict[str, str | None]] = {}
        for path, blob in edits.items():
            head, sep, rest = path.partition("/")
            if sep:
                below.setdefault(head, {})[rest] = blob
            elif blob is None:
                entries.pop(head, None)
            else:
                mode = entries[head][0] if head in entries else _FILE_MODE
                entries[head] = (mode if mode != _TREE_MODE else _FILE_MODE, bytes.fromhex(blob))
        for name, sub_edits in below.items():
            current = entries.get(name)
            sub = current[1].hex() if current and current[0] == _TREE_MODE else None
            new_sub = self._tree_with(sub, sub_edits)
            if new_sub is None:
                entries.pop(name, None)
            else:
                entries[name] = (_TREE_MODE, bytes.fromhex(new_sub))
        return self._store_tree(entries) if entries else None

    def _store_tree(self, entries: Mapping[str, tuple[int, bytes]]) -> str:
        # Git's order: by name, a folder compared as if its name ended with "/".
        def key(name: str) -> bytes:
            return name.encode() + (b"/" if entries[name][0] == _TREE_MODE else b"")

        data = b"".join(
            b"%o %s\0%s" % (entries[name][0], name.encode(), entries[name][1])
            for name in sorted(entries, key=key)
        )
        return self._store("tree", data)

    def publish(self, branch: str, new: str, old: str | None, reason: str) -> None:
        """Point `branch` at `new` only if it still points at `old`; raise RefMoved if not."""
        status, _, err = self.try_run(
            "update-ref", "-m", reason, f"refs/heads/{branch}", new, old or ZERO
        )
        if status == 0:
            return
        # Git says "is at X but expected Y" (or "already exists" for a new branch) when
        # the ref moved; anything else is a ref it could not write (e.g. read-only).
        if "but expected" in err or "reference already exists" in err:
            raise RefMoved(
                f"branch '{branch}' moved while memkb was writing: {err.strip()}",
                hint="run the command again",
            )
        raise RepoError(
            f"could not write the ref refs/heads/{branch}: {err.strip()}",
            hint="make the repository's .git/refs folder writable for you, then run again",
        )

    def sync_index(self, paths: Sequence[str]) -> None:
        """Make the user's index agree with the work tree for `paths` only; RepoError
        naming the index if Git cannot write it."""
        if not paths:
            return
        status, _, err = self.try_run("update-index", "--add", "--remove", "--", *paths)
        if status != 0:
            raise RepoError(
                f"cannot update Git's index {self.git_dir / 'index'}: {err.strip()}",
                hint="check that no other Git command is running and that the index is "
                "writable for you, then run again",
            )

    def set_index(self, changes: Sequence[Change]) -> None:
        """Point the user's index entries for these paths at the given blobs (or drop them),
        without reading the work tree."""
        args = ["update-index", "--add"]
        for change in changes:
            if change.blob is None:
                args += ["--force-remove", change.path]
            else:
                args += ["--cacheinfo", f"{_FILE_MODE:o},{change.blob},{change.path}"]
        if changes:
            self.run(*args)

    def update_worktree(self, old: str, new: str) -> None:
        """Move the checkout from commit `old` to `new` like a fast-forward, keeping local work.

        Git refuses (RepoError) if a local change would be overwritten.
        """
        self.run("read-tree", "-m", "-u", old, new)

    def changes_between(self, old: str | None, new: str) -> list[Change]:
        """Paths that differ from commit `old` to `new`, with their blobs in `new`."""
        if old is None:
            return [Change(p, self.blob_id(new, p)) for p in self.ls_tree(new, ".")]
        out = self.run("diff-tree", "-r", "--no-renames", "-z", old, new)
        fields = [f for f in out.split("\0") if f]
        found = []
        for meta, path in zip(fields[0::2], fields[1::2], strict=True):
            _, _, _, blob, status = meta.lstrip(":").split(" ")
            found.append(Change(path, None if status == "D" else blob))
        return found

    def commits_between(self, base: str | None, tip: str) -> list[str]:
        """Commits reachable from `tip` but not from `base`, oldest first (no merges)."""
        spec = [f"{base}..{tip}"] if base else [tip]
        return self.run("rev-list", "--reverse", "--no-merges", *spec).split()

    def message_of(self, commit: str) -> str:
        """The full message of `commit`."""
        return self.run("show", "-s", "--format=%B", commit).rstrip("\n")

    def parent_of(self, commit: str) -> str | None:
        """First parent of `commit`, or None for a root commit."""
        return self.rev(f"{commit}^")

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True if `ancestor` is reachable from `descendant`."""
        status, _, _ = self.try_run("merge-base", "--is-ancestor", ancestor, descendant)
        return status == 0

    def replay_onto(
        self, branch: str, local: str, base: str, checked_out: bool, resolve: Resolver | None = None
    ) -> str:
        """Rebase `branch` (at `local`) onto `base` without touching the user's work; the new tip.

        The local commits missing from `base` are rebuilt off a private index, one
        by one; then the checkout (if `branch` is checked out) is fast-forwarded
        with `read-tree -m -u`, which keeps unrelated local changes. A path the
        remote changed too is handed to `resolve` (which may, e.g., move a new
        outcome to a free name); unresolved, it raises RepoError.
        """
        if self.run("rev-list", "--merges", "-n1", f"{base}..{local}"):
            raise RepoError(
                f"branch '{branch}' has unpushed merge commits; memkb will not rebase them",
                hint="push it yourself with `git push`",
            )
        new = base
        for commit in self.commits_between(base, local):
            new = self._replay(commit, new, branch, resolve)
        if checked_out:
            self.update_worktree(local, new)
        try:
            self.publish(branch, new, local, "memkb: replay onto the remote")
        except RefMoved:
            if checked_out:
                self.update_worktree(new, local)
            raise
        return new

    def _replay(self, commit: str, onto: str, branch: str, resolve: Resolver | None) -> str:
        parent = self.parent_of(commit)
        message = self.message_of(commit)
        changes: list[Change] = []
        for change in self.changes_between(parent, commit):
            upstream = self.blob_id(onto, change.path)
            before = self.blob_id(parent, change.path)
            # A file both sides created is two records even if the bytes agree.
            added_twice = before is None and upstream is not None
            if upstream == before or (upstream == change.blob and not added_twice):
                changes.append(change)
                continue
            resolved = resolve(self, onto, change, message) if resolve else None
            if resolved is None and upstream == change.blob:
                continue  # nobody can tell them apart: keep the remote's copy
            if resolved is None:
                raise RepoError(
                    f"{change.path} was changed on the remote too; cannot replay memkb's "
                    "commit over it",
                    hint=f"merge by hand: `git pull --rebase` on branch '{branch}', then push",
                )
            more, message = resolved
            changes += more
        return self.build_commit(onto, changes, message, self.identity())

    # -- remotes ------------------------------------------------------------

    def fetch(self, remote: str, branch: str) -> str | None:
        """Fetch `branch` from `remote`; its commit id there, or None if it does not exist."""
        status, _, err = self.try_run(
            "fetch", "-q", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"
        )
        if status != 0:
            if "couldn't find remote ref" in err:
                return None
            raise RepoError(
                f"git fetch {remote} failed: {err.strip()}",
                hint="check the remote's name and that you can reach it",
            )
        return self.rev(f"refs/remotes/{remote}/{branch}")

    def unpushed(self, remote: str, tip: str) -> list[tuple[str, str, bool]]:
        """(commit id, subject, is a memory write) of every commit reachable from `tip` but
        from no ref of `remote` known here (fetch first), oldest first."""
        out = self.run(
            "log", "--reverse", "--no-merges", "-z",
            "--format=%H%x1f%s%x1f%(trailers:key=Memory-Kind,valueonly,separator=%x20)",
            tip, "--not", f"--remotes={remote}",
        )  # fmt: skip
        found = []
        for entry in filter(None, out.split("\0")):
            commit, subject, kind = [*entry.strip("\n").split("\x1f"), "", ""][:3]
            found.append((commit, subject, bool(kind.strip())))
        return found

    def push(self, remote: str, commit: str, branch: str) -> None:
        """Push `commit` to `remote`'s `branch`; raise PushRejected on a non-fast-forward."""
        status, out, err = self.try_run(
            "push", "--porcelain", remote, f"{commit}:refs/heads/{branch}"
        )
        err = f"{err}\n{out}".strip()
        if status == 0:
            self.try_run("update-ref", f"refs/remotes/{remote}/{branch}", commit)
            return
        if re.search(
            r"non-fast-forward|fetch first|rejected|failed to update ref|"
            r"cannot lock ref|reference already exists",
            err,
        ):
            raise PushRejected(f"push to {remote} rejected: {err}")
        raise RepoError(
            f"git push {remote} failed: {err}",
            hint="check the remote's name, your access rights and the network",
        )


def _private_dir(path: Path) -> Path:
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise RepoError(
            f"cannot create {path}: {exc.strerror}",
            hint="memkb keeps its lock and journal there: it needs to write in the "
            "repository's Git folder",
        ) from exc
    return path


def _discover(root: Path) -> tuple[Path, Path, Path]:
    """(top of the work tree, Git directory, common Git directory) of the repository
    `root` is in; RepoError if it is in none (or in a bare one)."""
    if not root.is_dir():
        raise RepoError(
            f"{root} is not a Git repository (no such folder)",
            hint="run `git init` there (a write can also take --no-commit)",
        )
    found = _read_dot_git(root)
    if found is not None:
        return found
    status, out, err = _git(
        root, ("rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir"), None
    )
    lines = _text(out).splitlines()
    if status != 0 or len(lines) != 3:
        why = _text(err).strip().removeprefix("fatal: ")
        raise RepoError(
            f"{root} is not a Git repository" + (f" ({why})" if why else ""),
            hint="run `git init` there (a write can also take --no-commit)",
        )
    top, git_dir, common = (Path(line) for line in lines)
    return top, git_dir, (root / common).resolve() if not common.is_absolute() else common


def _read_dot_git(root: Path) -> tuple[Path, Path, Path] | None:
    """What `_discover` returns, read from `root/.git` (a folder, or a linked worktree's or
    submodule's "gitdir:" file, and its "commondir"): a `git rev-parse` less per write. None
    when only git can tell: no .git there (a folder below the top, or none), GIT_DIR and
    the like in the environment, anything unusual."""
    if any(os.environ.get(name) for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR")):
        return None
    dot_git = root / ".git"
    try:
        if dot_git.is_dir():
            git_dir = dot_git
        elif dot_git.is_file():
            text = dot_git.read_text(errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            git_dir = root / text.removeprefix("gitdir:").strip()
        else:
            return None
        if not (git_dir / "HEAD").is_file():
            return None
        common = git_dir
        if (git_dir / "commondir").is_file():
            common = git_dir / (git_dir / "commondir").read_text(errors="replace").strip()
        return root.resolve(), git_dir.resolve(), common.resolve()
    except OSError:
        return None


def _git(
    root: Path, args: Sequence[str], env: Mapping[str, str] | None
) -> tuple[int, bytes, bytes]:
    """Status, stdout and stderr of `git args` run in `root` with Git's messages in English."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            env={**os.environ, **_C_LOCALE, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except OSError as exc:
        raise RepoError(f"cannot run git: {exc.strerror}", hint="install git") from exc
    return done.returncode, done.stdout, done.stderr


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", "surrogateescape")
    return text[:-1] if text.endswith("\n") else text


def _write_object(folder: Path, path: Path, compressed: bytes) -> None:
    """Write a loose object file as git does: read-only, complete before it appears. The
    temporary name is this process's own (pid, clock and a counter: a pid reused after a
    crash still gets a new name; `tempfile` would import `random` into every writer)."""
    tmp = folder / f"tmp_obj_{os.getpid()}_{time.time_ns()}_{next(_TMP_NUMBERS)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(compressed)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _tree_entries(data: bytes) -> Iterator[tuple[str, tuple[int, bytes]]]:
    """(name, (mode, raw 20-byte id)) of each entry of a tree object's content."""
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        mode = int(data[pos:space], 8)
        yield (
            data[space + 1 : nul].decode("utf-8", "surrogateescape"),
            (
                mode,
                data[nul + 1 : nul + 21],
            ),
        )
        pos = nul + 21


class _CatFile:
    """One `git cat-file --batch` process answering object requests one at a time."""

    def __init__(self, root: Path) -> None:
        try:
            self.proc = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=root,
                env={**os.environ, **_C_LOCALE},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise RepoError(f"cannot run git: {exc.strerror}", hint="install git") from exc
        # A GitRepo dropped without close() still stops its process.
        self._finalizer = weakref.finalize(self, _stop, self.proc)

    def read(self, spec: str) -> tuple[str, bytes] | None:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(spec.encode("utf-8", "surrogateescape") + b"\n")
            stdin.flush()
            header = stdout.readline().split()
        except OSError as exc:
            raise RepoError(f"git cat-file stopped answering: {exc}") from exc
        if len(header) != 3 or not header[2].isdigit():
            if not header:
                raise RepoError("git cat-file stopped answering")
            return None  # "<spec> missing" (or ambiguous): no such object
        size = int(header[2])
        data = _read_exactly(stdout, size + 1)
        return header[1].decode(), data[:size]

    def close(self) -> None:
        self._finalizer()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise RepoError("git cat-file stopped in the middle of an object")
    return data


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
