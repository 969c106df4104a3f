"""data.audit: the audit_log migration, record's checks, read_log's filters and order, the
CSV download, the command-line actor."""

from __future__ import annotations

import io
import os
from datetime import UTC, date, datetime, timedelta, timezone

import duckdb
import pandas as pd
import pytest

from data import audit
from data.audit import (
    ACTIONS,
    COLUMNS,
    MAX_TEXT,
    SOURCES,
    log_csv,
    os_actor,
    read_log,
    record,
)
from data.migrations import LATEST_VERSION, MIGRATIONS
from data.store import Store

#: The migration that creates the audit trail.
AUDIT_VERSION = next(
    v
    for v, statements in sorted(MIGRATIONS.items())
    if any("CREATE TABLE audit_log" in s for s in statements)
)
AUDIT_COLUMNS = {
    "id": "BIGINT",
    "at": "TIMESTAMP",
    "actor": "VARCHAR",
    "role": "VARCHAR",
    "source": "VARCHAR",
    "action": "VARCHAR",
    "target": "VARCHAR",
    "detail": "VARCHAR",
}
T0 = datetime(2025, 3, 1, 12, 0, 0)


def audit_columns(store: Store) -> dict[str, str]:
    return dict(
        store.fetchall(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'audit_log' ORDER BY ordinal_position"
        )
    )


@pytest.fixture
def clock(monkeypatch):
    """The time record() writes, set by the test: ``clock.now = datetime(...)``."""

    class Clock:
        now = T0

    monkeypatch.setattr(audit, "_now", lambda: Clock.now)
    return Clock


def rows(store: Store) -> list[tuple]:
    return store.fetchall(
        "SELECT actor, role, source, action, target, detail FROM audit_log ORDER BY id"
    )


# -- the migration --------------------------------------------------------------------------


def test_a_fresh_store_has_the_audit_log(tmp_store):
    assert audit_columns(tmp_store) == AUDIT_COLUMNS
    assert tmp_store.scalar("SELECT max(version) FROM schema_version") == LATEST_VERSION
    assert tmp_store.scalar("SELECT count(*) FROM audit_log") == 0
    record(tmp_store, actor="ana@example.com", action=audit.SIGN_IN, role="analyst")
    record(tmp_store, actor="os:bob", action=audit.DEMO, source="cli")
    ids = [r[0] for r in tmp_store.fetchall("SELECT id FROM audit_log ORDER BY id")]
    assert len(ids) == 2 and ids[0] < ids[1]


def test_an_older_store_gets_the_audit_log_on_open_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
        "applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    for version in sorted(v for v in MIGRATIONS if v < AUDIT_VERSION):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", [version])
    conn.execute("INSERT INTO tickets (ticket_key, text, source) VALUES ('k1', 'old', 'test')")
    assert conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'audit_log'"
    ).fetchone() == (0,)
    conn.close()

    with Store.open(path) as store:
        assert store.scalar("SELECT max(version) FROM schema_version") == LATEST_VERSION
        assert audit_columns(store) == AUDIT_COLUMNS
        assert store.fetchall("SELECT ticket_key, text FROM tickets") == [("k1", "old")]
        record(store, actor="os:alice", action=audit.INGEST, source="cli", target="old.csv")
    with Store.open(path) as store:  # opened again: nothing migrates twice, the row stays
        assert store.scalar("SELECT count(*) FROM schema_version") == len(MIGRATIONS)
        assert read_log(store)["actor"].tolist() == ["os:alice"]


def test_the_table_refuses_an_unknown_source_and_a_missing_actor(tmp_store):
    for sql in (
        """INSERT INTO audit_log ("at", actor, source, action) """
        "VALUES (now(), 'x', 'web', 'sign_in')",
        """INSERT INTO audit_log ("at", actor, source, action) """
        "VALUES (now(), NULL, 'app', 'sign_in')",
    ):
        with pytest.raises(Exception, match="(?i)constraint"):
            tmp_store.execute_write(sql)
    assert tmp_store.scalar("SELECT count(*) FROM audit_log") == 0


# -- record ----------------------------------------------------------------------------------


