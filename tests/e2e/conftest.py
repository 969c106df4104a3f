"""A real ``streamlit run`` of the app and a real browser (Debian's chromium via playwright).

The server gets its own small demo database in a temporary folder, a free loopback port and
background tagging off (the tests start tagging themselves). Screenshots go to
``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.streamlit_server import run_streamlit
from tests.chromium import CHROMIUM
from tests.chromium import new_page as fresh_page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
DEMO_TICKETS = 60  # small: the tagging test tags every demo ticket with the real model

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the browser tests, saying why, when Debian's chromium is not installed."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} is absent: install Debian's chromium "
        "(.ci/run does) to run the end-to-end tests"
    )
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(skip)


HOSTILE = (
    '<script>alert("xss")</script><img src=x onerror=alert(1)> '
    "[x](javascript:alert(2)) ![p](http://127.0.0.1:9/p.png) $x^2$ asks OpenAI"
)


def _tag_with_gold_and_add_hostile_ticket(conn) -> None:
    """Store the demo's gold spans as the entities of a stand-in model, so the Entities page
    has content without the trained tagger, and add one ticket carrying HTML and script."""
    conn.execute(
        "INSERT INTO tickets (ticket_key, customer_id, created_at, text, source)"
        " SELECT 'hostile', customer_id, (SELECT max(created_at) FROM tickets), ?,"
        " 'demo' FROM customers LIMIT 1",
        [HOSTILE],
    )
    start = HOSTILE.index("OpenAI")
    conn.execute(
        "INSERT INTO entities VALUES ('hostile', 'gold-e2e', ?, ?, 'ORG', 'OpenAI', 1)",
        [start, start + len("OpenAI")],
    )
    conn.execute(
        "INSERT INTO entities SELECT ticket_key, 'gold-e2e', start, \"end\", label,"
        " text, 1.0 FROM gold_entities"
    )
    conn.execute(
        "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
        " SELECT ticket_key, 'gold-e2e', 'e2e' FROM tickets"
    )


@pytest.fixture(scope="session")
def e2e_demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The browser suites' small demo database (``DEMO_TICKETS`` tickets, seed 11), generated
    once; each server runs on its own copy (one process per DuckDB file)."""
    from tests.conftest import make_demo_db

    return make_demo_db(
        tmp_path_factory.mktemp("e2e-demo") / "demo.duckdb", tickets=DEMO_TICKETS, seed=11
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, e2e_demo_db: Path) -> Iterator[str]:
    """Base URL of ``streamlit run dashboard/app.py`` serving a copy of the small demo
    database, tagged with its gold spans and holding one hostile ticket."""
    from data.store import Store

    folder = tmp_path_factory.mktemp("e2e")
    db = folder / "e2e.duckdb"
    shutil.copy(e2e_demo_db, db)
    with Store.open(db) as store:
        store.write(_tag_with_gold_and_add_hostile_ticket)
    env = {
        **os.environ,
        "PRICEWAR_DB": str(db),
        "PRICEWAR_AUTOTAG": "0",
        "PRICEWAR_INBOX_SECONDS": "2",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONWARNINGS": "ignore",
    }
    with run_streamlit(
        db, env, log=folder / "streamlit.log", keep_log=ARTIFACTS / "streamlit.log"
    ) as running:
        yield running.url


@pytest.fixture
def page(browser: object, server: str) -> Iterator[object]:
    """A fresh browser page on the test server's app."""
    with fresh_page(browser) as pg:
        yield pg
