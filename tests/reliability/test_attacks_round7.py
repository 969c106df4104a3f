"""Issue #12, a seventh fresh round of hostile attempts: the leftovers of earlier rounds
(invisible characters inside card numbers, line breaks in printed file names, the
sign-out record, "-0.0 %" deltas, "$0.000" in the pricing memo), then odd paths given to
the command lines and the app as the database, a tagger folder or an output file, dates
without a day, missing ids read as "nan", and JSON downloads.

Each test is an attack that broke something when it was written (each failed on that code:
checked in a copy of the tree holding the previous versions of the files it fixes). Each
docstring says what broke and what is expected instead. See "Round 7" in
``RELIABILITY.md`` for what held.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import app_db, downloads, secured  # noqa: F401  (fixtures)
from tests.dashboard.signin import app_as, texts
from tests.reliability.conftest import (
    add_ticket_naming_openai,
    assert_no_traceback,
    cli_env,
    downloaded_ticket_rows,
    output_targets,
    run_cli,
    tagger_folder_with,
)

ROOT = Path(__file__).resolve().parents[2]


def _one_line_error(result: subprocess.CompletedProcess[str], prog: str) -> str:
    """The one line a refused command prints: exit 2, ``<prog>: error: …``, no traceback
    (argparse's usage lines before it aside)."""
    assert_no_traceback(result.stderr)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not line.startswith(("usage:", " "))
    ]
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), result.stderr
    return lines[0]


# -- invisible characters inside customer data (dashboard/ui.py) ----------------------------

#: Card numbers and addresses with characters a page draws as nothing between their groups
#: (soft hyphens pasted from a word processor, a word joiner, bidirectional marks, the
#: grapheme joiner, the Mongolian vowel separator, a NUL).
INVISIBLE = {
    "card_soft_hyphens": "4111\u00ad1111\u00ad1111\u00ad1111",
    "card_soft_hyphen_in_a_group": "41\u00ad11 1111 1111 1111",
    "card_left_to_right_marks": "4111\u200e1111\u200e1111\u200e1111",
    "card_grapheme_joiners": "4111\u034f1111\u034f1111\u034f1111",
    "card_mongolian_vowel_separators": "4111\u180e1111\u180e1111\u180e1111",
    "card_in_one_run_with_a_soft_hyphen": "4111111\u00ad111111111",
    "phone_soft_hyphens": "+44\u00ad20\u00ad7946\u00ad0958",
    "email_soft_hyphens": "jane\u00ad.doe@exam\u00adple.org",
}


def _as_read(text: str) -> str:
    """What a reader sees: the invisible characters dropped."""
    from dashboard.ui import invisible_pattern

    return invisible_pattern().sub("", text)


def _hidden(value: str) -> list[str]:
    """What must not be readable of ``value``: its digits beyond the kept ones, its address."""
    seen = _as_read(value)
    if "@" in seen:
        return [seen, seen.split("@")[0]]
    digits = "".join(c for c in seen if c.isdigit())
    return [digits, digits[:8]]


@pytest.mark.parametrize("case", list(INVISIBLE))
def test_invisible_characters_inside_customer_data_do_not_unmask_it(case: str) -> None:
    """Expected: a card number, phone number or address with soft hyphens (or other
    characters a page draws as nothing) between its parts is masked for a viewer like the
    same number without them, in the ticket text, the subject and entity names; the text
    keeps its length (entity offsets stay valid).

    Broke: ``data.masking`` saw ``4111\\u00ad1111\\u00ad1111\\u00ad1111`` as four separate
    numbers (a soft hyphen is no separator it knows), so viewers read the whole card on
    every page and in every download (left open by round 4).
    """
    import pandas as pd

    from dashboard import ui
    from dashboard.access import Role, User

    viewer = User(actor="vera@example.com", role=Role.VIEWER, email="vera@example.com", mode="oidc")
    value = INVISIBLE[case]
    text = f"Refund to {value} please"
    frame = pd.DataFrame(
        {
            "text": [text],
            "subject": [f"re {value}"],
            "entities": [[{"start": 10, "end": 10 + len(value), "label": "ORG", "text": value}]],
        }
    )
    shown = ui.visible_tickets(frame, viewer)
    column = ui.visible_column(pd.DataFrame({"entity": [value]}), ["entity"], viewer)
    masked = [
        shown["text"].iloc[0],
        shown["subject"].iloc[0],
        shown["entities"].iloc[0][0]["text"],
        column["entity"].iloc[0],
    ]
    assert len(masked[0]) == len(text)
    for out in masked:
        for secret in _hidden(value):
            assert secret not in _as_read(out), (out, secret)
    assert ui.mask_text(masked[0]) == masked[0]  # masked again: unchanged


