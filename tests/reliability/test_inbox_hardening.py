"""Issue #12, the inbox: a poisoned ``<db>.inbox/`` never stops the app taking valid work.

Each test puts one hostile entry (a FIFO, a link to ``/dev/zero``, absurd request values,
a ``failed`` that is a file or a link, hand-made Parquet) in front of valid work and checks
that the entry is refused and moved aside (or deleted), with bounded time and memory, and
that the valid work behind it is taken. Every wait is bounded: polls run in a thread joined
with a timeout, and what could exhaust memory on a regression runs in a child process under
``RLIMIT_AS`` and a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data.inbox import hand_to_inbox, import_inbox, pending
from data.normalise import STAGED_SCHEMA
from data.paths import inbox_dir, staging_dir_of
from data.store import Store
from data.tag_requests import request_tagging
from tests.dashboard.conftest import FakeTagger

REPO = Path(__file__).resolve().parents[2]
POLL_TIMEOUT_S = 30.0
CHILD_MEMORY = 4 << 30  # RLIMIT_AS of a child that reads a hostile entry


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store whose inbox exists."""
    s = Store.open(tmp_path / "app.duckdb")
    inbox_dir(s.path).mkdir(exist_ok=True)
    try:
        yield s
    finally:
        s.close()


def _inbox(store: Store) -> Path:
    return inbox_dir(Path(store.path))


def _tickets(store: Store) -> int:
    return int(store.scalar("SELECT count(*) FROM tickets"))


def _hand_csv(store: Store, tmp_path: Path, name: str, *texts: str) -> Path:
    """Hand a valid CSV to the inbox as ``python -m data ingest`` does; return the entry."""
    source = tmp_path / name
    source.write_text("text\n" + "".join(f"{t}\n" for t in texts), encoding="utf-8")
    [handed] = hand_to_inbox(store.path, [source])
    return handed.path


def _older(path: Path, seconds: float = 60.0) -> None:
    """Make ``path`` (not what it links to) older than what is written next."""
    when = time.time() - seconds
    os.utime(path, (when, when), follow_symlinks=False)


