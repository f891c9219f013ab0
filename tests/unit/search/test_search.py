"""`memkb search` and memkb.search: BM25 ranking over a known KB, the --kind filter,
snippets, the FTS5 index kept in step by blob id, and bad input that never raises."""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import git, make_kb_repo
from memkb.cli.main import app
from memkb.errors import UsageError
from memkb.search import index_path, run, search
from memkb.search.extract import fields_of

runner = CliRunner()

# A small KB whose ranking is known: "webhook" in an id (the name column, weight 4), in a
# description (weight 2) and in the body (weight 1); two twins that tie; and unrelated
# records, so the word is rare enough for BM25's idf to count.
SMALL_KB = {
    "kb/patterns/webhook_retries.yaml": (
        "kind: pattern\nschema_version: 1\nid: webhook_retries\n"
        "best_practices: [Retry with backoff]\n"
    ),
    "kb/failures/payment_timeout.yaml": (
        "kind: failure\nschema_version: 1\nid: payment_timeout\n"
        "description: The provider's webhook never arrives\n"
    ),
    "kb/templates/shop_basic.yaml": (
        "kind: template\nschema_version: 1\nid: shop_basic\n"
        "phases:\n  - phase: payments\n    description: Wire the payment webhook handler\n"
    ),
    "kb/patterns/twin_b.yaml": (
        "kind: pattern\nschema_version: 1\nid: twin_b\nbest_practices: [Log every webhook]\n"
    ),
    "kb/patterns/twin_a.yaml": (
        "kind: pattern\nschema_version: 1\nid: twin_a\nbest_practices: [Log every webhook]\n"
    ),
    **{
        f"kb/patterns/filler_{n}.yaml": (
            f"kind: pattern\nschema_version: 1\nid: filler_{n}\n"
            "best_practices: [Review the schema, Test the migration]\n"
        )
        for n in range(6)
    },
    "kb/outcomes/2025/2025-01-02-shop.yaml": (
        "kind: outcome\nschema_version: 2\nid: 2025-01-02-shop\nproject: Corner shop\n"
        "outcome: success\n"
    ),
}


def commit_files(repo: Path, files: dict[str, str | None], message: str = "change") -> None:
    """Write (or delete, for None) files and commit them."""
    for relpath, text in files.items():
        path = repo / relpath
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    repo = make_kb_repo(tmp_path / "small", with_kb=False)
    commit_files(repo, dict(SMALL_KB), "small kb")
    return repo


def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [hit.id for hit in hits]


# ------------------------------------------------------------------ ranking


def test_exact_ranking_on_a_small_kb(small_kb: Path) -> None:
    hits = search(small_kb, "webhook")
    # id (x4) > description (x2) > body (x1); the twins tie and break by id.
    assert ids(hits) == ["webhook_retries", "payment_timeout", "twin_a", "twin_b", "shop_basic"]
    assert [h.field for h in hits] == [
        "id",
        "description",
        "best_practices",
        "best_practices",
        "phases",
    ]
    assert hits[2].score == hits[3].score
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


def test_every_word_must_match_in_any_field(small_kb: Path) -> None:
    # "payment" is in the template's phase name and description, "handler" in its
    # description: both in one record. The failure has "webhook" but not "handler".
    assert ids(search(small_kb, "payments handler")) == ["shop_basic"]
    assert ids(search(small_kb, "webhook backoff")) == ["webhook_retries"]


def test_stemming_and_case(small_kb: Path) -> None:
    assert ids(search(small_kb, "WEBHOOKS", kinds=["failure"])) == ["payment_timeout"]


def test_limit(small_kb: Path) -> None:
    assert ids(search(small_kb, "webhook", limit=2)) == ["webhook_retries", "payment_timeout"]
    with pytest.raises(UsageError, match="at least 1"):
        search(small_kb, "webhook", limit=0)