def test_record_writes_every_field(tmp_store, clock):
    record(
        tmp_store,
        actor="  ana@example.com ",
        role="analyst",
        action=audit.UPLOAD,
        target="tickets.csv",
        detail="1,204 rows, 1,180 new tickets",
    )
    record(tmp_store, actor="os:bob", action=audit.TAG_START, source="cli")
    assert rows(tmp_store) == [
        (
            "ana@example.com",
            "analyst",
            "app",
            "upload",
            "tickets.csv",
            "1,204 rows, 1,180 new tickets",
        ),
        ("os:bob", None, "cli", "tagging_start", None, None),
    ]
    assert tmp_store.fetchall('SELECT DISTINCT "at" FROM audit_log') == [(T0,)]


def test_every_action_and_source_is_accepted(tmp_store):
    for action in sorted(ACTIONS):
        for source in sorted(SOURCES):
            record(tmp_store, actor="a@b.io", action=action, source=source)
    assert tmp_store.scalar("SELECT count(*) FROM audit_log") == len(ACTIONS) * len(SOURCES)
    assert audit.UPLOAD in ACTIONS and audit.DEMO in ACTIONS and set(SOURCES) == {"app", "cli"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"action": "delete_everything"}, "unknown audit action"),
        ({"action": "SIGN_IN"}, "unknown audit action"),
        ({"source": "web"}, "unknown audit source"),
        ({"source": None}, "unknown audit source"),
        ({"action": ["sign_in"]}, "unknown audit action"),  # not text: refused, not a TypeError
        ({"source": ["app"]}, "unknown audit source"),
        ({"actor": ""}, "actor must be non-empty"),
        ({"actor": "   "}, "actor must be non-empty"),
        ({"actor": None}, "actor must be non-empty"),
        ({"actor": 42}, "actor must be non-empty"),
        ({"actor": "a" * (MAX_TEXT + 1)}, "actor is 2,001 characters"),
        ({"role": ""}, "role must be non-empty"),
        ({"role": ["admin"]}, "role must be non-empty"),
        ({"role": "r" * (MAX_TEXT + 1)}, "role is 2,001 characters"),
        ({"target": 3}, "target must be text or None"),
        ({"detail": b"bytes"}, "detail must be text or None"),
    ],
)
def test_record_refuses_bad_values_and_writes_nothing(tmp_store, kwargs, message):
    args = {"actor": "ana@example.com", "action": audit.SIGN_IN, **kwargs}
    with pytest.raises(ValueError, match=message):
        record(tmp_store, **args)
    assert tmp_store.scalar("SELECT count(*) FROM audit_log") == 0


def test_long_target_and_detail_are_cut_to_max_text(tmp_store):
    exact = "t" * MAX_TEXT
    record(
        tmp_store,
        actor="a" * MAX_TEXT,
        role="r" * MAX_TEXT,
        action=audit.UPLOAD,
        target=exact,
        detail="d" * (MAX_TEXT * 50),
    )
    actor, role, _, _, target, detail = rows(tmp_store)[0]
    assert len(actor) == len(role) == MAX_TEXT  # at the limit: kept whole
    assert target == exact
    assert len(detail) == MAX_TEXT and detail == "d" * (MAX_TEXT - 1) + "…"
    record(tmp_store, actor="a@b.io", action=audit.UPLOAD, target="x" * (MAX_TEXT + 1))
    target = rows(tmp_store)[1][4]
    assert len(target) == MAX_TEXT and target.endswith("x…")
    record(tmp_store, actor=" " + "a" * MAX_TEXT + "\n", action=audit.UPLOAD)  # stripped first
    assert rows(tmp_store)[2][0] == "a" * MAX_TEXT


def test_record_inside_a_write_joins_its_transaction(tmp_store):
    def save_then_fail(conn):
        conn.execute("INSERT INTO scenarios (name, params) VALUES ('s', '{}')")
        record(tmp_store, actor="ana@example.com", action=audit.SCENARIO_SAVE, target="s")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        tmp_store.write(save_then_fail)
    assert tmp_store.scalar("SELECT count(*) FROM audit_log") == 0
    assert tmp_store.scalar("SELECT count(*) FROM scenarios") == 0

    def save(conn):
        conn.execute("INSERT INTO scenarios (name, params) VALUES ('s', '{}')")
        record(tmp_store, actor="ana@example.com", action=audit.SCENARIO_SAVE, target="s")

    tmp_store.write(save)
    assert rows(tmp_store) == [("ana@example.com", None, "app", "scenario_save", "s", None)]


