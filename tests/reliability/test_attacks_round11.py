"""Issue #12, an eleventh round of hostile attempts: round 10's two open points (a ticket
card as tall as its text is long, a carriage return kept by ``ui.md_text``), then angles
rounds 1-10 did not cover.

Each test is an attack that broke something when it was written (each failed on that code:
checked in a copy of the tree holding the previous versions of the files it fixes). Each
docstring says what broke and what is expected instead. See "Round 11" in
``RELIABILITY.md`` for what held.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import (
    ROOT,
    app_probe,
    assert_no_traceback,
    cli_env,
    copy_db,
    needs_chromium,
    run_cli,
)

# -- rendered ticket text (dashboard/ui.py) ----------------------------------------------


def test_md_text_keeps_no_carriage_return_that_would_start_a_paragraph() -> None:
    """Expected: a value shown through ``ui.md_text`` stays on the line it is put in: CR,
    CR LF and LF all become spaces, so an alert or file name holding ``\\r\\r# b`` is one
    bold run of text, not a paragraph break and a heading; a message that starts with four
    spaces or a tab is a paragraph, not a code block.

    Broke (left open by round 10): only LF was replaced; Markdown (CommonMark) also ends a
    line at CR, so ``**a\\r\\r# b**`` rendered as ``<p>**a</p><h1>b**</h1>``; and
    ``st.warning(ui.md_text(message))`` of ``"    a"`` or ``"\\ta"`` rendered as code.
    """
    from markdown_it import MarkdownIt

    from dashboard import ui

    render = MarkdownIt("commonmark").render
    for name in ("a\r\r# b", "a\r\n\r\n# b", "a\n\n# b", "a\r\n# b\r- c"):
        shown = ui.md_text(name)
        assert "\r" not in shown and "\n" not in shown, repr(shown)
        rendered = render(f"**{shown}** · open")
        assert rendered.count("<p>") == 1 and "<h1>" not in rendered and "<li>" not in rendered
        assert "<strong>a" in rendered, rendered
    for message in ("    a is not code", "\ta is not code"):
        assert render(ui.md_text(message)) == "<p>a is not code</p>\n"


_CARD_JS = """() => {
  const boxes = [...document.querySelectorAll('mark')].map(m => m.parentElement.parentElement);
  return {height: document.documentElement.scrollHeight,
          width: document.documentElement.scrollWidth,
          kept: boxes.map(b => b.textContent.length),
          scrollable: boxes.map(b => b.scrollHeight > b.clientHeight)};
}"""


@needs_chromium
@pytest.mark.e2e
@pytest.mark.parametrize(
    "text",
    [
        "\n".join(f"line {i}" for i in range(50_000)),
        "\r".join(f"line {i}" for i in range(50_000)),
        "refund " * 14_000,
    ],
    ids=["50k-lf-lines", "50k-cr-lines", "98k-chars-one-line"],
)
def test_a_ticket_of_fifty_thousand_lines_does_not_make_the_page_a_million_pixels_tall(
    browser: Any, text: str
) -> None:
    """Expected: in chromium (1,400 × 1,000 px), three cards, the middle one a ticket of
    50,000 short lines (or one line of 98,000 characters that wraps), leave the page under
    2,000 px tall: the long text scrolls inside a box of bounded height, whole (every
    character still there), and a note under it says how long it is.

    Broke (left open by round 10): the card grew with its text: 1,050,036 px for 50,000
    lines (and the card after it that far down the page).
    """
    from dashboard import ui
    from tests.chromium import new_page

    entity = [{"start": 0, "end": 4, "label": "PRODUCT"}]
    cards = (
        ui.ticket_card_html("Refund please", entity, ["chat"])
        + ui.ticket_card_html(text, entity, ["2024-01-02 00:00 UTC", "chat"])
        + ui.ticket_card_html("Next ticket", entity, ["email"])
    )
    with new_page(browser) as page:
        page.set_content(f"<html><body style='margin:0'>{cards}</body></html>")
        seen = page.evaluate(_CARD_JS)
    print(f"FIGURE round11_long_card_page_px: {seen['height']}")
    assert seen["height"] < 2000, seen["height"]
    assert seen["width"] <= 1400, seen["width"]
    assert seen["kept"][1] >= len(text.replace("\r", "")) - 10  # the whole text, in the box
    assert seen["scrollable"] == [False, True, False]
    assert "Long ticket:" in cards and "scroll inside the box" in cards


def test_a_short_ticket_card_has_no_long_ticket_note() -> None:
    """Guard: ordinary tickets (a few lines, a few hundred characters) get no note."""
    from dashboard import ui

    card = ui.ticket_card_html("Refund please\nThanks,\nKwame", [], ["chat"])
    assert "Long ticket" not in card
    assert "50,000 lines" in ui.ticket_card_html("\n" * 49_999, [], [])


# -- database paths on the command lines (data/db_file.py) --------------------------------


@pytest.mark.parametrize(
    "command",
    [("data", "stats"), ("data", "demo", "--quiet"), ("analytics", "signals"), ("model", "tag")],
    ids=lambda c: " ".join(c[:2]),
)
@pytest.mark.parametrize("db", ["", "/", "sub/.."])
def test_a_database_path_that_names_no_file_is_one_line_not_a_traceback(
    command: tuple[str, ...], db: str, tmp_path: Path
) -> None:
    """Expected: ``--db ""`` (an unset shell variable: ``--db "$DB"``), ``--db /`` or a path
    ending in ``..`` is exit 2 with one line saying it names a folder, not a file.

    Broke: ``pathlib`` raised ``ValueError: PosixPath('.') has an empty name`` while the
    write-ahead log's name was derived: a traceback, exit 1, for every verb of the three
    command lines.
    """
    package, *args = command
    run = run_cli(package, *args, "--db", db)
    assert run.returncode == 2, run.stderr[-2000:]
    assert_no_traceback(run.stderr)
    assert "names a folder, not a file" in run.stderr.strip().splitlines()[-1]


def test_a_folder_given_as_the_database_is_called_a_folder_not_a_damaged_file(
    tmp_path: Path,
) -> None:
    """Expected: ``--db <a folder>`` says the path is a folder; nothing advises moving a
    damaged database aside.

    Broke: the folder was left to DuckDB, whose refusal became "… is not a readable DuckDB
    database (IO Error: … Is a directory); move it aside and the dashboard will create a
    fresh demo database".
    """
    from data.db_file import StorePathError
    from data.store import Store

    run = run_cli("data", "stats", "--db", tmp_path)
    assert run.returncode == 2 and "is a folder, not a database file" in run.stderr
    assert "move it aside" not in run.stderr
    with pytest.raises(StorePathError, match="is a folder"):
        Store.open(tmp_path, read_only=True)


def test_a_database_path_that_is_not_utf8_is_refused_as_such_not_called_damaged(
    demo_db: Path, tmp_path: Path
) -> None:
    """Expected: a database path holding bytes that are not UTF-8 (``caf\\xe9.duckdb``,
    written by a Latin-1 system) is refused naming that, for a new path and for a sound
    database copied to such a name; nothing created, no advice to move the file aside.

    Broke: DuckDB takes UTF-8 file names only and failed with "Python Conversion Failure
    … surrogate"; ``connect`` reported it as "not a readable DuckDB database …; move it
    aside and the dashboard will create a fresh demo database" — for a file that did not
    exist (``data demo``) and for a sound database (``data stats``).
    """
    from data.db_file import StorePathError
    from data.store import Store

    folder = os.fsencode(tmp_path)
    new = os.fsdecode(folder + b"/new-caf\xe9.duckdb")
    run = run_cli("data", "demo", "--quiet", "--tickets", "5", "--db", new)
    assert run.returncode == 2 and "not UTF-8" in run.stderr, run.stderr[-2000:]
    assert "move it aside" not in run.stderr
    assert_no_traceback(run.stderr)
    assert os.listdir(folder) == []

    sound = os.fsdecode(folder + b"/caf\xe9.duckdb")
    shutil.copy(demo_db, sound)
    run = run_cli("data", "stats", "--db", sound)
    assert run.returncode == 2 and "not UTF-8" in run.stderr, run.stderr[-2000:]
    assert "move it aside" not in run.stderr
    with pytest.raises(StorePathError, match="not UTF-8"):
        Store.open(Path(sound), read_only=True)


# -- the Batch tagging page's results and downloads (dashboard/views/batch_tagging.py) ---

_BATCH_PAGE_PEAK = textwrap.dedent("""
    import json, sys
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.testing.v1 import AppTest

    downloads = {}  # file name -> what a click on its button sends
    deferred, inline = MediaFileManager.add_deferred, MediaFileManager.add

    def add_deferred(self, fn, mimetype, coordinates, file_name=None, *args, **kwargs):
        downloads[file_name] = fn
        return deferred(self, fn, mimetype, coordinates, file_name, *args, **kwargs)

    def add(self, data, mimetype, coordinates, file_name=None, *args, **kwargs):
        downloads[file_name] = lambda: data
        return inline(self, data, mimetype, coordinates, file_name, *args, **kwargs)

    MediaFileManager.add_deferred, MediaFileManager.add = add_deferred, add

    def peak_mib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024

    at = AppTest.from_file(sys.argv[1], default_timeout=600)
    at.run()
    before = peak_mib()
    at.switch_page("views/batch_tagging.py").run()  # the newest file is chosen by default
    page = peak_mib()
    problems = [str(e.value) for e in [*at.exception, *at.error]]
    jsonl = downloads["tagged_tickets.jsonl"]()
    lines = [json.loads(line) for line in jsonl.splitlines()]
    clicked = peak_mib()
    print(json.dumps({"before": before, "page": page, "clicked": clicked, "problems": problems,
                      "tickets": len(lines), "chars": sum(len(t["text"]) for t in lines),
                      "csv": downloads["entities.csv"]().decode()[:40]}))