def test_a_viewer_never_reads_a_soft_hyphenated_card_on_entities_or_in_its_download(
    secured: Path, downloads: dict[str, bytes]
) -> None:
    """Expected: the Entities page and its "Download these tickets (CSV)" show a viewer a
    ticket whose card number is written with soft hyphens masked, as they do without them.

    Broke: shown whole on the page and in the download."""
    from tests.dashboard.signin import VIEWER

    card = INVISIBLE["card_soft_hyphens"]
    text = f"Refund to {card} please. OpenAI is cheaper."
    add_ticket_naming_openai(secured, "softcard", text, "soft.csv")
    at = app_as(VIEWER)
    at.run()
    at.switch_page("views/entities.py").run()
    assert not at.exception, [e.value for e in at.exception]
    rows = downloaded_ticket_rows(downloads, "softcard")
    assert len(rows) == 1 and "OpenAI is cheaper" in rows[0]["text"]
    assert "softcard" in downloads["tickets.csv"].decode()
    for where in (_as_read(texts(at)), _as_read(rows[0]["text"])):
        assert "4111111111111111" not in where and "41111111" not in where


# -- a line break in a file name printed by ``data ingest`` (data/cli.py) ------------------


def test_data_ingest_prints_a_file_name_with_a_line_break_on_its_own_line(
    tmp_path: Path, db: Path
) -> None:
    """Expected: a file named ``ok<LF>fake: 999 rows, 999 new tickets.csv`` is reported on
    one line, the line break shown as ``\\n``; no printed line starts with the name's
    second half; the same for a carriage return and a tab.

    Broke: the name was printed as is, so its second half read as a report line of its own
    ("fake: 999 rows, 999 new tickets.csv: 1 row, 1 new ticket"); a carriage return moved
    the cursor back over the start of the line (left open by round 4).
    """
    forged = tmp_path / "ok\nfake: 999 rows, 999 new tickets.csv"
    forged.write_text("text\nhello there\n", encoding="utf-8")
    returned = tmp_path / "bad\rX\t.csv"
    returned.write_text("nottext\nx\n", encoding="utf-8")
    result = run_cli("data", "ingest", "--db", db, forged, returned, env=cli_env())
    assert_no_traceback(result.stderr)
    assert result.returncode == 2  # the second file has no text column
    out = result.stdout.splitlines()
    assert out == ["ok\\nfake: 999 rows, 999 new tickets.csv: 1 row, 1 new ticket"], out
    assert "\r" not in result.stderr and "\t" not in result.stderr
    assert result.stderr.splitlines()[0].startswith("bad\\rX\\t.csv: rejected")


# -- the sign-out record (dashboard/access.py) ---------------------------------------------


_SIGNED_OUT_PROBE = textwrap.dedent("""
    import sys
    from dashboard import access
    print(access._signed_out_elsewhere(sys.argv[1], {"iat": float(sys.argv[2])}))
""")


