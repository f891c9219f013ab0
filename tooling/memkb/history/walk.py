"""One pass over main: a single `git log --raw` process, parsed as it streams."""

from __future__ import annotations

from pathlib import Path

from memkb.gitio.log import Commit, GitStream, Progress, git, git_stream
from memkb.history.store import Cache
from memkb.kb.layout import KB_DIR

_RAW_FORMAT = "--format=%x01%H%x00%ct"
_KB_PREFIX = KB_DIR.encode() + b"/"


def chain(root: Path, cache: Cache, tip: str, progress: Progress | None = None) -> list[Commit]:
    """Commits of `tip`'s first-parent chain that touched kb/, oldest first.

    Only commits after the newest already-cached tip on that chain are read from Git.
    """
    Walk(root, cache, tip, progress).finish()
    out: list[Commit] = []
    sha = cache.tips[tip]
    while sha is not None:
        commit = cache.commits[sha]
        out.append(commit)
        sha = commit.prev
    out.reverse()
    return out


class Walk:
    """The `git log` of the commits of `tip`'s line that `cache` lacks (none when it
    knows `tip`), started when made: git walks while the caller does other work (a cold
    `memkb metrics` imports the YAML readers and starts the read-ahead meanwhile, about
    0.1 s that git's walk no longer waits for); `finish` reads and caches the commits."""

    def __init__(self, root: Path, cache: Cache, tip: str, progress: Progress | None) -> None:
        self.cache, self.tip, self.progress = cache, tip, progress
        self.stream: GitStream | None = None
        if tip in cache.tips:
            return
        # Any cached commit or tip ends the walk: its own first-parent history is known
        # (a branch forked from main stops where it left main). Usually one is a few
        # commits back, so look there before listing the whole line.
        self.base, self.expected = _base_of(root, cache, tip, progress is not None)
        args = [
            "log",
            "--first-parent",
            "--diff-merges=first-parent",
            "--raw",
            "--no-renames",
            "--no-abbrev",
            "-z",
            _RAW_FORMAT,
            tip,
            *([f"^{self.base}"] if self.base else []),
        ]  # no "-- kb" pathspec: filtering paths here is ~2x cheaper than git's path limiting
        self.stream = git_stream(root, *args)

    def finish(self) -> None:
        """Parse git's output into cache.commits and cache.tips (once)."""
        stream, self.stream = self.stream, None
        if stream is None:
            return
        try:
            new = _parse_stream(stream, self.expected, self.progress)
        finally:
            stream.close()
        cache = self.cache
        prev = None if self.base is None else cache.tips.get(self.base, self.base)
        for sha, ts, changes in reversed(new):
            cache.commits[sha] = Commit(sha, prev, ts, changes)
            prev = sha
        cache.tips[self.tip] = prev

    def close(self) -> None:
        """End git if the walk will not be finished (the caller failed meanwhile)."""
        if self.stream is not None:
            self.stream.close()
            self.stream = None


def _base_of(root: Path, cache: Cache, tip: str, counted: bool) -> tuple[str | None, int]:
    """The newest cached commit on `tip`'s first-parent line (None: walk it all), and how
    many commits lie above it (for progress: on an empty cache 0 unless `counted`).

    An empty cache knows no commit: listing the line to find none would cost two git
    processes and 10,000 lines before the walk starts, so only a count is asked for, and
    only when progress is shown."""
    if not cache.tips and not cache.commits:
        if not counted:
            return None, 0
        return None, int(git(root, "rev-list", "--first-parent", "--count", tip).strip())

    def known(sha: str) -> bool:
        return sha in cache.tips or sha in cache.commits

    line = git(root, "rev-list", "--first-parent", "-n", "64", tip).split()
    if not any(known(sha) for sha in line) and len(line) == 64:
        line = git(root, "rev-list", "--first-parent", tip).split()
    base = next((sha for sha in line if known(sha)), None)
    return base, line.index(base) if base else len(line)


def _parse_stream(
    stream: GitStream, expected: int, progress: Progress | None
) -> list[tuple[str, int, tuple[tuple[str, str | None], ...]]]:
    """Parse `git log`'s commits as they arrive (git walks on one core while Python
    parses on the other), reporting progress; newest commit first."""
    out: list[tuple[str, int, tuple[tuple[str, str | None], ...]]] = []
    pending, seen = b"", 0
    for chunk in stream:
        pending += chunk
        cut = pending.rfind(b"\x01")
        if cut > 0:  # everything before the last marker is whole commits
            out += _parse_raw(pending[:cut])
            pending = pending[cut:]
        if progress is not None:
            seen += chunk.count(b"\x01")
            progress("commits", seen, expected)
    out += _parse_raw(pending)
    return out


def _parse_raw(data: bytes) -> list[tuple[str, int, tuple[tuple[str, str | None], ...]]]:
    """Parse `git log --raw -z` output in the _RAW_FORMAT; newest commit first."""
    out = []
    for record in data.split(b"\x01")[1:]:
        tokens = record.split(b"\0")
        sha, ts = tokens[0].decode(), int(tokens[1])
        changes = []
        for meta, path in zip(tokens[2::2], tokens[3::2], strict=False):
            fields = meta.split()
            if len(fields) < 5 or fields[1] == b"160000" or not path.startswith(_KB_PREFIX):
                continue  # not a raw line, a submodule, or outside kb/
            blob = None if fields[4].startswith(b"D") else fields[3].decode()
            changes.append((path.decode("utf-8", "surrogateescape"), blob))
        if changes:  # commits that leave kb/ alone are not part of memory's history
            out.append((sha, ts, tuple(changes)))
    return out