def test_same_query_same_commit_same_bytes(small_kb: Path) -> None:
    first = runner.invoke(app, ["search", "webhook", "--json", "--repo", str(small_kb)])
    index_path(small_kb).unlink()  # a rebuilt index answers byte for byte the same
    second = runner.invoke(app, ["search", "webhook", "--json", "--repo", str(small_kb)])
    assert first.exit_code == 0 and first.stdout == second.stdout


# ------------------------------------------------------------------ --kind


def test_kind_filter(small_kb: Path) -> None:
    assert ids(search(small_kb, "webhook", kinds=["pattern"])) == [
        "webhook_retries",
        "twin_a",
        "twin_b",
    ]
    assert ids(search(small_kb, "webhook", kinds=["template", "failure"])) == [
        "payment_timeout",
        "shop_basic",
    ]
    assert search(small_kb, "webhook", kinds=["outcome"]) == []


def test_kind_filter_on_the_command_line(small_kb: Path) -> None:
    args = ["search", "webhook", "--kind", "failure", "--kind", "template", "--json"]
    result = runner.invoke(app, [*args, "--repo", str(small_kb)])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0
    assert [(h["kind"], h["id"]) for h in doc["hits"]] == [
        ("failure", "payment_timeout"),
        ("template", "shop_basic"),
    ]
    assert doc["kinds"] == ["failure", "template"]


def test_unknown_kind_is_a_usage_error_with_a_suggestion(small_kb: Path) -> None:
    result = runner.invoke(app, ["search", "webhook", "--kind", "patern", "--repo", str(small_kb)])
    assert result.exit_code == 2
    assert "unknown kind 'patern' (did you mean 'pattern'?)" in result.stderr


# ------------------------------------------------------------------ snippets and output


def test_snippet_marks_the_match(small_kb: Path) -> None:
    (hit,) = search(small_kb, "provider", kinds=["failure"])
    assert (hit.kind, hit.id, hit.path, hit.field) == (
        "failure",
        "payment_timeout",
        "kb/failures/payment_timeout.yaml",
        "description",
    )
    assert hit.snippet == "The [provider]'s webhook never arrives"
    assert hit.score > 0


def test_snippet_is_an_excerpt_of_a_long_field(small_kb: Path) -> None:
    words = " ".join(f"word{n}" for n in range(200))
    commit_files(
        small_kb,
        {
            "kb/failures/long.yaml": (
                f"kind: failure\nschema_version: 1\nid: long\ndescription: {words} needle {words}\n"
            )
        },
    )
    (hit,) = search(small_kb, "needle")
    assert "[needle]" in hit.snippet and hit.snippet.startswith("...")
    assert hit.snippet.endswith("...") and len(hit.snippet.split()) <= 12


def test_text_output(small_kb: Path) -> None:
    result = runner.invoke(app, ["search", "provider", "--repo", str(small_kb)])
    head = git(small_kb, "rev-parse", "HEAD").strip()
    assert result.exit_code == 0
    assert result.stdout == (
        f"kb/failures/payment_timeout.yaml: failure payment_timeout (score "
        f"{search(small_kb, 'provider')[0].score:.4g})\n"
        "    description: The [provider]'s webhook never arrives\n"
        f"1 record at commit {head[:12]}\n"
    )


def test_json_output(small_kb: Path) -> None:
    result = runner.invoke(app, ["search", "provider", "--json", "--repo", str(small_kb)])
    doc = json.loads(result.stdout)
    assert doc["format"] == "memkb.search/1"
    assert doc["commit"] == git(small_kb, "rev-parse", "HEAD").strip()
    assert doc["terms"] == ["provider"] and doc["limit"] == 10
    assert set(doc["hits"][0]) == {"kind", "id", "path", "field", "snippet", "score"}


def test_record_text_cannot_drive_the_terminal(small_kb: Path) -> None:
    commit_files(
        small_kb,
        {
            "kb/failures/evil.yaml": (
                'kind: failure\nschema_version: 1\nid: evil\ndescription: "boom \\e[2J here"\n'
            )
        },
    )
    result = runner.invoke(app, ["search", "boom", "--repo", str(small_kb)])
    assert "\x1b" not in result.stdout and "\\x1b" in result.stdout