def test_a_sign_out_reaches_another_server_process_and_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: an analyst signs out in one tab; a second Streamlit process serving the
    same database (or this one after a restart) treats the analyst's older ID token as
    signed out too, while a newer token (a new sign-in) is let in.

    Broke: the record lived in one process's memory: a restart, or any other server
    process behind the same address, let the signed-out token back in (left open by
    round 6).
    """
    from dashboard import access

    db = tmp_path / "app.duckdb"
    monkeypatch.setenv("PRICEWAR_DB", str(db))
    monkeypatch.setattr(access, "_SIGNED_OUT", {})
    monkeypatch.setattr(
        access,
        "_user_info",
        lambda: {"is_logged_in": True, "email": "Ana@Example.com", "iat": 1_780_000_000},
    )
    access.record_sign_out()

    env = cli_env(PRICEWAR_DB=str(db))

    def other_process(iat: int) -> str:
        result = subprocess.run(
            [sys.executable, "-c", _SIGNED_OUT_PROBE, "ana@example.com", str(iat)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert other_process(1_780_000_000) == "True"  # the token signed out
    assert other_process(1_779_000_000) == "True"  # an older one of the same address
    assert other_process(1_780_000_060) == "False"  # a new sign-in


def test_a_sign_out_file_that_is_a_pipe_or_garbage_is_ignored_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: a sign-out file that is a named pipe, a link to ``/dev/zero``, not JSON or
    a JSON list is ignored (the record in memory still holds); nothing hangs or raises."""
    from dashboard import access

    monkeypatch.setattr(access, "_SIGNED_OUT", {"ana@example.com": 5.0})
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("[1, 2", encoding="utf-8")
    listed = tmp_path / "list.json"
    listed.write_text('["ana@example.com"]', encoding="utf-8")
    for path in (fifo, zero, garbage, listed):
        monkeypatch.setenv(access.SIGN_OUT_FILE_ENV, str(path))
        assert access._signed_out_elsewhere("ana@example.com", {"iat": 4})
        assert not access._signed_out_elsewhere("bob@example.com", {"iat": 4})


# -- a delta that rounds to zero (dashboard/ui.py) ------------------------------------------


@pytest.mark.parametrize("change", [-0.0004, -0.0, 0.0, 0.0004, -1e-12])
def test_a_delta_that_rounds_to_zero_is_not_shown_as_a_fall(change: float) -> None:
    """Expected: a relative change that rounds to 0.0 % (or 0.0 pts) reads "±0.0 %", never
    "-0.0 %", and ``ui.delta_arrow`` gives ``st.metric`` no arrow for it; real changes keep
    their sign and arrow.

    Broke: ``ui.fmt_delta(-0.0004)`` gave "-0.0 %", which ``st.metric`` draws as a red
    downward arrow: a fall where nothing changed (left open by round 6).
    """
    from dashboard import ui

    for points in (False, True):
        text = ui.fmt_delta(change, points=points)
        assert text == ("±0.0 pts" if points else "±0.0 %"), text
        assert ui.delta_arrow(text) == "off"
    assert ui.fmt_delta(-0.02) == "-2.0 %" and ui.delta_arrow("-2.0 %") == "auto"
    assert ui.fmt_delta(0.1) == "+10.0 %"
    assert ui.fmt_delta(1e308) is None and ui.fmt_delta(float("nan")) is None


# -- "$0.000" in the pricing memo (analytics/report.py) -------------------------------------


def test_the_pricing_memo_never_prints_zero_or_minus_zero_for_an_amount(demo_db_path: Path) -> None:
    """Expected: in ``python -m analytics report``'s Markdown, a unit cost of $0.00021 per
    1M tokens keeps its digits, a profit of $0.30 reads "$0.30", -$0.0 reads "$0.000" and a
    loss "-$1,234" (the sign before the dollar); no "$-…" anywhere.

    Broke: ``_fmt`` printed "$0.000" for a positive unit cost under $0.0005, "$0" for a
    profit of 30 cents, "$-0.000" for minus zero and "$-1,234" for a loss (left open by
    round 6).
    """
    from analytics.report import pricing_report, render_markdown
    from data.store import Store

    with Store.open(demo_db_path, read_only=True) as store:
        report = pricing_report(store, "smb")
    entry = report["segments"]["smb"]
    entry.update(
        unit_cost=0.00021,
        profit_now=0.3,
        price_floor=-0.0,
        profit_at_optimum=-1234.4,
        fixed_cost=0.004,
    )
    text = render_markdown(report)
    row = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in text.splitlines()
        if line.startswith("| ") and line.count("|") > 3
    }
    assert row["Unit cost, USD per 1M tokens"] == "$0.00021"
    assert row["Profit today, USD/month"] == "$0.30"
    assert row["Price floor"] == "$0.000"
    assert row["Profit at the optimum, USD/month"] == "-$1,234"
    assert row["Fixed costs, USD/month"] == "$0.004"
    assert "$-" not in text


