"""Entity-shard folders (tagging done on Ray) and loading them into the store; the keyed
reader whose keys must equal ingest's. No Ray here: shards are written with the module's
own writer (the Ray path is tested in tests/model/test_ray_engine.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.explore import current_model_id, tagging_progress
from data import entity_shards
from data.cli import main
from data.entity_shards import (
    ENTITY_SCHEMA,
    EntityShardError,
    check_folder_model,
    shard_name,
    shard_paths,
    write_shard,
)
from data.errors import IngestError
from data.ingest import ingest_files
from data.keyed_tickets import keyed_ticket_chunks
from data.rollups import rebuild_rollups
from data.shard_loading import load_entity_shards
from data.store import Store
from tests.data.test_rollups import _assert_equals_rebuild
from tests.data.test_store import held_db  # noqa: F401 - fixture

MODEL = "shardtest-0123456789ab"
CSV = (
    "id,text,created_at,customer,subject\n"
    "1,Moving from OpenAI to you,2026-01-02,acme,Hi\n"
    " 2 ,Berlin office needs invoices,2026-01-03 10:00:00,,x\n"
    '3,"Quoted, with comma""s",2026-02-01T08:30:00Z,globex,\n'
)


def keyed(path: Path, **kw) -> dict[str, list]:
    return pa.concat_tables(list(keyed_ticket_chunks(path, **kw))).to_pydict()


def store_keys(tmp_path: Path, *files: Path) -> set[str]:
    with Store.open(tmp_path / "keys.duckdb") as store:
        reports = ingest_files(store, list(files))
        assert all(r.accepted for r in reports), [r.message for r in reports]
        return {r[0] for r in store.fetchall("SELECT ticket_key FROM tickets")}


def test_keys_equal_the_keys_ingest_stores(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv.gz"
    csv.write_bytes(gzip.compress(CSV.encode()))
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text(
        '{"ticket_id": 7, "body": "Azure in Paris"}\n\n'
        '{"ticket_id": 8, "body": "Jane at Acme", "date": "2026-03-04"}\n'
    )
    parquet = tmp_path / "t.parquet"
    pd.DataFrame(
        {
            "id": ["a", "b"],
            "text": ["one ticket", "another ticket"],
            "created_at": pd.to_datetime(
                ["2026-01-01 10:00:00", "2026-01-02 11:30:15.5"], format="ISO8601"
            ),
        }
    ).to_parquet(parquet)
    rows = [keyed(csv), keyed(jsonl), keyed(parquet)]
    assert {k for r in rows for k in r["ticket_key"]} == store_keys(tmp_path, csv, jsonl, parquet)
    assert all(p is None for r in rows for p in r["problem"])
    assert keyed(jsonl)["row"] == [1, 3]  # JSONL rows are line numbers, as in ingest
    assert keyed(csv)["source_id"] == ["1", "2", "3"]


def test_bad_rows_come_back_located_not_dropped(tmp_path: Path) -> None:
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text(
        '{"id": 1, "text": "fine"}\n{"id": 2, "text": "   "}\n'
        '{"id": 3, "text": null}\n{"id": 4, "text": 42}\n{"id": 5}\n'
    )
    rows = keyed(jsonl)
    assert rows["row"] == [1, 2, 3, 4, 5]
    # JSON scalars are text to ingest's reader ("42"), so rows 2, 3 and 5 are the bad ones
    assert rows["problem"] == [None, "empty text", "missing text", None, "missing text"]
    assert rows["column"] == [None, "text", "text", None, "text"]
    assert rows["text"] == ["fine", None, None, "42", None]
    typed = tmp_path / "typed.parquet"
    pd.DataFrame({"text": [1, 2]}).to_parquet(typed)
    assert keyed(typed)["problem"] == ["text is not a string (int)"] * 2


def test_named_columns_and_file_level_errors(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("ref,note,body\nA1,first,the text\n")
    rows = keyed(csv, text_column="note", id_column="ref")
    assert rows["source_id"] == ["A1"] and rows["text"] == ["first"]
    with pytest.raises(IngestError, match="no column 'nope'"):
        keyed(csv, text_column="nope")
    no_text = tmp_path / "n.csv"
    no_text.write_text("a,b\n1,2\n")
    with pytest.raises(IngestError, match="no text column"):
        keyed(no_text)


# -- shard folders -------------------------------------------------------------------------


def make_shard(
    folder: Path,
    source: Path,
    rows: list[tuple[str, int, int, str, str, float]],
    tagged: list[str],
    *,
    model_id: str = MODEL,
    bad: list | None = None,
    moods: list[tuple[str, str, float]] | None = None,
) -> str:
    """Write one shard the way the Ray job does (manifest, entities, tagged, sentiment when
    ``moods`` (key, label, score) are given, marker)."""
    check_folder_model(folder, model_id)
    name = shard_name(source)
    entities = pa.table(
        {
            "ticket_key": [r[0] for r in rows],
            "model_id": [model_id] * len(rows),
            "start": [r[1] for r in rows],
            "end": [r[2] for r in rows],
            "label": [r[3] for r in rows],
            "text": [r[4] for r in rows],
            "score": [r[5] for r in rows],
        },
        schema=ENTITY_SCHEMA,
    )
    listed = pa.table(
        {
            "ticket_key": tagged,
            "row": list(range(1, len(tagged) + 1)),
            "source_id": [None] * len(tagged),
        }
    )
    write_shard(
        folder,
        name,
        entities,
        listed,
        {
            "name": name,
            "input": {"path": str(source)},
            "model_id": model_id,
            "device": "cpu",
            "rows": len(tagged),
            "tagged": len(tagged),
            "entities": len(rows),
            "bad_rows": bad or [],
            "started_at": "2026-11-28T10:00:00",
            "finished_at": "2026-11-28T10:05:00",
        },
        sentiment=None
        if moods is None
        else pa.table(
            {
                "ticket_key": [m[0] for m in moods],
                "model_id": [model_id] * len(moods),
                "label": [m[1] for m in moods],
                "score": [m[2] for m in moods],
            }
        ),
    )
    return name


@pytest.fixture
def ingested(tmp_path: Path) -> tuple[Store, list[str], Path]:
    """A store with the three tickets of CSV ingested; their keys; the CSV's path."""
    csv = tmp_path / "t.csv"
    csv.write_text(CSV)
    store = Store.open(tmp_path / "s.duckdb")
    assert ingest_files(store, [csv])[0].accepted
    keys = keyed(csv)["ticket_key"]
    yield store, keys, csv
    store.close()


