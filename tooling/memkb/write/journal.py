"""Files in the checkout, written so that nothing is lost: atomic file writes, and a
commit of exactly those files made under a journal that the next write settles.

`commit_in_worktree` records the old and new blob of every path in
`.git/memkb/journal.json` before the first byte changes; a failure rolls the files
back at once, and a process killed at any point is completed or rolled back by the
next write's `recover`. A linked worktree keeps its own journal (in its own Git
folder), so a write in one worktree never settles, or drops, another's.

Test hook: MEMKB_FAULT=<point> makes the process SIGKILL itself at that point
(see FAULT_POINTS); the fault-injection tests use it to prove nothing is lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterable, Mapping
from pathlib import Path

from memkb.cachefile import blob_id
from memkb.errors import RepoError
from memkb.gitio.repo import Change, GitRepo, Identity

# Every point of a write where the hook can kill it, the writer's own (lock, push) included.
FAULT_POINTS = (
    "after-lock",
    "after-journal",
    "after-temp-write",
    "after-replace",
    "after-commit-object",
    "after-index-sync",
    "after-ref-update",
    "before-push",
)
JOURNAL = "journal.json"


def fault(point: str) -> None:
    """Test hook: die by SIGKILL here if MEMKB_FAULT names this point."""
    if os.environ.get("MEMKB_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


def read_file(path: Path) -> bytes | None:
    """The file's bytes, None if it does not exist (nor its folder); raises OSError if it
    cannot be read."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def write_files(root: Path, files: Mapping[str, bytes | None]) -> None:
    """Write (or delete) each file atomically: a synced temp file renamed over the old one.

    Raises RepoError naming the file if one cannot be written."""
    for relpath, raw in files.items():
        try:
            write_file(root / relpath, raw)
        except OSError as exc:
            raise RepoError(
                f"cannot write {relpath}: {exc.strerror or exc}",
                hint="check that kb/ and its folders are writable directories",
            ) from exc
    fault("after-replace")


def write_file(path: Path, raw: bytes | None, *, sync: bool = True) -> None:
    """Write `raw` to `path` atomically (None: delete it): a synced temp file, given the old
    file's mode, renamed over it. Raises OSError; a failed write leaves no temp file.

    `sync=False` skips the fsync, for a caller that writes many new files and makes them
    durable with one `os.sync()` at the end (an fsync costs about 5 ms on a busy disk:
    a minute for an import of 10,000 records)."""
    if raw is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    try:
        with tmp.open("wb") as out:
            out.write(raw)
            out.flush()
            if sync:
                os.fsync(out.fileno())
        if path.exists():
            tmp.chmod(path.stat().st_mode & 0o7777)
        fault("after-temp-write")
        tmp.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _tmp_path(path: Path) -> Path:
    # A dot-name without .yaml: never mistaken for a record by validate or git add.
    return path.with_name(f".{path.name}.memkb-tmp")


def commit_in_worktree(
    repo: GitRepo,
    branch: str,
    old: str | None,
    files: Mapping[str, bytes | None],
    message: str,
    who: Identity,
) -> str:
    """Write `files` into the checkout and commit exactly them on `branch`; the new commit id.

    Journaled: the old and new blobs are recorded before the first byte changes, so
    a failure rolls the files back here and a crash is settled by `recover`.
    """
    entries = {
        p: {
            "old": _stored(repo, read_file(repo.root / p)),
            "new": None if raw is None else repo.store_blob(raw),
        }
        for p, raw in files.items()
    }
    _save_journal(repo, {"branch": branch, "old": old, "files": entries})
    fault("after-journal")
    synced = False
    try:
        write_files(repo.root, files)
        changes = [Change(p, e["new"]) for p, e in entries.items()]
        new = repo.build_commit(old, changes, message, who)
        fault("after-commit-object")
        # The index before the ref: an index Git cannot write then fails a write that
        # has committed nothing, instead of one a retry would record a second time.
        _sync_before_commit(repo, sorted(files))
        synced = True
        fault("after-index-sync")
        repo.publish(branch, new, old, message.splitlines()[0])
    except BaseException:
        _roll_back(repo, entries, index=synced)
        _drop_journal(repo)
        raise
    fault("after-ref-update")
    _finish(repo)
    return new


