"""Hostile ticket text in a real browser (issue #12): it stays text, it cannot widen the page,
and it leaves the app only through the formula-safe CSV download.

The tickets are uploaded with the project's own ingest (``data.ingest.ingest_files``, the
code behind ``python -m data ingest``) into a demo database of this module's own
``streamlit run``, before that server starts, so the shared e2e server is not disturbed.

* one ticket is a single 90,000-character word: its card on the Entities page wraps it
  inside the card; neither the card nor the page scrolls sideways;
* Streamlit's own table toolbar has no "Download as CSV" (``client.disableDataExport``);
  the page's "Download these tickets (CSV)" gives a file whose cells that start with
  ``= + - @`` carry a leading apostrophe;
* script tags, ``<img onerror>``, ``javascript:`` links, remote images and ``$math$`` in a
  ticket are shown as written in cards and tables: no dialog, no element made from them,
  no request to the remote image.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.streamlit_server import run_streamlit
from tests.chromium import new_page as fresh_page
from tests.chromium import settle
from tests.e2e.conftest import ARTIFACTS, HOSTILE

pytestmark = pytest.mark.e2e

SOURCE = "hostile-tickets.jsonl"  # the uploaded file: the tickets' source on Batch tagging

GIANT_MARK = "giantwordprobe"
GIANT = GIANT_MARK + "W" * (90_000 - len(GIANT_MARK))  # one word, no space anywhere

XSS_MARK = "xssprobe"
XSS = (
    f"{XSS_MARK} {HOSTILE} <svg onload=alert(3)></svg>"
    '<iframe src="javascript:alert(4)"></iframe> [click me](javascript:alert(5)) '
    "<b>bold?</b> $$\\frac{1}{0}$$ &amp; &lt;tag&gt;"
)

FORMULA_MARK = "formulaprobe"
#: ticket id → text (and subject) that a spreadsheet would run as a formula
FORMULAS = {
    "fx-eq": "=cmd|' /C calc'!A0 " + FORMULA_MARK,
    "fx-plus": "+SUM(1;2) " + FORMULA_MARK,
    "fx-minus": "-2+3+cmd|' /C calc'!A0 " + FORMULA_MARK,
    "fx-at": "@SUM(A1:A9) " + FORMULA_MARK,
    "fx-line": f'Refund please {FORMULA_MARK}\n=HYPERLINK("http://127.0.0.1:9/";"x")',
}
FORMULA_SUBJECT = "=1+1"
TRIGGERS = ("=", "+", "-", "@")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
BULLET = re.compile(r"[-+]+ \S")


#: Recorded from the first byte of every page: any element added to the document whose
#: markup carries what only the hostile text holds (a handler calling alert, a ``src`` of
#: ``x``, a ``javascript:`` URL, the remote image), including ones removed again at once.
WATCH_JS = r"""
window.__hostile = [];
const URL_ATTRS = ['src', 'href', 'xlink:href', 'srcdoc', 'data', 'action', 'formaction',
                   'poster', 'background'];