# ------------------------------------------------------------------ no match, bad queries


def test_no_match_is_an_empty_list_and_exit_1(small_kb: Path) -> None:
    assert search(small_kb, "kubernetes") == []
    result = runner.invoke(app, ["search", "kubernetes", "--repo", str(small_kb)])
    assert result.exit_code == 1
    assert result.stdout.startswith("no record matches 'kubernetes' at commit ")
    as_json = runner.invoke(app, ["search", "kubernetes", "--json", "--repo", str(small_kb)])
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["hits"] == []


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_empty_query_is_a_usage_error(small_kb: Path, query: str) -> None:
    with pytest.raises(UsageError, match="empty"):
        search(small_kb, query)
    result = runner.invoke(app, ["search", query, "--repo", str(small_kb)])
    assert result.exit_code == 2 and "the search query is empty" in result.stderr


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '""',
        "*",
        "web*",
        "NEAR(webhook provider)",
        "NEAR",
        "a:b",
        "description:webhook",
        "-webhook",
        "AND",
        "OR NOT",
        "^webhook",
        "(webhook",
        "webhook)",
        "{a b}: c",
        "+",
        "web\x00hook",
        "'",
        "\udcff",
        "webhook AND",
    ],
)
def test_fts_syntax_in_a_query_is_text(small_kb: Path, query: str) -> None:
    assert isinstance(search(small_kb, query), list)
    # "--" ends the options, as for grep: "-webhook" is then a query, not an option.
    result = runner.invoke(app, ["search", "--json", "--repo", str(small_kb), "--", query])
    assert result.exit_code in (0, 1), result.stdout


def test_punctuation_joins_words_into_a_phrase(small_kb: Path) -> None:
    assert ids(search(small_kb, "webhook-retries")) == ["webhook_retries"]
    assert ids(search(small_kb, '"payment"')) == ["payment_timeout", "shop_basic"]
    assert search(small_kb, "retries-webhook") == []  # a phrase keeps its order


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=40))
def test_arbitrary_text_never_raises_an_sqlite_error(small_kb: Path, query: str) -> None:
    try:
        hits = search(small_kb, query)
    except UsageError:
        assert not query.replace("\x00", " ").split()  # only a query without words is refused
    else:
        assert isinstance(hits, list)


# ------------------------------------------------------------------ the index


def test_index_is_updated_by_blob_id(small_kb: Path) -> None:
    first = run(small_kb, "webhook").index
    assert (first.rebuilt, first.indexed, first.removed, first.total) == (True, 12, 0, 12)
    warm = run(small_kb, "webhook").index
    assert (warm.rebuilt, warm.indexed, warm.removed) == (False, 0, 0)
    commit_files(
        small_kb,
        {
            "kb/patterns/twin_a.yaml": SMALL_KB["kb/patterns/twin_a.yaml"].replace("Log", "Trace"),
            "kb/patterns/new_one.yaml": "kind: pattern\nschema_version: 1\nid: new_one\n",
            "vocabulary-notes.txt": "not a knowledge file",
        },
    )
    after = run(small_kb, "trace").index
    assert (after.rebuilt, after.indexed, after.removed, after.total) == (False, 2, 0, 13)
    assert ids(search(small_kb, "trace")) == ["twin_a"]


def test_a_commit_outside_kb_costs_no_reindex(small_kb: Path) -> None:
    run(small_kb, "webhook")
    commit_files(small_kb, {"README.md": "hello"})
    stats = run(small_kb, "webhook").index
    assert (stats.rebuilt, stats.indexed, stats.removed) == (False, 0, 0)


def test_a_deleted_record_disappears(small_kb: Path) -> None:
    assert "payment_timeout" in ids(search(small_kb, "webhook"))
    commit_files(small_kb, {"kb/failures/payment_timeout.yaml": None})
    result = run(small_kb, "webhook")
    assert (result.index.indexed, result.index.removed, result.index.total) == (0, 1, 11)
    assert "payment_timeout" not in ids(result.hits)
    assert search(small_kb, "provider") == []


