"""Once the app has opened its store, the pages' libraries are loaded and the garbage
collector's start-up objects are frozen (``dashboard.startup``): full collections no longer
walk them while the sessions wait."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import startup
from tests.dashboard.conftest import APP


def test_the_first_page_run_freezes_the_start_up_objects(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(startup, "_prepared", False)  # as in a fresh server process
    gc.unfreeze()
    try:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not at.exception
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the imported modules, classes and functions
        at.run()  # every later run: nothing frozen again (frozen objects may still be freed)
        assert not startup.prepare_process()
        assert gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_the_first_page_run_warms_what_a_first_load_would_pay(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data.rollups import matcher_fingerprint

    monkeypatch.setattr(startup, "_prepared", False)  # as in a fresh server process
    matcher_fingerprint.cache_clear()
    gc.unfreeze()
    try:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not at.exception
        # computed at start-up, before any page asked for the mention roll-ups' freshness
        assert matcher_fingerprint.cache_info().currsize == 1
        assert startup.warm_up() == []  # every step runs without the store
    finally:
        gc.unfreeze()
