"""Finished answers, cached by what they depend on: the commit (content-addressed), the
question as asked, and the code of memkb.advice and memkb.metrics (a changed formula is a
new answer). The same question at the same commit is then read back, not recomputed,
as `memkb metrics` does with its reports. An unknown name raises before anything is
cached; a missing or damaged entry is recomputed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memkb import cachefile as cache
from memkb._version import __version__

KEPT_ANSWERS = 64  # answers kept under .git/memkb/advice/answers/, newest first


def cached(
    root: Path,
    key: dict[str, Any],
    build: Callable[[], dict[str, Any]],
    use_cache: bool = True,
) -> dict[str, Any]:
    """The answer for `key` (plain data: the commit, the command and its question) from
    the cache, else `build()`, stored for next time."""
    if not use_cache:
        return build()
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    name = hashlib.sha256(text.encode()).hexdigest()[:40]
    path = cache.cache_dir(root) / "advice" / "answers" / f"{name}.cache"
    fingerprint = f"{text}\0{code_fingerprint()}"
    hit = cache.load(path, fingerprint)
    if hit:
        return hit
    answer = build()
    cache.save(path, fingerprint, answer)
    _prune(path.parent)
    return answer


def code_fingerprint() -> str:
    """Hash of the modules whose code shapes an answer."""
    digest = hashlib.sha256(__version__.encode())
    here = Path(__file__).parent
    metrics = here.parent / "metrics"  # by path: importing the formulas costs a warm run
    for module in (*sorted(here.glob("*.py")), metrics / "formulas.py", metrics / "beta.py"):
        digest.update(module.read_bytes())
    return digest.hexdigest()[:16]


def _prune(folder: Path) -> None:
    try:
        files = sorted(folder.glob("*.cache"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[KEPT_ANSWERS:]:
            old.unlink()
    except OSError:
        pass
