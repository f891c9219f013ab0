"""Reading a legacy memory file: the JSON documents it holds, and where each value stands.

A legacy memory is either a plain JSON file or a markdown-ish text with fenced
```json blocks (the seed's shape). `read_legacy` returns every block parsed by the
standard json module; `LegacySource.position` gives the line and column of any key
or value in the original text, so every finding points at the line a person must fix.
Positions come from a light tokenizer that runs only on blocks that have findings:
the bulk parse stays in json's C scanner.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from memkb.errors import UsageError
from memkb.findings import Finding, error
from memkb.records.load import MAX_FILE_BYTES, MAX_INT, read_limited

# A legacy memory holds many records in one file (thousands of patterns run to a few
# MB), so it gets 64 knowledge files' worth: still a bound, so /dev/zero or an endless
# pipe is refused after 16 MiB instead of filling memory.
MAX_LEGACY_BYTES = 64 * MAX_FILE_BYTES

# (block index, key or list index, ...): a value's place in the legacy file.
LegacyPath = tuple[int | str, ...]

SECTIONS = ("success_patterns", "failure_patterns", "project_templates")
# The `format` of a memory that `memkb export-legacy` wrote (memkb.legacy.export): its
# rates are derived from the outcomes it also carries, so they must not re-import as
# priors (memkb.legacy.convert.EXPORTED_DERIVED); `as_of` says which commit it shows.
EXPORT_FORMAT = "memkb.export-legacy/1"
EXPORT_KEYS = ("format", "as_of")
DERIVED_SECTIONS = ("learning_metrics", "performance_metrics")
DATE_KEYS = ("last_updated", "last_update")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A fence opens with three or more backticks or tildes and any info string (```bash,
# ~~~, ````json title=x): every block must be skipped as a whole, or its closing fence
# would be taken for an opener and swallow the memory block after it. A backtick fence's
# info string holds no backtick (CommonMark), so ```inline``` prose is no fence.
_FENCE_OPEN = re.compile(r"^([ \t]*)(`{3,}(?=[^`]*$)|~{3,})[ \t]*(.*?)[ \t]*$")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.DOTALL)


class UnreadableLegacy(UsageError):
    """The legacy file cannot be read or holds no JSON: nothing is imported (exit 2)."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(
            f"{finding.path}:{finding.line}:{finding.col}: {finding.code} {finding.message}",
            hint=finding.hint,
        )
        self.finding = finding


@dataclass
class Block:
    """One JSON document of the legacy file. `data` is None when it does not parse."""

    index: int
    offset: int
    text: str
    data: Any = None
    has_duplicate_keys: bool = False
    _positions: dict[tuple[int | str, ...], tuple[int | None, int]] | None = None
    _duplicates: list[tuple[tuple[int | str, ...], int]] = field(default_factory=list)

    def positions(self) -> dict[tuple[int | str, ...], tuple[int | None, int]]:
        """JSON path -> (offset of its key or None, offset of its value), built on first use."""
        if self._positions is None:
            self._positions, self._duplicates = _locate_all(self.text)
        return self._positions

    def duplicates(self) -> list[tuple[tuple[int | str, ...], int]]:
        """(JSON path, offset of the later key) of every key repeated in one object."""
        self.positions()
        return self._duplicates


