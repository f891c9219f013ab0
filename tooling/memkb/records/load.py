"""Safe, bounded YAML loading for knowledge files, and locating values by path.

The reference reader is libyaml (PyYAML's C parser) with the safe constructor: no custom
tags, no timestamps (dates stay strings, as the schemas expect), duplicate keys
collected as findings, file size and alias expansion bounded. It reads YAML 1.1 scalars
(`yes` is true, `017` is 15, `1_000` is 1000).

The bulk read first tries yaml-rs (Rust, YAML 1.2), several times faster, on the files
where both readers provably give the same document: one pre-filter
(memkb.records.prefilter, shared with the history's facts) sends every file holding a
construct whose meaning may differ (number-like tokens other than plain decimals, block
scalars, tags, anchors, aliases, merge keys, directives, several documents, escapes,
unusual characters) to the reference reader, and so does any yaml-rs error or any
document that does not read alike in YAML 1.1 (a key or string such as `yes`, `~` or
`1:20`, an integer past ±MAX_INT, nesting past MAX_DEPTH). So findings always come from
the reference reader (docs/validation.md, "Two readers and two schema engines").
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from memkb.findings import Finding, error
from memkb.limits import MAX_DEPTH as MAX_DEPTH
from memkb.limits import MAX_EXPANDED_NODES as MAX_EXPANDED_NODES
from memkb.limits import MAX_FILE_BYTES as MAX_FILE_BYTES
from memkb.limits import MAX_INT as MAX_INT
from memkb.limits import too_large

# PyYAML and the reference loader live in memkb.records.readers, the fast reader's
# pre-filter in memkb.records.prefilter, each imported by the functions that need it:
# importing this module costs next to nothing (`memkb show` and every command that may
# read one record import it). The reader's names are still importable from here, on
# first use (__getattr__).
if TYPE_CHECKING:
    import yaml

    from memkb.records.readers import IntegerOutOfRange as IntegerOutOfRange
    from memkb.records.readers import KbLoader as KbLoader
    from memkb.records.readers import Locator as Locator

_FROM_READERS = ("IntegerOutOfRange", "KbLoader", "Locator")


def __getattr__(name: str) -> Any:
    if name in _FROM_READERS:
        from memkb.records import readers

        return getattr(readers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class Loaded:
    """The outcome of loading one file: the document (None if unusable) and findings."""

    doc: Any = None
    text: str = ""
    findings: list[Finding] = field(default_factory=list)


def read_limited(handle: IO[bytes], limit: int = MAX_FILE_BYTES) -> bytes | None:
    """The rest of `handle`, or None if it holds more than `limit` bytes. Reads at most
    limit + 1 bytes, so /dev/zero or an endless pipe costs a quarter MiB, not all memory.
    Raises OSError as reading does."""
    data = handle.read(limit + 1)
    return data if len(data) <= limit else None


def load_bytes(raw: bytes, path: str, *, fast: bool = True) -> Loaded:
    """Decode and parse one knowledge file; every problem becomes a KB1xx finding.
    Readers pass at most MAX_FILE_BYTES + 1 bytes, so KB105 names the limit, not a size.
    `fast=False` reads with the reference reader alone (see the module's docstring)."""
    if len(raw) > MAX_FILE_BYTES:
        return Loaded(findings=[too_large(path)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col_of_offset(raw, exc.start)
        return Loaded(
            findings=[
                error(
                    path,
                    "KB106",
                    f"invalid UTF-8 (byte 0x{raw[exc.start]:02x})",
                    line=line,
                    col=col,
                    hint="save the file as UTF-8",
                )
            ]
        )
    if text.startswith("\ufeff"):
        text, raw = text[1:], raw[3:]  # the BOM's three bytes
    # A mapping read by yaml-rs is never an empty file: the KB108 check (a split of the
    # whole text) is made only for what the reference reader reads.
    fast_doc = _fast_document(raw, text) if fast else None
    if fast_doc is not None:
        return Loaded(doc=fast_doc, text=text)
    if not text.strip() or all(_is_comment_or_blank(ln) for ln in text.splitlines()):
        return Loaded(
            text=text,
            findings=[
                error(path, "KB108", "file is empty", hint="write a record or delete the file")
            ],
        )
    tabs = _tab_findings(text, path)
    loaded = _parse(text, path)
    tab_lines = {f.line for f in tabs}
    loaded.findings = tabs + [
        f for f in loaded.findings if not (f.code == "KB101" and f.line in tab_lines)
    ]
    # A file holding only `~` or `null` parses to None: not a record either. A list or
    # a scalar is never a document, whatever else was found (a tab, say).
    if not isinstance(loaded.doc, dict):
        if loaded.doc is not None or not loaded.findings:
            loaded.findings.append(
                error(
                    path,
                    "KB109",
                    "a record must be a mapping of fields",
                    hint="start the file with 'kind: ...' and one field a line",
                )
            )
        loaded.doc = None
    return loaded


# ------------------------------------------------ the fast reader and its pre-filter


_FAST_YAML: Any = None  # the yaml_rs module, once the main thread imported it


def fast_yaml() -> Any | None:
    """The yaml_rs module where it is safe to call it, else None (the reference reader
    reads instead). yaml-rs 0.1.6 crashes the process (SIGSEGV) when it was first imported
    in a thread that has since ended and another thread calls it; so only the main thread,
    which lives as long as the process, imports it, and other threads use it after that
    (the MCP server and the history's read-ahead call this first in the main thread)."""
    global _FAST_YAML
    if _FAST_YAML is None and threading.current_thread() is threading.main_thread():
        import yaml_rs

        _FAST_YAML = yaml_rs
    return _FAST_YAML


def fast_document(data: bytes | str) -> dict[str, Any] | None:
    """The document yaml-rs reads from `data` (a knowledge file's bytes or text), or None
    when the reference reader must read it: not UTF-8, the pre-filter refuses it, yaml-rs
    fails, or the result does not read alike in YAML 1.1 (memkb.records.prefilter). The
    one fast path of every bulk read (validation and the history's facts)."""
    if isinstance(data, str):
        text, raw = data, data.encode()
    else:
        if len(data) > MAX_FILE_BYTES:
            return None
        try:
            text, raw = data.decode("utf-8"), data
        except UnicodeDecodeError:
            return None
    if text.startswith("\ufeff"):  # the reference reader drops a leading BOM too
        text, raw = text[1:], raw.removeprefix(b"\xef\xbb\xbf")
    return _fast_document(raw, text)


def _fast_document(raw: bytes, text: str) -> dict[str, Any] | None:
    from memkb.records import prefilter

    if not prefilter.fast_readable(raw, text):
        return None
    # Through fast_yaml: yaml-rs 0.1.6 crashes the process when imported in a thread that
    # has ended and another thread calls it (tests/unit/records/test_fast_yaml.py).
    yaml_rs = fast_yaml()
    if yaml_rs is None:
        return None
    try:
        doc = yaml_rs.loads(text, parse_datetime=False)
    except Exception:  # any refusal or failure (a duplicate key...): the reference decides
        return None
    return doc if prefilter.reads_alike(doc) else None


def _parse(text: str, path: str) -> Loaded:
    import yaml

    from memkb.records.readers import IntegerOutOfRange, KbLoader

    loader = KbLoader(text)
    loader.duplicates = []
    try:
        node = loader.get_single_node()
        problem = _alias_problem(node, path) if node is not None and "*" in text else None
        if problem is not None:
            return Loaded(text=text, findings=[problem])
        doc = loader.construct_document(node) if node is not None else None
    except RecursionError:  # only absurd nesting gets here: records are a few levels deep
        return Loaded(text=text, findings=[_too_deep(path, None)])
    except IntegerOutOfRange as exc:
        return Loaded(text=text, findings=[_out_of_range(path, exc)])
    except yaml.constructor.ConstructorError as exc:
        return Loaded(
            text=text,
            findings=[
                _marked(
                    path,
                    "KB103",
                    _tag_message(exc),
                    exc.problem_mark,
                    "remove the tag: knowledge files hold plain data only",
                )
            ],
        )
    except yaml.MarkedYAMLError as exc:
        message = f"YAML syntax error: {exc.problem or exc.context}"
        return Loaded(
            text=text,
            findings=[
                _marked(
                    path, "KB101", message, exc.problem_mark, "fix the YAML syntax at this place"
                )
            ],
        )
    except yaml.YAMLError as exc:  # libyaml reports some errors without a mark
        return Loaded(text=text, findings=[error(path, "KB101", f"YAML error: {exc}")])
    finally:
        loader.dispose()
    dups = [
        _marked(
            path,
            "KB102",
            f"duplicate key '{key}'",
            mark,
            "keep one entry: YAML would silently drop the first",
        )
        for key, mark in sorted(loader.duplicates, key=lambda d: (d[1].line, d[1].column))
    ]
    return Loaded(doc=None if dups else doc, text=text, findings=dups)


def _out_of_range(path: str, exc: IntegerOutOfRange) -> Finding:
    return _marked(
        path,
        "KB112",
        f"integer beyond ±{MAX_INT}",
        exc.problem_mark,
        "write a smaller number (or quote it if it is an identifier, not a quantity)",
    )


def _tag_message(exc: yaml.constructor.ConstructorError) -> str:
    problem = (exc.problem or "").replace(
        "could not determine a constructor for the tag", "custom tag"
    )
    return f"{problem} is not allowed" if problem else "custom YAML tag is not allowed"


def _marked(path: str, code: str, message: str, mark: yaml.Mark | None, hint: str) -> Finding:
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return error(path, code, message, line=line, col=col, hint=hint)


def _alias_problem(root: yaml.Node, path: str) -> Finding | None:
    """KB104/KB111 when aliases make the document expand past MAX_EXPANDED_NODES, nest
    past MAX_DEPTH or refer to themselves; None when the document is sound.

    Iterative, with a colour per node (1 expanding, 2 done), so neither a "billion
    laughs" file nor a recursive alias can exhaust memory or Python's stack."""
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    colour: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key, kids = id(node), _children(node)
        if finished:
            size[key] = 1 + sum(size[id(k)] for k in kids)
            height[key] = 1 + max((height[id(k)] for k in kids), default=0)
            colour[key] = 2
            if size[key] > MAX_EXPANDED_NODES:
                return _marked(
                    path,
                    "KB104",
                    f"aliases expand to more than {MAX_EXPANDED_NODES} nodes",
                    node.start_mark,
                    "write values out instead of using anchors and aliases",
                )
            if height[key] > MAX_DEPTH:
                return _too_deep(path, node.start_mark)
        elif colour.get(key) == 1:
            return _marked(
                path,
                "KB111",
                "an alias refers to itself",
                node.start_mark,
                "write values out instead of using anchors and aliases",
            )
        elif colour.get(key) != 2:
            colour[key] = 1
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids)
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _too_deep(path: str, mark: yaml.Mark | None) -> Finding:
    return _marked(
        path,
        "KB111",
        f"values nest more than {MAX_DEPTH} levels deep",
        mark,
        "flatten the record: knowledge files nest a few levels at most",
    )


def _tab_findings(text: str, path: str) -> list[Finding]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        col = line.find("\t")
        if col >= 0:
            found.append(
                error(
                    path,
                    "KB107",
                    "tab character",
                    line=number,
                    col=col + 1,
                    hint="use spaces: YAML forbids tabs for indentation",
                )
            )
    return found


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#") or stripped in ("---", "...")


def _line_col_of_offset(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    line_start = before.rfind(b"\n") + 1
    return before.count(b"\n") + 1, offset - line_start + 1


def locate(text: str, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
    """Line and column (1-based) of the value at `path` in `text`, or of its key.

    Falls back to the deepest existing ancestor when the path does not exist
    (a missing required field is reported at its parent)."""
    from memkb.records.readers import Locator

    return Locator(text).find(path, key=key)
