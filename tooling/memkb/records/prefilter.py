"""The one pre-filter that proves yaml-rs reads a text as the reference reader would,
and the check of the document it reads (memkb.records.load's fast path, shared by the
validation's bulk read and the history's facts).

A module of its own, imported by the fast path only: its compiled patterns cost about
7 ms, which `memkb show` (one file, read by the reference reader alone) need not pay.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

from memkb.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_INT
from memkb.records.resolvers import FIRST_CHARACTERS, reads_as_text

# ------------------------------------------------------------------ the pre-filter
# yaml-rs reads YAML 1.2, the reference reader YAML 1.1. The two agree on a record with
# none of the constructs below; whatever has one goes to the reference reader. Each check
# of the bytes is one quick scan (a search, never a loop over tokens); the words are
# checked on the parsed document, where each string is seen once.
#  - bytes: tags, anchors, aliases, escapes, tabs, CR, control characters, merge keys,
#    directives, reserved indicators, `?` complex keys, and document markers (a second
#    document);
_RISKY_BYTE = re.compile(rb"[!&*\\\t\r\x00-\x08\x0b-\x1f\x7f<?%@`]")  # a first look
_RISKY = re.compile(rb"[!&*\\\t\r\x00-\x08\x0b-\x1f\x7f]|<<|(?:^|[\s\[{,])[?%@`]", re.MULTILINE)
_DOCUMENT_MARK = re.compile(rb"^(?:---|\.\.\.)(?:\s|$)", re.MULTILINE)
#  - numbers: a plain token that starts like a number and that the two versions read
#    differently: a leading zero (1.1 reads 010 as 8, 0o17 as a string; 1.2 reads 10 and
#    15), an exponent (1.1 reads 1e3 as a string, 1.2 as 1000.0), an underscore after a
#    digit or point or starting a token (yaml-rs drops underscores: `_1` is 1 to it, a
#    string to 1.1), a signed fraction without digits before the point (+.5).
#    Plain decimals (12, -3, 0.85, .5, 1.) read alike; dates and ids are strings to both
#    readers here; tokens like 1:20 are strings to 1.2 and numbers to 1.1 (the word check
#    below catches them). Every branch starts with one literal byte, which lets `re` skip
#    to the candidates in C (a pattern starting with `(?:^|[\s...])` took 40 µs a record,
#    more than yaml-rs takes to parse it; this one 5 µs);
_SUSPECT_TOKEN = re.compile(
    rb"_(?:(?<=[.0-9]_)|(?<=[\s\[{,:]_)|(?<=[\s\[{,:][-+]_))"
    rb"|e(?<=[.0-9]e)[-+_0-9]|E(?<=[.0-9]E)[-+_0-9]"
    rb"|0(?:(?<=[\s\[{,:]0)|(?<=[\s\[{,:][-+]0))[0-9A-Za-z_]"
    rb"|\.(?<=[\s\[{,:][-+]\.)"
    # and a `:` that starts a token or meets a flow indicator, which YAML 1.2 reads in
    # flow (`[:0]`, `[b:]`, `{b:}`) and libyaml refuses
    rb"|:(?:(?<=[\s\[{,]:)|(?=[,\[\]{}]))"
    # and block scalars (`|`, `>`): yaml-rs reads an empty last one as "\n", libyaml as ""
    rb"|\|(?<=\s\|)|>(?<=\s>)"
)
#  - characters: YAML 1.1 breaks lines at NEL, LS and PS (1.2 does not), and the two
#    differ on what lies outside the printable set (a BOM inside the text among them);
#    compiled on first use: the class of Unicode ranges costs ~7 ms to compile, and only
#    text beyond ASCII is searched with it.
_UNPRINTABLE_CLASS = (
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


@cache
def _unprintable() -> re.Pattern[str]:
    return re.compile(_UNPRINTABLE_CLASS)


#  - words (on the document): every key and string must be a string to YAML 1.1 too
#    (`yes`, `on`, `~`, `=`, `<<`, `1:20` are not), by the reference loader's own
#    implicit resolvers, which only a few first characters have (memoized: the same
#    words recur in every record);
#  - values (on the document): within MAX_DEPTH and ±MAX_INT, floats finite (the
#    reference reader's findings, or values JSON cannot hold).
_YAML11_STR: dict[str, bool] = {}


def fast_readable(raw: bytes, text: str) -> bool:
    """Whether the bytes `raw` (whose decoded text is `text`, BOM removed from both) hold
    no construct the two readers may read differently (see the checks above). yaml-rs's
    document must then still pass `reads_alike`."""
    if len(raw) > MAX_FILE_BYTES or not raw.endswith(b"\n"):  # yaml-rs ends a last block
        return False  # scalar with a line break that is not there
    if _RISKY_BYTE.search(raw) and _RISKY.search(raw):
        return False
    if (b"---" in raw or b"..." in raw) and _DOCUMENT_MARK.search(raw):
        return False
    if _SUSPECT_TOKEN.search(b"\n" + raw):  # the newline: a token at the very start
        return False
    return text.isascii() or not _unprintable().search(text)


def reads_alike(doc: Any) -> bool:
    """Whether the reference reader would build this same document from the text yaml-rs
    read it from (given `fast_readable`): a mapping of string keys, every string a
    string to YAML 1.1 too, within MAX_DEPTH and ±MAX_INT, floats finite."""
    return type(doc) is dict and _same_in_yaml11(doc, 1)


def _same_in_yaml11(value: Any, depth: int) -> bool:
    kind = type(value)
    if kind is str:
        return _str_in_yaml11(value)
    if depth > MAX_DEPTH:
        return False
    # Loops rather than all() over generators, and strings (most values) checked in
    # place: this walk sees every value of every record of a cold validate.
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _str_in_yaml11(key):
                return False
            if type(item) is str:
                if not _str_in_yaml11(item):
                    return False
            elif not _same_in_yaml11(item, depth + 1):
                return False
        return True
    if kind is list:
        for item in value:
            if type(item) is str:
                if not _str_in_yaml11(item):
                    return False
            elif not _same_in_yaml11(item, depth + 1):
                return False
        return True
    if kind is int:
        return bool(-MAX_INT <= value <= MAX_INT)
    if kind is float:
        return math.isfinite(value)
    return value is None or kind is bool


def _str_in_yaml11(text: str) -> bool:
    """Whether YAML 1.1 reads `text`, written plain, as a string: at once for most words
    (no implicit resolver starts with their first character), else memoized."""
    if text[:1] not in FIRST_CHARACTERS:
        return True
    known = _YAML11_STR.get(text)
    return _yaml11_str(text) if known is None else known


def _yaml11_str(text: str) -> bool:
    """Whether YAML 1.1 reads `text`, written plain, as a string (KbLoader's resolvers,
    as data in memkb.records.resolvers)."""
    known = _YAML11_STR.get(text)
    if known is None:
        if len(_YAML11_STR) > 100_000:
            _YAML11_STR.clear()  # bounded: a run over huge texts must not grow forever
        known = _YAML11_STR[text] = reads_as_text(text)
    return known