@dataclass
class LegacySource:
    """A legacy file: its text (for positions), its JSON blocks and its syntax findings."""

    path: str
    text: str
    blocks: list[Block]
    findings: list[Finding]
    _line_starts: list[int] = field(default_factory=list)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset in the file."""
        if not self._line_starts:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        line = bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def position(self, where: LegacyPath, *, key: bool = False) -> tuple[int, int]:
        """Line and column of the value at `where` (or of its key); the deepest existing
        ancestor when the path does not exist (e.g. a missing field: its object)."""
        block = self.blocks[int(where[0])]
        positions = block.positions()
        path = tuple(where[1:])
        while path and path not in positions:
            path, key = path[:-1], False
        key_offset, value_offset = positions.get(path, (None, 0))
        offset = key_offset if key and key_offset is not None else value_offset
        return self.line_col(block.offset + offset)


def read_legacy(source: Path, display: str) -> LegacySource:
    """Read and parse `source`; findings name it as `display`.

    Raises UnreadableLegacy (KB601) if the file cannot be read, is larger than
    MAX_LEGACY_BYTES, is not UTF-8 or holds no JSON at all. JSON syntax errors are KB602
    findings, not exceptions."""
    try:
        with source.open("rb") as handle:
            raw = read_limited(handle, MAX_LEGACY_BYTES)
    except OSError as exc:
        raise UnreadableLegacy(
            error(
                display,
                "KB601",
                f"cannot read legacy memory: {exc.strerror or exc}",
                hint="check the file name and its permissions",
            )
        ) from exc
    if raw is None:
        raise UnreadableLegacy(
            error(
                display,
                "KB601",
                f"legacy memory is larger than the limit of {MAX_LEGACY_BYTES} bytes",
                hint="split it: import each part in its own run",
            )
        )
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UnreadableLegacy(
            error(
                display,
                "KB601",
                f"legacy memory is not UTF-8 (byte 0x{raw[exc.start]:02x})",
                line=line,
                hint="convert the file to UTF-8 (e.g. with iconv)",
            )
        ) from exc
    spans, findings = _json_spans(text, display)
    if not spans and not findings:
        raise UnreadableLegacy(
            error(
                display,
                "KB601",
                "no JSON found in the legacy memory",
                hint="pass a JSON file, or a text with ```json fenced blocks",
            )
        )
    source_obj = LegacySource(display, text, [], findings)
    for index, (offset, body) in enumerate(spans):
        source_obj.blocks.append(_parse_block(source_obj, index, offset, body))
    return source_obj


def _json_spans(text: str, display: str) -> tuple[list[tuple[int, str]], list[Finding]]:
    """(offset, text) of every JSON document: the whole file, or each fenced JSON block.

    Every fenced block is skipped whole; only blocks tagged `json` and untagged blocks
    starting with `{` are JSON. A fence left open is KB602 at its opener."""
    if text.lstrip().startswith(("{", "[")):
        return [(0, text)], []
    spans: list[tuple[int, str]] = []
    # Split on "\n" only: line numbers must agree with LegacySource.line_col.
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    i = 0
    while i < len(lines):
        opened = _FENCE_OPEN.match(lines[i].rstrip("\r"))
        i += 1
        if not opened:
            continue
        indent, fence, info = opened.groups()
        first = i
        while i < len(lines) and not _closes(lines[i], fence):
            i += 1
        if i == len(lines):
            return spans, [_unclosed(display, first, len(indent) + 1, fence, info)]
        content = text[starts[first] : starts[i]]
        i += 1
        if _is_json_block(info, content):
            spans.append((starts[first], content))
    return spans, []


def _closes(line: str, fence: str) -> bool:
    """Whether `line` closes a block opened by `fence`: the same character, at least as
    many times, and nothing else on the line."""
    closer = line.strip()
    return len(closer) >= len(fence) and closer == fence[0] * len(closer)


def _is_json_block(info: str, content: str) -> bool:
    """A block is JSON if its info string's first word is `json`, or it has none and its
    text starts with `{` (the seed's untagged blocks)."""
    language = info.split(maxsplit=1)[0].lower() if info else ""
    return language == "json" or (not language and content.lstrip().startswith("{"))


def _unclosed(display: str, line: int, col: int, fence: str, info: str) -> Finding:
    return error(
        display,
        "KB602",
        f"{fence}{info} block is never closed",
        line=line,
        col=col,
        hint=f"close the fenced block with {fence} on a line of its own: the rest of the "
        "file was not read",
    )


def _parse_block(source: LegacySource, index: int, offset: int, body: str) -> Block:
    block = Block(index, offset, body)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        made = dict(items)
        if len(made) != len(items):
            block.has_duplicate_keys = True
        return made

    try:
        # NaN/Infinity stay strings, so the schema rejects them as non-numbers
        # (as floats they would slip through every range check); so do integers beyond
        # MAX_INT (int() of 5,000 digits raises, and a record may not hold them).
        block.data = json.loads(
            body, object_pairs_hook=pairs, parse_constant=str, parse_int=_bounded_int
        )
    except json.JSONDecodeError as exc:
        line, col = source.line_col(offset + exc.pos)
        source.findings.append(
            error(
                source.path,
                "KB602",
                f"JSON syntax error: {exc.msg}",
                line=line,
                col=col,
                hint="fix the JSON here; this block was not imported",
            )
        )
    except RecursionError:  # only absurd nesting gets here: memory is a few levels deep
        line, col = source.line_col(offset)
        source.findings.append(
            error(
                source.path,
                "KB602",
                "JSON nests too deeply to read",
                line=line,
                col=col,
                hint="flatten this block; it was not imported",
            )
        )
    return block


def _bounded_int(text: str) -> int | str:
    """The integer `text`, or `text` itself if it lies beyond ±MAX_INT."""
    if len(text) > len(str(-MAX_INT)) or abs(value := int(text)) > MAX_INT:
        return text
    return value


def _locate_all(
    text: str,
) -> tuple[
    dict[tuple[int | str, ...], tuple[int | None, int]], list[tuple[tuple[int | str, ...], int]]
]:
    """Walk the tokens of valid JSON, recording where every key and value starts."""
    positions: dict[tuple[int | str, ...], tuple[int | None, int]] = {}
    duplicates: list[tuple[tuple[int | str, ...], int]] = []
    # Each frame: [path, is_object, next list index, pending key, its offset, keys seen].
    stack: list[list[Any]] = []
    expect_key = False
    for match in _TOKEN.finditer(text):
        tok, off = match.group(), match.start()
        if tok in ",:":
            expect_key = tok == "," and bool(stack) and stack[-1][1]
            continue
        if tok in "}]":
            stack.pop()
            expect_key = False
            continue
        if expect_key:
            frame = stack[-1]
            frame[3], frame[4] = json.loads(tok), off
            expect_key = False
            continue
        path = _value_path(stack, positions, duplicates, off)
        if tok in "{[":
            stack.append([path, tok == "{", 0, None, None, set()])
            expect_key = tok == "{"
    return positions, duplicates


def _value_path(
    stack: list[list[Any]],
    positions: dict[tuple[int | str, ...], tuple[int | None, int]],
    duplicates: list[tuple[tuple[int | str, ...], int]],
    off: int,
) -> tuple[int | str, ...]:
    """Record the value starting at `off` under its path; return that path."""
    if not stack:
        path: tuple[int | str, ...] = ()
        positions[path] = (None, off)
        return path
    frame = stack[-1]
    if frame[1]:
        path = (*frame[0], frame[3])
        if frame[3] in frame[5]:
            duplicates.append((path, frame[4]))
        frame[5].add(frame[3])
        positions[path] = (frame[4], off)  # json keeps the last of repeated keys
    else:
        path = (*frame[0], frame[2])
        frame[2] += 1
        positions[path] = (None, off)
    return path


def require_sections(source: LegacySource) -> None:
    """Raise UnreadableLegacy (KB601) if no block that parsed names a memory section:
    most likely the wrong file, and importing nothing must not look like success."""
    parsed = [b.data for b in source.blocks if b.data is not None]
    if not parsed:
        return  # every block failed to parse: the KB602 findings say why
    if any(
        isinstance(d, dict) and any(k in d for k in (*SECTIONS, *DERIVED_SECTIONS)) for d in parsed
    ):
        return
    raise UnreadableLegacy(
        error(
            source.path,
            "KB601",
            "no memory sections in the legacy file",
            hint=f"expected a JSON object with any of: {', '.join((*SECTIONS, *DERIVED_SECTIONS))}",
        )
    )


def memory_date(source: LegacySource) -> str | None:
    """The latest last_updated / last_update anywhere in the memory (its own date)."""
    found: list[str] = []
    stack = [b.data for b in source.blocks if b.data is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for name, value in node.items():
                if name in DATE_KEYS and isinstance(value, str) and valid_date(value[:10]):
                    found.append(value[:10])
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return max(found) if found else None


def valid_date(text: str) -> bool:
    """True for a real calendar date written YYYY-MM-DD."""
    if not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def duplicate_keys(source: LegacySource) -> list[Finding]:
    """KB610 for every key repeated within one JSON object (json keeps only the last)."""
    found = []
    for block in source.blocks:
        if not block.has_duplicate_keys:
            continue
        for path, offset in block.duplicates():
            line, col = source.line_col(block.offset + offset)
            found.append(
                error(
                    source.path,
                    "KB610",
                    f"duplicate key '{path[-1]}': JSON keeps only this later entry",
                    line=line,
                    col=col,
                    hint="keep one entry under each key",
                )
            )
    return found
