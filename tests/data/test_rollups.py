"""Roll-up tables (data.rollups): the pages' answers are the same from the roll-ups as from
the base tables, and every writer keeps them equal to a full rebuild, in its transaction."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from analytics import explore
from analytics.explore import Filters
from data import rollup_series, rollup_tables, rollup_upkeep, rollups
from data.cli import main as data_main
from data.ingest import ingest_files
from data.migrations import LATEST_VERSION, MIGRATIONS
from data.reset import reset_batch, reset_model
from data.store import Store
from model.jobs import tag_store
from tests.conftest import open_copy, tag_a_copy

MODEL = "gold-test"
LABELS = ("PER", "ORG", "PRODUCT", "LOC")


class _Entity(NamedTuple):
    start: int
    end: int
    label: str
    text: str
    score: float


class GoldTagger:
    """Tags a ticket with its gold spans; every third ticket's spellings in upper case (so
    entities have several spellings, within a ticket too)."""

    model_id = MODEL
    device = "cpu"

    def __init__(self, store: Store) -> None:
        rows = store.fetchall(
            'SELECT t.text, g.start, g."end", g.label, g.text FROM gold_entities g'
            " JOIN tickets t USING (ticket_key) ORDER BY t.text, g.start"
        )
        self.spans: dict[str, list[_Entity]] = {}
        for i, (text, start, end, label, span) in enumerate(rows):
            shown = span.upper() if i % 3 == 0 else span
            self.spans.setdefault(text, []).append(_Entity(start, end, label, shown, 0.9))

    def tag(self, texts: list[str], batch_size: int = 32) -> list[list[_Entity]]:
        return [self.spans.get(t, []) for t in texts]


#: The tables of the mention part (:data:`data.rollup_tables.MENTIONS`).
_MENTION_NAMES = {t.name for t in rollup_tables.MENTION_TABLES} | {
    rollup_series.SERIES_TABLE,
    "entity_names",
}
#: Tables kept beside :data:`data.rollup_tables.TABLES`: their key columns.
_DERIVED = {
    rollup_series.SERIES_TABLE: ["model_id", "entities", "freq", "period", "dim", "value"],
    "entity_names": ["text", "label"],
}


def _snapshot(store: Store) -> dict[str, pd.DataFrame]:
    """Every roll-up table (the derived series and the entity names too), sorted, index
    reset."""
    out = {}
    tables = [(t.name, list(t.groups)) for t in rollup_tables.TABLES] + list(_DERIVED.items())
    for name, groups in tables:
        df = store.query(
            f"SELECT * FROM {name}"
            + (
                # names only grow (a removed text's row is harmless): those of present texts
                " n WHERE (n.text, n.label) IN (SELECT (text, label) FROM entities UNION"
                " SELECT (text, label) FROM gold_entities)"
                if name == "entity_names"
                else ""
            )
        )
        out[name] = df.sort_values(groups, na_position="first").reset_index(drop=True)
    return out


def _assert_same_rollups(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=False, rtol=1e-12, obj=name)


def _assert_equals_rebuild(store: Store) -> None:
    """The roll-ups as the writers left them equal a rebuild, and are marked fresh."""
    assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS)
    incremental = _snapshot(store)
    rollups.rebuild_rollups(store)
    _assert_same_rollups(incremental, _snapshot(store))


@pytest.fixture(scope="module")
def tagged_db(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session demo database with every ticket tagged by :class:`GoldTagger` (through
    ``model.jobs.tag_store``: the roll-ups are maintained batch by batch)."""
    return tag_a_copy(
        demo_db_path, tmp_path_factory.mktemp("rollups") / "tagged.duckdb", GoldTagger
    )


@pytest.fixture
def tagged_store(tagged_db: Path, tmp_path: Path) -> Iterator[Store]:
    """A writable copy of :func:`tagged_db`."""
    with open_copy(tagged_db, tmp_path) as store:
        yield store