def _sync_before_commit(repo: GitRepo, paths: list[str]) -> None:
    try:
        repo.sync_index(paths)
    except RepoError as exc:
        raise RepoError(f"{exc.message}; nothing was committed", hint=exc.hint) from exc


def _finish(repo: GitRepo) -> None:
    """Drop the journal of a write whose commit has landed and whose index is synced.

    Nothing may fail the write now: an error here would invite a retry that records it
    twice. A journal that cannot be removed is harmless; the next write's `recover`
    finds the commit landed, drops it and says so in its notes."""
    with contextlib.suppress(OSError):
        _drop_journal(repo)


def recover(repo: GitRepo) -> str | None:
    """Settle a write that a killed process left half done; say what was done, or None.

    If its commit reached the branch, the files and the index are brought in line
    with it; if not, the files are rolled back. A file the user changed since is
    left alone.
    """
    path = repo.checkout_memkb_dir / JOURNAL
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        path.unlink()  # torn while being written: no file had been touched yet
        return "discarded an unfinished journal"
    entries: dict[str, dict[str, str | None]] = data["files"]
    _discard_temps(repo, entries)
    if repo.current_branch() != data["branch"]:
        _drop_journal(repo)  # the checkout moved on: its files are not ours to change
        return f"found an interrupted write on branch '{data['branch']}'; files left as they are"
    tip = repo.rev(f"refs/heads/{data['branch']}")
    landed = (
        tip is not None
        and tip != data["old"]
        and all(repo.blob_id(tip, p) == e["new"] for p, e in entries.items())
    )
    to = "new" if landed else "old"
    settled = _settle(repo, entries, to)
    # The index may have been synced before the kill, whether or not the ref moved.
    # A file changed since keeps its change, unstaged: the index follows the commit.
    repo.sync_index(settled)
    repo.set_index([Change(p, e[to]) for p, e in entries.items() if p not in settled])
    _drop_journal(repo)
    return "completed an interrupted write" if landed else "rolled back an interrupted write"


def _roll_back(
    repo: GitRepo, entries: Mapping[str, Mapping[str, str | None]], *, index: bool
) -> None:
    """Put the files back; and their index entries if `index` (they had been synced)."""
    _discard_temps(repo, entries)
    settled = _settle(repo, entries, "old")
    if index:
        repo.sync_index(settled)


def _discard_temps(repo: GitRepo, relpaths: Iterable[str]) -> None:
    """Remove the temp files a write of `relpaths` may have left (there is none where the
    folder is missing or is not a folder)."""
    for relpath in relpaths:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            _tmp_path(repo.root / relpath).unlink()


def _settle(repo: GitRepo, entries: Mapping[str, Mapping[str, str | None]], to: str) -> list[str]:
    """Put each file in its `to` ("old" or "new") state if it is still in the other one;
    a file changed by someone else is left alone. Returns the paths now in that state."""
    other = "new" if to == "old" else "old"
    done = []
    for relpath, entry in entries.items():
        current = read_file(repo.root / relpath)
        blob = None if current is None else blob_id(current)
        if blob == entry[other] and blob != entry[to]:
            _put(repo, relpath, entry[to])
            blob = entry[to]
        if blob == entry[to]:
            done.append(relpath)
    return sorted(done)


def _put(repo: GitRepo, relpath: str, blob: str | None) -> None:
    write_file(repo.root / relpath, None if blob is None else repo.read_object(blob))


def _stored(repo: GitRepo, raw: bytes | None) -> str | None:
    return None if raw is None else repo.store_blob(raw)


def _save_journal(repo: GitRepo, data: object) -> None:
    path = repo.checkout_memkb_dir / JOURNAL
    tmp = path.with_suffix(".tmp")
    try:
        with tmp.open("w") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise RepoError(
            f"cannot write memkb's journal {path}: {exc.strerror or exc}; nothing was written",
            hint="memkb journals every write in the repository's .git/memkb folder: "
            "make it writable for you, then run again",
        ) from exc


def _drop_journal(repo: GitRepo) -> None:
    (repo.checkout_memkb_dir / JOURNAL).unlink(missing_ok=True)
