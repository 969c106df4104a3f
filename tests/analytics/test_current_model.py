"""``analytics.explore.current_model_id`` (the tagger of the most tickets; a tie: the latest
to tag) reads ``rollup_tagged_days`` when that decides it and the table otherwise, and
``analytics.alerts.current_tagger`` is that same function: both ways give one answer on a
real store, through tagging runs, a tie and roll-ups made stale by a write past them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import analytics.alerts as alerts
from analytics.alerts import current_tagger
from analytics.explore import base_tables, current_model_id
from data import rollups
from data.store import Store
from model.jobs import tag_store
from tests.analytics.test_first_load_reads import OTHER, OtherTagger, _after_one_batch
from tests.conftest import open_copy
from tests.data.test_rollups import MODEL, GoldTagger


def _table_answer(store: Store) -> str | None:
    """The definition, counted from every row of ``tagged_tickets``."""
    return store.scalar(
        "SELECT model_id FROM tagged_tickets GROUP BY model_id"
        " ORDER BY count(*) DESC, max(tagged_at) DESC LIMIT 1"
    )


def _rollup_counts(store: Store) -> dict[str, int] | None:
    with store.reading() as cur:
        return rollups.tagged_per_model(cur)


def _every_way(store: Store, monkeypatch: pytest.MonkeyPatch) -> set[str | None]:
    """The answers of every path: the roll-ups (when they decide), the base tables (the
    explore switch), ``current_tagger`` with and without the alerts switch, the SQL."""
    answers = {current_model_id(store), current_tagger(store), _table_answer(store)}
    with base_tables():
        answers.add(current_model_id(store))
    with monkeypatch.context() as patch:
        patch.setattr(alerts, "USE_ROLLUPS", False)
        answers.add(current_tagger(store))
    return answers


@pytest.fixture
def store(demo_db_path: Path, tmp_path: Path) -> Iterator[Store]:
    """A writable copy of the session demo store (no tags yet)."""
    with open_copy(demo_db_path, tmp_path) as copy:
        yield copy


def test_every_way_gives_the_same_tagger(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _rollup_counts(store) == {}
    assert _every_way(store, monkeypatch) == {None}
    # one tagger, part of the store: the roll-up decides
    tag_store(store, OtherTagger(store), batch_size=16, stop=_after_one_batch())
    assert set(_rollup_counts(store) or {}) == {OTHER}
    assert _every_way(store, monkeypatch) == {OTHER}
    # a second tagger of every ticket: ahead, from the roll-up
    tag_store(store, GoldTagger(store), batch_size=64)
    counts = _rollup_counts(store)
    assert counts is not None and counts[MODEL] > counts[OTHER] > 0
    assert _every_way(store, monkeypatch) == {MODEL}
    # a tie: the roll-up cannot decide, the tagging times do (the latest to tag)
    tag_store(store, OtherTagger(store), batch_size=64)
    counts = _rollup_counts(store)
    assert counts is not None and counts[MODEL] == counts[OTHER]
    assert _every_way(store, monkeypatch) == {OTHER}
    # a tag written past the roll-ups: stale, the table is counted
    store.write(
        lambda conn: conn.execute(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
            " VALUES ('no-such-ticket', ?, 'manual')",
            [MODEL],
        )
    )
    assert _rollup_counts(store) is None
    assert _every_way(store, monkeypatch) == {MODEL}


def test_the_fresh_rollup_is_what_decides(store: Store) -> None:
    """Which source answers, made visible: an in-place edit of ``tagged_tickets`` keeps
    its row count, so the roll-up still counts as fresh but no longer agrees with the
    table. The fast path answers from the roll-up; the base-table switch from the table."""
    tag_store(store, GoldTagger(store), batch_size=64)
    tag_store(store, OtherTagger(store), batch_size=16, stop=_after_one_batch())
    store.write(
        lambda conn: conn.execute(
            "UPDATE tagged_tickets SET model_id = 'edited' WHERE model_id = ?", [MODEL]
        )
    )
    assert _rollup_counts(store) is not None  # still fresh: counts unchanged
    assert current_model_id(store) == MODEL  # from rollup_tagged_days
    with base_tables():
        assert current_model_id(store) == "edited"  # from tagged_tickets
