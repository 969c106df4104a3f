"""data.reset: what each reset removes, all or nothing, its audit row, refused targets."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data import audit, rollup_tables, rollup_upkeep, rollups
from data import reset as data_reset
from data import reset_targets as targets_module
from data.demo import generate_demo
from data.ingest import ingest_files
from data.reset import (
    BATCH,
    MODEL,
    SCENARIOS,
    ResetError,
    reset,
    reset_batch,
    reset_model,
    reset_scenarios,
)
from data.reset_targets import ResetTargets, reset_targets
from data.store import Store

ADMIN = {"actor": "boss@example.com", "role": "admin"}
UPLOAD = "upload.csv"
UPLOAD_BYTES = (
    b"id,text\nU-1,Moving to OpenAI from Berlin\nU-2,DeepSeek is cheaper\nU-3,Invoice is wrong\n"
)
DEMO_TICKETS = 40


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo (40 tickets) plus an uploaded file, two models' results (model-a on
    every ticket, model-b on the upload only) and two saved scenarios, built once."""
    path = tmp_path_factory.mktemp("reset") / "seeded.duckdb"
    with Store.open(path) as store:
        generate_demo(store, tickets=DEMO_TICKETS, seed=3)
        [report] = ingest_files(store, [(UPLOAD, io.BytesIO(UPLOAD_BYTES))])
        assert report.new_tickets == 3

        def results(conn: Any) -> None:
            for model, where in (("model-a", "TRUE"), ("model-b", f"source = '{UPLOAD}'")):
                keys = f"SELECT ticket_key, text FROM tickets WHERE {where}"
                conn.execute(
                    "INSERT INTO entities SELECT ticket_key, ?, 0, 1, 'ORG', "
                    f"left(text, 1), 0.9 FROM ({keys})",
                    [model],
                )
                conn.execute(
                    "INSERT INTO entities SELECT ticket_key, ?, 2, 3, 'LOC', "
                    f"substr(text, 3, 1), 0.8 FROM ({keys})",
                    [model],
                )
                conn.execute(
                    "INSERT INTO tagged_tickets (ticket_key, model_id, run_id) "
                    f"SELECT ticket_key, ?, ? FROM ({keys})",
                    [model, f"run-{model}"],
                )
                for n in (1, 2):
                    conn.execute(
                        "INSERT INTO tagging_runs (run_id, model_id, device, "
                        "started_at, status) VALUES (?, ?, 'cpu', now(), 'done')",
                        [f"run-{model}-{n}", model],
                    )
            for name in ("cut to 0.80", "hold"):
                conn.execute("INSERT INTO scenarios (name, params) VALUES (?, '{}')", [name])

        store.write(results)
    return path


@pytest.fixture
def store(seeded: Path, tmp_path: Path) -> Iterator[Store]:
    """A writable copy of the seeded store."""
    path = tmp_path / "db.duckdb"
    shutil.copy(seeded, path)
    with Store.open(path) as opened:
        yield opened


def count(store: Store, sql: str, params: list[Any] | None = None) -> int:
    return int(store.scalar(sql, params))


def resets(store: Store) -> list[dict[str, Any]]:
    return audit.read_log(store, actions=[audit.DATA_RESET]).to_dict("records")


def contents(store: Store) -> dict[str, Any]:
    """Every table's rows, for 'nothing changed' checks."""
    return {
        name: sorted(map(repr, store.fetchall(f'SELECT * FROM "{name}"')))
        for name in store.table_counts()
    }


# -- what can be reset --------------------------------------------------------------------


def test_targets_list_models_batches_and_scenarios_with_counts(store: Store) -> None:
    targets = reset_targets(store)
    total = DEMO_TICKETS + 3
    assert targets.tickets == total and targets.scenarios == 2
    assert [(m.model_id, m.tagged_tickets, m.entities, m.runs) for m in targets.models] == [
        ("model-a", total, 2 * total, 2),
        ("model-b", 3, 6, 2),
    ]
    assert [(b.source, b.tickets, b.entities, b.files) for b in targets.batches] == [
        ("demo", DEMO_TICKETS, 2 * DEMO_TICKETS, 0),
        (UPLOAD, 3, 12, 1),
    ]