new MutationObserver(records => {
  for (const r of records) for (const n of r.addedNodes) {
    if (n.nodeType !== 1) continue;
    for (const el of [n, ...n.querySelectorAll('*')]) {
      const bad = [...el.attributes].filter(a =>
        (a.name.startsWith('on') && /alert/i.test(a.value)) ||
        (URL_ATTRS.includes(a.name) &&
         /^\s*javascript:|127\.0\.0\.1:9\/|^x$/i.test(a.value)));
      if (el.tagName === 'SCRIPT' && /alert|xss/i.test(el.textContent || ''))
        bad.push({name: 'script', value: el.textContent.slice(0, 100)});
      if (bad.length)
        window.__hostile.push(el.tagName + ' ' + bad.map(a => a.name + '=' + a.value).join(' '));
    }
  }
}).observe(document, {childList: true, subtree: true});
"""


def _rows(customer: str, newest: dt.datetime) -> list[dict[str, str]]:
    """The uploaded tickets, newest first (all in the default 12-month period)."""
    items = [("giant", GIANT, "A very long word"), ("xss", XSS, "<script>alert(9)</script>")]
    items += [(key, text, FORMULA_SUBJECT) for key, text in FORMULAS.items()]
    return [
        {
            "id": key,
            "created_at": (newest - dt.timedelta(minutes=i)).isoformat(),
            "customer": customer,
            "channel": "email",
            "subject": subject,
            "text": text,
        }
        for i, (key, text, subject) in enumerate(items)
    ]


def _tag_everything(conn) -> None:
    """Mark every ticket as tagged by a stand-in model (demo gold spans as its entities) so
    the Entities page lists tickets without the trained tagger; the hostile ticket's
    "OpenAI" is an entity, so its card has a highlight among the escaped text."""
    conn.execute(
        "INSERT INTO entities SELECT ticket_key, 'gold-hostile', start, \"end\","
        " label, text, 1.0 FROM gold_entities"
    )
    conn.execute(
        "INSERT INTO entities SELECT ticket_key, 'gold-hostile',"
        " strpos(text, 'OpenAI') - 1, strpos(text, 'OpenAI') + 5, 'ORG', 'OpenAI', 1"
        " FROM tickets WHERE source_id = 'xss'"
    )
    conn.execute(
        "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
        " SELECT ticket_key, 'gold-hostile', 'e2e-hostile' FROM tickets"
    )


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory, e2e_demo_db: Path) -> Iterator[str]:
    """Base URL of a ``streamlit run`` whose store holds a copy of the browser suites' small
    demo and the hostile tickets, uploaded with ``data.ingest`` before the server starts."""
    from data.ingest import ingest_files
    from data.store import Store

    folder = tmp_path_factory.mktemp("e2e-hostile")
    db = folder / "hostile.duckdb"
    upload = folder / SOURCE
    shutil.copyfile(e2e_demo_db, db)
    with Store.open(db) as store:
        newest = store.scalar("SELECT max(created_at) FROM tickets")
        customer = store.scalar("SELECT min(customer_id) FROM customers")
        upload.write_text(
            "".join(json.dumps(r) + "\n" for r in _rows(customer, newest)), encoding="utf-8"
        )
        reports = ingest_files(store, [upload])
        assert [r.status for r in reports] != ["rejected"], reports[0].message
        assert store.scalar("SELECT count(*) FROM tickets WHERE source = ?", [SOURCE]) == 2 + len(
            FORMULAS
        ), reports[0].message
        assert store.scalar("SELECT max(length(text)) FROM tickets") == len(GIANT)
        store.write(_tag_everything)
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
        db, env, log=folder / "streamlit.log", keep_log=ARTIFACTS / "streamlit-hostile.log"
    ) as running:
        yield running.url


@pytest.fixture
def hpage(browser: object, hostile_server: str) -> Iterator[object]:
    """A fresh page that records dialogs (``page.dialogs``), elements made from hostile
    markup (``window.__hostile``) and requests to the remote image (``page.remote``)."""
    with fresh_page(browser) as pg:
        pg.remote = []  # type: ignore[attr-defined]
        pg.on(
            "request",
            lambda r: (
                pg.remote.append(r.url)  # type: ignore[attr-defined]
                if r.url.startswith("http://127.0.0.1:9/") or r.url.startswith("javascript:")
                else None
            ),
        )
        pg.add_init_script(WATCH_JS)
        yield pg


def open_page(page, server: str, path: str) -> None:
    page.goto(f"{server}/{path}")
    page.wait_for_selector("h1", timeout=90_000)
    settle(page)


def search_tickets(page, text: str, expect: int) -> None:
    """Type ``text`` into the Entities page's text search and wait for ``expect`` cards."""
    box = page.get_by_role("textbox", name="Text contains")
    box.fill(text)
    box.press("Enter")
    settle(page)
    page.wait_for_selector(f"text={expect} newest matching tickets")


def healthy(page) -> None:
    """No exception, no error box, no dialog, no element or request made from ticket text."""
    assert page.locator('[data-testid="stException"]').count() == 0
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()
    assert page.dialogs == []
    assert page.evaluate("window.__hostile") == []
    assert page.remote == []