# -- a named pipe, a device or a CSV file as the database ------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("data", "stats"),
        ("data", "ingest"),
        ("data", "rollups"),
        ("analytics", "report"),
        ("analytics", "signals"),
    ],
)
def test_a_named_pipe_as_the_database_is_refused_not_waited_on(
    tmp_path: Path, command: tuple[str, str]
) -> None:
    """Expected: ``--db`` naming a named pipe is one line, exit 2, at once: "… is a named
    pipe (FIFO), not a database file".

    Broke: DuckDB opened the pipe and waited for a writer for good (every verb of
    ``python -m data`` and ``python -m analytics``; killed after 60 s here).
    """
    fifo = tmp_path / "pricewar.duckdb"
    os.mkfifo(fifo)
    ticket = tmp_path / "t.csv"
    ticket.write_text("text\nhello\n", encoding="utf-8")
    package, verb = command
    extra = [ticket] if verb == "ingest" else []
    try:
        result = run_cli(package, verb, "--db", fifo, *extra, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"python -m {package} {verb} waited on the named pipe for 60 s")
    line = _one_line_error(result, f"python -m {package} {verb}")
    assert "named pipe" in line and str(fifo) in line


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_a_ticket_file_given_as_the_database_is_refused_not_opened_in_memory(
    tmp_path: Path, suffix: str
) -> None:
    """Expected: ``python -m data ingest --db tickets.csv more.csv`` (the database and a
    file mixed up) is refused, naming the file, and the file is left as it was; the same for
    a Parquet or JSON file and for ``analytics report`` / ``model tag --db``.

    Broke: DuckDB 2 attaches an existing CSV, Parquet or JSON file as a database in memory
    holding a view of it, so ingest printed "more.csv: 1 row, 1 new ticket", exit 0, and the
    rows were gone when the command ended; ``data stats`` then said "Cannot launch in-memory
    database in read-only mode!".
    """
    db = tmp_path / f"tickets{suffix}"
    db.write_bytes(b"text\nnot a database\n" if suffix == ".csv" else b'{"text": "x"}\n')
    before = db.read_bytes()
    more = tmp_path / "more.csv"
    more.write_text("text\nhello\n", encoding="utf-8")
    for package, verb, extra in (
        ("data", "ingest", [more]),
        ("data", "stats", []),
        ("analytics", "report", []),
        ("model", "tag", []),
    ):
        result = run_cli(package, verb, "--db", db, *extra)
        line = _one_line_error(result, f"python -m {package} {verb}")
        assert "not a readable DuckDB database" in line and str(db) in line, line
    assert db.read_bytes() == before