@pytest.fixture
def rolled_up(store: Store) -> Store:
    """The seeded store with its roll-ups rebuilt (its tags were written behind them)."""
    rollups.rebuild_rollups(store)
    with store.reading() as conn:
        assert targets_module._rollups_answer(conn)
    return store


def _both_ways(store: Store) -> ResetTargets:
    """The targets from the roll-ups, checked against the base tables' count."""
    targets = reset_targets(store)
    assert targets == reset_targets(store, use_rollups=False)
    return targets


def test_targets_from_the_rollups_are_those_of_the_base_tables(rolled_up: Store) -> None:
    """The reset choices read the roll-ups (entities per model and batch), not every entity
    joined to its ticket, with the same counts through uploads, tagging and resets."""
    store = rolled_up
    total = DEMO_TICKETS + 3
    targets = _both_ways(store)
    assert [(m.model_id, m.tagged_tickets, m.entities, m.runs) for m in targets.models] == [
        ("model-a", total, 2 * total, 2),
        ("model-b", 3, 6, 2),
    ]
    assert [(b.source, b.tickets, b.entities, b.files) for b in targets.batches] == [
        ("demo", DEMO_TICKETS, 2 * DEMO_TICKETS, 0),
        (UPLOAD, 3, 12, 1),
    ]
    assert store.fetchall(
        "SELECT model_id, source, entities FROM rollup_source_entities ORDER BY 1, 2"
    ) == [("model-a", "demo", 80), ("model-a", UPLOAD, 6), ("model-b", UPLOAD, 6)]

    # a second file, tagged by a third model in a write that keeps the roll-ups
    [report] = ingest_files(store, [("more.csv", io.BytesIO(b"text\nClaude in Paris\n"))])
    assert report.new_tickets == 1

    def tag(conn: Any) -> None:
        keys = "SELECT ticket_key FROM tickets WHERE source = 'more.csv'"
        with rollup_upkeep.maintained(conn, keys, parts=(rollup_tables.TAGS,), model_id="model-c"):
            conn.execute(
                f"INSERT INTO entities SELECT ticket_key, 'model-c', 0, 6, 'ORG', 'Claude', 0.9"
                f" FROM ({keys})"
            )
            conn.execute(
                f"INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
                f" SELECT ticket_key, 'model-c', 'run-c' FROM ({keys})"
            )

    store.write(tag)
    targets = _both_ways(store)
    assert ("model-c", 1, 1, 0) in [
        (m.model_id, m.tagged_tickets, m.entities, m.runs) for m in targets.models
    ]
    assert ("more.csv", 1, 1, 1) in [
        (b.source, b.tickets, b.entities, b.files) for b in targets.batches
    ]
    with store.reading() as conn:
        assert targets_module._rollups_answer(conn)

    reset_model(store, "model-b", **ADMIN)
    assert [m.model_id for m in _both_ways(store).models] == ["model-a", "model-c"]
    reset_batch(store, UPLOAD, **ADMIN)
    assert [b.source for b in _both_ways(store).batches] == ["demo", "more.csv"]
    with store.reading() as conn:
        assert targets_module._rollups_answer(conn)


def test_an_entity_of_a_ticket_that_is_gone_is_counted_from_the_base_tables(
    rolled_up: Store,
) -> None:
    """The roll-ups count tags of tickets in the store; a tag left of a ticket that is gone
    (a writer outside the app) makes the counts come from the base tables, which hold it."""
    store = rolled_up

    def orphan(conn: Any) -> None:
        with rollup_upkeep.maintained(
            conn, "SELECT 'gone' AS ticket_key", parts=(rollup_tables.TAGS,), model_id="model-a"
        ):
            conn.execute("INSERT INTO entities VALUES ('gone', 'model-a', 0, 1, 'ORG', 'X', 1.0)")

    store.write(orphan)
    with store.reading() as conn:
        assert rollup_tables.TAGS in rollups.fresh_parts(conn)  # fresh, yet not the whole count
        assert not targets_module._rollups_answer(conn)
    targets = _both_ways(store)
    assert targets.models[0].entities == 2 * (DEMO_TICKETS + 3) + 1


# -- resets -------------------------------------------------------------------------------