""")


@pytest.mark.slow
def test_the_batch_tagging_page_does_not_hold_every_chosen_ticket_at_each_run(
    demo_db: Path, tmp_path: Path
) -> None:
    """Expected: opening Batch tagging on an upload of 1,200 tickets of 99,000 characters
    (119 MB of text, accepted under the default limits) grows the server by well under
    256 MiB: the page reads the 10 tickets it shows; the JSON Lines and CSV downloads are
    built when clicked, page by page, and hold every ticket (up to 256 MiB).

    Broke: each run of the page read every ticket of the chosen files with its text
    (``ticket_list(limit=100_000)``), kept a pickled copy in the page cache, masked,
    encoded the JSONL and the CSV: about ten times the text, at every rerun of every
    session (3,000 such tickets: 2.7 GB at the first run, 3.5 GB at the second; the largest
    accepted upload, 1 GB of text, about 10 GB), enough for a few sessions to take the
    server down.
    """
    db = copy_db(demo_db, tmp_path / "db.duckdb")
    upload = tmp_path / "long.csv.gz"
    with gzip.open(upload, "wt", compresslevel=1) as f:
        f.write("id,text\n")
        for i in range(1_200):
            f.write(f"{i},{chr(97 + i % 26) * 99_000}\n")
    assert run_cli("data", "ingest", "--db", db, upload).returncode == 0
    seen = app_probe(_BATCH_PAGE_PEAK, db)
    print(f"FIGURE round11_batch_page_growth_mib: {seen['page'] - seen['before']}")
    print(f"FIGURE round11_batch_click_peak_mib: {seen['clicked']}")
    assert seen["problems"] == []
    assert seen["page"] - seen["before"] < 256, seen
    assert seen["tickets"] == 1_200 and seen["chars"] == 1_200 * 99_000
    assert seen["csv"].startswith('"ticket_key","source"')


def test_a_download_page_by_page_keeps_whole_records_within_its_bound(
    demo_db: Path, tmp_path: Path
) -> None:
    """Guard of the paged downloads: pages follow the ticket list's order (newest first),
    hold at most the page's rows or bytes, stop at the download's bound, and a bounded join
    never cuts a JSON line."""
    from data import export
    from data.store import Store

    db = copy_db(demo_db, tmp_path / "db.duckdb")
    upload = tmp_path / "t.csv"
    upload.write_text(
        "id,text,created_at\n"
        + "".join(f"{i},{'x' * (i * 100)},2024-01-{1 + i % 28:02d}\n" for i in range(1, 60))
    )
    assert run_cli("data", "ingest", "--db", db, upload).returncode == 0
    with Store.open(db, read_only=True) as store:
        every = [k for p in export.source_ticket_pages(store, ["t.csv"]) for k in p]
        assert len(every) == 59 and export.text_bytes(store, ["t.csv"]) == 100 * 59 * 60 // 2
        dates = export.tickets_of_keys(store, every)["created_at"].tolist()
        assert dates == sorted(dates, reverse=True)
        pages = list(export.source_ticket_pages(store, ["t.csv"], page_bytes=1_000, page_rows=3))
        assert all(len(p) <= 3 for p in pages) and sum(map(len, pages)) == 59
        bounded = [
            k for p in export.source_ticket_pages(store, ["t.csv"], max_bytes=5_000) for k in p
        ]
        assert 0 < len(bounded) < 59 and bounded == every[: len(bounded)]
    parts = [export.to_jsonl_bytes([{"n": i, "t": "y" * 50}]) for i in range(10)]
    joined = export.join_bounded(iter(parts), max_bytes=len(parts[0]) * 3 + 5)
    assert [json.loads(line)["n"] for line in joined.splitlines()] == [0, 1, 2]


# -- entity-shard folders, from the command line and the inbox (data/entity_shards.py) ----


def _shard_folder_with_marker(folder: Path) -> Path:
    """A shard folder (manifest, one shard's Parquet files) whose completion marker is
    still to be made at the returned path."""
    (folder / "_done").mkdir(parents=True)
    (folder / "_tagged").mkdir()
    (folder / "_pricewar_entity_shards.json").write_text('{"format": 1, "model_id": "m1"}')
    (folder / "a.parquet").touch()
    (folder / "_tagged" / "a.parquet").touch()
    return folder / "_done" / "a.json"


def test_a_shard_marker_that_is_a_named_pipe_blocks_neither_the_command_nor_the_inbox(
    tmp_path: Path,
) -> None:
    """Expected: a shard folder whose completion marker ``_done/a.json`` is a named pipe is
    refused at once naming the file: ``data ingest FOLDER`` exits 2 in one line, and a
    ``.shards.json`` request naming it in the inbox is set aside while the ticket file
    handed over behind it is imported in the same poll.

    Broke: the marker was read with ``Path.read_text``, which waited for a writer for
    good: ``data ingest`` of the folder hung, and so did the app's inbox poller, so no
    later handover or tagging request was ever taken (the FIFO of issue #12's item 1,
    one folder further).
    """
    import threading

    from data.inbox import hand_to_inbox, import_inbox
    from data.paths import inbox_dir
    from data.store import Store

    folder = tmp_path / "shards"
    marker = _shard_folder_with_marker(folder)
    os.mkfifo(marker)
    db = tmp_path / "app.duckdb"
    Store.open(db).close()
    run = run_cli("data", "ingest", "--db", db, folder, timeout=60)
    assert run.returncode == 2 and "named pipe" in run.stderr, run.stderr[-2000:]
    assert_no_traceback(run.stderr)

    with Store.open(db) as store:
        inbox = inbox_dir(db)
        inbox.mkdir(exist_ok=True)
        request = inbox / "0000.shards.json"
        request.write_text(json.dumps({"folder": str(folder)}))
        os.utime(request, (1, 1))  # taken first
        source = tmp_path / "behind.csv"
        source.write_text("text\nrefund please\n")
        hand_to_inbox(db, [source])
        box: dict[str, Any] = {}
        poll = threading.Thread(target=lambda: box.update(messages=import_inbox(store)))
        poll.start()
        poll.join(30)
        if poll.is_alive():
            os.close(os.open(marker, os.O_WRONLY | os.O_NONBLOCK))  # let the poller go
            poll.join(10)
            pytest.fail("the inbox poll blocked on the shard marker")
        assert store.scalar("SELECT count(*) FROM tickets WHERE source = 'behind.csv'") == 1
        assert not request.exists()
        assert any("named pipe" in m for m in box["messages"]), box


def test_a_shard_marker_linked_to_a_huge_file_is_refused_not_read(tmp_path: Path) -> None:
    """Expected: a completion marker that is a link to a 64 MiB file (or any file over
    1 MiB: the tagger writes a few hundred bytes) is refused naming it, unread.

    Broke: it was read whole (a link to ``/dev/zero`` until memory ran out), then taken
    for an incomplete shard without a word.
    """
    from data.entity_shards import EntityShardError
    from data.shard_loading import check_shard_folder

    marker = _shard_folder_with_marker(tmp_path / "shards")
    huge = tmp_path / "huge.log"
    with huge.open("wb") as f:
        f.truncate(64 * 2**20)
    marker.symlink_to(huge)
    with pytest.raises(EntityShardError, match="more than a shard's JSON"):
        check_shard_folder(tmp_path / "shards")


# -- uploads (data/ingest.py) -------------------------------------------------------------


class _Upload(io.BytesIO):
    """What the upload page hands to ``ingest_files``: bytes with the name the browser
    sent (any text: a browser is not bound by a file system)."""

    def __init__(self, name: str, data: bytes) -> None:
        super().__init__(data)
        self.name = name


def test_a_file_name_of_a_megabyte_is_refused_not_stored_with_every_ticket(
    db: Path, tmp_path: Path
) -> None:
    """Expected: an upload whose name is longer than 255 characters (the longest a file
    system allows; a browser may send any name) is rejected naming the limit, with a
    shortened name in the report (and the audit row); nothing is written. 255 characters
    still pass.

    Broke: the name was stored as ``tickets.source`` with every ticket of the file; with a
    1 MiB name, a list of 200 of its tickets (the Entities page's default list, cached for
    an hour per filter) took 519 MiB, and a 20 MiB name (the upload limit is 200 MB) would
    make it about 10 GB.
    """
    from data.ingest import ingest_files
    from data.store import Store
    from tests.reliability.conftest import fingerprint

    before = fingerprint(db)
    rows = b"text\n" + b"".join(b"refund please %d\n" % i for i in range(300))
    with Store.open(db) as store:
        (report,) = ingest_files(store, [_Upload("n" * 2**20 + ".csv", rows)])
    assert report.status == "rejected"
    assert len(report.file) < 100 and "1,048,580 characters" in report.file
    assert "over the limit of 255" in str(report.problems[0])
    assert fingerprint(db) == before
    with Store.open(db) as store:
        (report,) = ingest_files(store, [_Upload("n" * 251 + ".csv", rows)])
    assert report.status == "imported" and report.new_tickets == 300


# -- local mode and the request's host name (dashboard/access.py) -------------------------

_REBIND_BROWSE = textwrap.dedent("""
    import sys
    from playwright.sync_api import sync_playwright
    from tests.chromium import CHROMIUM, CHROMIUM_ARGS, settle

    port = sys.argv[1]
    rules = "--host-resolver-rules=MAP rebind.example 127.0.0.1"  # the rebound DNS name
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, rules])
        for host in ("rebind.example", "127.0.0.1", "localhost"):
            page = browser.new_page()
            page.goto(f"http://{host}:{port}/settings")
            page.wait_for_selector("h1, [data-testid='stAlertContentError']", timeout=120_000)
            settle(page, 120)
            text = " ".join(page.inner_text("body").split())
            print(f"{host}\\t{text[:3000]}")
            page.close()
        browser.close()
