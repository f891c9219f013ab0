"""The express answer of `memkb validate`: a command line already answered on an unchanged
KB prints the same output again before typer, the rules or the engine are imported.

A warm `memkb validate` used to pay typer's import (about 70 ms, two thirds of a start-up)
to print findings it already had. Now:

1. a run answered from the sealed findings (memkb.validation.warm) keeps what it printed
   and its exit status (`remember`), under the work tree's key (memkb.validation.seal:
   code, date, schemas, every knowledge file's stat) and a key over everything else its
   output depends on (`request`): the command line, the working directory, the
   configuration files (pyproject.toml, kb/.memkb.yaml), the environment variables memkb,
   click and Python read, whether stdout is a terminal and its encoding, the Python;
2. the console script (memkb.cli.entry.main) asks `answer` first: it scans the KB, builds
   both keys and prints the kept output when both match. Anything else (another command
   line, a changed file, a missing or damaged store, an option it does not know) is a
   miss, and the command runs as it always did.

Only the console script's command lines are kept (`started`): memkb run inside another
program (CliRunner, tests) keeps nothing. Command lines with paths, --no-cache, --help or
any option not in VALUE_OPTIONS and FLAG_OPTIONS are never kept: the keys above would not
name everything their output depends on (a path's own existence, for one).

This module imports nothing but `os`, `sys` and the seal's modules: no pathlib, typing or
dataclasses (15 to 30 ms each).
"""

from __future__ import annotations

import os
import sys

from memkb.kb.names import KB_DIR, nearest_root
from memkb.kb.scan import scan
from memkb.validation import seal

TYPE_CHECKING = False  # not typing's: see memkb/__init__.py
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from memkb.kb.scan import StatKey

# The options of `memkb validate` a kept command line may use (cli/validate_cmd.py).
VALUE_OPTIONS = ("--repo", "--format", "--ignore", "--select")
FLAG_OPTIONS = ("--json",)
# What memkb.rules.selection.load_selection reads besides the command line.
CONFIG_FILES = ("pyproject.toml", f"{KB_DIR}/.memkb.yaml")
# Environment variables that can change what a validate run prints: memkb's own, click's
# and typer's (colour, completion, terminal size), Python's (encoding, hash seed), the
# locale, the time zone (today's date) and git's.
ENV_PREFIXES = ("MEMKB", "_MEMKB", "TYPER", "_TYPER", "CLICOLOR", "PYTHON", "LC_", "GIT_")
ENV_NAMES = ("LANG", "LANGUAGE", "TERM", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TZ")

_started: list[str] | None = None  # the console script's command line, once it runs one
_scanned: tuple[str, dict[str, StatKey | None]] | None = None  # a missed answer's scan


def started(argv: list[str]) -> None:
    """Note the command line the console script runs, so that its output may be kept."""
    global _started
    _started = list(argv)


def answer(argv: list[str]) -> int | None:
    """Print the kept output of the command line `argv` and return its exit status, or
    return None (nothing printed) when nothing is kept for it on the KB as it is now."""
    found = _kept(argv)
    if found is None:
        return None
    output, status = found
    sys.stdout.write(output)
    return status


def remember(root: Path, tree_key: str | None, output: str, status: int) -> None:
    """Keep `output` and `status`, printed by the console script's `memkb validate` from the
    sealed answer of the work tree at `root` whose key is `tree_key`, for `answer`."""
    if _started is None or tree_key is None or "\x1b" in output:
        return  # not the console script, not sealable, or styled for a terminal
    asked = request(_started)
    if asked is not None and asked[0] == str(root):
        seal.save_output(root, tree_key, seal.request_key(asked), output, status)


def scanned(root: Path) -> dict[str, StatKey | None] | None:
    """The scan of `root` that `answer` made before it missed, once (None: none made), so
    that the run scans the KB once."""
    global _scanned
    found, _scanned = _scanned, None
    return found[1] if found is not None and found[0] == str(root) else None


def _kept(argv: list[str]) -> tuple[str, int] | None:
    global _scanned
    asked = request(argv)
    if asked is None:
        return None
    root = asked[0]
    files = scan(root)
    tree_key = seal.answer_key(root, files, seal.today())
    found = seal.load_output(root, tree_key, seal.request_key(asked)) if tree_key else None
    if found is None:
        _scanned = (root, files)
    return found


def request(argv: list[str]) -> tuple[Any, ...] | None:
    """Everything but the work tree that the output of `argv` depends on, its root first;
    None when `argv` is not a command line whose output may be kept."""
    if not _plain_text_out():
        return None
    options = _options(argv)
    if options is None:
        return None
    cwd = os.getcwd()
    repo = options.get("--repo")
    root = nearest_root(cwd) if repo is None else _given_root(repo)
    if root is None:
        return None
    return (
        root,
        tuple(argv),
        cwd,
        tuple(_read(f"{root}/{name}") for name in CONFIG_FILES),
        tuple(sorted((k, v) for k, v in os.environ.items() if _read_by_a_run(k))),
        os.isatty(1),
        sys.stdout.encoding,
        sys.stdout.errors,
        sys.executable,
        sys.version,
    )


def _plain_text_out() -> bool:
    """True when stdout is a UTF-8 text stream: click's echo, which printed the kept output,
    then writes exactly what `sys.stdout.write` writes (it rewraps other encodings)."""
    encoding = getattr(sys.stdout, "encoding", None) or ""
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"


def _options(argv: list[str]) -> dict[str, str] | None:
    """The last value of each VALUE_OPTIONS option in `validate ARGS...`, or None when an
    argument is not one of the kept options."""
    if argv[:1] != ["validate"]:
        return None
    values: dict[str, str] = {}
    args = iter(argv[1:])
    for arg in args:
        name, equals, value = arg.partition("=")
        if name in VALUE_OPTIONS:
            if not equals:
                following = next(args, None)
                if following is None:
                    return None
                value = following
            values[name] = value
        elif arg not in FLAG_OPTIONS:
            return None
    return values


def _given_root(repo: str) -> str | None:
    """The root `--repo` names, resolved as memkb.cli.app.repo_root does; None if it has no
    kb/ (the run then reports it)."""
    return os.path.realpath(repo) if os.path.isdir(os.path.join(repo, KB_DIR)) else None


def _read(path: str) -> bytes | int | None:
    """The bytes of a configuration file, None when it is absent, its errno when it cannot
    be read (a run then fails, and keeps nothing: a kept output never matches it)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.errno or -1


def _read_by_a_run(name: str) -> bool:
    return name.startswith(ENV_PREFIXES) or name in ENV_NAMES
