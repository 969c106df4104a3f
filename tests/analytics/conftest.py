"""Fixtures of the analytics tests: the session demo database opened read-only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def demo_store(demo_db_path: Path) -> Iterator[object]:
    """The session demo database (2,000 tickets, seed 7), read-only."""
    from data.store import Store

    store = Store.open(demo_db_path, read_only=True)
    try:
        yield store
    finally:
        store.close()
