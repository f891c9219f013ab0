"""memkb.rules.secret_detectors is detect-secrets' plugins as data: the same patterns,
flags and keyword groups as the installed detect-secrets, and the same verdicts on every
text of the safety corpus and on a few hand-made secrets."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from conftest import PROJECT
from memkb.rules import secret_detectors
from memkb.rules.safety import _looks_secret

if str(PROJECT) not in sys.path:  # tooling/bench is not an installed package
    sys.path.insert(0, str(PROJECT))

# Importing detect-secrets is what the table saves a writer; tests may pay it.
from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.keyword import (
    CONFIG_DENYLIST_REGEX_TO_GROUP,
    KeywordDetector,
)
from tooling.bench.safety_corpus import CATEGORIES, CORPUS, load

SKIPPED = {"IPPublicDetector", "Base64HighEntropyString", "HexHighEntropyString"}


def installed_plugins() -> tuple[tuple[str, tuple[tuple[str, int], ...]], ...]:
    """The regex plugins of the installed detect-secrets, in the table's shape."""
    return tuple(
        (secret_type, tuple((regex.pattern, int(regex.flags)) for regex in cls.denylist))
        for secret_type, cls in sorted(get_mapping_from_secret_type_to_class().items())
        if cls.__name__ not in SKIPPED and issubclass(cls, RegexBasedDetector)
    )


def test_the_table_holds_the_installed_plugins_patterns() -> None:
    expected = installed_plugins()
    assert expected == secret_detectors.REGEX_PLUGINS, (
        f"detect-secrets changed: set REGEX_PLUGINS to {expected!r}"
    )


def test_the_keyword_patterns_are_detect_secrets_config_file_patterns() -> None:
    expected = tuple(
        (regex.pattern, int(regex.flags), group)
        for regex, group in CONFIG_DENYLIST_REGEX_TO_GROUP.items()
    )
    assert expected == secret_detectors.KEYWORD_PATTERNS


def detect_secrets_names(text: str) -> list[str]:
    """What memkb found with detect-secrets itself (the code before the table)."""
    classes = get_mapping_from_secret_type_to_class()
    names: list[str] = []
    for secret_type, cls in sorted(classes.items()):
        if cls.__name__ in SKIPPED or not issubclass(cls, RegexBasedDetector):
            continue
        if any(True for _ in cls().analyze_string(text)):
            names.append(secret_type)
    found: Any = KeywordDetector().analyze_string(text, CONFIG_DENYLIST_REGEX_TO_GROUP)
    if any(_looks_secret(value) for value in found):
        names.append(secret_detectors.KEYWORD)
    return names


def table_names(text: str) -> list[str]:
    names = [name for name, found in secret_detectors.regex_detectors() if found(text)]
    if any(_looks_secret(v) for v in secret_detectors.keyword_values(text)):
        names.append(secret_detectors.KEYWORD)
    return names


HAND_MADE = [
    "aws_key: AKIAIOSFODNN7EXAMPLE",
    'aws secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYab"',
    "token ghp_" + "a1B2" * 9,
    "password: hunter2hunter2",
    "-----BEGIN RSA PRIVATE KEY-----",
    "https://user:pa55word@example.com/x",
    "xoxb-123456-abcdef0123",
    "plain prose about passwords, with no secret in it",
    "",
]
CORPUS_TEXTS = [
    pytest.param(entry.document, id=f"{category.file}:{entry.id}")
    for category in CATEGORIES
    for entry in load(CORPUS / category.file)
]


@pytest.mark.parametrize("text", [*HAND_MADE, *CORPUS_TEXTS])
def test_the_table_finds_what_detect_secrets_finds(text: str) -> None:
    assert table_names(text) == detect_secrets_names(text)


def test_the_hand_made_secrets_are_found() -> None:
    # The differential test above would pass on two detectors that both find nothing.
    found = [text for text in HAND_MADE if table_names(text)]
    assert len(found) == 7, found