FILTERS = [
    Filters(),
    Filters(start=dt.date(2025, 9, 1), end=dt.date(2026, 8, 31)),  # whole months
    Filters(start=dt.date(2025, 8, 2), end=dt.date(2026, 8, 15)),  # partial edge months
    Filters(start=dt.date(2025, 3, 5), end=dt.date(2025, 3, 20)),  # inside one month
    Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30), segments=("smb",)),
    Filters(
        start=dt.date(2024, 10, 15),
        end=dt.date(2026, 2, 28),
        plans=("Pro",),
        regions=("Europe", "North America"),
    ),
    Filters(end=dt.date(2025, 6, 10)),
    Filters(start=dt.date(2025, 6, 10)),
]

CALLS = {
    "kpis": lambda s, f: explore.kpis(s, f),
    **{
        f"ticket_volume_{by}_{grain}": (
            lambda s, f, by=by, grain=grain: explore.ticket_volume(s, f, by=by, grain=grain)
        )
        for by in explore.GROUPS_TICKETS
        for grain in ("month", "week")
    },
    "ticket_volume_segment_day": lambda s, f: explore.ticket_volume(
        s, f, by="segment", grain="day"
    ),
    **{
        f"usage_volume_{by}": (lambda s, f, by=by: explore.usage_volume(s, f, by=by))
        for by in explore.GROUPS_USAGE
    },
    "cost_to_serve": lambda s, f: explore.cost_to_serve(s, f),
    "top_entities": lambda s, f: explore.top_entities(s, f, MODEL, labels=LABELS, limit=8),
    "top_entities_org": lambda s, f: explore.top_entities(s, f, MODEL, labels=("ORG",), limit=3),
    "top_entities_all": lambda s, f: explore.top_entities(s, f, MODEL, limit=50),
    "entity_trends": lambda s, f: explore.entity_trends(s, f, MODEL, labels=LABELS, top=6),
    "entity_trends_per": lambda s, f: explore.entity_trends(s, f, MODEL, labels=("PER",), top=3),
    "competitor_mentions": lambda s, f: explore.competitor_mentions(s, f, MODEL),
    "competitor_mentions_aliases": lambda s, f: explore.competitor_mentions(
        s, f, MODEL, aliases={"openai": "OpenAI", "GPT-4O": "OpenAI", "gemini": "Google"}
    ),
    "date_bounds": lambda s, f: explore.date_bounds(s),
    "filter_options": lambda s, f: explore.filter_options(s),
    "tagging_progress": lambda s, f: explore.tagging_progress(s, MODEL),
}


def _same(a: object, b: object) -> None:
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
    else:
        assert a == b


def _compare_both_ways(store: Store, filters: list[Filters]) -> None:
    for f in filters:
        for name, call in CALLS.items():
            from_rollups = call(store, f)
            with explore.base_tables():
                from_base = call(store, f)
            try:
                _same(from_rollups, from_base)
            except AssertionError as exc:
                raise AssertionError(f"{name} with {f}: {exc}") from None


def test_every_query_is_the_same_from_rollups_and_base_tables(tagged_db: Path) -> None:
    with Store.open(tagged_db, read_only=True) as store:
        assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS)
        assert explore.tagging_progress(store, MODEL) == (2000, 2000)
        # the test data exercise what the roll-ups must get right
        assert not explore.top_entities(store, Filters(), MODEL).empty
        assert not explore.competitor_mentions(store, Filters(), MODEL).empty
        assert (
            store.scalar(
                "SELECT count(*) FROM (SELECT label, key FROM rollup_entity_months"
                " GROUP BY ALL HAVING count(DISTINCT text) > 1)"
            )
            > 10
        )
        _compare_both_ways(store, FILTERS)


def test_roll_ups_are_smaller_than_the_base_tables(tagged_db: Path) -> None:
    with Store.open(tagged_db, read_only=True) as store:
        counts = store.table_counts()
    assert counts["rollup_entity_months"] < counts["entities"]
    assert counts["rollup_usage_months"] < counts["usage"]