def test_index_follows_head_not_uncommitted_edits(small_kb: Path) -> None:
    (small_kb / "kb/failures/payment_timeout.yaml").write_text(
        "kind: failure\nschema_version: 1\nid: payment_timeout\ndescription: edited\n"
    )
    assert ids(search(small_kb, "provider")) == ["payment_timeout"]
    assert search(small_kb, "edited") == []


def test_as_of_searches_an_earlier_commit(small_kb: Path) -> None:
    before = git(small_kb, "rev-parse", "HEAD").strip()
    commit_files(small_kb, {"kb/failures/payment_timeout.yaml": None})
    assert search(small_kb, "provider") == []
    old = run(small_kb, "provider", as_of=before)
    assert old.commit == before and ids(old.hits) == ["payment_timeout"]
    assert (old.index.indexed, old.index.removed) == (1, 0)  # only the file that differs
    today = run(small_kb, "provider", as_of="2999-01-01")
    assert today.hits == [] and today.commit == git(small_kb, "rev-parse", "HEAD").strip()


def test_as_of_before_the_first_commit_is_a_usage_error(small_kb: Path) -> None:
    with pytest.raises(UsageError, match="before the first commit"):
        search(small_kb, "webhook", as_of="1999-01-01")
    result = runner.invoke(app, ["search", "x", "--as-of", "no-such-rev", "--repo", str(small_kb)])
    assert result.exit_code == 2 and "is not a commit" in result.stderr


@pytest.mark.parametrize(
    "damage",
    [
        b"garbage, not a database" * 100,
        b"",
        b"SQLite format 3\x00" + b"\xff" * 4000,
    ],
    ids=["garbage", "empty", "bad-header"],
)
def test_a_corrupt_index_is_rebuilt(small_kb: Path, damage: bytes) -> None:
    run(small_kb, "webhook")
    index_path(small_kb).write_bytes(damage)
    result = run(small_kb, "webhook")
    assert result.index.rebuilt and result.index.total == 12
    assert ids(result.hits)[0] == "webhook_retries"
    assert not run(small_kb, "webhook").index.rebuilt  # and the rebuilt file is trusted


def test_a_truncated_index_is_rebuilt(small_kb: Path) -> None:
    run(small_kb, "webhook")
    path = index_path(small_kb)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert ids(search(small_kb, "webhook"))[0] == "webhook_retries"
    assert not run(small_kb, "webhook").index.rebuilt


