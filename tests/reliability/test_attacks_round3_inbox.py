"""Round 3 (issue #12), inbox side: a forged heartbeat, claimed file hashes, entity-shard
values. Each test is an attack on the inbox that anyone who can write beside the database
can mount; the expected behaviour is in its docstring."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from data.heartbeat import MAX_POLL_SECONDS, running_dashboard
from data.inbox import hand_to_inbox, import_inbox
from data.ingest import ingest_files
from data.paths import inbox_dir
from data.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "app.duckdb")
    try:
        yield s
    finally:
        s.close()


def _beat(db: Path, **beat: object) -> None:
    inbox_dir(db).mkdir(parents=True, exist_ok=True)
    (inbox_dir(db) / ".app-heartbeat").write_text(json.dumps(beat), encoding="utf-8")


# -- a forged heartbeat -------------------------------------------------------------------


@pytest.mark.parametrize("every", [1e9, 1e308, MAX_POLL_SECONDS * 2, 0, -5, True])
def test_a_heartbeat_with_an_interval_the_app_never_polls_at_is_not_a_dashboard(
    tmp_path: Path, every: object
) -> None:
    """A heartbeat three hours old that claims a poll every 10⁹ seconds, written with the
    pid of the process that holds the database, made ``running_dashboard`` name that
    process (``python -m data ingest`` / ``model tag`` then said "handed to the running
    dashboard" when no dashboard was there). An interval over the app's own maximum
    (``MAX_POLL_SECONDS``), zero, negative or a boolean is not believed."""
    db = tmp_path / "app.duckdb"
    _beat(db, pid=os.getpid(), time=time.time() - 3 * 3600, every=every)
    assert running_dashboard(db, lock_pid=os.getpid()) is None


def test_a_heartbeat_from_the_future_is_not_a_dashboard(tmp_path: Path) -> None:
    """A heartbeat dated a day ahead would stay "fresh" for a day."""
    db = tmp_path / "app.duckdb"
    _beat(db, pid=os.getpid(), time=time.time() + 86_400, every=5.0)
    assert running_dashboard(db, lock_pid=os.getpid()) is None


def test_a_real_heartbeat_still_names_the_dashboard(tmp_path: Path) -> None:
    from data.heartbeat import write_heartbeat

    db = tmp_path / "app.duckdb"
    write_heartbeat(db, MAX_POLL_SECONDS)
    assert running_dashboard(db, lock_pid=os.getpid()) == os.getpid()


def test_the_poller_interval_is_capped_to_what_the_command_lines_believe(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard.jobs import InboxPoller

    monkeypatch.setenv("PRICEWAR_INBOX_SECONDS", "86400")
    assert InboxPoller(store).every == MAX_POLL_SECONDS


# -- claimed file hashes ----------------------------------------------------------------


def test_a_handed_file_whose_source_is_gone_is_imported_under_its_own_hash(
    store: Store, tmp_path: Path
) -> None:
    """The claim of a handed file cannot be checked once its source is deleted: its rows
    are imported, recorded under a hash of the entry itself, and a later direct upload of
    the same source is imported (its tickets are known already), never skipped by the
    claim."""
    source = tmp_path / "t.csv"
    source.write_text("text\nfirst\nsecond\n", encoding="utf-8")
    claimed = hashlib.sha256(source.read_bytes()).hexdigest()
    hand_to_inbox(store.path, [source])
    moved = source.rename(tmp_path / "t-later.csv")
    assert import_inbox(store) == ["t.csv: 2 rows, 2 new tickets"]
    recorded = store.scalar("SELECT any_value(file_hash) FROM ingested_files")
    assert recorded != claimed
    [report] = ingest_files(store, [moved])
    assert not report.already_ingested and report.file_hash == claimed
    assert store.scalar("SELECT count(*) FROM tickets") == 2


def test_a_decoy_naming_a_real_source_imports_the_source_not_its_own_rows(
    store: Store, tmp_path: Path
) -> None:
    """A decoy entry whose note names a real file (with that file's true hash) cannot get
    its own rows recorded under that hash: the app stages the named file itself, so what is
    recorded as "ingested before" holds exactly that file's tickets."""
    from tests.reliability.test_inbox_hardening import _hand_made, _staged_table

    victim = tmp_path / "march_export.csv"
    victim.write_text("text\nrefund please\nlogin fails\n", encoding="utf-8")
    digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    inbox = inbox_dir(store.path)
    inbox.mkdir(parents=True, exist_ok=True)
    decoy = _hand_made(inbox / "decoy.parquet", _staged_table(["hello"]), name="decoy.csv")
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(decoy).schema_arrow.metadata
    pq.write_table(
        pq.read_table(decoy).replace_schema_metadata(
            {**meta, b"pricewar.file_hash": digest.encode()}
        ),
        decoy,
    )
    (inbox / ".decoy.source.json").write_text(
        json.dumps({"path": str(victim), "file_hash": digest}), encoding="utf-8"
    )
    import_inbox(store)
    stored = {text for (text,) in store.fetchall("SELECT text FROM tickets")}
    assert stored == {"refund please", "login fails"}, stored
    assert not (inbox / ".decoy.source.json").exists()


# -- entity-shard values ----------------------------------------------------------------


@pytest.mark.parametrize("case", ["label_lowercase_html", "model_id_50k", "score_above_one"])
def test_a_bad_entity_shard_is_refused_by_file_row_and_column(
    store: Store, tmp_path: Path, case: str
) -> None:
    from data import entity_shards as es
    from data.shard_loading import load_entity_shards

    source = tmp_path / "t.csv"
    source.write_text("text\nrefund please\n", encoding="utf-8")
    ingest_files(store, [source])
    key = store.scalar("SELECT ticket_key FROM tickets")
    model = "m" * 50_000 if case == "model_id_50k" else "model-a"
    folder = tmp_path / "shards"
    es.check_folder_model(folder, model)
    row: dict[str, object] = {
        "ticket_key": key,
        "model_id": model,
        "start": 0,
        "end": 6,
        "label": "ORG",
        "text": "refund",
        "score": 0.9,
    }
    if case == "label_lowercase_html":
        row["label"] = "<b>"
    if case == "score_above_one":
        row["score"] = 1.5
    entities = pa.Table.from_pylist([row], schema=es.ENTITY_SCHEMA)
    tagged = pa.Table.from_pylist(
        [{"ticket_key": key, "row": 1, "source_id": None}], schema=es.TAGGED_SCHEMA
    )
    paths = es.write_shard(folder, "x", entities, tagged, {"model_id": model})
    with pytest.raises(es.EntityShardError) as raised:
        load_entity_shards(store, folder)
    message = str(raised.value)
    if case == "model_id_50k":
        assert "model_id" in message and len(message) < 1000
    else:
        column = "label" if case == "label_lowercase_html" else "score"
        assert str(paths.entities) in message and "row 1" in message and column in message
    assert store.scalar("SELECT count(*) FROM entities") == 0
    assert store.scalar("SELECT count(*) FROM tagged_tickets") == 0


def test_a_good_entity_shard_still_loads(store: Store, tmp_path: Path) -> None:
    from data import entity_shards as es
    from data.shard_loading import load_entity_shards

    source = tmp_path / "t.csv"
    source.write_text("text\nrefund please\n", encoding="utf-8")
    ingest_files(store, [source])
    key = store.scalar("SELECT ticket_key FROM tickets")
    folder = tmp_path / "shards"
    es.check_folder_model(folder, "model-a")
    entities = pa.Table.from_pylist(
        [
            {
                "ticket_key": key,
                "model_id": "model-a",
                "start": 7,
                "end": 13,
                "label": "PRODUCT",
                "text": "please",
                "score": 1.0,
            }
        ],
        schema=es.ENTITY_SCHEMA,
    )
    tagged = pa.Table.from_pylist(
        [{"ticket_key": key, "row": 1, "source_id": None}], schema=es.TAGGED_SCHEMA
    )
    es.write_shard(folder, "x", entities, tagged, {"model_id": "model-a"})
    assert load_entity_shards(store, folder).new_entities == 1