def test_the_app_on_a_named_pipe_or_a_csv_file_says_so_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: ``PRICEWAR_DB`` naming a named pipe or a CSV file gives a page message that
    names the file; the pipe stays a pipe, the CSV file is not touched.

    Broke: the first start saw a 0-byte "database" without tickets and wrote a fresh demo
    database *over the named pipe* (another program's pipe, replaced by an 11 MB file, no
    word on the page); with a CSV file the app ran on DuckDB's in-memory view of it: every
    page empty, no message, and anything uploaded would have been lost at the restart.
    """
    from dashboard import app_state

    monkeypatch.setenv("PRICEWAR_AUTOTAG", "0")
    monkeypatch.setenv("PRICEWAR_INBOX_SECONDS", "0")
    fifo = tmp_path / "pipe.duckdb"
    os.mkfifo(fifo)
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("text\nhello\n", encoding="utf-8")
    for path, said in ((fifo, "named pipe"), (sheet, "cannot be read")):
        monkeypatch.setenv("PRICEWAR_DB", str(path))
        at = app_as(None)
        at.secrets = {}
        at.run(timeout=60)
        assert not at.exception, [e.value for e in at.exception]
        errors = " ".join(str(e.value) for e in at.error)
        assert said in errors and path.name in errors.replace("\\", ""), errors
        app_state._app_state.clear()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sheet.read_text(encoding="utf-8") == "text\nhello\n"


# -- model tag's output, wait and tagger folder (model/cli.py, dashboard/jobs.py) -----------


def test_model_tag_never_replaces_a_pipe_or_a_device_given_as_output(tmp_path: Path) -> None:
    """Expected: ``model tag --input t.csv --output X`` where X is a named pipe, a link to
    one, a device node or a link to a missing file is refused before any tagging, one line,
    exit 2, and X is left as it was.

    Broke: file mode wrote a temporary file and renamed it over X: the pipe (and, for a
    root user, ``/dev/null`` or ``/dev/full`` themselves: found by this round on the test
    machine, which then had a plain file as ``/dev/full``) was replaced by a regular file,
    and the command said "1 rows, 0 entities, 0 bad rows → /dev/full", exit 0.
    """
    ticket = tmp_path / "t.csv"
    ticket.write_text("text\nhello\n", encoding="utf-8")
    for target in output_targets(tmp_path):
        kind = os.lstat(target).st_mode
        result = run_cli("model", "tag", "--input", ticket, "--output", target)
        line = _one_line_error(result, "python -m model tag")
        assert str(target) in line
        assert os.lstat(target).st_mode == kind  # not replaced
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("wait", ["-1", "nan", "inf", "1e999", "86401"])
def test_model_tag_wait_outside_zero_to_a_day_is_one_line(wait: str, tmp_path: Path) -> None:
    """Expected: ``--wait`` negative, not a number, infinite or over a day is refused,
    naming the flag.

    Broke: accepted: -1 and nan as "at once", inf as "wait for ever" without a word.
    """
    result = run_cli("model", "tag", "--db", tmp_path / "x.duckdb", f"--wait={wait}")
    assert "--wait" in _one_line_error(result, "python -m model tag")


@pytest.mark.parametrize("how", ["fifo", "dev_zero", "huge"])
def test_a_tagger_folder_with_a_pipe_or_device_is_refused_before_loading(
    tmp_path: Path, how: str
) -> None:
    """Expected: a tagging request (from ``python -m model tag --db`` through the inbox)
    or ``model tag --model`` naming a folder whose ``tagger.json`` is a named pipe, a link
    to ``/dev/zero`` or 2 MiB is refused at once, naming the file; the app's job keeps its
    own tagger.

    Broke: the folder passed the check (it is a folder); loading read ``tagger.json`` whole:
    the pipe hung the app's tagging job (and the command) for good, ``/dev/zero`` was read
    until the server ran out of memory.
    """
    from dashboard.jobs import TaggingJob
    from data.store import Store

    folder = tagger_folder_with(tmp_path, how)
    with Store.open(tmp_path / "db.duckdb") as store:
        job = TaggingJob(store, batch_size=8)
        before = (job._loader, job.batch_size)
        with pytest.raises(ValueError, match="tagger.json"):
            job.use_tagger(str(folder), 16)
        assert (job._loader, job.batch_size) == before
    db = tmp_path / "db.duckdb"
    try:
        result = run_cli("model", "tag", "--db", db, "--model", folder, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("python -m model tag waited on the tagger folder's pipe")
    assert "tagger.json" in _one_line_error(result, "python -m model tag")


# -- data demo's numbers (data/cli.py) -------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["--tickets", str(10**12)], ["--tickets", "10000001"], ["--seed", "-1"]]
)
def test_data_demo_with_an_impossible_ticket_count_or_seed_is_one_line(
    tmp_path: Path, args: list[str]
) -> None:
    """Expected: ``data demo --tickets`` over 10,000,000 (the app's own limit for
    ``PRICEWAR_DEMO_TICKETS``) or a ``--seed`` below 0 is refused, naming the flag; no
    database is created.

    Broke: ``--tickets 1000000000000`` asked numpy for 5.8 TiB (a MemoryError traceback,
    exit 1, a database file left behind) and ``--seed -1`` raised ValueError deep in numpy.
    """
    db = tmp_path / "demo.duckdb"
    result = run_cli("data", "demo", "--db", db, "--quiet", *args)
    assert args[0] in _one_line_error(result, "python -m data demo")
    assert not db.exists()


# -- uploads: dates without a day, missing ids, infinite minutes (data/ingest.py) -----------


def test_a_time_of_day_or_now_in_the_date_column_is_refused_with_row_and_column(
    tmp_store: Any, tmp_path: Path
) -> None:
    """Expected: a date column holding only a time of day ("12:30", "2:30 PM", a Parquet
    time column) or the words "now"/"today" is refused by row and column; real dates in
    the usual forms are accepted.

    Broke: pandas dates such values on the day of the upload, so a file whose ``time``
    column held times (``time`` is an accepted name of the date column) put every ticket
    on today, and "now" on the moment of the upload, without a word.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from data.ingest import ingest_files

    times = tmp_path / "times.csv"
    times.write_text("text,time\na,12:30\nb,2:30 PM\nc,now\nd,today\n", encoding="utf-8")
    typed = tmp_path / "typed.parquet"
    pq.write_table(
        pa.table({"text": ["x"], "created_at": pa.array([10**10], pa.time64("us"))}), typed
    )
    good = tmp_path / "good.csv"
    good.write_text(
        "text,created_at\na,2024-01-05 10:00\nb,05/01/2024\nc,20240105\nd,5 January 2024\n",
        encoding="utf-8",
    )
    [bad_text, bad_typed, fine] = ingest_files(tmp_store, [times, typed, good])
    assert bad_text.status == "rejected" and bad_typed.status == "rejected"
    assert sorted(p.row for p in bad_text.problems) == [1, 2, 3, 4]
    assert all(p.column == "time" and "has no date" in p.message for p in bad_text.problems)
    assert [p.column for p in bad_typed.problems] == ["created_at"]
    assert fine.status == "imported" and fine.new_tickets == 4
    assert tmp_store.scalar("SELECT count(*) FROM tickets") == 4