def test_tagging_batch_by_batch_equals_a_rebuild(tagged_store: Store) -> None:
    _assert_equals_rebuild(tagged_store)


def test_ingest_then_tagging_then_resets_each_equal_a_rebuild(
    tagged_store: Store, tmp_path: Path
) -> None:
    store = tagged_store
    rows = ["id,customer_id,created_at,channel,category,resolved_by,text"]
    for i in range(40):
        customer = (
            "nobody-known"
            if i % 7 == 0
            else store.scalar(
                "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 1 OFFSET ?", [i]
            )
        )
        created = "" if i % 11 == 0 else f"2025-0{1 + i % 9}-{10 + i % 18}T10:00:00"
        rows.append(
            f"n{i},{customer},{created},{'chat' if i % 2 else ''},billing,"
            f"{'ai' if i % 3 else 'human'},OpenAI and Gemini keep cutting prices {i}"
        )
    rows.append(rows[5])  # a row repeated inside the file
    path = tmp_path / "new.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    [report] = ingest_files(store, [path])
    assert report.new_tickets == 40
    _assert_equals_rebuild(store)
    _compare_both_ways(store, FILTERS[:3])

    # tag a few of the new tickets (the job tags only what is pending)
    tagger = GoldTagger(store)
    tagger.spans.update(
        {
            f"OpenAI and Gemini keep cutting prices {i}": [
                _Entity(0, 6, "ORG", "OpenAI", 0.9),
                _Entity(11, 17, "PRODUCT", "Gemini", 0.8),
            ]
            for i in range(40)
        }
    )
    summary = tag_store(store, tagger, batch_size=4)
    assert summary.tickets == 40
    _assert_equals_rebuild(store)
    _compare_both_ways(store, FILTERS[:3])

    reset_batch(store, "new.csv", actor="test@example.com")
    _assert_equals_rebuild(store)
    _compare_both_ways(store, FILTERS[:3])

    reset_model(store, MODEL, actor="test@example.com")
    assert store.scalar("SELECT count(*) FROM rollup_entity_months") == 0
    _assert_equals_rebuild(store)


def test_a_crash_mid_transaction_rolls_back_base_and_rollups(
    tagged_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tagged_store
    before = _snapshot(store)
    counts = store.table_counts()

    # a tagging batch that fails after its rows and roll-ups were written
    def broken(conn) -> None:
        key = conn.execute("SELECT ticket_key FROM tickets LIMIT 1").fetchone()[0]
        with rollup_upkeep.maintained(
            conn, "SELECT ? AS ticket_key", [key], parts=(rollup_tables.TAGS,), model_id="other"
        ):
            conn.execute("INSERT INTO entities VALUES (?, 'other', 0, 3, 'ORG', 'Foo', 1.0)", [key])
            conn.execute(
                "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
                " VALUES (?, 'other', 'r')",
                [key],
            )
        assert (
            conn.execute(
                "SELECT count(*) FROM rollup_entity_months WHERE model_id = 'other'"
            ).fetchone()[0]
            == 1
        )
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        store.write(broken)

    # an ingest whose roll-up maintenance fails half-way
    real_merge = rollup_upkeep._merge
    merged: list[str] = []

    def failing_merge(conn, table, *args) -> None:
        real_merge(conn, table, *args)
        merged.append(table.name)
        if len(merged) == 2:
            raise RuntimeError("disk gone")

    monkeypatch.setattr(rollup_upkeep, "_merge", failing_merge)
    path = tmp_path / "crash.csv"
    path.write_text("text,created_at\nA new ticket,2025-05-05\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk gone"):
        ingest_files(store, [path])
    monkeypatch.setattr(rollup_upkeep, "_merge", real_merge)

    assert store.table_counts() == counts
    _assert_same_rollups(before, _snapshot(store))
    _assert_equals_rebuild(store)


def test_a_write_that_bypasses_them_makes_readers_use_the_base_tables(tagged_store: Store) -> None:
    store = tagged_store
    store.execute_write(
        "INSERT INTO tickets (ticket_key, customer_id, created_at, channel, text, source)"
        " SELECT 'raw-1', customer_id, TIMESTAMP '2025-10-03 09:00', 'fax', 'raw', 'raw'"
        " FROM customers LIMIT 1"
    )
    fresh = rollups.fresh_parts(store.cursor())
    assert rollup_tables.TICKETS not in fresh and rollup_tables.TAGS not in fresh
    assert rollup_tables.USAGE in fresh
    month = Filters(start=dt.date(2025, 10, 1), end=dt.date(2025, 10, 31))
    volume = explore.ticket_volume(store, month, by="channel")
    assert "fax" in set(volume["group"])  # answered from the base tables
    _compare_both_ways(store, [month])
    rollups.rebuild_rollups(store)
    assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS)
    _compare_both_ways(store, [month])


