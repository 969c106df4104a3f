"""Fixtures of the dashboard tests: a writable copy of the demo database, a stand-in tagger."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


class FakeTagger:
    """A stand-in for ``model.Tagger``: finds a few fixed names (fast, no torch).

    ``gate`` (a ``threading.Event``), when given, holds every batch until it is set, so a
    test can stop a run half-way.
    """

    model_id = "fake-tagger"
    device = "cpu"
    NAMES = re.compile(r"OpenAI|DeepSeek|Anthropic|GPT-4o|Claude|Gemini|Mistral|Berlin")

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.calls = 0

    def tag(self, texts: Sequence[str], batch_size: int = 64, progress=None) -> list[list]:
        from model import Entity

        self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        out = []
        for text in texts:
            out.append(
                [
                    Entity(
                        m.start(),
                        m.end(),
                        "LOC" if m.group() == "Berlin" else "ORG",
                        m.group(),
                        0.99,
                    )
                    for m in self.NAMES.finditer(text)
                ]
            )
        return out


@pytest.fixture
def app_db(demo_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the demo database with the gold spans stored as one model's entities,
    served by the app (``PRICEWAR_DB``), with background jobs off and a fake tagger."""
    from data.store import Store

    db = tmp_path / "app.duckdb"
    shutil.copy(demo_db_path, db)

    def gold_as_model(conn) -> None:
        conn.execute(
            "INSERT INTO entities SELECT ticket_key, 'gold-test', start, \"end\","
            " label, text, 1.0 FROM gold_entities"
        )
        conn.execute(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
            " SELECT ticket_key, 'gold-test', 'test' FROM tickets"
        )

    with Store.open(db) as store:
        store.write(gold_as_model)
    monkeypatch.setenv("PRICEWAR_DB", str(db))
    monkeypatch.setenv("PRICEWAR_AUTOTAG", "0")
    monkeypatch.setenv("PRICEWAR_INBOX_SECONDS", "0")
    monkeypatch.setattr("dashboard.tagging_job.default_loader", FakeTagger)
    yield db
    # the app's state for this database lives in st.cache_resource for the whole process:
    # close it and drop it, or every test leaves a DuckDB connection open until exit
    from dashboard import app_state

    app_state.app_state().close()
    app_state._app_state.clear()


# -- sign-in and roles (tests/dashboard/signin.py) ----------------------------------------


@pytest.fixture
def secured(
    app_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Path:
    """The app's database with tickets holding customer data (3, or the indirect parameter)
    and a saved scenario, and an access file: @example.com viewers, one analyst, one admin."""
    from data.store import Store
    from tests.dashboard.signin import (
        ADMIN,
        ANALYST,
        EMAIL,
        PII_SOURCE,
        PII_SUBJECT,
        PII_TEXT,
        SAVED,
    )

    access_file = tmp_path / "access.toml"
    access_file.write_text(
        f'allow = ["@example.com"]\nanalysts = ["{ANALYST}"]\nadmins = ["{ADMIN}"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PRICEWAR_ACCESS_FILE", str(access_file))
    for name in ("PRICEWAR_ALLOW", "PRICEWAR_ANALYSTS", "PRICEWAR_ADMINS"):
        monkeypatch.delenv(name, raising=False)

    from analytics.saved_scenarios import save_scenario
    from analytics.scenario import Scenario

    start = PII_TEXT.index(EMAIL)
    org = PII_TEXT.index("OpenAI")

    n = getattr(request, "param", 3)  # tickets with customer data (indirect parameter)

    def add(conn: Any) -> None:
        customer = conn.execute("SELECT customer_id FROM customers LIMIT 1").fetchone()[0]
        conn.execute(
            "INSERT INTO tickets (ticket_key, customer_id, created_at, subject, text, source, "
            "source_id) SELECT 'pii-' || i, ?, now()::TIMESTAMP, ?, ?, ?, i::VARCHAR "
            "FROM range(?) r(i)",
            [customer, PII_SUBJECT, PII_TEXT, PII_SOURCE, n],
        )
        conn.execute(
            "INSERT INTO entities SELECT 'pii-' || i, 'gold-test', ?, ?, 'PER', ?, 0.9 "
            "FROM range(?) r(i)",
            [start, start + len(EMAIL), EMAIL, n],
        )
        conn.execute(
            "INSERT INTO entities SELECT 'pii-' || i, 'gold-test', ?, ?, 'ORG', 'OpenAI', 0.9 "
            "FROM range(?) r(i)",
            [org, org + len("OpenAI"), n],
        )
        conn.execute(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id) "
            "SELECT 'pii-' || i, 'gold-test', 'test' FROM range(?) r(i)",
            [n],
        )

    with Store.open(app_db) as store:
        store.write(add)
        save_scenario(store, Scenario(name=SAVED))
    return app_db


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The bytes of every download button drawn, by file name (Streamlit's media manager):
    those sent with the page and those built on click (called here, as a click would)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    seen: dict[str, bytes] = {}
    original = MediaFileManager.add

    def add(
        self: MediaFileManager,
        path_or_data: Any,
        mimetype: str,
        coordinates: str,
        file_name: str | None = None,
        is_for_static_download: bool = False,
    ) -> str:
        if file_name and isinstance(path_or_data, bytes | str):
            seen[file_name] = (
                path_or_data if isinstance(path_or_data, bytes) else path_or_data.encode()
            )
        return original(
            self,
            path_or_data,
            mimetype,
            coordinates,
            file_name=file_name,
            is_for_static_download=is_for_static_download,
        )

    original_deferred = MediaFileManager.add_deferred

    def add_deferred(
        self: MediaFileManager,
        data_callable: Any,
        mimetype: str | None,
        coordinates: str,
        file_name: str | None = None,
        *,
        element_id: str = "",
    ) -> str:
        # A download built on click (a callable): built here, as the click would build it.
        if file_name:
            data = data_callable()
            seen[file_name] = data if isinstance(data, bytes) else str(data).encode()
        return original_deferred(
            self, data_callable, mimetype, coordinates, file_name, element_id=element_id
        )

    monkeypatch.setattr(MediaFileManager, "add", add)
    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return seen


@pytest.fixture
def loopback() -> Iterator[None]:
    """The tests' own server address is the project's (127.0.0.1), wherever pytest runs."""
    from streamlit.testing.v1.util import patch_config_options

    with patch_config_options({"server.address": "127.0.0.1"}):
        yield