def table_rows(store: Store, table: str) -> int:
    return int(store.scalar(f"SELECT count(*) FROM {table}"))


def test_load_counts_tickets_as_tagged_once(ingested, tmp_path: Path) -> None:
    store, keys, csv = ingested
    folder = tmp_path / "shards"
    make_shard(
        folder,
        csv,
        [(keys[0], 12, 18, "ORG", "OpenAI", 0.9876), (keys[1], 0, 6, "LOC", "Berlin", 0.5)],
        [keys[0], keys[1], keys[2], "f" * 32],
        bad=[{"row": 9, "column": "text", "problem": "empty text"}],
    )
    report = load_entity_shards(store, folder)
    assert (
        report.shards,
        report.tickets,
        report.new_tickets,
        report.new_entities,
        report.not_in_store,
        report.bad_rows,
    ) == (1, 4, 3, 2, 1, 1)
    assert "not in the store" in report.message and "could not be tagged" in report.message
    assert store.fetchall(
        'SELECT ticket_key, start, "end", label, text, score FROM entities ORDER BY start'
    ) == [(keys[1], 0, 6, "LOC", "Berlin", 0.5), (keys[0], 12, 18, "ORG", "OpenAI", 0.9876)]
    # the pages count them as tagged by the shards' model
    assert current_model_id(store) == MODEL
    assert tagging_progress(store, MODEL) == (3, 3)
    run = store.fetchall("SELECT model_id, device, status, tickets, entities FROM tagging_runs")
    assert run == [(MODEL, "ray:cpu", "done", 3, 2)]

    again = load_entity_shards(store, folder)  # idempotent: nothing added, no new run
    assert (again.new_tickets, again.new_entities, again.run_id) == (0, 0, None)
    assert "tagged by this model already" in again.message
    assert [table_rows(store, t) for t in ("entities", "tagged_tickets", "tagging_runs")] == [
        2,
        3,
        1,
    ]


