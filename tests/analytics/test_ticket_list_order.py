"""Issue #16: a store tagged by the tagging job (``model.jobs.tag_store``) has its entity
rows day by day, so the Entities page's ticket list for a picked entity reads only the
entity rows of the entity's newest months (``_newest_by_months``: the slice check holds)
and lists exactly the tickets the whole-table query lists."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from analytics import explore
from analytics.explore import Filters
from analytics.explore import tickets as ticket_lists
from analytics.explore.filters import ticket_where
from data.ingest import ingest_files
from data.store import Store
from model.backbone import load_tokenizer
from model.jobs import tag_store
from model.tagger import Tagger
from tests.model.conftest import keyword_model, save_full_artefact

#: Labels of the keyword model's entities, with list sizes whose newest months hold fewer
#: than half of the entity rows (else the whole-table path answers, on any store).
LIMITS = {"PRODUCT": (1, 5, 40), "LOC": (1, 5)}


@pytest.fixture(scope="module")
def job_tagged_db(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session demo store, every ticket tagged by a tiny real BERT (the keyword model:
    ``token…`` is a PRODUCT, ``Paris`` a LOC) through the tagging job, in small batches."""
    folder = tmp_path_factory.mktemp("order")
    artefact = save_full_artefact(keyword_model(load_tokenizer()), folder / "kw", name="kw")
    tagger = Tagger.load(artefact, device="cpu")
    path = folder / "tagged.duckdb"
    shutil.copy(demo_db_path, path)
    with Store.open(path) as store:
        summary = tag_store(store, tagger, batch_size=8)
        assert summary.status == "done" and summary.entities > 0
    return path


@pytest.fixture
def job_tagged(job_tagged_db: Path, tmp_path: Path) -> Iterator[Store]:
    """A writable copy of :func:`job_tagged_db` (``ticket_list`` opens nothing for writing,
    but a copy keeps the module's store as the job left it)."""
    path = tmp_path / "db.duckdb"
    shutil.copy(job_tagged_db, path)
    with Store.open(path) as store:
        yield store


def _model_id(store: Store) -> str:
    return str(store.scalar("SELECT DISTINCT model_id FROM entities"))


@pytest.mark.parametrize("label", ["PRODUCT", "LOC"])
def test_a_job_tagged_store_lists_an_entity_from_its_newest_months(
    job_tagged: Store, label: str
) -> None:
    model_id = _model_id(job_tagged)
    [top] = explore.top_entities(
        job_tagged, Filters(), model_id, labels=(label,), limit=1
    ).itertuples()
    for limit in LIMITS[label]:
        fast = ticket_lists._newest_by_months(
            job_tagged,
            ticket_where(Filters()),
            Filters(),
            model_id,
            top.entity,
            label,
            False,
            limit,
        )
        assert fast is not None, f"the slice check failed for {top.entity!r}, limit {limit}"
        kwargs = {"entity": top.entity, "label": label, "limit": limit}
        got = explore.ticket_list(job_tagged, Filters(), model_id, **kwargs)
        with explore.base_tables():
            whole = explore.ticket_list(job_tagged, Filters(), model_id, **kwargs)
        pd.testing.assert_frame_equal(got, whole)
        assert [k for k, _ in fast] == whole["ticket_key"].tolist()


def test_a_resumed_job_keeps_the_day_order(demo_db_path: Path, tmp_path: Path) -> None:
    """A job stopped after a few batches and run again writes the same day-by-day order:
    the picked entity still comes from its newest months, with the same list."""
    artefact = save_full_artefact(keyword_model(load_tokenizer()), tmp_path / "kw", name="kw")
    tagger = Tagger.load(artefact, device="cpu")
    path = tmp_path / "resumed.duckdb"
    shutil.copy(demo_db_path, path)
    with Store.open(path) as store:
        batches = iter(range(3))
        first = tag_store(store, tagger, batch_size=8, stop=lambda: next(batches, None) is None)
        assert first.status == "interrupted" and 0 < first.tickets < first.pending
        assert tag_store(store, tagger, batch_size=8).status == "done"
        model_id = _model_id(store)
        [top] = explore.top_entities(
            store, Filters(), model_id, labels=("PRODUCT",), limit=1
        ).itertuples()
        where = ticket_where(Filters())
        fast = ticket_lists._newest_by_months(
            store, where, Filters(), model_id, top.entity, "PRODUCT", False, 5
        )
        assert fast is not None
        with explore.base_tables():
            whole = explore.ticket_list(
                store, Filters(), model_id, entity=top.entity, label="PRODUCT", limit=5
            )
        assert [k for k, _ in fast] == whole["ticket_key"].tolist()


def _busy_days_csv(path: Path) -> Path:
    """Tickets of three months, each mentioning ``tokens``; each month's first day holds
    more tickets than ``FIRST_TICKETS``, created longest text first (as a busy day of a
    large store: the job tags them last of their day)."""
    rows = ["id,created_at,channel,category,resolved_by,text"]
    for month in (6, 7, 8):
        first_day = 2 * ticket_lists.FIRST_TICKETS
        for i in range(first_day):
            at = dt.datetime(2026, month, 1) + dt.timedelta(minutes=i)
            words = "more words " * (first_day - i)
            rows.append(f"m{month}d1n{i},{at.isoformat()},chat,billing,ai,tokens in Paris {words}")
        for day in range(2, 29):
            at = dt.datetime(2026, month, day, 9)
            rows.append(f"m{month}d{day},{at.isoformat()},email,billing,human,tokens again {day}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_busy_first_days_still_list_from_the_newest_months(tmp_path: Path) -> None:
    """A month's first day with more tickets than :data:`FIRST_TICKETS`, tagged by the job
    shortest first: the entity rows of the month begin with the day's shortest ticket, not
    its first created; the list still comes from the newest months, the same as the whole
    table's."""
    artefact = save_full_artefact(keyword_model(load_tokenizer()), tmp_path / "kw", name="kw")
    tagger = Tagger.load(artefact, device="cpu")
    with Store.open(tmp_path / "busy.duckdb") as store:
        [report] = ingest_files(store, [_busy_days_csv(tmp_path / "busy.csv")])
        assert report.new_tickets == 3 * (2 * ticket_lists.FIRST_TICKETS + 27)
        assert tag_store(store, tagger, batch_size=8).status == "done"
        model_id = _model_id(store)
        for limit in (5, 60):
            kwargs = {"entity": "tokens", "label": "PRODUCT", "limit": limit}
            fast = ticket_lists._newest_by_months(
                store,
                ticket_where(Filters()),
                Filters(),
                model_id,
                "tokens",
                "PRODUCT",
                False,
                limit,
            )
            assert fast is not None, f"the slice check failed, limit {limit}"
            got = explore.ticket_list(store, Filters(), model_id, **kwargs)
            with explore.base_tables():
                whole = explore.ticket_list(store, Filters(), model_id, **kwargs)
            pd.testing.assert_frame_equal(got, whole)
            assert [k for k, _ in fast] == whole["ticket_key"].tolist()