def test_a_model_reset_removes_its_results_only_and_is_audited(store: Store) -> None:
    tickets, gold = (
        count(store, "SELECT count(*) FROM tickets"),
        count(store, "SELECT count(*) FROM gold_entities"),
    )
    result = reset_model(store, "model-a", **ADMIN)
    total = DEMO_TICKETS + 3
    assert result.removed == {"tagged tickets": total, "entities": 2 * total, "tagging runs": 2}
    assert result.total == 3 * total + 2
    assert result.message == (
        f"Removed the tagging results of model model-a: {total:,} "
        f"tagged tickets, {2 * total:,} entities, 2 tagging runs."
    )
    for table in ("entities", "tagged_tickets", "tagging_runs"):
        assert count(store, f"SELECT count(*) FROM {table} WHERE model_id = 'model-a'") == 0
        assert count(store, f"SELECT count(*) FROM {table} WHERE model_id = 'model-b'") > 0
    assert count(store, "SELECT count(*) FROM tickets") == tickets  # tickets stay …
    assert count(store, "SELECT count(*) FROM gold_entities") == gold
    # … and every one of them is pending again for the model (tagged from scratch)
    assert (
        count(
            store,
            "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM "
            "tagged_tickets g WHERE g.ticket_key = t.ticket_key AND g.model_id = ?)",
            ["model-a"],
        )
        == tickets
    )
    [row] = resets(store)
    assert (row["actor"], row["role"], row["source"]) == ("boss@example.com", "admin", "app")
    assert row["target"] == "model:model-a"
    assert row["detail"] == f"removed {total} tagged tickets, {2 * total} entities, 2 tagging runs"
    assert [m.model_id for m in reset_targets(store).models] == ["model-b"]


def test_a_batch_reset_removes_the_file_its_results_and_allows_a_new_upload(store: Store) -> None:
    result = reset_batch(store, UPLOAD, actor="os:alice", role="admin", source="cli")
    assert result.removed == {
        "tickets": 3,
        "entities": 12,
        "tagged tickets": 6,
        "gold entities": 0,
        "ingested files": 1,
    }
    assert count(store, "SELECT count(*) FROM tickets WHERE source = ?", [UPLOAD]) == 0
    assert count(store, "SELECT count(*) FROM tickets") == DEMO_TICKETS
    assert (
        count(
            store,
            "SELECT count(*) FROM entities WHERE ticket_key NOT IN "
            "(SELECT ticket_key FROM tickets)",
        )
        == 0
    )
    assert (
        count(
            store,
            "SELECT count(*) FROM tagged_tickets WHERE ticket_key NOT IN "
            "(SELECT ticket_key FROM tickets)",
        )
        == 0
    )
    assert count(store, "SELECT count(*) FROM ingested_files") == 0
    [row] = resets(store)
    assert (row["target"], row["source"], row["actor"]) == (f"batch:{UPLOAD}", "cli", "os:alice")
    assert row["detail"] == (
        "removed 3 tickets, 6 tagged tickets, 12 entities, 0 gold entities, 1 ingested file"
    )
    # the same file again is imported again (its record went with the batch)
    [again] = ingest_files(store, [(UPLOAD, io.BytesIO(UPLOAD_BYTES))])
    assert again.status == "imported" and again.new_tickets == 3


def test_the_demo_batch_takes_its_gold_entities_and_keeps_customers(store: Store) -> None:
    customers = count(store, "SELECT count(*) FROM customers")
    gold = count(store, "SELECT count(*) FROM gold_entities")
    result = reset(store, BATCH, "demo", **ADMIN)
    assert result.removed["tickets"] == DEMO_TICKETS
    assert result.removed["gold entities"] == gold > 0
    assert count(store, "SELECT count(*) FROM gold_entities") == 0
    assert count(store, "SELECT count(*) FROM tickets") == 3  # the upload stays
    assert count(store, "SELECT count(*) FROM customers") == customers


def test_a_scenarios_reset_removes_every_scenario_and_is_audited_even_when_empty(
    store: Store,
) -> None:
    assert reset(store, SCENARIOS, **ADMIN).removed == {"scenarios": 2}
    assert count(store, "SELECT count(*) FROM scenarios") == 0
    second = reset_scenarios(store, **ADMIN)
    assert second.removed == {"scenarios": 0} and second.message.endswith(": 0 scenarios.")
    assert [(r["target"], r["detail"]) for r in resets(store)] == [
        ("scenarios", "removed 0 scenarios"),
        ("scenarios", "removed 2 scenarios"),
    ]


