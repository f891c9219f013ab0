"""Safe, bounded YAML loading for knowledge files, and locating values by path.

The reference reader is libyaml (PyYAML's C parser) with the safe constructor: no custom
tags, no timestamps (dates stay strings, as the schemas expect), duplicate keys
collected as findings, file size and alias expansion bounded. It reads YAML 1.1 scalars
(`yes` is true, `017` is 15, `1_000` is 1000).

The bulk read first tries yaml-rs (Rust, YAML 1.2), 17x faster, on the files where both
readers are known to give the same document: a pre-filter sends every file holding a
construct whose meaning differs (YAML 1.1 booleans, number-like tokens other than plain
decimals, dates and ids, tags, anchors, aliases, merge keys, directives, several documents, escapes,
unusual characters) to the reference reader, and so does any error or any document that
is not a plain mapping within our limits. So findings always come from the reference
reader (docs/validation.md, "Two YAML readers").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import yaml

from memkb.findings import Finding, error
from memkb.limits import MAX_FILE_BYTES as MAX_FILE_BYTES
from memkb.limits import too_large

MAX_EXPANDED_NODES = 20_000
MAX_DEPTH = 100
# The largest integer a record may hold: JSON's exact range (Number.MAX_SAFE_INTEGER),
# so every reader of a record sees the same number. Counts and days are far below it.
MAX_INT = 2**53 - 1
# Past this many characters (signs, underscores and leading zeros aside) an integer is
# out of range in any base YAML allows, so it is refused before conversion: converting
# thousands of digits is what raised "Exceeds the limit (4300 digits)".
_MAX_INT_CHARS = 64

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class IntegerOutOfRange(yaml.MarkedYAMLError):
    """An integer scalar beyond ±MAX_INT (KB112); `problem_mark` is where it starts."""


class KbLoader(_Loader):  # type: ignore[misc,valid-type]
    """Safe loader that records duplicate keys instead of silently keeping the last one."""

    duplicates: list[tuple[str, yaml.Mark]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue  # unhashable keys fail in the base constructor with a clear mark
            if key in seen:
                self.duplicates.append((str(key), key_node.start_mark))
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """The integer, or IntegerOutOfRange past ±MAX_INT (checked before converting)."""
        digits = str(node.value).replace("_", "").lstrip("+-").lstrip("0")
        value: int | None = None
        if len(digits) <= _MAX_INT_CHARS:
            value = super().construct_yaml_int(node)
        if value is None or abs(value) > MAX_INT:
            raise IntegerOutOfRange(
                problem=f"integer beyond ±{MAX_INT}", problem_mark=node.start_mark
            )
        return value


# Keep dates as strings: the schemas check their format, and a record must
# round-trip to JSON unchanged.
KbLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
KbLoader.add_constructor("tag:yaml.org,2002:map", KbLoader.construct_mapping)
KbLoader.add_constructor("tag:yaml.org,2002:int", KbLoader.construct_yaml_int)


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
    text = text.removeprefix("\ufeff")
    if not text.strip() or all(_is_comment_or_blank(ln) for ln in text.splitlines()):
        return Loaded(
            text=text,
            findings=[
                error(path, "KB108", "file is empty", hint="write a record or delete the file")
            ],
        )
    fast_doc = fast_document(text) if fast else None
    if fast_doc is not None:
        return Loaded(doc=fast_doc, text=text)
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

# Constructs the two readers may read differently, or that only the reference reader
# judges (tags, anchors and aliases, complex keys, merge keys, directives, a second
# document, escapes, tabs, carriage returns, characters outside YAML's printable set and
# the line breaks YAML 1.1 knows but YAML 1.2 does not).
_RISKY_CHAR = re.compile(r"[!&*?%@`<\\\t\r\x00-\x08\x0b-\x1f\x7f]")  # a quick first look
_RISKY = re.compile(r"(?:^|[\s\[\{,])[!&*?%@`]|<<|[\\\t\r\x00-\x08\x0b-\x1f\x7f]", re.MULTILINE)
_DOCUMENT_MARK = re.compile(r"\n(?:---|\.\.\.)(?:\s|$)")
_UNPRINTABLE = re.compile(
    r"[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
# Plain words YAML 1.1 reads as booleans (or as PyYAML's `=` value tag), 1.2 as strings.
_YAML11_WORDS = re.compile(
    r"(?:^|[\s\[\{,:-])(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|=)[ ]*(?:$|[,\]\}#:])",
    re.MULTILINE,
)
# A plain token that starts like a number; only SAFE_NUMBER ones read alike in both.
_NUMBERISH = re.compile(
    r"(?:^|[\s\[\{,])([-+]?\.?[0-9][0-9A-Za-z_.:+-]*)[ ]*(?=$|[,\]\}#]|:\s|:$)",
    re.MULTILINE,
)
# A plain decimal, a date (the reference reader keeps dates as strings) or a token with a
# letter no YAML number of either version holds (not a-f, o, x: hex, octal, exponents),
# such as an outcome id `2024-01-05-checkout-17`: a string to both readers.
_SAFE_NUMBER = re.compile(
    r"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?|[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"|[0-9A-Za-z_.:+-]*[g-np-wyzG-NP-WYZ][0-9A-Za-z_.:+-]*"
)


# A plain token starting with an underscore: yaml-rs drops underscores in numbers and
# reads `_1`, `__1`, `-_1` and `_.5` as numbers; YAML 1.1 reads them as strings.
_UNDERSCORE_START = re.compile(r"(?:^|[\s\[\{,:])[-+]?_", re.MULTILINE)


def fast_readable(text: str) -> bool:
    """Whether yaml-rs reads `text` to the document the reference reader would: no risky
    construct, no YAML 1.1 word, and every number-like token a plain decimal or a date."""
    if _RISKY_CHAR.search(text) and _RISKY.search(text):
        return False
    if ("\n---" in text or "\n..." in text) and _DOCUMENT_MARK.search(text):
        return False
    if not text.isascii() and _UNPRINTABLE.search(text):
        return False
    if _YAML11_WORDS.search(text):
        return False
    if "_" in text and _UNDERSCORE_START.search(text):
        return False
    return all(_SAFE_NUMBER.fullmatch(m.group(1)) for m in _NUMBERISH.finditer(text))


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


def fast_document(text: str) -> dict[str, Any] | None:
    """The document yaml-rs reads from `text`, or None when the reference reader must
    read it: the pre-filter refuses it, yaml-rs fails, or the result is not a mapping of
    string keys within MAX_DEPTH and ±MAX_INT (the reference reader's findings)."""
    if not fast_readable(text):
        return None
    yaml_rs = fast_yaml()
    if yaml_rs is None:
        return None
    try:
        doc = yaml_rs.loads(text, parse_datetime=False)
    except (yaml_rs.YAMLDecodeError, ValueError, TypeError, OverflowError):
        return None
    return doc if isinstance(doc, dict) and _plain(doc, 1) else None


def _plain(value: Any, depth: int) -> bool:
    """True when `value` is JSON-like data of string keys, not deeper than MAX_DEPTH,
    whose integers are within ±MAX_INT."""
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v, depth + 1) for v in value)
    if type(value) is int:
        return abs(value) <= MAX_INT
    return value is None or type(value) in (str, bool, float)


def _parse(text: str, path: str) -> Loaded:
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
    return Locator(text).find(path, key=key)


class Locator:
    """Locates document paths in one YAML text, composing the text once."""

    def __init__(self, text: str) -> None:
        try:
            self.node: yaml.Node | None = yaml.compose(text, Loader=KbLoader)
        except yaml.YAMLError:
            self.node = None

    def find(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """Line and column of the value (or key) at `path`; see `locate`."""
        node = self.node
        if node is None:
            return 1, 1
        mark = node.start_mark
        for step in path:
            child = _child(node, step)
            if child is None:
                break
            key_node, node = child
            last = step == path[-1]
            mark = key_node.start_mark if (key and last and key_node) else node.start_mark
        return mark.line + 1, mark.column + 1


def _child(node: yaml.Node, step: str | int) -> tuple[Any, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == str(step):
                return key_node, value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return None, node.value[step]
    return None