def shot(page, name: str, mark: str | None = None) -> None:
    """A screenshot in tests/artifacts, scrolled to the cards holding ``mark`` if given."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if mark is not None:
        page.locator('[data-testid="stHtml"]', has_text=mark).first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def open_table(page, title: str):
    """Open the expander titled ``title`` and return its dataframe, drawn."""
    page.locator('[data-testid="stExpander"] summary', has_text=title).click()
    frame = page.locator('[data-testid="stDataFrame"]').first
    frame.wait_for(state="visible")
    frame.locator("canvas").first.wait_for()
    settle(page)
    return frame


# -- (1) one enormous word wraps inside its card -----------------------------------------

OVERFLOW_JS = r"""
(mark) => {
  const host = [...document.querySelectorAll('[data-testid="stHtml"]')]
    .find(h => h.textContent.includes(mark));
  if (!host) return null;
  // the innermost element holding the word (the card's text line) and its card
  let text = host;
  for (;;) {
    const next = [...text.children].find(c => c.textContent.includes(mark));
    if (!next) break;
    text = next;
  }
  const card = [...host.children].find(c => c.textContent.includes(mark));
  const box = el => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, width: r.width, height: r.height,
            scrollWidth: el.scrollWidth, clientWidth: el.clientWidth}; };
  const main = document.querySelector('[data-testid="stMain"]');
  const out = {
    viewport: document.documentElement.clientWidth, innerWidth: window.innerWidth,
    docScrollWidth: document.documentElement.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth,
    main: main ? box(main) : null,
    block: box(document.querySelector('[data-testid="stMainBlockContainer"]') || main),
    host: box(host), card: box(card), text: box(text),
    chars: text.textContent.length,
    lineHeight: parseFloat(getComputedStyle(text).lineHeight) || 21,
  };
  // then try to scroll sideways (the window and the app's scrolling main area)
  window.scrollTo(100000, window.scrollY);
  out.scrolledX = window.scrollX;
  window.scrollTo(0, window.scrollY);
  if (main) { main.scrollLeft = 100000; out.mainScrollLeft = main.scrollLeft;
              main.scrollLeft = 0; } else out.mainScrollLeft = 0;
  return out;
}
"""


def assert_no_overflow(m: dict) -> None:
    """The card and its text fit the app's column and the viewport; nothing scrolls
    sideways; the word is all there, broken over many lines."""
    vw = m["viewport"]
    assert m["chars"] >= len(GIANT), m
    assert m["docScrollWidth"] <= vw, f"the document is wider than the viewport: {m}"
    assert m["bodyScrollWidth"] <= vw, f"the body is wider than the viewport: {m}"
    assert m["scrolledX"] == 0, f"the window scrolls sideways: {m}"
    assert m["mainScrollLeft"] == 0, f"the main area scrolls sideways: {m}"
    if m["main"] is not None:
        assert m["main"]["scrollWidth"] <= m["main"]["clientWidth"] + 1, m
    for part in ("host", "card", "text"):
        b = m[part]
        assert b["scrollWidth"] <= b["clientWidth"] + 1, f"the {part} overflows: {m}"
        assert b["left"] >= -1 and b["right"] <= vw + 1, f"the {part} leaves the viewport: {m}"
    assert m["card"]["right"] <= m["host"]["right"] + 1, m
    assert m["card"]["right"] <= m["block"]["right"] + 1, m
    # wrapped, not clipped: ~90,000 characters at a few pixels each need many lines
    lines = m["text"]["height"] / m["lineHeight"]
    assert lines * m["text"]["width"] >= 90_000 * 4, f"the word did not wrap: {m}"


@pytest.mark.parametrize("width", [1400, 420], ids=["desktop", "phone"])
def test_giant_word_wraps_inside_its_card(hpage, hostile_server: str, width: int) -> None:
    hpage.set_viewport_size({"width": width, "height": 1000})
    open_page(hpage, hostile_server, "entities")
    search_tickets(hpage, GIANT_MARK, 1)
    metrics = hpage.evaluate(OVERFLOW_JS, GIANT_MARK)
    assert metrics is not None, "no ticket card shows the giant word"
    shot(hpage, f"hostile-giant-word-{width}", GIANT_MARK)
    assert_no_overflow(metrics)
    healthy(hpage)


def test_giant_word_wraps_in_the_batch_tagging_preview(hpage, hostile_server: str) -> None:
    """The same promise where the uploaded file's tickets are previewed as cards."""
    open_page(hpage, hostile_server, "batch-tagging")
    hpage.wait_for_selector(f"text={2 + len(FORMULAS)} tickets from the chosen files")
    metrics = hpage.evaluate(OVERFLOW_JS, GIANT_MARK)
    assert metrics is not None, "the preview shows no card with the giant word"
    shot(hpage, "hostile-giant-word-batch-tagging", GIANT_MARK)
    assert_no_overflow(metrics)
    healthy(hpage)


# -- (2) no built-in table download; the app's CSV is formula-safe ------------------------


def toolbar_labels(page, frame) -> list[str]:
    """The aria-labels of the toolbar a hovered dataframe shows."""
    frame.scroll_into_view_if_needed()
    frame.hover()
    toolbar = frame.locator('[data-testid="stElementToolbar"]')
    buttons = toolbar.locator('[data-testid="stElementToolbarButton"] button')
    buttons.first.wait_for(state="visible", timeout=15_000)  # the toolbar is up
    return [b.get_attribute("aria-label") or "" for b in buttons.all()]