def test_a_read_only_store_cannot_record(tmp_path):
    path = tmp_path / "ro.duckdb"
    Store.open(path).close()
    with Store.open(path, read_only=True) as store, pytest.raises(PermissionError):
        record(store, actor="a@b.io", action=audit.SIGN_IN)


# -- read_log --------------------------------------------------------------------------------


@pytest.fixture
def trail(tmp_store, clock):
    """Six rows over three days; two at the same instant (order by id then)."""
    entries = [
        (T0, "ana@example.com", audit.SIGN_IN, None),
        (T0 + timedelta(hours=1), "ana@example.com", audit.UPLOAD, "a.csv"),
        (T0 + timedelta(days=1), "bob@example.com", audit.SIGN_IN, None),
        (T0 + timedelta(days=1), "bob@example.com", audit.ACCESS_DENIED, "Audit trail"),
        (T0 + timedelta(days=2), "os:carol", audit.INGEST, "b.csv"),
        (T0 + timedelta(days=2, minutes=5), "ana@example.com", audit.SCENARIO_SAVE, "base"),
    ]
    for at, actor, action, target in entries:
        clock.now = at
        record(
            tmp_store,
            actor=actor,
            action=action,
            target=target,
            source="cli" if actor.startswith("os:") else "app",
        )
    return tmp_store


def test_read_log_is_newest_first_with_its_columns(trail):
    log = read_log(trail)
    assert tuple(log.columns) == COLUMNS
    assert log["action"].tolist() == [
        "scenario_save",
        "ingest",
        "access_denied",
        "sign_in",
        "upload",
        "sign_in",
    ]
    assert log["at"].is_monotonic_decreasing
    assert log["at"].iloc[0] == pd.Timestamp(T0 + timedelta(days=2, minutes=5))
    assert log["source"].tolist()[1] == "cli"


def test_read_log_limit(trail):
    assert read_log(trail, limit=2)["action"].tolist() == ["scenario_save", "ingest"]
    assert read_log(trail, limit=0).empty
    assert tuple(read_log(trail, limit=0).columns) == COLUMNS
    assert len(read_log(trail, limit=1000)) == 6


@pytest.mark.parametrize("limit", [-1, 1.5, "10", True, None])
def test_read_log_refuses_a_bad_limit(trail, limit):
    with pytest.raises(ValueError, match="limit"):
        read_log(trail, limit=limit)


def test_read_log_by_actor_and_action(trail):
    ana = read_log(trail, actor="ana@example.com")
    assert ana["action"].tolist() == ["scenario_save", "upload", "sign_in"]
    assert read_log(trail, actor="ANA@example.com").empty  # an exact match
    assert read_log(trail, actor="nobody").empty
    sign = read_log(trail, actions=[audit.SIGN_IN, audit.ACCESS_DENIED])
    assert sign["action"].tolist() == ["access_denied", "sign_in", "sign_in"]
    assert read_log(trail, actions=audit.UPLOAD)["target"].tolist() == ["a.csv"]  # one name
    assert len(read_log(trail, actions=[])) == 6  # empty: all
    both = read_log(trail, actor="bob@example.com", actions=[audit.SIGN_IN])
    assert both[["actor", "action"]].values.tolist() == [["bob@example.com", "sign_in"]]
    assert read_log(trail, actions=[audit.DATA_RESET]).empty


@pytest.mark.parametrize("actions", [[audit.SIGN_IN, "drop_table"], [None], [["sign_in"]]])
def test_read_log_refuses_an_unknown_action(trail, actions):
    with pytest.raises(ValueError, match="unknown audit action"):
        read_log(trail, actions=actions)


