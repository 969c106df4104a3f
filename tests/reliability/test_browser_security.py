"""Hostile text, SQL injection, exports and limits in the real app (``streamlit run`` +
chromium).

The store holds tickets (and entities) whose text, subject, channel, category and file name
carry ``<script>``, ``<img onerror>``, ``javascript:`` links and Markdown links and images;
every sink sets ``window.__xss`` (or opens a dialog) if it runs. Every page is opened and
must show no exception, no error box, no dialog and no injected element, and the literal
text must be visible where ticket text is shown.

Mechanisms guarded: ``dashboard.ui.highlight_html``/``md_text`` (escaping before
``st.html``/``st.markdown``), plain-text widgets, ``analytics.explore`` filters and
``analytics.saved_scenarios`` as SQL parameters, ``data.export.neutralise_formulas`` behind every
CSV download, ``data.limits.limits_from_env`` and ``server.maxUploadSize`` in the upload
page.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data.ingest import ingest_files
from data.rollups import rebuild_rollups
from data.store import Store
from tests.chromium import new_page
from tests.reliability.conftest import (
    ROLLUP_TABLES,
    choose,
    copy_db,
    fingerprint,
    needs_chromium,
    open_page,
    page_problems,
    rollups_are_fresh,
    settle,
    streamlit_server,
)

pytestmark = [needs_chromium, pytest.mark.e2e]

SCRIPT = '<script>window.__xss=1;alert("xss")</script>'
IMG = '<img src=x onerror="window.__xss=2;alert(2)">'
JS_LINK = '<a href="javascript:window.__xss=3">link</a>'
MD_LINK = "[click me](javascript:window.__xss=4)"
MD_IMG = "![pic](https://example.invalid/x.png)"
FORMULA = '=HYPERLINK("http://evil.invalid","x")'
HOSTILE = f"Ticket from {SCRIPT} about {IMG} and {JS_LINK} {MD_LINK} {MD_IMG} **bold** $x^2$"
HOSTILE_FILE = "<img src=x onerror=window.__xss=6>.csv"
SQL = "'; DROP TABLE tickets; --"
SQL_FILE = "x'); DROP TABLE tickets; --.csv"
MODEL = "hostile-model"
PAGES = ["", "entities", "batch-tagging", "pricing", "price-war", "scenarios"]


def _csv(rows: list[list[str]]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def _hostile_store(path: Path) -> None:
    """Hostile uploads plus entities whose text is the hostile part of the ticket."""
    header = ["id", "customer", "created_at", "channel", "category", "priority", "subject", "text"]
    first = [
        "H1",
        f"cust {IMG}",
        "2026-08-31 10:00:00",
        f"chat {SCRIPT}",
        MD_LINK,
        "high",
        f"subject {JS_LINK}",
        HOSTILE,
    ]
    second = [
        "H2",
        "cust2",
        "2026-08-31 11:00:00",
        "email",
        "billing",
        "low",
        "@SUM(A1)",
        f"{FORMULA} asks about {MD_IMG}",
    ]
    with Store.open(path) as store:
        reports = ingest_files(
            store,
            [
                (HOSTILE_FILE, _io(_csv([header, first, second]))),
                (SQL_FILE, _io(_csv([["text", 'a"); DROP TABLE t;--'], [f"{SQL} {IMG}", "1"]]))),
            ],
        )
        assert all(r.accepted for r in reports), [r.message for r in reports]
        rows = store.fetchall("SELECT ticket_key, text FROM tickets WHERE source <> 'demo'")
        entities, tagged = [], []
        for key, text in rows:
            tagged.append((key, MODEL, "run"))
            for part, label in (
                (SCRIPT, "ORG"),
                (MD_LINK, "PRODUCT"),
                (FORMULA, "ORG"),
                (IMG, "PER"),
            ):
                start = text.find(part)
                if start >= 0:
                    entities.append((key, MODEL, start, start + len(part), label, part, 0.99))

        def write(conn: Any) -> None:
            conn.executemany(
                'INSERT INTO entities (ticket_key, model_id, start, "end", label,'
                " text, score) VALUES (?, ?, ?, ?, ?, ?, ?)",
                entities,
            )
            conn.executemany(
                "INSERT INTO tagged_tickets (ticket_key, model_id, run_id) VALUES (?, ?, ?)", tagged
            )

        store.write(write)
        rebuild_rollups(store)  # those inserts went round the roll-ups: the pages read them


def _io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


@pytest.fixture(scope="module")
def hostile_server(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    db = copy_db(demo_db, tmp_path_factory.mktemp("hostile") / "hostile.duckdb")
    _hostile_store(db)
    before = fingerprint(db)
    with streamlit_server(
        db, env={"PRICEWAR_MAX_UPLOAD_ROWS": "100"}, options=["--server.maxUploadSize", "5"]
    ) as server:
        server.before = before  # type: ignore[attr-defined]
        yield server


def _visible_text(page: Any) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_hostile_text_is_shown_as_text_on_every_page(browser: Any, hostile_server: Any) -> None:
    with new_page(browser) as page:
        for path in PAGES:
            open_page(page, f"{hostile_server.url}/{path}")
            assert page_problems(page) == [], path
        # Where ticket text is shown, the hostile text is visible literally.
        open_page(page, f"{hostile_server.url}/entities")
        choose(page, "Tickets mentioning", f"ORG: {SCRIPT}")
        text = _visible_text(page)
        for literal in (SCRIPT, IMG, JS_LINK, MD_LINK, MD_IMG, "**bold**", "$x^2$"):
            assert literal in text, literal
        assert page_problems(page) == []
        open_page(page, f"{hostile_server.url}/batch-tagging")
        choose(page, "Files", HOSTILE_FILE)
        assert IMG in _visible_text(page)
        assert page_problems(page) == []


BROWSER_UPLOAD = "y'); DELETE FROM tickets; --.csv"
INJECTIONS = [
    SQL,
    "' OR '1'='1",
    "%' OR 1=1; --",
    'x"); DELETE FROM scenarios; --',
    "1; SELECT * FROM duckdb_settings()",
    "\\'; DROP TABLE usage; --",
]


def test_sql_injection_through_url_filters_search_and_uploads_changes_nothing(
    browser: Any, hostile_server: Any, tmp_path: Path
) -> None:
    upload = tmp_path / BROWSER_UPLOAD
    upload.write_bytes(_csv([["text", 'x"); DROP TABLE customers; --'], [f"uploaded {SQL}", "1"]]))
    with new_page(browser) as page:
        open_page(page, f"{hostile_server.url}/batch-tagging")
        page.locator('input[type="file"]').set_input_files(str(upload))
        page.get_by_role("button", name=re.compile("Check and import")).click()
        settle(page)
        page.wait_for_selector("text=Import done")
        assert page_problems(page) == []
        for i, attack in enumerate(INJECTIONS):
            query = urllib.parse.urlencode(
                {
                    "segment": attack,
                    "plan": attack,
                    "region": attack,
                    "from": attack,
                    "to": "2025-01-01' --",
                }
            )
            path = PAGES[i % 3]
            open_page(page, f"{hostile_server.url}/{path}?{query}")
            assert page_problems(page) == [], (path, attack)
        open_page(page, f"{hostile_server.url}/entities")
        for attack in INJECTIONS:
            box = page.get_by_label("Text contains")
            box.fill(attack)
            box.press("Enter")
            settle(page)
            assert page_problems(page) == [], attack
        # A search with quotes and brackets finds the ticket that contains them, verbatim.
        box = page.get_by_label("Text contains")
        box.fill('alert("xss")</script>')
        box.press("Enter")
        settle(page)
        assert SCRIPT in _visible_text(page)
        assert page_problems(page) == []


def _download(page: Any, button: str) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("button", name=button).click()
    return Path(info.value.path()).read_bytes()


def test_scenario_names_are_parameters_and_exports_neutralise_formulas(
    browser: Any, hostile_server: Any
) -> None:
    names = [f"x'); DROP TABLE scenarios; --{IMG}", f"{FORMULA}", "@cmd|' /C calc'!A0"]
    with new_page(browser) as page:
        open_page(page, f"{hostile_server.url}/scenarios")
        for name in names:
            box = page.get_by_label("Name")
            box.fill(name)
            box.press("Enter")
            settle(page)
            page.get_by_role("button", name=re.compile("^Save")).click()
            settle(page)
            assert page_problems(page) == [], name
        for name in names[1:]:  # the comparison's default was set when only one existed
            choose(page, "Scenarios to compare", name)
        assert page_problems(page) == []
        csv_bytes = _download(page, "Comparison (CSV)").decode()
        assert "'" + FORMULA.replace('"', '""') in csv_bytes, csv_bytes[:500]
        assert "'@cmd" in csv_bytes, csv_bytes[:500]
        assert not re.search(r'(^|,|")[=@+-][^0-9]', csv_bytes, re.M), csv_bytes[:1000]
        # The ticket downloads: a ticket text and an entity that start with '='.
        open_page(page, f"{hostile_server.url}/entities")
        tickets_csv = _download(page, "Download these tickets (CSV)").decode()
        assert f"'{FORMULA}".replace('"', '""') in tickets_csv
        assert ",=" not in tickets_csv and "\n=" not in tickets_csv
        open_page(page, f"{hostile_server.url}/batch-tagging")
        choose(page, "Files", HOSTILE_FILE)
        entities_csv = _download(page, "Entities (CSV)").decode()
        assert f"'{FORMULA}".replace('"', '""') in entities_csv
        assert ",=" not in entities_csv


def test_upload_limits_are_configurable_and_reported(
    browser: Any, hostile_server: Any, tmp_path: Path
) -> None:
    """Started with --server.maxUploadSize 5 and PRICEWAR_MAX_UPLOAD_ROWS=100: the page
    names both, and a 101-row file is rejected naming the limit and how to change it."""
    too_many = tmp_path / f"rows {SQL}.csv"
    too_many.write_text("text\n" + "".join(f"ticket {i}\n" for i in range(101)))
    with new_page(browser) as page:
        open_page(page, f"{hostile_server.url}/batch-tagging")
        text = _visible_text(page)
        assert "5 MB" in text and "100 rows" in text, text[:1500]
        page.locator('input[type="file"]').set_input_files(str(too_many))
        page.get_by_role("button", name=re.compile("Check and import")).click()
        settle(page)
        errors = " ".join(page.locator('[data-testid="stAlertContentError"]').all_inner_texts())
        codes = " ".join(page.locator('[data-testid="stCode"]').all_inner_texts())
        assert too_many.name in errors
        assert "more than 100 rows" in codes and "PRICEWAR_MAX_UPLOAD_ROWS" in codes, codes
        assert page_problems(page, errors_allowed=True) == []


def test_the_store_is_intact_after_every_attack(hostile_server: Any) -> None:
    """Runs last in this module: the server is stopped, every table is as before except
    the scenarios the test saved (exactly those names, stored verbatim), the upload and
    the audit rows of both."""
    hostile_server.proc.terminate()
    hostile_server.proc.wait(30)
    after = fingerprint(hostile_server.db)
    before = hostile_server.before
    # written on purpose; the roll-ups move with the upload, in its transaction
    written = {"scenarios", "tickets", "ingested_files", "audit_log", *ROLLUP_TABLES}
    assert rollups_are_fresh(hostile_server.db)
    assert {t: v for t, v in after.items() if t not in written} == {
        t: v for t, v in before.items() if t not in written
    }
    assert after["tickets"][0] == before["tickets"][0] + 1
    with Store.open(hostile_server.db, read_only=True) as store:
        names = {r[0] for r in store.fetchall("SELECT name FROM scenarios")}
        files = {r[0] for r in store.fetchall("SELECT file_name FROM ingested_files")}
        texts = {r[0] for r in store.fetchall("SELECT text FROM tickets")}
        saved = {
            r[0]
            for r in store.fetchall("SELECT target FROM audit_log WHERE action = 'scenario_save'")
        }
    assert names <= saved, "every saved scenario has its audit row, its name verbatim"
    assert f"x'); DROP TABLE scenarios; --{IMG}" in names and FORMULA in names
    assert BROWSER_UPLOAD in files and f"uploaded {SQL}" in texts


def test_the_probe_sees_hostile_html_when_it_is_interpreted(browser: Any) -> None:
    """The detector itself: the same texts inserted as raw HTML are all reported, so a
    page that stopped escaping would fail the tests above."""
    with new_page(browser) as page:
        page.set_content(f"<div>{HOSTILE}</div><a href='javascript:void(0)'>x</a>")
        page.wait_for_timeout(500)
        found = page_problems(page)
    assert any("img" in f for f in found), found
    assert any("javascript" in f for f in found), found
    assert any("__xss" in f for f in found), found
    assert any("dialogs" in f for f in found), found


@pytest.mark.parametrize("kind", ["random_bytes", "truncated_half"])
def test_a_damaged_database_in_the_app_is_a_message_not_a_traceback(
    browser: Any, demo_db: Path, tmp_path: Path, kind: str
) -> None:
    """The app on a damaged file: a plain error box that says to move the file aside, no
    exception element, on the first page and on a page that reads every table."""
    db = tmp_path / "damaged.duckdb"
    data = demo_db.read_bytes()
    db.write_bytes(
        bytes((i * 7919 + 13) % 251 for i in range(64 * 1024))
        if kind == "random_bytes"
        else data[: len(data) // 2]
    )
    with streamlit_server(db) as server, new_page(browser) as page:
        for path in ("", "entities"):
            page.goto(f"{server.url}/{path}")
            page.wait_for_selector('[data-testid="stAlertContentError"]', timeout=120_000)
            settle(page)
            errors = " ".join(page.locator('[data-testid="stAlertContentError"]').all_inner_texts())
            assert "cannot be read" in errors and "Move it aside" in errors, errors
            assert page_problems(page, errors_allowed=True) == []
        assert "Traceback" not in " ".join(page.locator('[data-testid="stMain"]').all_inner_texts())
