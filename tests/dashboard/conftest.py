"""Fixtures of the dashboard tests: a writable copy of the demo database, a stand-in tagger."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

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
            out.append([Entity(m.start(), m.end(), "LOC" if m.group() == "Berlin" else "ORG",
                               m.group(), 0.99) for m in self.NAMES.finditer(text)])
        return out


@pytest.fixture
def app_db(demo_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the demo database with the gold spans stored as one model's entities,
    served by the app (``PRICEWAR_DB``), with background jobs off and a fake tagger."""
    from data.store import Store

    db = tmp_path / "app.duckdb"
    shutil.copy(demo_db_path, db)
    def gold_as_model(conn) -> None:
        conn.execute("INSERT INTO entities SELECT ticket_key, 'gold-test', start, \"end\","
                     " label, text, 1.0 FROM gold_entities")
        conn.execute("INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
                     " SELECT ticket_key, 'gold-test', 'test' FROM tickets")

    with Store.open(db) as store:
        store.write(gold_as_model)
    monkeypatch.setenv("PRICEWAR_DB", str(db))
    monkeypatch.setenv("PRICEWAR_AUTOTAG", "0")
    monkeypatch.setenv("PRICEWAR_INBOX_SECONDS", "0")
    monkeypatch.setattr("dashboard.state._default_loader", FakeTagger)
    yield db
    # the app's state for this database lives in st.cache_resource for the whole process:
    # close it and drop it, or every test leaves a DuckDB connection open until exit
    from dashboard import state

    state.app_state().close()
    state._app_state.clear()
