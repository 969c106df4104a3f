"""Settings and fixtures shared by every test: offline model loading, no telemetry, stores."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEMO_TICKETS = 2000
DEMO_SEED = 7


@pytest.fixture
def tmp_store(tmp_path: Path) -> Iterator[object]:
    """A fresh, empty, migrated :class:`data.store.Store` in ``tmp_path``, closed after."""
    from data.store import Store

    store = Store.open(tmp_path / "test.duckdb")
    try:
        yield store
    finally:
        store.close()


def make_demo_db(path: Path, *, tickets: int, seed: int) -> Path:
    """A demo database of ``tickets`` tickets drawn from ``seed`` at ``path`` (every suite's
    demo fixture is made by this one function; they differ only in size and seed)."""
    from data.demo import generate_demo
    from data.store import Store

    with Store.open(path) as store:
        generate_demo(store, tickets=tickets, seed=seed)
    return path


@pytest.fixture(scope="session")
def demo_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo database (2,000 tickets, seed 7) generated once per session.

    Read it with ``Store.open(path, read_only=True)``; tests that write must copy the file
    first (``shutil.copy(demo_db_path, tmp_path / "db.duckdb")``).
    """
    return make_demo_db(
        tmp_path_factory.mktemp("demo") / "demo.duckdb", tickets=DEMO_TICKETS, seed=DEMO_SEED
    )


def tag_a_copy(source: Path, target: Path, tagger: object, *, batch_size: int = 64) -> Path:
    """Copy the store ``source`` to ``target`` and tag every ticket of the copy with
    ``tagger`` through ``model.jobs.tag_store`` (the roll-ups kept batch by batch)."""
    from data.store import Store
    from model.jobs import tag_store

    shutil.copy(source, target)
    with Store.open(target) as store:
        tag_store(store, tagger(store), batch_size=batch_size)
    return target


@contextlib.contextmanager
def open_copy(source: Path, directory: Path) -> Iterator[object]:
    """A writable :class:`data.store.Store` on a copy of ``source`` in ``directory``."""
    from data.store import Store

    path = directory / "db.duckdb"
    shutil.copy(source, path)
    with Store.open(path) as store:
        yield store


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium driven by playwright (no browser download), one for the whole
    session: playwright's sync API allows one instance per thread, so every browser suite
    (tests/e2e, tests/reliability) shares it."""
    from tests.chromium import CHROMIUM, launch_chromium

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (.ci/run does)")
    with launch_chromium() as b:
        yield b