def test_table_toolbar_has_no_download(hpage, hostile_server: str) -> None:
    open_page(hpage, hostile_server, "entities")
    search_tickets(hpage, FORMULA_MARK, len(FORMULAS))
    frame = open_table(hpage, f"All {len(FORMULAS)} tickets as a table")
    labels = toolbar_labels(hpage, frame)
    assert labels, "the dataframe's toolbar shows no button at all"
    assert any(re.match(r"(Search|Fullscreen)", x) for x in labels), labels
    assert not [x for x in labels if "download" in x.lower() or "csv" in x.lower()], labels
    assert hpage.get_by_role("button", name=re.compile("Download as CSV")).count() == 0
    shot(hpage, "hostile-table-toolbar")
    # the page's own download is there instead
    assert hpage.get_by_role("button", name=re.compile("Download these tickets")).count() == 1
    healthy(hpage)
    # the upload's entity table on Batch tagging: the same
    open_page(hpage, hostile_server, "batch-tagging")
    frame = hpage.locator('[data-testid="stDataFrame"]').last
    frame.locator("canvas").first.wait_for()
    labels = toolbar_labels(hpage, frame)
    assert not [x for x in labels if "download" in x.lower() or "csv" in x.lower()], labels
    healthy(hpage)


def _risky(text: str) -> bool:
    return text.startswith(TRIGGERS) and not PLAIN_NUMBER.fullmatch(text)


def test_ticket_download_neutralises_formulas(hpage, hostile_server: str, tmp_path: Path) -> None:
    open_page(hpage, hostile_server, "entities")
    search_tickets(hpage, FORMULA_MARK, len(FORMULAS))
    with hpage.expect_download(timeout=60_000) as info:
        hpage.get_by_role("button", name=re.compile("Download these tickets")).click()
    download = info.value
    assert download.suggested_filename == "tickets.csv"
    target = tmp_path / "tickets.csv"
    download.save_as(str(target))
    body = target.read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(body, newline="")))
    assert len(table) == len(FORMULAS), body[:2000]
    by_id = {row["source_id"]: row for row in table}
    assert set(by_id) == set(FORMULAS), sorted(by_id)
    for key, text in FORMULAS.items():
        row = by_id[key]
        lines = text.split("\n")
        expected = "\n".join(("'" + line) if _risky(line) else line for line in lines)
        assert row["text"] == expected, (key, row["text"])
        assert row["subject"] == "'" + FORMULA_SUBJECT, (key, row["subject"])
    # no cell, and no line inside a cell, starts like a formula
    for row in csv.reader(io.StringIO(body, newline="")):
        for cell in row:
            assert not _risky(cell), f"cell starts like a formula: {cell[:80]!r}"
            for line in re.split(r"\r\n|\r|\n", cell)[1:]:
                assert not (_risky(line) and not BULLET.match(line)), (
                    f"a line inside a cell starts like a formula: {line[:80]!r}"
                )
    healthy(hpage)


# -- (3) hostile markup stays text in cards and tables -------------------------------------


def assert_card_is_text(card) -> None:
    text = card.inner_text()
    for literal in (
        '<script>alert("xss")</script>',
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(2))",
        "![p](http://127.0.0.1:9/p.png)",
        "$x^2$",
        "<svg onload=alert(3)></svg>",
        "[click me](javascript:alert(5))",
        "<b>bold?</b>",
        "$$\\frac{1}{0}$$",
        "&amp; &lt;tag&gt;",
    ):
        assert literal in text, (literal, text[:600])
    made = card.locator("script, img, a, svg, iframe, b, .katex, math, .stMarkdown")
    assert made.count() == 0, card.inner_html()[:2000]


def test_hostile_markup_stays_text(hpage, hostile_server: str) -> None:
    open_page(hpage, hostile_server, "entities")
    search_tickets(hpage, XSS_MARK, 1)
    card = hpage.locator('[data-testid="stHtml"]', has_text=XSS_MARK).first
    assert_card_is_text(card)
    assert card.locator("mark").count() == 1  # the OpenAI entity is highlighted
    assert card.locator("mark").text_content().startswith("OpenAI")  # then its label
    time.sleep(1)  # an image that errors or a handler would have fired by now
    healthy(hpage)
    # the same ticket in the table (drawn on a canvas: nothing to run)
    open_table(hpage, "All 1 tickets as a table")
    time.sleep(1)
    shot(hpage, "hostile-markup-entities")
    healthy(hpage)
    # the upload's preview cards and entity table on Batch tagging
    open_page(hpage, hostile_server, "batch-tagging")
    hpage.wait_for_selector(f"text={2 + len(FORMULAS)} tickets from the chosen files")
    card = hpage.locator('[data-testid="stHtml"]', has_text=XSS_MARK).first
    assert_card_is_text(card)
    hpage.locator('[data-testid="stDataFrame"]').last.locator("canvas").first.wait_for()
    time.sleep(1)
    shot(hpage, "hostile-markup-batch-tagging", XSS_MARK)
    healthy(hpage)
