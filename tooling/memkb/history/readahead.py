"""Reading the tip's records while `git log` walks history, on a cold cache.

The walk mostly waits on git (another process, another core); parsing records is
Python work. A thread parses the tip's records during the walk, so on a cold run the
two overlap. (A forked child parsing half of them was tried and measured: on the
shared 2-core machine it gained nothing, so it is not here.)
"""

from __future__ import annotations

import threading
from pathlib import Path

from memkb.gitio.log import Progress, git
from memkb.history.blobs import ensure_facts
from memkb.history.replay import record_key
from memkb.history.store import Cache
from memkb.kb.layout import KB_DIR
from memkb.records.load import fast_yaml


def tip_records(root: Path, tip: str) -> dict[str, tuple[str, str]]:
    """ "kind:blob" -> (kind, path) for every record file in the tip's tree."""
    listing = git(root, "ls-tree", "-r", "-z", tip, "--", KB_DIR, check=False)
    wanted = {}
    for entry in listing.split("\0"):
        meta, _, path = entry.partition("\t")
        fields = meta.split()
        key = record_key(path)
        if len(fields) == 3 and fields[1] == "blob" and key is not None:
            wanted[f"{key[0]}:{fields[2]}"] = (key[0], path)
    return wanted


class ReadAhead:
    """Parses the tip's records into cache.blobs in a thread while the caller walks
    history; the replay then finds them there."""

    def __init__(self, root: Path, cache: Cache, tip: str, progress: Progress | None) -> None:
        self.cache, self.progress = cache, progress
        self.walked = False
        self.error: BaseException | None = None
        self.wanted: dict[str, tuple[str, str]] = {}  # the tip's records, once listed
        fast_yaml()  # yaml-rs imported here, in the caller's thread, never in ours
        self.thread = threading.Thread(target=self._run, args=(root, tip), daemon=True)
        self.thread.start()

    def _run(self, root: Path, tip: str) -> None:
        try:
            self.wanted = tip_records(root, tip)
            ensure_facts(root, self.cache, self.wanted, self._report)
        except BaseException as exc:  # handed to the main thread by join(), not lost
            self.error = exc

    def _report(self, what: str, done: int, total: int) -> None:
        if self.walked and self.progress is not None:  # one bar at a time on the terminal
            self.progress(what, done, total)

    def join(self) -> None:
        """Wait for the records (reporting their progress from now on); raise what the
        thread raised."""
        self.walked = True
        self.thread.join()
        if self.error is not None:
            raise self.error