def test_read_log_since(trail):
    day2 = T0 + timedelta(days=1)
    assert read_log(trail, since=day2)["actor"].tolist() == [
        "ana@example.com",
        "os:carol",
        "bob@example.com",
        "bob@example.com",
    ]
    assert len(read_log(trail, since=day2 + timedelta(microseconds=1))) == 2
    # an aware time is converted to UTC: 13:00 at UTC+1 is 12:00 UTC
    aware = (T0 + timedelta(days=1, hours=1)).replace(tzinfo=timezone(timedelta(hours=1)))
    assert len(read_log(trail, since=aware)) == 4
    assert len(read_log(trail, since=day2.replace(tzinfo=UTC))) == 4
    # a date is its midnight (UTC)
    assert len(read_log(trail, since=date(2025, 3, 3))) == 2
    assert read_log(trail, since=T0 + timedelta(days=30)).empty
    assert len(read_log(trail, since=day2, actor="bob@example.com", limit=1)) == 1


def test_read_log_refuses_a_since_that_is_no_time(trail):
    with pytest.raises(ValueError, match="since must be a datetime"):
        read_log(trail, since="2025-03-01")


def test_read_log_on_a_read_only_store(tmp_path, clock):
    path = tmp_path / "ro.duckdb"
    with Store.open(path) as store:
        record(store, actor="a@b.io", action=audit.SIGN_OUT)
    with Store.open(path, read_only=True) as store:
        assert read_log(store)["action"].tolist() == ["sign_out"]


# -- log_csv ---------------------------------------------------------------------------------


def test_log_csv_neutralises_formulas_and_round_trips(trail):
    record(
        trail,
        actor='=HYPERLINK("http://x","y")',
        action=audit.UPLOAD,
        target="+cmd|' /C calc'!A0",
        detail='@SUM(1+1)\n=1+1, "quoted"',
    )
    record(trail, actor="-2+3", action=audit.UPLOAD, target="-5", detail="ok, fine")
    log = read_log(trail)
    data = log_csv(log)
    assert data.startswith(b'"at","actor","role","source","action","target","detail"\n')
    back = pd.read_csv(io.BytesIO(data), keep_default_na=False, dtype=str)
    assert back.columns.tolist() == list(COLUMNS)
    first, second = back.iloc[0], back.iloc[1]
    assert first["actor"] == "'-2+3" and first["target"] == "-5"  # a plain number stays
    assert first["detail"] == "ok, fine"
    assert second["actor"] == '\'=HYPERLINK("http://x","y")'
    assert second["target"] == "'+cmd|' /C calc'!A0"
    assert second["detail"] == "'@SUM(1+1)\n'=1+1, \"quoted\""
    for cell in back.to_numpy().ravel():
        assert not cell.startswith(("=", "+", "@")) or cell == ""
    # the harmless rows come back as they were written
    rest = back.iloc[2:].reset_index(drop=True)
    expected = log.iloc[2:].reset_index(drop=True).fillna("")
    for column in ("actor", "role", "source", "action", "target", "detail"):
        assert rest[column].tolist() == expected[column].tolist(), column
    assert pd.to_datetime(rest["at"]).tolist() == expected["at"].tolist()
    assert log_csv(read_log(trail, limit=0)).strip() == (
        b'"at","actor","role","source","action","target","detail"'
    )


# -- os_actor --------------------------------------------------------------------------------


def test_os_actor_is_the_account_of_the_real_user(monkeypatch):
    import pwd

    monkeypatch.setenv("USER", "someone-else")  # $USER can be set to anything
    assert os_actor() == f"os:{pwd.getpwuid(os.getuid()).pw_name}"


def test_os_actor_without_a_passwd_entry(monkeypatch):
    import getpass
    import pwd

    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    monkeypatch.setattr(getpass, "getuser", lambda: "  build\n bot ")
    assert os_actor() == "os:build bot"  # white space collapsed
    monkeypatch.setattr(getpass, "getuser", lambda: "x" * 500)
    assert os_actor() == "os:" + "x" * 200

    def no_name():
        raise OSError("no user name")

    monkeypatch.setattr(getpass, "getuser", no_name)
    assert os_actor() == f"os:uid={os.getuid()}"


def test_os_actor_is_a_valid_actor(tmp_store):
    record(tmp_store, actor=os_actor(), action=audit.DEMO, source="cli")
    assert read_log(tmp_store)["actor"].tolist() == [os_actor()]
    assert os_actor().startswith("os:") and len(os_actor()) > 3