def test_an_older_store_gets_its_rollups_on_upgrade(tagged_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    shutil.copy(tagged_db, path)
    with Store.open(path) as store:
        expected = _snapshot(store)

        def downgrade(conn) -> None:
            # every roll-up table and its state: what a store of schema version 3 lacks
            for table in [
                *(t.name for t in rollup_tables.TABLES),
                "rollup_state",
                "entity_names",
                rollup_series.SERIES_TABLE,
                "rollup_name_state",
            ]:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute("DELETE FROM schema_version WHERE version >= 4")

        store.write(downgrade)
        assert store.scalar("SELECT max(version) FROM schema_version") == 3
    with Store.open(path, read_only=True) as old:  # not migrated: the base tables answer
        assert rollups.fresh_parts(old.cursor()) == frozenset()
        assert not explore.top_entities(old, Filters(), MODEL).empty
    with Store.open(path) as store:
        assert (
            store.scalar("SELECT max(version) FROM schema_version")
            == LATEST_VERSION
            == max(MIGRATIONS)
        )
        # the mention roll-ups need the (Python) competitor matcher: stale until a rebuild
        assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS) - {
            rollup_tables.MENTIONS
        }
        assert not rollups.mentions_fresh(store.cursor())
        kept = {n: df for n, df in expected.items() if n not in _MENTION_NAMES}
        _assert_same_rollups(kept, {n: df for n, df in _snapshot(store).items() if n in kept})
        rollups.rebuild_rollups(store)
        assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS)
        _assert_same_rollups(expected, _snapshot(store))


