"""Batch tagging page: load a folder of entity shards (tagged on Ray) by its server path."""

from __future__ import annotations

from pathlib import Path

from data.store import Store
from tests.dashboard.test_pages import PAGES, clean, open_page
from tests.data.test_entity_shards import make_shard

MODEL = "ray-test-0123456789ab"


def test_a_shard_folder_is_loaded_once_and_counted_as_tagged(app_db: Path, tmp_path: Path) -> None:
    with Store.open(app_db, read_only=True) as store:
        rows = store.fetchall("SELECT ticket_key, text FROM tickets ORDER BY ticket_key LIMIT 50")
    folder = tmp_path / "shards"
    make_shard(
        folder,
        tmp_path / "tickets.csv",
        [(key, 0, len(text.split()[0]), "ORG", text.split()[0], 0.9) for key, text in rows],
        [key for key, _ in rows],
        model_id=MODEL,
    )

    at = open_page(PAGES[2])
    at.text_input(key="bt_shards").set_value(str(folder)).run()
    at.button(key="bt_load_shards").click().run()
    clean(at)
    [done] = at.success
    assert "50 tickets newly tagged, 50 entities added" in done.value
    at.button(key="bt_load_shards").click().run()  # again: nothing added, said plainly
    clean(at)
    assert not at.success
    assert any("0 tickets newly tagged" in i.value for i in at.info)
    from analytics.explore import tagging_progress
    from dashboard import state

    assert tagging_progress(state.store(), MODEL) == (50, 2000)  # the app's own store


def test_a_bad_path_is_a_plain_escaped_error(app_db: Path) -> None:
    at = open_page(PAGES[2])
    at.text_input(key="bt_shards").set_value("/nope/<b>*bold*</b>").run()
    at.button(key="bt_load_shards").click().run()
    assert not at.exception
    [error] = at.error
    assert "no such folder" in error.value
    assert "<b>" not in error.value and "&lt;b&gt;" in error.value