def test_tickets_tagged_before_keep_their_entities(ingested, tmp_path: Path) -> None:
    store, keys, csv = ingested
    store.write(
        lambda conn: conn.execute(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id) VALUES (?, ?, 'local')",
            [keys[0], MODEL],
        )
    )
    folder = tmp_path / "shards"
    make_shard(
        folder,
        csv,
        [(keys[0], 0, 6, "ORG", "Moving", 0.1), (keys[2], 0, 6, "ORG", "Quoted", 0.7)],
        keys,
    )
    report = load_entity_shards(store, folder)
    assert (report.new_tickets, report.new_entities) == (2, 1)
    assert store.fetchall("SELECT ticket_key FROM entities") == [(keys[2],)]


def test_incomplete_shards_are_skipped(ingested, tmp_path: Path) -> None:
    store, keys, csv = ingested
    folder = tmp_path / "shards"
    name = make_shard(folder, csv, [(keys[0], 0, 6, "ORG", "Moving", 0.1)], keys)
    shard_paths(folder, name).marker.unlink()  # a job killed before the marker
    report = load_entity_shards(store, folder)
    assert report.shards == 0 and report.incomplete == [f"{name}.parquet"]
    assert "incomplete shards skipped" in report.message
    assert table_rows(store, "entities") == table_rows(store, "tagged_tickets") == 0


def _rewrite(path: Path, change) -> None:
    pq.write_table(change(pq.read_table(path)), path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["score"]), "no column 'score'"),
        (
            lambda t: t.set_column(6, "score", pa.array(["high"] * t.num_rows)),
            "column 'score' is string, expected floating",
        ),
        (
            lambda t: t.append_column("extra", pa.array([1] * t.num_rows)),
            "unexpected column 'extra'",
        ),
        (
            lambda t: t.set_column(4, "label", pa.array([None] * t.num_rows, pa.string())),
            "column 'label' has NULL values",
        ),
        (
            lambda t: t.set_column(1, "model_id", pa.array(["other"] * t.num_rows)),
            "column 'model_id' names another model",
        ),
    ],
)
def test_a_bad_shard_is_named_and_nothing_is_written(
    ingested, tmp_path: Path, change, message: str
) -> None:
    store, keys, csv = ingested
    folder = tmp_path / "shards"
    good = make_shard(folder, tmp_path / "a.csv", [(keys[0], 0, 6, "ORG", "Moving", 0.1)], keys[:1])
    bad = make_shard(folder, csv, [(keys[1], 0, 6, "LOC", "Berlin", 0.5)], keys[1:])
    _rewrite(shard_paths(folder, bad).entities, change)
    with pytest.raises(EntityShardError) as info:
        load_entity_shards(store, folder)
    assert message in str(info.value) and bad in str(info.value)
    assert good not in str(info.value)
    assert table_rows(store, "entities") == table_rows(store, "tagged_tickets") == 0