def test_the_rollups_command_rebuilds_them(
    tagged_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cmd.duckdb"
    shutil.copy(tagged_db, path)
    with Store.open(path) as store:
        expected = _snapshot(store)
        store.execute_write("DELETE FROM rollup_entity_months")
    assert data_main(["rollups", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "roll-ups rebuilt" in out and "rollup_entity_months" in out
    with Store.open(path, read_only=True) as store:
        _assert_same_rollups(expected, _snapshot(store))

    assert data_main(["rollups", "--db", str(tmp_path / "missing.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no database at" in err
    assert not (tmp_path / "missing.duckdb").exists()


# -- the ticket list: the newest days first ---------------------------------------------


def _ticket_lists(store: Store) -> dict[str, pd.DataFrame]:
    """Ticket lists of the Entities page: picked entities (with and without their label),
    text searches, both together, a batch; long and short lists; each filter."""
    top = explore.top_entities(store, Filters(), MODEL, labels=LABELS, limit=3)
    picks = [(r.entity, r.label) for r in top.itertuples()] + [(top.iloc[0]["entity"], None)]
    picks.append(("no such entity", "ORG"))
    cases: dict[str, dict] = {}
    for entity, label in picks:
        cases[f"entity {entity} {label}"] = {"entity": entity.upper(), "label": label}
        cases[f"entity {entity} {label} + search"] = {
            "entity": entity,
            "label": label,
            "search": "the",
        }
    for word in ("price", "INVOICE", "no such words", "%_"):
        cases[f"search {word}"] = {"search": word}
    cases["batch"] = {"sources": ("demo",)}
    cases["all"] = {}
    out = {}
    for f in FILTERS:
        for name, kwargs in cases.items():
            for limit in (1, 7, 5000):
                df = explore.ticket_list(store, f, MODEL, limit=limit, **kwargs)
                out[f"{name} limit {limit} {f}"] = df.assign(entities=df["entities"].map(repr))
    return out


def test_the_ticket_list_is_the_same_from_the_newest_days_and_the_whole_period(
    tagged_db: Path,
) -> None:
    """The list looks for the newest matches in the newest days first (windows from the
    roll-ups' counts), and lists the same tickets in the same order as one query over the
    whole period (the base tables: no window)."""
    with Store.open(tagged_db, read_only=True) as store:
        windowed = _ticket_lists(store)
        with explore.base_tables():
            whole = _ticket_lists(store)
    assert windowed.keys() == whole.keys()
    assert sum(len(df) for df in windowed.values()) > 10_000
    for name, df in windowed.items():
        pd.testing.assert_frame_equal(df, whole[name], obj=name)


def test_a_picked_entity_lists_the_newest_days_only(
    tagged_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Picking an entity (and searching its tickets) reads the tickets of the newest days
    that hold enough of its mentions, not every ticket: one listing query, bounded by a day
    well after the first ticket's."""
    listed: list[list] = []
    real_fetchall, real_query = Store.fetchall, Store.query

    def record(sql: str, params: object) -> None:
        if "FROM tickets t" in sql and "LIMIT ?" in sql:  # the newest matching tickets
            listed.append(list(params or []))

    def fetchall(self: Store, sql: str, params: object = None) -> list[tuple]:
        record(sql, params)
        return real_fetchall(self, sql, params)

    def query(self: Store, sql: str, params: object = None) -> pd.DataFrame:
        record(sql, params)
        return real_query(self, sql, params)

    monkeypatch.setattr(Store, "fetchall", fetchall)
    monkeypatch.setattr(Store, "query", query)
    with Store.open(tagged_db, read_only=True) as store:
        first = store.scalar("SELECT min(created_at) FROM tickets")
        [top] = explore.top_entities(store, Filters(), MODEL, labels=("ORG",), limit=1).itertuples()
        for search, limit in ((None, 5), ("the", 1)):
            listed.clear()
            got = explore.ticket_list(
                store, Filters(), MODEL, entity=top.entity, label="ORG", search=search, limit=limit
            )
            assert len(got) == limit
            [params] = listed
            [since] = [p for p in params if isinstance(p, dt.datetime)]
            assert since > first + dt.timedelta(days=180)


def _record_entity_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list]]:
    """Every statement reading the ``entities`` table (SQL, parameters), as it runs."""
    reads: list[tuple[str, list]] = []
    real_fetchall, real_query = Store.fetchall, Store.query

    def fetchall(self: Store, sql: str, params: object = None) -> list[tuple]:
        if "FROM entities" in sql:
            reads.append((sql, list(params or [])))
        return real_fetchall(self, sql, params)

    def query(self: Store, sql: str, params: object = None) -> pd.DataFrame:
        if "FROM entities" in sql:
            reads.append((sql, list(params or [])))
        return real_query(self, sql, params)

    monkeypatch.setattr(Store, "fetchall", fetchall)
    monkeypatch.setattr(Store, "query", query)
    return reads


def _rewrite_entities(store: Store, order: str, params: list | None = None) -> None:
    """Write the entity rows again in the order ``order`` of ``entities e JOIN tickets t``
    (``t.created_at``: as ``data demo`` writes them); the row counts, so the roll-ups'
    freshness, stay."""
    for sql, args in (
        (
            "CREATE TABLE reordered AS SELECT e.* FROM entities e JOIN tickets t"
            f" USING (ticket_key) ORDER BY {order}, e.ticket_key, e.start",
            params,
        ),
        ("DELETE FROM entities", None),
        ("INSERT INTO entities SELECT * FROM reordered", None),  # insertion order kept
        ("DROP TABLE reordered", None),
    ):
        store.execute_write(sql, args)
    assert rollup_tables.TAGS in rollups.fresh_parts(store.cursor())


def test_a_picked_entity_reads_the_entity_rows_of_its_newest_months_only(
    tagged_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With entity rows in ticket order (as ``data demo`` writes them), picking an entity
    (and searching its tickets) reads the entity rows of the newest months of its mentions
    (from a row well past the first: zone maps skip the others) and looks up the listed
    tickets' entities by key, never the keys of every entity row; the same list as from
    the base tables."""
    _rewrite_entities(tagged_store, "t.created_at")
    rows = tagged_store.scalar("SELECT count(*) FROM entities")
    [top] = explore.top_entities(
        tagged_store, Filters(), MODEL, labels=("ORG",), limit=1
    ).itertuples()
    for search, limit in ((None, 5), ("the", 1), ("the", 20)):
        reads = _record_entity_reads(monkeypatch)
        kwargs = {"entity": top.entity, "label": "ORG", "search": search, "limit": limit}
        got = explore.ticket_list(tagged_store, Filters(), MODEL, **kwargs)
        monkeypatch.undo()
        assert len(got) == limit
        scans = [params for sql, params in reads if "x.rowid >= ?" in sql]
        assert scans, "the entity rows of the newest months are read"
        assert all(params[0] > rows // 2 for params in scans)
        others = [sql for sql, _ in reads if "x.rowid >= ?" not in sql and "count(*)" not in sql]
        # the rest: the entities of a few tickets, by key (the index)
        assert all("ticket_key IN (?" in sql for sql in others), others
        with explore.base_tables():
            whole = explore.ticket_list(tagged_store, Filters(), MODEL, **kwargs)
        pd.testing.assert_frame_equal(got, whole)


@pytest.mark.parametrize("order", ["newest first", "one ticket first"])
def test_entity_rows_out_of_ticket_order_list_the_same_tickets(
    tagged_store: Store, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    """Entity rows out of ticket order, all of them (newest ticket first) or one ticket's
    (the newest mentioning the entity, written first: the rows of the newest months miss
    it, and their count falls short of the roll-up's): the list is the same as from the
    base tables all the same."""
    [top] = explore.top_entities(
        tagged_store, Filters(), MODEL, labels=("ORG",), limit=1
    ).itertuples()
    moved = tagged_store.scalar(
        "SELECT e.ticket_key FROM entities e JOIN tickets t USING (ticket_key)"
        " WHERE e.model_id = ? AND lower(e.text) = lower(?) AND e.label = 'ORG'"
        " ORDER BY t.created_at DESC LIMIT 1",
        [MODEL, top.entity],
    )
    if order == "newest first":
        _rewrite_entities(tagged_store, "t.created_at DESC")
    else:
        _rewrite_entities(tagged_store, "t.ticket_key = ? DESC, t.created_at", [moved])
    reads = _record_entity_reads(monkeypatch)
    for f in FILTERS[:3]:
        for search in (None, "the"):
            kwargs = {"entity": top.entity, "label": "ORG", "search": search, "limit": 7}
            got = explore.ticket_list(tagged_store, f, MODEL, **kwargs)
            with explore.base_tables():
                whole = explore.ticket_list(tagged_store, f, MODEL, **kwargs)
            pd.testing.assert_frame_equal(got, whole)
            if f == Filters() and search is None:
                assert got["ticket_key"].iloc[0] == moved
    if order == "one ticket first":  # the newest months' rows were read, and not used
        assert any("x.rowid >= ?" in sql for sql, _ in reads)