""")


@needs_chromium
@pytest.mark.e2e
def test_a_page_reached_through_a_rebound_dns_name_is_not_served_as_the_local_admin(
    db: Path,
) -> None:
    """Expected: in local mode (no sign-in, the server on 127.0.0.1), a page requested
    under another DNS name that resolves to this machine (``rebind.example`` → 127.0.0.1,
    as a web site does to the visitor's browser in a DNS-rebinding attack) lets nobody in
    and says why; ``http://127.0.0.1:PORT`` and ``http://localhost:PORT`` still open as the
    local admin.

    Broke: local mode looked only at the server's address and at proxy headers, so the page
    opened as the local admin under the foreign name: the Settings page with its data
    reset, from a site whose scripts share that origin (same host, same port).
    """
    from tests.reliability.conftest import streamlit_server

    with streamlit_server(db) as server:
        port = server.url.rsplit(":", 1)[1]
        run = subprocess.run(
            [sys.executable, "-c", _REBIND_BROWSE, port],
            cwd=ROOT,
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = dict(line.split("\t", 1) for line in run.stdout.splitlines() if "\t" in line)
    assert (
        "DNS rebinding" in seen["rebind.example"] and "nobody is let in" in seen["rebind.example"]
    )
    assert "Data reset" not in seen["rebind.example"]
    for host in ("127.0.0.1", "localhost"):
        assert "Data reset" in seen[host] and "local mode" in seen[host], seen[host][:500]


# -- python -m model train's numbers (model/cli.py) ---------------------------------------


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--epochs", "0"),
        ("--rank", "0"),
        ("--max-length", "0"),
        ("--seed", "-1"),
        ("--demo-train", "-5"),
        ("--lr", "nan"),
        ("--o-weight", "nan"),
        ("--class-weight-power", "inf"),
    ],
)
def test_model_train_with_a_number_out_of_range_is_one_line_naming_the_flag(
    flag: str, value: str, tmp_path: Path
) -> None:
    """Expected: ``python -m model train`` with a number its training cannot use exits 2
    with one line naming the flag and its range, before anything is trained or written.

    Broke: ``--epochs 0`` (AssertionError), ``--rank 0``, ``--max-length 0``, ``--seed -1``,
    ``--demo-train -5`` (ValueError) ended in a traceback, exit 1; ``--lr nan`` and
    ``--o-weight nan`` trained for a minute and wrote an artefact that finds nothing (dev
    F1 0.0000), exit 0; ``--class-weight-power inf`` was taken as given.
    """
    out = tmp_path / "tagger"
    run = run_cli(
        "model", "train", "--demo-train", "16", "--demo-dev", "4", "--output", out,
        "--quiet", flag, value, timeout=600,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr[-2000:]
    assert_no_traceback(run.stderr)
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("python -m model train: error: " + flag), line
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("dos-export.csv", b"text\n" + b"refund please\n" * 10 + b"\x1a"),
        ("controls.jsonl", b'{"text": "\\u001b\\u0007"}\n{"text": "refund please"}\n'),
        ("c1.csv", "text\nrefund please\n\u0085\u009b\n".encode()),
    ],
    ids=["trailing-ctrl-z", "esc-bel-escapes", "c1-controls"],
)
def test_a_ticket_of_only_control_characters_is_empty_text(
    name: str, data: bytes, tmp_path: Path
) -> None:
    """Expected: a ticket whose text is nothing but control characters (the DOS end-of-file
    mark Ctrl-Z that old exports end with, ESC and BEL, C1 controls) is "empty text" by row
    and column, as white space and invisible format characters are (round 10).

    Broke: it was accepted as a ticket: a CSV ending with Ctrl-Z gained an eleventh
    ticket "\\x1a", shown as an empty card and counted in every figure.
    """
    from data.errors import IngestError
    from data.staging import stage_file

    with pytest.raises(IngestError) as refused:
        stage_file(data, name=name, staging_dir=tmp_path)
    assert [p.column for p in refused.value.problems] == ["text"]
    assert refused.value.problems[0].message == "empty text"