def _bounded(
    fn: Callable[[], Any],
    timeout: float = POLL_TIMEOUT_S,
    unblock: Callable[[], None] | None = None,
) -> tuple[Any, float]:
    """``fn()`` in a thread; its result and seconds, or a failure after ``timeout``."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    seconds = time.monotonic() - started
    if thread.is_alive():
        if unblock is not None:
            unblock()
            thread.join(5)
        pytest.fail(f"the poll still blocked after {timeout:.0f} s")
    if "error" in box:
        raise box["error"]
    return box.get("result"), seconds


def _unblock_fifo(fifo: Path) -> Callable[[], None]:
    """Open ``fifo`` for writing once, so a reader blocked on it gets end-of-file."""

    def unblock() -> None:
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    return unblock


def _poller(store: Store, taken: list[Any]) -> Any:
    from dashboard.jobs import InboxPoller

    return InboxPoller(store, on_tag_request=taken.append, every=0)


def _in_root(inbox: Path, name: str) -> bool:
    return os.path.lexists(inbox / name)


def _staged_table(texts: list[str], **columns: list[Any]) -> pa.Table:
    n = len(texts)
    data: dict[str, list[Any]] = {name: [None] * n for name in STAGED_SCHEMA.names}
    data["row"] = list(range(1, n + 1))
    data["text"] = texts
    data.update(columns)
    return pa.table(data, schema=STAGED_SCHEMA)


def _hand_made(
    path: Path, table: pa.Table, *, rows: int | None = None, name: str = "forged.csv"
) -> Path:
    """A Parquet file shaped like a handed file, with claims chosen by the test."""
    meta = {
        b"pricewar.name": name.encode(),
        b"pricewar.file_hash": b"ab" * 32,
        b"pricewar.rows": str(table.num_rows if rows is None else rows).encode(),
        b"pricewar.columns": b"[]",
    }
    pq.write_table(table.replace_schema_metadata(meta), path)
    return path


def _child(code: str, timeout: float = 120.0) -> dict[str, Any]:
    """Run ``code`` in a child under ``RLIMIT_AS``; its last stdout line, parsed as JSON."""
    prelude = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({CHILD_MEMORY}, {CHILD_MEMORY}))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- 1. a FIFO ----------------------------------------------------------------------------


def test_a_fifo_request_does_not_block_the_poller(store: Store, tmp_path: Path) -> None:
    inbox = _inbox(store)
    fifo = inbox / "tag-request-x.json"
    os.mkfifo(fifo)
    _older(fifo)
    request_tagging(store.path, batch_size=8)
    taken: list[Any] = []
    poller = _poller(store, taken)
    _bounded(poller.poll_once, unblock=_unblock_fifo(fifo))  # fails if the poll blocks
    assert [r.batch_size for r in taken] == [8]
    assert not _in_root(inbox, fifo.name) and "FIFO" in poller.last_message
    # a file handed over later is imported by the next poll, at once
    _hand_csv(store, tmp_path, "later.csv", "handed after the FIFO")
    _bounded(poller.poll_once)
    assert _tickets(store) == 1


def test_a_fifo_named_like_a_handed_file_is_set_aside(store: Store, tmp_path: Path) -> None:
    inbox = _inbox(store)
    fifo = inbox / "0000.parquet"
    os.mkfifo(fifo)
    _older(fifo)
    _hand_csv(store, tmp_path, "valid.csv", "one", "two")
    messages, _ = _bounded(lambda: import_inbox(store), unblock=_unblock_fifo(fifo))
    assert _tickets(store) == 2
    assert any("FIFO" in m for m in messages) and not _in_root(inbox, fifo.name)


# -- 2. a link to /dev/zero --------------------------------------------------------------


def test_a_request_linked_to_dev_zero_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    db = tmp_path / "app.duckdb"
    inbox = inbox_dir(db)
    inbox.mkdir()
    link = inbox / "tag-request-z.json"
    link.symlink_to("/dev/zero")
    _older(link)
    request_tagging(db, batch_size=4)
    out = _child(f"""
        import json, time
        from data.tag_requests import take_tagging_requests
        started = time.monotonic()
        first = take_tagging_requests({str(db)!r})
        second = take_tagging_requests({str(db)!r})
        print(json.dumps({{"first": [r.batch_size for r in first],
                          "second": len(second), "s": time.monotonic() - started}}))
    """)
    assert out == {"first": [4], "second": 0, "s": out["s"]}  # bounded: the child returned
    assert not _in_root(inbox, link.name)  # moved aside: it does not come back
    assert os.path.exists("/dev/zero")


# -- 3. request values that used to raise out of the handler -----------------------------

BAD_REQUESTS: dict[str, str | None] = {
    "inf": '{"batch_size": 1e999}',
    "list": '{"batch_size": [1]}',
    "deep": "[" * 100_000 + "]" * 100_000,
    "deep_in_limit": '{"batch_size": ' + "[" * 5000 + "]" * 5000 + "}",
    "negative": '{"batch_size": -5}',
    "huge_int": '{"batch_size": ' + "9" * 5000 + "}",
    "bool": '{"batch_size": true}',
    "nan": '{"batch_size": NaN}',
    "path_type": '{"model_dir": 5}',
    "relative": '{"model_dir": "model/default"}',
    "not_object": '"tag everything"',
    "unknown_key": '{"batch_size": 8, "shell": "rm -rf /"}',
    "not_utf8": None,
    "folder": None,
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_a_bad_request_is_refused_and_the_next_one_is_taken(store: Store, case: str) -> None:
    inbox = _inbox(store)
    bad = inbox / f"tag-request-{case}.json"
    if case == "folder":
        bad.mkdir()
        (bad / "inside.txt").write_text("x")
    elif case == "not_utf8":
        bad.write_bytes(b'{"batch_size": "\xff\xfe"}')
    else:
        bad.write_text(BAD_REQUESTS[case] or "", encoding="utf-8")
    _older(bad)
    request_tagging(store.path, batch_size=16)
    taken: list[Any] = []
    poller = _poller(store, taken)
    _bounded(poller.poll_once)
    assert [r.batch_size for r in taken] == [16]
    assert not _in_root(inbox, bad.name)
    assert os.path.lexists(inbox / "failed" / bad.name)
    assert f"{bad.name}: tagging request refused" in poller.last_message
    _bounded(poller.poll_once)
    assert len(taken) == 1  # neither comes back


def test_request_values_are_checked_before_they_reach_the_job(store: Store, tmp_path: Path) -> None:
    from dashboard.jobs import TaggingJob

    job = TaggingJob(store, loader=FakeTagger, batch_size=32)
    for model_dir, batch_size in (
        (None, -5),
        (None, 0),
        (None, 10**6),
        (None, 2.5),
        (None, True),
        (str(tmp_path / "missing"), None),
        ("relative/dir", None),
    ):
        with pytest.raises(ValueError):
            job.use_tagger(model_dir, batch_size)  # type: ignore[arg-type]
        assert job.batch_size == 32 and job._loader is FakeTagger


# -- 5. a bad request no longer breaks later runs -----------------------------------------


def test_a_failing_requested_tagger_does_not_break_start_tagging(
    store: Store, tmp_path: Path
) -> None:
    from dashboard.jobs import TaggingJob
    from tests.model.conftest import add_tickets

    add_tickets(store, ["OpenAI cut prices", "Claude in Berlin"])
    job = TaggingJob(store, loader=FakeTagger, batch_size=32)
    not_a_tagger = tmp_path / "not-a-tagger"
    not_a_tagger.mkdir()
    job.use_tagger(str(not_a_tagger), 7)
    assert job.start()
    assert job.wait(60).state == "failed"
    assert "app's own are used again" in job.status().message
    assert job.batch_size == 32 and job._loader is FakeTagger
    assert job.start()  # "Start tagging" works again without a restart
    assert job.wait(60).state == "done" and job.status().done == 2


def test_the_app_refuses_a_request_for_a_missing_tagger(store: Store, tmp_path: Path) -> None:
    from dashboard.jobs import InboxPoller, TaggingJob
    from dashboard.state import AppState

    state = AppState(Path(store.path))
    state.store = store
    state.job = TaggingJob(store, loader=FakeTagger, batch_size=32)
    poller = InboxPoller(store, on_tag_request=state._tag_request, every=0)
    request_tagging(store.path, model_dir=tmp_path / "gone")
    _bounded(poller.poll_once)
    assert (
        "Tagging request refused" in poller.last_message and "not a folder" in poller.last_message
    )
    assert state.job._loader is FakeTagger and state.job.status().state == "idle"


# -- 4. and 6. a `failed` that is not a real folder ----------------------------------------


def test_a_plain_file_named_failed_does_not_stop_imports(store: Store, tmp_path: Path) -> None:
    inbox = _inbox(store)
    (inbox / "failed").write_text("not a folder")
    bad = inbox / "bad.parquet"
    bad.write_bytes(b"PAR1 not parquet at all")
    _older(bad)
    _hand_csv(store, tmp_path, "a.csv", "first")
    messages, _ = _bounded(lambda: import_inbox(store))
    assert _tickets(store) == 1 and not _in_root(inbox, bad.name)
    assert any("bad.parquet: could not be imported" in m for m in messages)
    assert (inbox / "failed").read_text() == "not a folder"
    _hand_csv(store, tmp_path, "b.csv", "second")
    request_tagging(store.path, batch_size=3)
    taken: list[Any] = []
    _bounded(_poller(store, taken).poll_once)
    assert _tickets(store) == 2 and [r.batch_size for r in taken] == [3]


def test_a_failed_link_is_never_moved_through(store: Store, tmp_path: Path) -> None:
    inbox = _inbox(store)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "bad.parquet").write_text("precious")
    (inbox / "failed").symlink_to(outside, target_is_directory=True)
    bad = inbox / "bad.parquet"
    bad.write_bytes(b"garbage")
    (inbox / "tag-request-bad.json").write_text("[1]")
    _bounded(_poller(store, []).poll_once)
    assert sorted(os.listdir(outside)) == ["bad.parquet"]
    assert (outside / "bad.parquet").read_text() == "precious"
    assert not _in_root(inbox, bad.name) and not _in_root(inbox, "tag-request-bad.json")
    assert (inbox / "failed").is_symlink()  # left alone


# -- 7. hand-made Parquet -----------------------------------------------------------------


def _forged_cases() -> dict[str, Callable[[Path], Path]]:
    return {
        "text_5mb": lambda p: _hand_made(p, _staged_table(["x" * 5_000_000])),
        "channel_50k": lambda p: _hand_made(p, _staged_table(["ok"], channel=["c" * 50_000])),
        "date_1800": lambda p: _hand_made(
            p, _staged_table(["ok"], created_at=[datetime(1800, 1, 1)])
        ),
        "date_2999": lambda p: _hand_made(
            p, _staged_table(["ok"], created_at=[datetime(2999, 1, 1)])
        ),
        "fake_row_count": lambda p: _hand_made(p, _staged_table(["ok"]), rows=10),
        "bad_resolver": lambda p: _hand_made(p, _staged_table(["ok"], resolved_by=["root"])),
        "other_schema": lambda p: (pq.write_table(pa.table({"text": ["ok"]}), p), p)[1],
    }


@pytest.mark.parametrize(
    "case",
    [
        "text_5mb",
        "channel_50k",
        "date_1800",
        "date_2999",
        "fake_row_count",
        "bad_resolver",
        "other_schema",
    ],
)
def test_hand_made_parquet_is_validated_before_import(
    store: Store, tmp_path: Path, case: str
) -> None:
    inbox = _inbox(store)
    entry = _forged_cases()[case](inbox / f"{case}.parquet")
    messages, _ = _bounded(lambda: import_inbox(store))
    assert _tickets(store) == 0, messages
    [message] = messages
    assert f"{case}.parquet: could not be imported" in message
    assert len(message) < 1000
    assert not _in_root(inbox, entry.name) and (inbox / "failed" / entry.name).exists()


def test_a_link_to_someone_elses_parquet_is_not_imported(store: Store, tmp_path: Path) -> None:
    other = tmp_path / "other-user"
    other.mkdir()
    elsewhere = inbox_dir(other / "their.duckdb")
    source = tmp_path / "theirs.csv"
    source.write_text("text\ntheir private ticket\n")
    [theirs] = hand_to_inbox(other / "their.duckdb", [source])
    link = _inbox(store) / theirs.path.name
    link.symlink_to(theirs.path)
    messages, _ = _bounded(lambda: import_inbox(store))
    assert _tickets(store) == 0 and "symbolic link" in messages[0]
    assert theirs.path.exists() and pending(other / "their.duckdb") == [theirs.path]
    assert not _in_root(_inbox(store), link.name) and elsewhere.is_dir()


def test_a_handed_file_still_imports_exactly_like_a_direct_ingest(tmp_path: Path) -> None:
    from data.ingest import ingest_files

    source = tmp_path / "t.csv"
    source.write_text(
        "id,text,channel,created_at,resolution_minutes,resolved_by\n"
        "1, Jane at Acme ,  email ,2025-03-01T10:00:00Z,12.5,AI\n"
        "2,Paris office,,2025-03-02,,\n"
        "2,Paris office,,2025-03-02,,\n",
        encoding="utf-8",
    )
    rows = "SELECT * EXCLUDE (ingested_at) FROM tickets ORDER BY ticket_key"
    with Store.open(tmp_path / "direct.duckdb") as direct:
        [report] = ingest_files(direct, [source])
        expected = direct.query(rows)
        expected_files = direct.scalar("SELECT any_value(file_hash) FROM ingested_files")
    with Store.open(tmp_path / "handed.duckdb") as handed:
        hand_to_inbox(handed.path, [source])
        assert import_inbox(handed) == [report.message]
        got = handed.query(rows)
        assert handed.scalar("SELECT any_value(file_hash) FROM ingested_files") == expected_files
        hand_to_inbox(handed.path, [source])
        assert import_inbox(handed) == ["t.csv: this file was ingested before; nothing added"]
    assert len(got) == 2 and got.equals(expected)


# -- re-staging beside the database, not in the system temp folder ---------------------------


def test_a_handed_file_is_restaged_beside_the_database(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app stages a handed file again in ``<db>.staging`` like an upload, so a missing
    or full system temp folder does not matter (it was ``tempfile``'s folder)."""
    import tempfile

    import data.inbox

    source = tmp_path / "t.csv"
    source.write_text("text\nfrom the command line\n")
    hand_to_inbox(store.path, [source])
    folders: list[Path | None] = []
    real = data.inbox.stage_file

    def spy(*args: Any, **kwargs: Any) -> Any:
        folders.append(kwargs.get("staging_dir"))
        return real(*args, **kwargs)

    monkeypatch.setattr(data.inbox, "stage_file", spy)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-temp-folder"))
    messages = import_inbox(store)
    assert messages == ["t.csv: 1 row, 1 new ticket"], messages
    assert folders == [staging_dir_of(store.path)]
    assert not list(staging_dir_of(store.path).iterdir())  # nothing left behind


