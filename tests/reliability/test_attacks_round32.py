"""Round 32 of the hostile-user attacks (#12): the smallest stores on every page, and what
the downloads give back when read again.

The issue closes when a fresh round of its attacks finds nothing new in its areas. This
round sent:

- stores of 0, 1 and 2 tickets (a new deployment, a first upload): every page opened, so
  every figure, trend, surge rule and estimate ran on (almost) nothing, also from links
  filtering past the data's dates, to a segment and region, or setting a what-if price;
- the tickets download (JSON Lines) and the CSV of the same tickets, read back by the
  upload: 17 tickets with CR LF, CR alone, tabs, trailing and leading spaces, quotes and
  commas, an emoji with a skin tone and combining accents, a right-to-left override,
  U+2028/U+2029, NEL, a byte-order mark, a vertical tab, a literal backslash-n, full-width
  letters, 5,000 characters, a formula and a list.

- a ticket file handed to the inbox twice while no app ran, then changed before the app
  started.

Held: every page ran without an exception or an error box on each small store; the JSON
Lines download read back as the same tickets (id, text to the character, date); the CSV read
back the same but where it neutralises a formula, as it says it does (an apostrophe before
``=1+1`` and before a list that starts the cell); the twice-handed file was imported once
and its changed version added only its new row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data import export
from data.inbox import hand_to_inbox, import_inbox
from data.ingest import ingest_files
from data.store import Store
from tests.conftest import make_demo_db
from tests.dashboard.conftest import APP
from tests.reliability.test_attacks_round30 import PAGES  # every page, Overview first

#: Links opened on the small stores.
LINKS = (
    {"from": "2030-01-01", "segment": "smb"},
    {"from": "2025-01-01", "to": "2025-02-01", "region": "eu"},
    {"s_price_per_m": "0.5"},
)


@pytest.mark.parametrize("tickets", [0, 1, 2])
def test_every_page_runs_on_a_store_of_almost_no_tickets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tickets: int
) -> None:
    """Expected (held): a store of 0, 1 or 2 tickets (with the demo's customers, usage and
    prices) opens on every page without an exception or an error box, also from links that
    filter past the data's dates, to a segment, or set a what-if price."""
    db = make_demo_db(tmp_path / "small.duckdb", tickets=tickets, seed=7)
    monkeypatch.setenv("PRICEWAR_DB", str(db))
    monkeypatch.setenv("PRICEWAR_AUTOTAG", "0")
    monkeypatch.setenv("PRICEWAR_INBOX_SECONDS", "0")
    try:
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.run()
        for page in PAGES:
            if page != PAGES[0]:
                at.switch_page(page).run()
            assert not at.exception, (page, [e.value for e in at.exception])
            assert not at.error, (page, [e.value for e in at.error])
            assert at.title, page  # the page drew, not only the sidebar
        for link in LINKS:  # filters past the data's dates, a segment, a what-if price
            at = AppTest.from_file(str(APP), default_timeout=120)
            for key, value in link.items():
                at.query_params[key] = value
            at.run()
            for page in ("views/entities.py", "views/signals.py", "views/pricing.py"):
                at.switch_page(page).run()
                assert not at.exception and not at.error, (link, page, at.exception, at.error)
    finally:
        from dashboard import app_state

        app_state.app_state().close()
        app_state._app_state.clear()


TEXTS = [
    "plain ticket about GPT-4o",
    "line one\r\nline two\rthree\nfour",
    "tab\there  and  spaces  ",
    "  leading spaces",
    'quote " and, comma',
    "emoji \U0001f44d\U0001f3fd e\u0301 and RTL \u202eabc",
    "U+2028\u2028and U+2029\u2029end",
    "=1+1 formula",
    "- bullet\n- two",
    "\ufeffBOM first",
    "back\\slash \\n literal",
    "NEL\x85here",
    "\uff21\uff22\uff23 full width",
    "x" * 5000,
    "trailing newline\n",
    "\x0bvertical tab",
    "\u00fc" * 10,
]
#: What the CSV download holds instead (formulas neutralised; ``data.export``'s docstring).
CSV_NEUTRALISED = {"=1+1 formula": "'=1+1 formula", "- bullet\n- two": "'- bullet\n- two"}


def _tickets(db: Path) -> list[tuple]:
    with Store.open(db, read_only=True) as store:
        return store.fetchall("SELECT source_id, text, created_at FROM tickets ORDER BY 1")


def test_the_downloads_read_back_as_the_same_tickets(tmp_path: Path) -> None:
    """Expected (held): the tickets download (JSON Lines) uploaded again gives the same
    tickets (id, text to the character, date); the CSV of them gives the same but where it
    neutralises a formula."""
    source = tmp_path / "source.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": f"k{i:02d}", "text": t, "created_at": f"2025-03-{i + 1:02d}T10:00Z"})
            + "\n"
            for i, t in enumerate(TEXTS)
        ),
        encoding="utf-8",
    )
    db = tmp_path / "a.duckdb"
    with Store.open(db) as store:
        (report,) = ingest_files(store, [source])
        assert report.accepted and report.new_tickets == len(TEXTS), report.message
        keys = [k for (k,) in store.fetchall("SELECT ticket_key FROM tickets ORDER BY source_id")]
        page = export.tickets_of_keys(store, keys)
        page["entities"] = [[] for _ in keys]
    original = _tickets(db)
    assert [t for _, t, _ in original] == TEXTS
    (tmp_path / "back.jsonl").write_bytes(export.tickets_jsonl([page]))
    (tmp_path / "back.csv").write_bytes(export.to_csv_bytes(export.flatten_entities(page)))
    for name in ("back.jsonl", "back.csv"):
        with Store.open(tmp_path / f"{name}.duckdb") as store:
            (report,) = ingest_files(store, [tmp_path / name])
            assert report.accepted and report.new_tickets == len(TEXTS), report.message
        expected = original
        if name == "back.csv":
            expected = [(k, CSV_NEUTRALISED.get(t, t), d) for k, t, d in original]
        assert _tickets(tmp_path / f"{name}.duckdb") == expected, name


def test_a_file_handed_twice_then_changed_is_imported_once_and_its_change_later(
    tmp_path: Path,
) -> None:
    """Expected (held): the command line hands the same file twice while no app runs, then
    the file gains a row; the app imports the handed rows once, and the changed file
    uploaded after adds only its new row (the handed file's claim never makes the changed
    file look "ingested before")."""
    db = tmp_path / "db.duckdb"
    Store.open(db).close()
    source = tmp_path / "t.csv"
    source.write_text("id,text\n1,first ticket about GPT-4o\n2,second ticket\n", encoding="utf-8")
    first, second = hand_to_inbox(db, [source]), hand_to_inbox(db, [source])
    assert [h.rows for h in first + second] == [2, 2]
    with source.open("a", encoding="utf-8") as f:
        f.write("3,third ticket added later\n")
    with Store.open(db) as store:
        assert import_inbox(store) == ["t.csv: 2 rows, 2 new tickets"]
        assert import_inbox(store) == []  # nothing left to import
        (report,) = ingest_files(store, [source])
        assert (report.rows, report.new_tickets, report.duplicates) == (3, 1, 2), report.message
        assert store.scalar("SELECT count(*) FROM tickets") == 3