def test_sentiments_go_with_their_model_and_their_batch(store: Store) -> None:
    if "ticket_sentiment" not in store.table_counts():
        pytest.skip("this schema has no ticket_sentiment table")
    store.execute_write(
        "INSERT INTO ticket_sentiment SELECT ticket_key, model_id, 'negative', "
        "0.7 FROM tagged_tickets"
    )
    total = DEMO_TICKETS + 3
    assert reset_model(store, "model-b", **ADMIN).removed["sentiments"] == 3
    assert count(store, "SELECT count(*) FROM ticket_sentiment") == total
    removed = reset_batch(store, UPLOAD, **ADMIN).removed
    assert removed["sentiments"] == 3 and "gold sentiments" not in removed  # none to remove
    assert count(store, "SELECT count(*) FROM ticket_sentiment") == DEMO_TICKETS


# -- all or nothing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "target"), [(MODEL, "model-a"), (BATCH, UPLOAD), (SCENARIOS, None)]
)
def test_a_failure_to_record_leaves_everything_as_it_was(
    store: Store, monkeypatch: pytest.MonkeyPatch, kind: str, target: str | None
) -> None:
    before = contents(store)

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(data_reset.audit, "record", full_disk)
    with pytest.raises(OSError, match="No space"):
        reset(store, kind, target, **ADMIN)
    assert contents(store) == before  # every deletion rolled back with the missing row


def test_a_failure_half_way_through_the_deletions_leaves_everything(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = contents(store)
    real = data_reset._deleted
    calls = []

    def fail_third(conn: Any, sql: str, params: list[Any]) -> int:
        calls.append(sql)
        if len(calls) == 3:
            raise RuntimeError("connection lost")
        return real(conn, sql, params)

    monkeypatch.setattr(data_reset, "_deleted", fail_third)
    with pytest.raises(RuntimeError, match="connection lost"):
        reset_batch(store, UPLOAD, **ADMIN)
    assert len(calls) == 3 and contents(store) == before


def test_an_actor_that_cannot_be_recorded_removes_nothing(store: Store) -> None:
    before = contents(store)
    with pytest.raises(ValueError, match="actor"):
        reset_model(store, "model-a", actor=" ", role="admin")
    with pytest.raises(ValueError, match="source"):
        reset_scenarios(store, actor="boss@example.com", source="web")
    assert contents(store) == before


def test_a_closed_store_is_refused(seeded: Path, tmp_path: Path) -> None:
    path = tmp_path / "closed.duckdb"
    shutil.copy(seeded, path)
    store = Store.open(path)
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        reset_scenarios(store, **ADMIN)
    with Store.open(path, read_only=True) as reader:
        assert count(reader, "SELECT count(*) FROM scenarios") == 2
        with pytest.raises(PermissionError):
            reset_scenarios(reader, **ADMIN)


# -- refused targets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "target", "message"),
    [
        (MODEL, "no-such-model", "no tagging result of model 'no-such-model'.*model-a, model-b"),
        (MODEL, "model-a' OR '1'='1", "no tagging result"),
        (MODEL, "", "needs a model name"),
        (MODEL, None, "needs a model name"),
        (MODEL, "x" * 501, "at most 500"),
        (BATCH, "nope.csv", "no batch named 'nope.csv'.*demo, upload.csv"),
        (BATCH, "demo' OR '1'='1", "no batch named"),
        (BATCH, "  ", "needs a batch name"),
        (SCENARIOS, "cut to 0.80", "takes no target"),
        ("everything", None, "unknown reset 'everything'"),
    ],
)
def test_unknown_targets_are_refused_and_change_nothing(
    store: Store, kind: str, target: Any, message: str
) -> None:
    before = contents(store)
    with pytest.raises(ResetError, match=message):
        reset(store, kind, target, **ADMIN)
    assert contents(store) == before
    assert resets(store) == []


def test_reset_error_is_a_data_error_and_a_value_error() -> None:
    from data.errors import DataError

    assert issubclass(ResetError, DataError) and issubclass(ResetError, ValueError)
