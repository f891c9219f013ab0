"""legacy.source: which fenced blocks of a Markdown memory are read as JSON (issue 10, item 8).

Any fence (``` or ~~~, three or more, any info string) opens a block and only the same
fence, at least as long, closes it; only blocks tagged `json`, or untagged blocks that
start with `{`, are read."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import LEGACY_SEED, commit_bundled_vocabulary
from memkb.legacy.importer import import_legacy
from memkb.legacy.source import read_legacy

SEED_PATTERNS = [
    "kb/patterns/authentication_jwt_security_first.yaml",
    "kb/patterns/ecommerce_security_first.yaml",
    "kb/patterns/performance_database_optimization.yaml",
]
JAVASCRIPT = (
    "```javascript\n"
    "const memory = { success_patterns: {} };\n"
    "```\n"
    "```\n"  # a stray closer of the block above is now an opener: its own block
    "```\n"
)


@pytest.fixture
def repo(empty_kb_repo: Path) -> Path:
    """An empty KB holding only the bundled vocabulary, committed."""
    return commit_bundled_vocabulary(empty_kb_repo)


def seed_with(tmp_path: Path, before_patterns: str) -> Path:
    """The seed with `before_patterns` inserted just above its success_patterns block."""
    text = LEGACY_SEED.read_text()
    at = text.index("```json")
    path = tmp_path / "memory.md"
    path.write_text(text[:at] + before_patterns + "\n" + text[at:])
    return path


def blocks_read(tmp_path: Path, text: str) -> list[str]:
    """The text of every block read_legacy takes for JSON in `text`."""
    path = tmp_path / "readme.md"
    path.write_text(text)
    source = read_legacy(path, "readme.md")
    assert source.findings == []
    return [block.text for block in source.blocks]


def test_javascript_block_before_success_patterns_keeps_all_three(
    repo: Path, tmp_path: Path
) -> None:
    source = seed_with(tmp_path, "```javascript\nconst x = 1;\n```\n")
    result = import_legacy(repo, source)
    assert [f for f in result.findings if f.code == "KB602"] == []
    assert [p for p in result.written if p.startswith("kb/patterns/")] == SEED_PATTERNS


def test_readme_with_a_bash_block_gives_no_kb602(repo: Path, tmp_path: Path) -> None:
    source = seed_with(tmp_path, "# Setup\n\n```bash\npip install memkb\nmemkb validate\n```\n")
    result = import_legacy(repo, source)
    assert [f.code for f in result.findings if f.code == "KB602"] == []
    assert len([p for p in result.written if p.startswith("kb/patterns/")]) == 3


@pytest.mark.parametrize(
    "opener,closer",
    [("```bash", "```"), ("~~~text", "~~~"), ("````js", "````"), ("~~~~ json5 x", "~~~~~")],
)
def test_any_fence_hides_the_json_inside_it(tmp_path: Path, opener: str, closer: str) -> None:
    text = f'{opener}\n{{"success_patterns": {{}}}}\n{closer}\n```json\n{{"a": 1}}\n```\n'
    assert blocks_read(tmp_path, text) == ['{"a": 1}\n']


def test_a_shorter_or_other_fence_does_not_close_a_longer_one(tmp_path: Path) -> None:
    text = '````markdown\n```json\n{"hidden": 1}\n```\n~~~~\n````\n~~~json\n{"b": 2}\n~~~\n'
    assert blocks_read(tmp_path, text) == ['{"b": 2}\n']


def test_json_info_string_and_untagged_object_are_read(tmp_path: Path) -> None:
    text = '```JSON title="memory"\n{"a": 1}\n```\n```\n{"b": 2}\n```\n```\nnot json\n```\n'
    assert blocks_read(tmp_path, text) == ['{"a": 1}\n', '{"b": 2}\n']


def test_backticks_in_the_info_string_are_not_a_fence(tmp_path: Path) -> None:
    text = 'see ```inline``` code\n```json\n{"a": 1}\n```\n'
    assert blocks_read(tmp_path, text) == ['{"a": 1}\n']


def test_unclosed_non_json_fence_is_reported_with_line_and_column(
    repo: Path, tmp_path: Path
) -> None:
    source = tmp_path / "memory.md"
    source.write_text('```json\n{"success_patterns": {}}\n```\n\nintro\n  ```bash\nls\n')
    result = import_legacy(repo, source)
    [finding] = result.findings
    assert (finding.code, finding.line, finding.col) == ("KB602", 6, 3)
    assert "```bash block is never closed" in finding.message
    assert "```" in (finding.hint or "")


def test_javascript_fence_then_stray_closer_is_its_own_block(repo: Path, tmp_path: Path) -> None:
    result = import_legacy(repo, seed_with(tmp_path, JAVASCRIPT))
    assert [f for f in result.findings if f.code == "KB602"] == []
    assert [p for p in result.written if p.startswith("kb/patterns/")] == SEED_PATTERNS
