"""What a `memkb validate` answer depends on, gathered with nothing but `os`, `hashlib` and
`marshal`, so that an unchanged KB is recognised before pathlib, dataclasses or typing are
imported: memkb.validation.warm (the sealed findings) and memkb.cli.express (the sealed
output of one command line) both build their keys here.

The key of a work tree (`answer_key`) is a SHA-256 over:

- RESULT_FORMAT and the code signature (`code_signature`: memkb's version and the size and
  mtime of every module of the installed package, so an edited rule is a miss even when
  the version did not move);
- the date (cross-file rules judge dates against today);
- every file under schemas/, by name and content (a schema a `$ref` points to included);
- every knowledge file's path and stat key (size, mtime in ns, inode), in the order the
  scan found them (`memkb.kb.scan.scan`; unsorted: sorting 10,000 paths costs more than
  the hash, and an unchanged folder lists in the same order, so only a changed tree can
  change the order, and it changes the stats too).

The express outputs (`save_output`, `load_output`) are stored under the work tree's key, each
by a key over everything else its output depends on (`request_key`: the command line, the
working directory, the configuration files, the environment; memkb.cli.express builds it).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import time
from functools import cache

from memkb import cachefile
from memkb._version import __version__
from memkb.kb.names import SCHEMAS_DIR

TYPE_CHECKING = False  # not typing's: see memkb/__init__.py
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date
    from pathlib import Path
    from typing import Any

    from memkb.kb.scan import StatKey

RESULT_FORMAT = 1  # the shape of the stored answer; bump it when warm.Answer changes
OUTPUT_FILE = "validate.output"
OUTPUT_FORMAT = 1  # the shape of the stored output; bump it when save_output changes
KEPT_OUTPUTS = 8  # command lines remembered per work tree (text, json, sarif, --repo ...)
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # tooling/memkb


def today() -> str:
    """Today's local date as `str(datetime.date.today())` gives it, without datetime."""
    return time.strftime("%Y-%m-%d")


def answer_key(
    root: str | Path, files: Mapping[str, StatKey | None], today: date | str
) -> str | None:
    """The key of the work tree at `root` whose knowledge files have the stat keys `files`
    (in scan order: `warm.probe` and the engine both pass `scan`'s dict), judged on `today`;
    None when a file has no stat key (a symlink: only its content can tell), since then no
    key can prove the KB unchanged."""
    if None in files.values():
        return None
    digest = hashlib.sha256(f"{RESULT_FORMAT}\0{code_signature()}\0{today}\0".encode())
    for relpath, raw in schema_files(root):
        digest.update(b"%s\0%d\0%s" % (relpath.encode(), len(raw), raw))
    # marshal of a dict of str -> tuple of ints is deterministic and much faster than
    # hashing each entry from Python (10,000 files: about 2 ms); scan's dict is marshalled
    # as it is, not copied.
    digest.update(marshal.dumps(files if type(files) is dict else dict(files)))
    return digest.hexdigest()


def schema_files(root: str | Path) -> list[tuple[str, bytes]]:
    """Every file under schemas/ (sorted relative paths, contents): what `$ref` may reach."""
    found = []
    base = f"{root}/"
    for folder, dirs, names in os.walk(f"{root}/{SCHEMAS_DIR}"):
        dirs.sort()
        for name in sorted(names):
            path = f"{folder}/{name}"
            relpath = path.removeprefix(base).replace(os.sep, "/")
            try:
                with open(path, "rb") as handle:
                    found.append((relpath, handle.read()))
            except OSError:
                found.append((relpath, b"\0unreadable"))
    return found


@cache
def code_signature(package: str | Path = PACKAGE_DIR) -> str:
    """memkb's version and the size and mtime of every module under `package`: the code
    that shaped an answer. Cached for the process (the code does not change under it)."""
    digest = hashlib.sha256(__version__.encode())
    for folder, dirs, names in os.walk(package):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".py"):
                st = os.stat(f"{folder}/{name}")
                digest.update(f"{folder}/{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def request_key(request: tuple[Any, ...]) -> str:
    """The key of one command line's `request`: plain data (tuples, strings, ints, bytes,
    None, bools) naming everything but the work tree that the command's output depends on."""
    # repr, not marshal: marshal writes an object shared elsewhere in the process as a
    # back-reference, so equal requests can marshal to different bytes in two processes.
    return hashlib.sha256(f"{OUTPUT_FORMAT}\0{request!r}".encode()).hexdigest()


def output_path(root: str | Path) -> str:
    """Where the express outputs of the work tree at `root` are stored."""
    return f"{cachefile.cache_folder(os.fspath(root))}/{OUTPUT_FILE}"


def load_output(root: str | Path, tree_key: str, request: str) -> tuple[str, int] | None:
    """The output and exit status stored for the command line `request` (a request_key)
    on the work tree whose key is `tree_key`, or None (absent, damaged, another key)."""
    found = cachefile.load(output_path(root), tree_key).get(request)
    if type(found) is tuple and len(found) == 2:
        output, status = found
        if type(output) is str and type(status) is int:
            return output, status
    return None


def save_output(root: str | Path, tree_key: str, request: str, output: str, status: int) -> None:
    """Store what the command line `request` printed on the work tree `tree_key`, and its
    exit status, beside the outputs of other command lines on the same tree (at most
    KEPT_OUTPUTS, the oldest dropped), atomically; a failure to write is ignored."""
    outputs = cachefile.load(output_path(root), tree_key)
    outputs.pop(request, None)
    outputs[request] = (output, status)
    kept = dict(list(outputs.items())[-KEPT_OUTPUTS:])
    cachefile.save(output_path(root), tree_key, kept)
