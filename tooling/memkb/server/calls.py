"""What every MCP tool does, without the SDK: call the core function the CLI calls and
return the body of the CLI's JSON document (`memkb.report.json_document`), so a tool's
structured output is byte for byte the `--json` output of the same command, parsed.

`Memory` holds what the server keeps between calls: the repository, the agent its
writes are signed with, and whether writes are allowed. What is warm lives in the core's
own caches (the prepared corpus of a commit in memory, answers and validation results
under .git/memkb/), all keyed by commit or blob id: each call resolves HEAD and reads the
work tree again, so a commit made by another process is seen by the next call."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from memkb.errors import MemkbError, NotFoundError, RecordError, RepoError, UsageError
from memkb.kb.index import Record
from memkb.limits import MAX_FILE_BYTES
from memkb.report import json_document, reporter

if TYPE_CHECKING:
    from memkb.write.transaction import WriteOptions, WriteResult

PROPOSAL_PREFIX = "memory/proposals/"
PROPOSABLE = ("pattern", "failure", "template")

# Error family -> the `code` of a memkb.error/1 document, as the CLI names them
# (memkb.cli.app.EXIT_CODES, which this layer cannot import). Subclasses first.
ERROR_CODES: tuple[tuple[type[MemkbError], str], ...] = (
    (NotFoundError, "not-found"),
    (UsageError, "usage"),
    (RepoError, "environment"),
    (RecordError, "refused"),
    (MemkbError, "usage"),
)


def body_of(document: str) -> dict[str, Any]:
    """The parsed JSON document a reporter rendered (its `format` key included)."""
    parsed: dict[str, Any] = orjson.loads(document)
    return parsed


def error_document(exc: MemkbError) -> str:
    """The memkb.error/1 document the CLI prints for `exc` with --json."""
    from memkb.report.errors import Failure

    code = next(name for cls, name in ERROR_CODES if isinstance(exc, cls))
    findings = list(exc.findings) if isinstance(exc, RecordError) else []
    return reporter("error", "json")(Failure(exc.message, code, exc.hint, findings))


def check_size(name: str, value: Mapping[str, Any]) -> None:
    """UsageError when a record given as an argument is larger than a knowledge file may
    be (memkb.limits.MAX_FILE_BYTES): it is refused before anything parses or writes it."""
    size = len(orjson.dumps(value))
    if size > MAX_FILE_BYTES:
        raise UsageError(
            f"'{name}' is {size} bytes of JSON; a record may hold at most {MAX_FILE_BYTES}",
            hint="send one record, with shorter text",
        )


@dataclass
class Memory:
    """The repository one server answers for, and how it writes."""

    root: Path
    agent: str | None = None
    read_only: bool = False
    # One call at a time: the SDK runs each tool call on a worker thread and a client may
    # send calls without waiting, while the core's in-process caches (the corpus of a
    # commit, the search index connection) expect one caller. Writes also take the
    # repository's write lock, against other processes. Reentrant: a tool holds it
    # around a method that takes it again.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # -- read tools ---------------------------------------------------------------------

    def recommend(
        self,
        domains: Sequence[str] = (),
        phases: Sequence[str] = (),
        droids: Sequence[str] = (),
        text: str = "",
        limit: int = 5,
        as_of: str | None = None,
    ) -> dict[str, Any]:
        """`memkb recommend --json`: templates, patterns and guards for a project."""
        from memkb.advice.query import make_query
        from memkb.advice.recommend import recommend

        answer = recommend(self.root, make_query(domains, phases, droids, text, limit, as_of))
        return body_of(reporter("recommend", "json")(answer))

    def brief(
        self,
        domains: Sequence[str] = (),
        phases: Sequence[str] = (),
        droids: Sequence[str] = (),
        text: str = "",
        limit: int = 5,
        as_of: str | None = None,
        max_tokens: int = 1500,
    ) -> dict[str, Any]:
        """`memkb brief --json`: the advice as a Markdown brief with its brief_id."""
        from memkb.advice.brief import brief
        from memkb.advice.query import make_query

        query = make_query(domains, phases, droids, text, limit, as_of)
        return body_of(reporter("brief", "json")(brief(self.root, query, max_tokens)))

    def search(
        self,
        query: str,
        kinds: Sequence[str] | None = None,
        limit: int = 10,
        as_of: str | None = None,
    ) -> dict[str, Any]:
        """`memkb search --json`: full-text hits (an empty list when nothing matches)."""
        from memkb.search import run

        result = run(self.root, query, kinds=kinds or None, limit=limit, as_of=as_of)
        return body_of(reporter("search", "json")(result))

    def show(self, kind: str, record_id: str) -> dict[str, Any]:
        """`memkb show --json`: one record's path and fields."""
        found = self._record(kind, record_id)
        return body_of(reporter("show", "json")(found, ""))

    def record_text(self, kind: str, record_id: str) -> str:
        """The record's file as written (YAML): what the record resource serves."""
        found = self._record(kind, record_id)
        return (self.root / found.relpath).read_text(encoding="utf-8")

    def _record(self, kind: str, record_id: str) -> Record:
        from memkb.write import read

        return read.show(self.root, kind, record_id)

    def list_records(
        self,
        kind: str | None = None,
        domain: str | None = None,
        phase: str | None = None,
        droid: str | None = None,
    ) -> dict[str, Any]:
        """`memkb list --json`: records filtered by kind, domain, phase and droid."""
        from memkb.write import read

        found = read.list_records(self.root, kind=kind, domain=domain, phase=phase, droid=droid)
        return body_of(reporter("list", "json")(found))

    def metrics(self, as_of: str | None = None, since: str | None = None) -> dict[str, Any]:
        """`memkb metrics --json`: the figures derived from outcomes and history."""
        from memkb import history

        return body_of(
            reporter("metrics", "json")(history.report(self.root, as_of=as_of, since=since))
        )

    def history(self, kind: str, record_id: str) -> dict[str, Any]:
        """`memkb history KIND ID --json`: every commit that touched the record."""
        from memkb import history

        return body_of(
            reporter("history", "json")(history.record_history(self.root, kind, record_id))
        )

    def validate(self, paths: Sequence[str] | None = None) -> dict[str, Any]:
        """`memkb validate --json`: every finding of the work tree (ok is in `summary`)."""
        from memkb.rules.selection import load_selection
        from memkb.validation.engine import validate_repo

        selection = load_selection(self.root, [], None)
        result = validate_repo(self.root, paths or None, selection=selection)
        return body_of(reporter("validate", "json")(result.findings, result.files))

    # -- write tools --------------------------------------------------------------------

    def record_outcome(
        self, fields: Mapping[str, Any], brief_id: str | None = None
    ) -> dict[str, Any]:
        """`memkb record --json`: the outcome committed on the checked-out branch, with
        its trailers. RecordError (the findings) when it does not validate or is unsafe."""
        from memkb.write import authoring

        self._check_writable()
        check_size("outcome", fields)
        with self.lock:
            result = authoring.record_outcome(
                self.root, dict(fields), self._options(), brief_id=brief_id
            )
        return body_of(reporter("write", "json")(result, "record"))

    def propose(
        self, kind: str, record: Mapping[str, Any], push: bool = False, remote: str = "origin"
    ) -> dict[str, Any]:
        """A new record of `kind`, or new values for fields of an existing one, committed on
        the branch memory/proposals/<id> (never the checked-out branch), optionally pushed;
        with the `memkb check` result of that branch against the commit it started from."""
        from memkb.validation.check import run_check

        self._check_writable()
        check_size("record", record)
        rid = _proposal_id(kind, record)
        branch = PROPOSAL_PREFIX + rid
        with self.lock:
            base = self._proposal_base(branch)
            options = self._options(branch=branch, push=remote if push else None)
            tip = self._branch_tip(branch) or base  # a proposal already under way goes on
            writes = self._propose_writes(kind, rid, record, options, tip)
            check = run_check(self.root, base, branch)
        body = {
            "branch": branch,
            "base": base,
            "writes": [body_of(reporter("write", "json")(w, _command(w))) for w in writes],
            "pushed_to": writes[-1].pushed_to,
            "check": body_of(reporter("check", "json")(check)),
        }
        return body_of(json_document("propose", body))

    def _propose_writes(
        self, kind: str, rid: str, record: Mapping[str, Any], options: WriteOptions, tip: str
    ) -> list[WriteResult]:
        """A new record is one commit; a change is one `set` commit per field given."""
        from memkb.kb.layout import record_relpath
        from memkb.kb.snapshot import GitTree
        from memkb.write import authoring

        if not GitTree(self.root, tip).exists(record_relpath(kind, rid)):
            return [authoring.new_record(self.root, kind, record, options)]
        changes = {k: v for k, v in record.items() if k not in ("id", "kind", "schema_version")}
        if not changes:
            raise UsageError(
                f"{kind} '{rid}' exists; the proposal gives no field to change",
                hint="give the fields to change besides its id",
            )
        # Only the last commit pushes (so a refused field leaves nothing published), and a
        # refused field takes the branch back to where it was: a proposal lands whole.
        before = self._branch_tip(str(options.branch))
        local = options._replace(push=None)
        results: list[WriteResult] = []
        try:
            for number, (name, value) in enumerate(changes.items(), 1):
                last = number == len(changes)
                step = options if last else local
                results.append(authoring.set_field(self.root, kind, rid, name, value, step))
        except MemkbError:
            if results:
                self._reset_branch(str(options.branch), before, results[-1].commit)
            raise
        return results

    def _reset_branch(self, branch: str, before: str | None, expected: str | None) -> None:
        """Put `branch` back at `before` (delete it if it did not exist), if it still
        points at `expected`, the commit this proposal made (compare-and-swap)."""
        from memkb.gitio.log import git

        ref = f"refs/heads/{branch}"
        if before is None:
            git(self.root, "update-ref", "-d", ref, str(expected))
        else:
            git(self.root, "update-ref", ref, before, str(expected))

    def _proposal_base(self, branch: str) -> str:
        """The commit the proposal is checked against (main, else HEAD, where the write
        path starts a new branch). RecordError if the branch is the one checked out."""
        from memkb.gitio.log import git

        current = git(self.root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()
        if branch in (current, "main"):
            raise RecordError(
                f"a proposal is never committed on the checked-out branch '{current}'",
                hint="switch the checkout to main (or another branch) first",
            )
        for ref in ("refs/heads/main", "HEAD"):
            found = git(
                self.root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False
            )
            if found.strip():
                return found.strip()
        raise RepoError("the repository has no commits yet", hint="commit the knowledge base first")

    def _branch_tip(self, branch: str) -> str | None:
        from memkb.gitio.log import git

        found = git(
            self.root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False
        )
        return found.strip() or None

    def _check_writable(self) -> None:
        if self.read_only:
            raise UsageError("this server is read-only", hint="restart it without --read-only")

    def _options(self, *, branch: str | None = None, push: str | None = None) -> WriteOptions:
        from memkb.write.transaction import WriteOptions

        return WriteOptions(branch=branch, push=push, agent=self.agent)


def _command(result: WriteResult) -> str:
    """The CLI command whose document a proposal's write is: `memkb new` or `memkb set`."""
    return "new" if result.edit.action == "add" else "set"


def _proposal_id(kind: str, record: Mapping[str, Any]) -> str:
    """The id of the proposed record; UsageError for a kind that cannot be proposed or a
    record without an id (the id names the branch)."""
    if kind not in PROPOSABLE:
        raise UsageError(
            f"cannot propose a {kind}", hint=f"propose one of: {', '.join(PROPOSABLE)}"
        )
    rid = record.get("id")
    if not isinstance(rid, str) or not rid:
        raise UsageError("the proposed record has no id", hint='give it as "id": "snake_case_id"')
    return rid