def test_missing_ids_in_a_parquet_float_column_stay_missing(tmp_store: Any, tmp_path: Path) -> None:
    """Expected: a Parquet customer-id column written by pandas as floats (an integer
    column with gaps becomes float64, the gaps NaN) is stored as "12" and NULL.

    Broke: the gaps were stored as the customer id "nan": every such ticket belonged to
    one customer named "nan"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from data.ingest import ingest_files

    path = tmp_path / "ids.parquet"
    pq.write_table(
        pa.table({"text": ["a", "b", "c"], "customer_id": pa.array([float("nan"), 12.0, None])}),
        path,
    )
    [report] = ingest_files(tmp_store, [path])
    assert report.status == "imported", report.message
    ids = tmp_store.fetchall("SELECT customer_id FROM tickets ORDER BY text")
    assert ids == [(None,), ("12",), (None,)]


def test_infinite_resolution_minutes_are_refused(tmp_store: Any, tmp_path: Path) -> None:
    """Expected: ``resolution_minutes`` of "1e309", "inf" or "-Infinity" is refused by row
    and column like any other value that is not a non-negative number of minutes.

    Broke: read as infinity and stored."""
    from data.ingest import ingest_files

    path = tmp_path / "minutes.csv"
    path.write_text(
        "text,resolution_minutes\na,1e309\nb,inf\nc,-Infinity\nd,12.5\n", encoding="utf-8"
    )
    [report] = ingest_files(tmp_store, [path])
    assert report.status == "rejected"
    assert sorted(p.row for p in report.problems) == [1, 2, 3]
    assert tmp_store.scalar("SELECT count(*) FROM tickets") == 0


# -- JSON downloads (data/export.py) ----------------------------------------------------------


def test_jsonl_downloads_hold_only_json() -> None:
    """Expected: every line of a JSONL download parses under a strict JSON reader: NaN and
    ±infinity (also inside lists and objects) are null, bytes are text.

    Broke: ``to_jsonl_bytes`` wrote ``Infinity`` (and ``NaN`` inside lists), which other
    languages' JSON readers refuse, and bytes as ``"b'x'"``."""
    import numpy as np

    from data.export import to_jsonl_bytes

    def strict(token: str) -> Any:
        raise ValueError(f"not JSON: {token}")

    data = to_jsonl_bytes(
        [
            {
                "score": float("inf"),
                "low": -np.inf,
                "nan": float("nan"),
                "list": [1.0, float("nan"), float("inf")],
                "obj": {"x": float("-inf")},
                "raw": b"x",
            }
        ]
    )
    [record] = [json.loads(line, parse_constant=strict) for line in data.decode().splitlines()]
    assert record == {
        "score": None,
        "low": None,
        "nan": None,
        "list": [1.0, None, None],
        "obj": {"x": None},
        "raw": "x",
    }