def test_a_foreign_database_is_rebuilt_not_trusted(small_kb: Path) -> None:
    path = index_path(small_kb)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta(key TEXT, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('fingerprint', 'someone else')")
    conn.close()
    result = run(small_kb, "webhook")
    assert result.index.rebuilt and ids(result.hits)[0] == "webhook_retries"


def test_an_index_from_another_version_is_rebuilt(small_kb: Path) -> None:
    run(small_kb, "webhook")
    with sqlite3.connect(index_path(small_kb)) as conn:
        conn.execute("UPDATE meta SET value = 'memkb-search/0' WHERE key = 'fingerprint'")
        conn.execute("DELETE FROM docs")  # what an old index might hold: nothing to trust
    conn.close()
    result = run(small_kb, "webhook")
    assert result.index.rebuilt and result.index.indexed == 12


def test_an_unwritable_cache_still_answers(small_kb: Path) -> None:
    cache = small_kb / ".git" / "memkb"
    cache.write_text("a file where the cache folder should be")
    result = run(small_kb, "webhook")
    assert result.index.rebuilt and ids(result.hits)[0] == "webhook_retries"


def test_the_index_is_never_committed(small_kb: Path) -> None:
    search(small_kb, "webhook")
    assert index_path(small_kb).is_relative_to(small_kb / ".git")
    assert git(small_kb, "status", "--porcelain", "--ignored") == ""


def test_a_record_that_does_not_parse_is_skipped(small_kb: Path) -> None:
    commit_files(small_kb, {"kb/patterns/broken.yaml": "kind: pattern\nid: [webhook\n"})
    result = run(small_kb, "webhook")
    assert "broken" not in ids(result.hits) and result.index.total == 12


def test_empty_kb(empty_kb_repo: Path) -> None:
    result = run(empty_kb_repo, "anything")
    assert result.hits == [] and result.index.total == 0


def test_bundled_kb(kb_repo: Path) -> None:
    hits = search(kb_repo, "webhook timeout")
    assert ids(hits)[0] == "payment_webhook_timeout" and hits[0].kind == "failure"


def test_an_index_whose_tree_is_gone_compares_every_file(small_kb: Path) -> None:
    run(small_kb, "webhook")
    with sqlite3.connect(index_path(small_kb)) as conn:  # as after a history rewrite and gc
        conn.execute("UPDATE meta SET value = ? WHERE key = 'tree'", ("0" * 40,))
    conn.close()
    commit_files(small_kb, {"kb/patterns/twin_b.yaml": None})
    stats = run(small_kb, "webhook").index
    assert (stats.rebuilt, stats.indexed, stats.removed, stats.total) == (False, 0, 1, 11)


# ------------------------------------------------------------------ what is indexed


def test_fields_of_keeps_strings_per_top_level_field() -> None:
    raw = (
        b"kind: pattern\nid: x\nweight: 10\nrate: 0.5\nflag: true\nnothing: null\n"
        b"quoted: '10'\nphases:\n  - phase: a\n    name: First step\n    droids: [d-1]\n"
    )
    assert fields_of(raw) == [
        ("kind", ["pattern"]),
        ("id", ["x"]),
        ("weight", []),
        ("rate", []),
        ("flag", []),
        ("nothing", []),
        ("quoted", ["10"]),
        ("phases", ["a", "First step", "d-1"]),
    ]


@pytest.mark.parametrize(
    "raw",
    [b"", b"just text\n", b"- a\n- b\n", b"a: [unclosed\n", b"\xff\xfe", b"a: 1\n" * 60_000],
    ids=["empty", "scalar", "sequence", "syntax", "not-utf8", "too-large"],
)
def test_fields_of_refuses_what_is_not_a_mapping(raw: bytes) -> None:
    assert fields_of(raw) is None


def test_fields_of_never_expands_aliases_or_nests_forever() -> None:
    laughs = b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + b"".join(
        b"%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n" % ((c + 1, c + 1) + (c,) * 9)
        for c in range(ord("a"), ord("a") + 9)
    )
    found = fields_of(laughs)
    assert found is not None and sum(len(strings) for _, strings in found) == 9
    assert fields_of(b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n") is None


def test_processes_updating_at_once_never_rebuild(small_kb: Path) -> None:
    run(small_kb, "webhook")
    commit_files(small_kb, {
        f"kb/failures/many_{n}.yaml": f"kind: failure\nschema_version: 1\nid: many_{n}\n"
        for n in range(200)
    })  # fmt: skip
    probe = (
        "import sys; from pathlib import Path; from memkb.search import run\n"
        "r = run(Path(sys.argv[1]), 'many_7')\n"
        "print(r.index.rebuilt, r.index.total, [h.id for h in r.hits])\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", probe, str(small_kb)], stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    outputs = [proc.communicate()[0].decode() for proc in procs]
    assert outputs == ["False 212 ['many_7']\n"] * 4


def test_a_repository_without_commits_is_an_environment_error(tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    (repo / "kb").mkdir(parents=True)
    git(repo, "init", "-q")
    result = runner.invoke(app, ["search", "webhook", "--repo", str(repo)])
    assert result.exit_code == 2 and "the repository has no commits yet" in result.stderr


def test_a_kb_outside_git_is_an_environment_error(tmp_path: Path) -> None:
    (tmp_path / "plain" / "kb").mkdir(parents=True)
    result = runner.invoke(app, ["search", "webhook", "--json", "--repo", str(tmp_path / "plain")])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["code"] == "environment"