_KILLED_IMPORT = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import data.ingest as ingest
    import data.staging as staging
    from data.inbox import import_inbox
    from data.store import Store
    real = staging.normalise_chunk
    calls = []
    def normalise_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # two chunks of the handed file are staged again: kill -9
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    staging.normalise_chunk = normalise_then_die
    with Store.open(Path(sys.argv[1])) as store:
        import_inbox(store, limits=ingest.IngestLimits(chunksize=100))
""")


def test_kill9_during_an_inbox_import_leaves_litter_only_where_it_is_swept(tmp_path: Path) -> None:
    """An app killed while it re-stages a handed file leaves its half-written staging file
    in ``<db>.staging`` (none in the temp folder); the next writable open removes it, and
    the handed file, still in the inbox, is imported then."""
    db = tmp_path / "app.duckdb"
    Store.open(db).close()
    source = tmp_path / "t.csv"
    source.write_text("text\n" + "".join(f"ticket number {i}\n" for i in range(1_000)))
    [handed] = hand_to_inbox(db, [source])
    temp = tmp_path / "tmp"
    temp.mkdir()
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_IMPORT, str(db)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr[-3000:]
    assert os.listdir(temp) == []
    leftovers = list(staging_dir_of(db).glob("ingest-*.parquet"))
    assert len(leftovers) == 1 and leftovers[0].stat().st_size > 0
    assert handed.path.exists()
    with Store.open(db) as store:
        assert not leftovers[0].exists()
        assert import_inbox(store) == ["t.csv: 1,000 rows, 1,000 new tickets"]
    assert not list(staging_dir_of(db).iterdir())


# -- the command line says who holds the database ------------------------------------------

HOLD = (
    "import sys, duckdb; c = duckdb.connect(sys.argv[1]); "
    "beat = sys.argv[2] == '1'\n"
    "if beat:\n"
    "    from data.heartbeat import write_heartbeat; write_heartbeat(sys.argv[1], 5)\n"
    "print('held', flush=True); sys.stdin.read()"
)


@pytest.mark.parametrize("dashboard", [False, True], ids=["another_process", "dashboard"])
def test_the_cli_says_honestly_who_takes_the_handed_files(
    tmp_path: Path, dashboard: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    from data.cli import main

    db = tmp_path / "held.duckdb"
    Store.open(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db), "1" if dashboard else "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        upload = tmp_path / "u.csv"
        upload.write_text("text\nqueued\n")
        assert main(["ingest", "--db", str(db), str(upload)]) == 0
        out = capsys.readouterr().out
    finally:
        holder.communicate("", timeout=30)
    assert "in use by another process" in out and f"PID {holder.pid}" in out
    if dashboard:
        assert f"handed to the running dashboard (PID {holder.pid})" in out
    else:
        assert "handed to the running dashboard" not in out and "probably" not in out
        assert "handed to the inbox" in out and "when it runs" in out
    assert len(pending(db)) == 1


def test_the_poller_keeps_a_heartbeat_while_it_runs(store: Store) -> None:
    from dashboard.jobs import InboxPoller
    from data.heartbeat import running_dashboard

    poller = InboxPoller(store, every=0.2)
    assert running_dashboard(store.path) is None
    poller.start()
    try:
        assert running_dashboard(store.path) == os.getpid()
        assert running_dashboard(store.path, lock_pid=os.getpid() + 1) is None
    finally:
        poller.stop()
    assert running_dashboard(store.path) is None


# -- everything at once ------------------------------------------------------------------


def test_one_poll_clears_a_poisoned_inbox_and_the_next_reads_nothing(tmp_path: Path) -> None:
    """FIFO + /dev/zero link + deep JSON + bad Parquet + a folder named like a request + a
    plain file ``failed``, all older than one valid handover and one valid request: the
    first poll sets them aside and takes the valid work; the second finds nothing to read
    (no message, no note, the same inbox). A poll that blocks fails the child's timeout.
    Prints ``FIGURE`` lines (the two polls' seconds, for the record; not asserted)."""
    db = tmp_path / "app.duckdb"
    out = _child(f"""
        import json, os, time
        from pathlib import Path
        from data.inbox import hand_to_inbox
        from data.paths import inbox_dir, staging_dir_of
        from data.store import Store
        from data.tag_requests import request_tagging
        from dashboard.jobs import InboxPoller

        db = Path({str(db)!r})
        store = Store.open(db)
        inbox = inbox_dir(db)
        inbox.mkdir()
        os.mkfifo(inbox / "tag-request-x.json")
        (inbox / "tag-request-z.json").symlink_to("/dev/zero")
        (inbox / "tag-request-deep.json").write_text("[" * 100000 + "]" * 100000)
        (inbox / "tag-request-d.json").mkdir()
        (inbox / "bad.parquet").write_bytes(b"PAR1" + os.urandom(4096) + b"PAR1")
        os.mkfifo(inbox / "fifo.parquet")
        (inbox / "zero.parquet").symlink_to("/dev/zero")
        (inbox / "failed").write_text("a plain file")
        old = time.time() - 60
        for p in inbox.iterdir():
            os.utime(p, (old, old), follow_symlinks=False)
        source = Path({str(tmp_path / "valid.csv")!r})
        source.write_text("text\\nvalid handover\\nsecond ticket\\n")
        hand_to_inbox(db, [source])
        request_tagging(db, batch_size=12)
        taken = []
        poller = InboxPoller(store, on_tag_request=taken.append, every=0)

        def state():
            return {{
                "tickets": store.scalar("SELECT count(*) FROM tickets"),
                "files": store.scalar("SELECT count(*) FROM ingested_files"),
                "taken": [r.batch_size for r in taken],
                "left": sorted(p.name for p in inbox.iterdir() if not p.name.startswith(".")),
                "aside": sorted(os.listdir(inbox / "failed-aside")),
                "note": poller.last_message,
            }}

        started = time.monotonic()
        first_messages = poller.poll_once()
        first_s = time.monotonic() - started
        first = state()
        started = time.monotonic()
        second_messages = poller.poll_once()
        second_s = time.monotonic() - started
        second = state()
        store.close()
        print(json.dumps({{"first_s": first_s, "second_s": second_s, "first": first,
                          "second": second, "first_messages": len(first_messages),
                          "second_messages": second_messages}}))
    """)
    print(f"FIGURE inbox_poisoned_poll_s: {out['first_s']:.3f}")
    print(f"FIGURE inbox_poisoned_second_poll_s: {out['second_s']:.3f}")
    first = out["first"]
    # the first poll: the valid handover imported and the valid request taken ...
    assert first["tickets"] == 2 and first["files"] == 1 and first["taken"] == [12]
    # ... and every poisoned entry set aside, each Parquet one with a message
    assert first["left"] == ["failed", "failed-aside"]
    assert first["aside"] == sorted(
        [
            "tag-request-x.json",
            "tag-request-z.json",
            "tag-request-deep.json",
            "tag-request-d.json",
            "bad.parquet",
            "fifo.parquet",
            "zero.parquet",
        ]
    )
    assert out["first_messages"] == 4  # the handover and the three bad Parquet entries
    # the second poll reads nothing again: no message, no new note, nothing moved or taken
    assert out["second_messages"] == []
    assert out["second"] == first
