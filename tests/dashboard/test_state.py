"""The dashboard's state: the process-wide ``AppState`` (``dashboard.app_state``) and the
``dashboard.state`` module the pages import, which gathers the state's three modules."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from dashboard.state import AppState


def test_app_state_opens_existing_database_without_demo(app_db: Path) -> None:
    state = AppState(app_db)
    store = state.open()
    try:
        assert not state.created_demo and state.ready
        assert store.scalar("SELECT count(*) FROM tickets") == 2000
        assert state.job is not None and state.job.status().state == "idle"  # autotag off
    finally:
        state.close()


def test_a_closed_app_state_is_not_kept_alive_by_its_exit_hooks(app_db: Path) -> None:
    """Its exit hooks must not keep a closed state (and its DuckDB connection) alive: a
    server or test process that drops states would otherwise hold every connection to
    the end (nanobind reported 73 live connections at the end of a test run)."""
    state = AppState(app_db)
    state.open()
    state.close()
    gone = weakref.ref(state)
    del state
    gc.collect()
    assert gone() is None


def test_state_keeps_every_name_the_pages_and_tests_use() -> None:
    """``from dashboard import state`` still gives every name it gave before the split, each
    the very object of the module that now holds it."""
    from dashboard import actions, app_state, jobs, scenario_state, state

    homes = {
        app_state: [
            "AppState",
            "app_state",
            "db_path",
            "store",
            "job",
            "register_before_shutdown",
            "demo_tickets_from_env",
        ],
        scenario_state: [
            "current_scenario",
            "set_scenario",
            "scenario_rev",
            "SCENARIO_NOTE_KEY",
            "SCENARIO_KEY",
        ],
        actions: [
            "upload_files",
            "start_tagging",
            "stop_tagging",
            "load_shards",
            "save_scenario",
            "delete_scenario",
            "reset_data",
            "RESET_CONFIRM_WORD",
        ],
        jobs: ["record_audit", "tag_batch_from_env"],
    }
    for module, names in homes.items():
        for name in names:
            assert getattr(state, name) is getattr(module, name), name


def test_the_app_brings_stale_rollups_up_to_date_when_it_opens(
    app_db: Path, tmp_path: Path
) -> None:
    """A store whose roll-ups are stale (an upgrade, or a program that did not maintain
    them) gets them rebuilt in the background when the app opens it: no `python -m data
    rollups` needed."""
    import shutil

    from data import rollup_tables, rollups
    from data.store import Store

    path = tmp_path / "stale.duckdb"
    shutil.copy(app_db, path)
    with Store.open(path) as store:
        store.write(lambda conn: conn.execute("DELETE FROM rollup_state"))
        assert rollups.fresh_parts(store.cursor()) == frozenset()
    state = AppState(path)
    store = state.open()
    try:
        assert state.rollups is not None
        state.rollups.join(timeout=300)
        assert not state.rollups.is_alive()
        assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS)
    finally:
        state.close()