def test_a_folder_holds_one_model(tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    check_folder_model(folder, MODEL)
    check_folder_model(folder, MODEL)  # the same model again: fine
    with pytest.raises(EntityShardError, match="holds entities of model shardtest"):
        check_folder_model(folder, "other-model")
    assert json.loads((folder / entity_shards.MANIFEST).read_text())["model_id"] == MODEL


def test_not_a_shard_folder(tmp_store, tmp_path: Path) -> None:
    with pytest.raises(EntityShardError, match="not an entity-shard folder"):
        load_entity_shards(tmp_store, tmp_path)
    with pytest.raises(EntityShardError, match="no such folder"):
        load_entity_shards(tmp_store, tmp_path / "missing")


# -- python -m data ingest FOLDER ----------------------------------------------------------


def tickets_and_one_shard(tmp_path: Path) -> tuple[Path, Path]:
    """``t.csv`` (3 tickets) and a shard folder tagging them with one entity."""
    csv = tmp_path / "t.csv"
    csv.write_text(CSV)
    keys = keyed(csv)["ticket_key"]
    folder = tmp_path / "shards"
    make_shard(folder, csv, [(keys[0], 12, 18, "ORG", "OpenAI", 0.99)], keys)
    return csv, folder


def test_ingest_cli_loads_a_shard_folder_after_the_files(tmp_path: Path, capsys) -> None:
    csv, folder = tickets_and_one_shard(tmp_path)
    db = tmp_path / "cli.duckdb"
    assert main(["ingest", "--db", str(db), str(folder), str(csv)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("t.csv: 3 rows, 3 new tickets")
    assert "3 tickets newly tagged, 1 entities added" in out[1]
    assert main(["ingest", "--db", str(db), str(folder)]) == 0  # again: nothing added
    assert "0 tickets newly tagged" in capsys.readouterr().out
    with Store.open(db, read_only=True) as store:
        assert tagging_progress(store, MODEL) == (3, 3)

    assert main(["ingest", "--db", str(db), str(tmp_path)]) == 2  # a plain folder
    assert "must be an entity-shard folder" in capsys.readouterr().err


def test_ingest_cli_bad_shard_is_one_line(tmp_path: Path, capsys) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text(CSV)
    folder = tmp_path / "shards"
    name = make_shard(folder, csv, [("k", 0, 1, "ORG", "M", 0.5)], ["k"])
    _rewrite(shard_paths(folder, name).entities, lambda t: t.drop_columns(["label"]))
    assert main(["ingest", "--db", str(tmp_path / "x.duckdb"), str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no column 'label'" in err and name in err


def test_ingest_cli_on_a_held_database_hands_the_folder_to_the_app(
    held_db,
    tmp_path: Path,
    capsys,
) -> None:
    from data.paths import inbox_dir

    folder = tmp_path / "shards"
    make_shard(folder, tmp_path / "a.csv", [], [])
    assert main(["ingest", "--db", str(held_db), str(folder)]) == 0
    out = capsys.readouterr().out
    # a plain process holds it, not a live dashboard: the CLI says so instead of claiming one
    assert "in use by another process" in out and "handed to the inbox" in out
    assert "handed to the running dashboard" not in out
    [request] = inbox_dir(held_db).glob("*.shards.json")
    assert json.loads(request.read_text())["folder"] == str(folder.resolve())
    assert main(["ingest", "--db", str(held_db), str(tmp_path)]) == 2  # not a shard folder
    assert "must be an entity-shard folder" in capsys.readouterr().err


def test_the_app_loads_handed_shard_folders_from_its_inbox(tmp_path: Path) -> None:
    """What the dashboard's inbox poller runs: the folder's shards land in the store once,
    and a request naming a folder that has gone is set aside and reported."""
    from data.inbox import hand_shards_to_inbox, import_inbox
    from data.paths import inbox_dir

    csv, folder = tickets_and_one_shard(tmp_path)
    db = tmp_path / "app.duckdb"
    with Store.open(db) as store:
        ingest_files(store, [csv])
    gone = tmp_path / "gone"
    make_shard(gone, csv, [], [])
    hand_shards_to_inbox(db, [folder, gone])
    for path in gone.rglob("*"):
        if path.is_file():
            path.unlink()
    with pytest.raises(EntityShardError):
        hand_shards_to_inbox(db, [tmp_path])  # checked before anything is handed over
    with Store.open(db) as store:
        messages = import_inbox(store)
        assert any("3 tickets newly tagged, 1 entities added" in m for m in messages), messages
        assert any("could not be loaded" in m for m in messages), messages
        assert tagging_progress(store, MODEL) == (3, 3)
        assert import_inbox(store) == []  # the requests were consumed
    assert len(list((inbox_dir(db) / "failed").glob("*.shards.json"))) == 1


# -- sentiment of two-head taggers' shards ---------------------------------------------------


def test_sentiment_rows_load_with_their_tickets_once(ingested, tmp_path: Path) -> None:
    store, keys, csv = ingested
    store.write(
        lambda conn: conn.execute(  # tagged before: keeps what it has
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id) VALUES (?, ?, 'local')",
            [keys[0], MODEL],
        )
    )
    rebuild_rollups(store)  # that insert went round the roll-ups
    folder = tmp_path / "shards"
    make_shard(
        folder,
        csv,
        [(keys[1], 0, 6, "LOC", "Berlin", 0.5)],
        [*keys, "f" * 32],
        moods=[
            (keys[0], "positive", 0.9),
            (keys[1], "negative", 0.75),
            (keys[2], "neutral", 0.6),
            ("f" * 32, "negative", 0.8),
        ],
    )
    report = load_entity_shards(store, folder)
    assert (report.new_tickets, report.new_entities, report.new_sentiments) == (2, 1, 2)
    assert "2 sentiments added" in report.message
    assert store.fetchall(
        "SELECT ticket_key, model_id, label, score FROM ticket_sentiment ORDER BY label"
    ) == [(keys[1], MODEL, "negative", 0.75), (keys[2], MODEL, "neutral", 0.6)]
    again = load_entity_shards(store, folder)
    assert again.new_sentiments == 0 and table_rows(store, "ticket_sentiment") == 2
    _assert_equals_rebuild(store)  # the entity roll-ups followed the load


def test_a_shard_without_sentiment_removes_an_older_sentiment_file(tmp_path: Path) -> None:
    folder = tmp_path / "shards"
    name = make_shard(folder, tmp_path / "a.csv", [], ["k1"], moods=[("k1", "neutral", 0.5)])
    assert shard_paths(folder, name).sentiment.is_file()
    make_shard(folder, tmp_path / "a.csv", [], ["k1"])  # rewritten by a one-head tagger
    assert not shard_paths(folder, name).sentiment.exists()
    marker = json.loads(shard_paths(folder, name).marker.read_text(encoding="utf-8"))
    assert "sentiment" not in marker


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t.set_column(2, "label", pa.array(["furious"] * t.num_rows)),
            "row 1, column 'label': a label other than negative, neutral, positive",
        ),
        (lambda t: t.set_column(3, "score", pa.array([1.5] * t.num_rows)), "row 1, column 'score'"),
        (
            lambda t: t.set_column(1, "model_id", pa.array(["other"] * t.num_rows)),
            "column 'model_id': another model",
        ),
        (lambda t: t.drop_columns(["score"]), "no column 'score'"),
        (
            lambda t: t.append_column("extra", pa.array([1] * t.num_rows)),
            "unexpected column 'extra'",
        ),
    ],
)
def test_bad_sentiment_is_named_and_nothing_is_written(
    ingested, tmp_path: Path, change, message: str
) -> None:
    store, keys, csv = ingested
    folder = tmp_path / "shards"
    name = make_shard(
        folder,
        csv,
        [(keys[1], 0, 6, "LOC", "Berlin", 0.5)],
        keys,
        moods=[(k, "neutral", 0.5) for k in keys],
    )
    _rewrite(shard_paths(folder, name).sentiment, change)
    with pytest.raises(EntityShardError) as info:
        load_entity_shards(store, folder)
    assert message in str(info.value) and "_sentiment" in str(info.value)
    for table in ("entities", "tagged_tickets", "ticket_sentiment"):
        assert table_rows(store, table) == 0


def test_a_marker_promising_sentiment_needs_its_file(ingested, tmp_path: Path) -> None:
    store, keys, csv = ingested
    folder = tmp_path / "shards"
    name = make_shard(folder, csv, [], keys, moods=[(keys[0], "neutral", 0.5)])
    shard_paths(folder, name).sentiment.unlink()
    with pytest.raises(EntityShardError, match="the shard has sentiment, but .* is missing"):
        load_entity_shards(store, folder)
    assert table_rows(store, "tagged_tickets") == 0
