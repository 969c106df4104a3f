"""Issue #12, a sixth fresh round of hostile attempts, on angles the earlier rounds did not
cover: a batch reset while its tickets are being tagged, the ``PRICEWAR_*`` settings given
odd values, and numbers formatted for the pages at their extremes.

Each test is an attack that broke something when it was written (each failed on that code:
checked in a copy of the tree holding the previous versions of the files it fixes). Each
docstring says what broke and what is expected instead. See "Round 6" in ``RELIABILITY.md``
for what held.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import app_db, secured  # noqa: F401  (the fixtures)
from tests.reliability.conftest import assert_no_traceback, cli_env, fingerprint, run_cli

ROOT = Path(__file__).resolve().parents[2]
MODEL = "round6-tagger"


# -- a batch reset while its tickets are being tagged --------------------------------------


class _Mood:
    def __init__(self, label: str) -> None:
        self.label, self.score = label, 0.9


class _SentimentTagger:
    """A stand-in tagger with a sentiment head: "OpenAI" is an ORG, every ticket negative."""

    model_id = MODEL
    device = "cpu"
    has_sentiment = True

    def tag_with_sentiment(
        self, texts: list[str], batch_size: int = 32
    ) -> tuple[list[list[Any]], list[_Mood]]:
        from model import Entity

        found = [
            [Entity(t.index("OpenAI"), t.index("OpenAI") + 6, "ORG", "OpenAI", 0.9)]
            if "OpenAI" in t
            else []
            for t in texts
        ]
        return found, [_Mood("negative") for _ in texts]


def test_tickets_removed_while_their_batch_is_tagged_leave_no_tags_behind(
    db: Path, tmp_path: Path
) -> None:
    """Expected: when an admin resets an uploaded batch while the tagging run that listed
    its tickets is still going (the run's list is taken when it starts; the page's "is
    tagging running" check and the reset are not one step), the run writes nothing for the
    tickets that are gone, and "Tickets tagged" never exceeds the tickets in the store.

    Broke: the run wrote entities, sentiments and ``tagged_tickets`` rows for every removed
    ticket it had listed (their text read as ""): Batch tagging showed "Tickets tagged
    208 / 200" (and the Entities page dropped its "not tagged yet" bar while tickets were
    still untagged), and a later upload of the same file came back "already tagged".
    """
    from analytics import explore
    from data import rollup_tables, rollups
    from data.ingest import ingest_files
    from data.reset import reset_batch
    from data.store import Store
    from model.jobs import tag_store

    upload = tmp_path / "upload.csv"
    upload.write_text(
        "text,created_at\n"
        + "".join(f"OpenAI cut its prices again {i},2025-05-0{1 + i % 9}\n" for i in range(40)),
        encoding="utf-8",
    )
    with Store.open(db) as store:
        [report] = ingest_files(store, [upload])
        assert report.new_tickets == 40
        total_before = explore.tagging_progress(store, MODEL)[1]

        reset_done: list[Any] = []

        def progress(done: int, total: int) -> None:  # after the first written batch
            if done and not reset_done:
                reset_done.append(reset_batch(store, "upload.csv", actor="admin@example.com"))

        tag_store(store, _SentimentTagger(), batch_size=4, progress=progress)
        assert reset_done and reset_done[0].removed["tickets"] == 40
        done, total = explore.tagging_progress(store, MODEL)
        assert total == total_before - 40
        assert done == total, f"{done:,} / {total:,} tickets tagged"
        for table in ("tagged_tickets", "entities", "ticket_sentiment"):
            orphans = store.scalar(
                f"SELECT count(*) FROM {table} g ANTI JOIN tickets t ON t.ticket_key = g.ticket_key"
            )
            assert orphans == 0, f"{orphans} rows of {table} about removed tickets"
        # the roll-ups the pages read agree with the base tables
        assert rollups.fresh_parts(store.cursor()) == frozenset(rollup_tables.PARTS)
        with explore.base_tables():
            base = explore.top_entities(store, explore.Filters(), MODEL)
        assert explore.top_entities(store, explore.Filters(), MODEL).equals(base)

        # the same file uploaded again is new work for the tagger, not "already tagged"
        [again] = ingest_files(store, [upload])
        assert again.new_tickets == 40
        done, total = explore.tagging_progress(store, MODEL)
        assert total - done == 40


def test_tags_of_removed_tickets_in_an_older_store_do_not_count_as_tagged(db: Path) -> None:
    """Expected: a store already holding ``tagged_tickets`` rows of tickets that are gone
    (written by the code before the fix above) shows at most "N / N tickets tagged".

    Broke: ``explore.tagging_progress`` counted every ``tagged_tickets`` row of the model.
    """
    from analytics import explore
    from data.store import Store

    with Store.open(db) as store:
        store.execute_write(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
            " SELECT ticket_key, ?, 'r' FROM tickets",
            [MODEL],
        )
        store.execute_write(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
            " SELECT 'gone-' || range, ?, 'r' FROM range(8)",
            [MODEL],
        )
        done, total = explore.tagging_progress(store, MODEL)
    assert done == total


# -- PRICEWAR_* settings ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["~nosuchuser-r6/pricewar.duckdb", "   "])
def test_a_database_variable_that_names_no_file_is_one_line_naming_it(db: Path, value: str) -> None:
    """Expected: ``PRICEWAR_DB`` set to ``~nosuchuser/…`` (a user without a home folder) or to
    blanks is one line naming the variable, exit 2, for every command, and a command given
    ``--db`` explicitly is not affected at all.

    Broke: ``~nosuchuser/…`` raised ``RuntimeError: Could not determine home directory``
    with a traceback from every ``python -m data`` and ``python -m analytics`` verb, even
    with ``--db`` given (the default is printed in ``--help``, built before the arguments
    are read); blanks were taken as a database file named "   " in the current folder
    ("no database at  (create one with: python -m data demo --db )").
    """
    env = cli_env(PRICEWAR_DB=value)
    for package, args in (("data", ["stats"]), ("analytics", ["signals"])):
        result = run_cli(package, *args, env=env)
        assert_no_traceback(result.stderr)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "PRICEWAR_DB" in result.stderr, result.stderr
    explicit = run_cli("data", "stats", "--db", db, env=env)
    assert explicit.returncode == 0, explicit.stderr
    assert "tickets" in explicit.stdout


def test_a_database_variable_naming_an_unknown_home_is_a_message_on_the_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Expected: the dashboard started with ``PRICEWAR_DB=~nosuchuser/…`` says on the page
    what is wrong with the variable.

    Broke: "Something went wrong while preparing this page…" (the ``RuntimeError`` of
    ``Path.expanduser``), with nothing naming the setting.
    """
    from streamlit.testing.v1 import AppTest

    from tests.dashboard.conftest import APP

    monkeypatch.setenv("PRICEWAR_DB", "~nosuchuser-r6/pricewar.duckdb")
    monkeypatch.setenv("PRICEWAR_AUTOTAG", "0")
    monkeypatch.setenv("PRICEWAR_INBOX_SECONDS", "0")
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(str(e.value) for e in at.error)
    assert "PRICEWAR" in errors and "nosuchuser" in errors, errors


@pytest.mark.parametrize(
    "variable", ["PRICEWAR_MAX_TEXT_CHARS", "PRICEWAR_MAX_TEXT_BYTES", "PRICEWAR_MAX_FIELD_CHARS"]
)
def test_an_upload_limit_past_64_bits_is_a_message_naming_it(
    db: Path, tmp_path: Path, variable: str
) -> None:
    """Expected: an upload limit set to a number no reader can compare with (2**63, 10**30)
    is refused, naming the variable, before any file is read; the store is unchanged.

    Broke: ``PRICEWAR_MAX_TEXT_CHARS`` (and ``…_TEXT_BYTES``, ``…_FIELD_CHARS``) of 2**63 or
    more passed the check ("a positive whole number") and every upload then failed inside
    pyarrow (``TypeError: Got unexpected argument type <class 'int'> for compute
    function``): a traceback and exit 1 from ``data ingest``, "Something went wrong" on the
    Batch tagging page for every upload.
    """
    from data.errors import ConfigError
    from data.limits import limits_from_env

    tickets = tmp_path / "tickets.csv"
    tickets.write_text("text\nOpenAI cut prices\nGemini too\n", encoding="utf-8")
    before = fingerprint(db)
    for value in (str(2**63), "1" + "0" * 30):
        with pytest.raises(ConfigError, match=variable):
            limits_from_env(environ={variable: value})
        result = run_cli("data", "ingest", "--db", db, tickets, env=cli_env(**{variable: value}))
        assert_no_traceback(result.stderr)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and variable in result.stderr, result.stderr
    assert fingerprint(db) == before
    assert limits_from_env(environ={variable: "1_000_000"}).max_rows >= 1  # still accepted


# -- numbers on the pages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kwargs", "refused"),
    [
        (0.004, {"money": True}, {"$0.00"}),  # a positive cost that reads as nothing
        (1e-9, {"money": True}, {"$0.00"}),
        (-0.004, {"money": True}, {"-$0.00"}),  # negative zero with a red arrow
        (-0.3, {}, {"-0"}),
        (-0.0004, {"pct": True}, {"-0.0 %"}),
        (math.inf, {}, {"inf T"}),
        (-math.inf, {"money": True}, {"-$inf T"}),
        (math.inf, {"pct": True}, {"inf %"}),
        (999_950, {}, {"1000.0 k"}),  # the next unit, not 1,000 of this one
        (1e18, {}, {"1000000.0 T"}),  # thousands separated
    ],
)
def test_page_numbers_never_read_as_zero_negative_zero_or_inf(
    value: float, kwargs: dict[str, bool], refused: set[str]
) -> None:
    """Expected: the figures of the Overview, Pricing and Price war metrics
    (``ui.fmt_number``) never show a positive amount as "$0.00", a negative zero ("-0",
    "-$0.00", "-0.0 %": ``st.metric`` turns a leading "-" into a red down arrow), "inf", or
    "1000.0 k".

    Broke: each value gave the refused text (e.g. an AI-resolved ticket cost of $0.004 made
    "Support cost per ticket" read "$0.00"; a rival cut too small to matter gave a profit
    change of "-$0.00" with a red arrow).
    """
    from dashboard import ui

    text = ui.fmt_number(value, **kwargs)
    assert text not in refused
    assert "inf" not in text and "nan" not in text
    if not math.isfinite(value):
        assert text == "—"
    elif abs(value) > 0 and kwargs.get("money"):
        assert any(c in "123456789" for c in text), text
    if text.startswith("-"):
        assert any(c in "123456789" for c in text), text


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.00021, "$0.00021"),
        (3e-7, "$3e-07"),
        (-0.0001, "-$0.0001"),
        (-0.0000001, "-$1e-07"),
        (-0.0, "$0.000"),
    ],
)
def test_prices_under_a_twentieth_of_a_cent_keep_their_digits(value: Any, shown: str) -> None:
    """Expected: the Pricing page's prices and unit costs (USD per 1M tokens, three
    decimals) show a positive cost under $0.0005 with its digits.

    Broke: a GPU cost of a few cents an hour gave "Unit cost $0.000 per 1M tokens: GPU
    $0.000" for a positive cost (``f"${v:,.3f}"``), and a negative zero read "$-0.000".
    """
    from dashboard import ui

    assert ui.fmt_price(value) == shown
    # and as before for ordinary or missing prices
    assert ui.fmt_price(1.234567) == "$1.235" and ui.fmt_price(1234.5) == "$1,234.500"
    assert ui.fmt_price(math.nan) == ui.fmt_price(None) == "—"


# -- signing out with two tabs open -----------------------------------------------------------


@pytest.mark.usefixtures("secured")
def test_signing_out_in_one_tab_ends_the_identity_in_the_browsers_other_tabs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Expected: an analyst with the dashboard open in two tabs signs out in one; the other
    tab (same browser, same identity) shows the sign-in screen on its next run and its
    actions are refused; signing in again (a newer ID token) lets them back in.

    Broke: Streamlit reads the identity cookie only when a session starts and ``st.logout``
    clears ``st.user`` in the calling session only, so the other tab stayed signed in as
    the analyst, with every page and upload, for as long as it stayed open — also after
    the browser had signed in as someone else (a viewer) in the first tab.
    """
    from dashboard import access
    from tests.dashboard.signin import ANALYST, app_as

    monkeypatch.setattr(access, "_SIGNED_OUT", {}, raising=False)  # this test's only
    signed_in_at = 1_780_000_000

    def tab() -> Any:
        at = app_as(ANALYST)
        at.user["iat"] = signed_in_at  # both tabs hold the browser's one cookie
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert [b.label for b in at.sidebar.button] == ["Sign out"]
        return at

    first, second = tab(), tab()
    second.sidebar.button[0].click().run()  # Sign out in the second tab
    assert second.user.get("is_logged_in") is False

    first.run()  # the first tab's next run: its session still holds the old identity
    assert not first.exception, [e.value for e in first.exception]
    assert not first.metric and not first.dataframe
    labels = [b.label for b in first.button]
    assert labels == ["Sign in"], labels

    again = app_as(ANALYST)  # signs in again: a newer token
    again.user["iat"] = signed_in_at + 60
    again.run()
    assert not again.exception and again.metric


# -- the Signals page while a sentiment tagger is running --------------------------------------


def test_the_first_batches_of_a_sentiment_tagger_do_not_replace_the_ground_truth(
    demo_db_path: Path, tmp_path: Path
) -> None:
    """Expected: on a demo store, the Signals page (and ``analytics signals``) keep the demo's
    ground-truth sentiment while a tagger with a sentiment head has labelled only its first
    batches, and say how far it has got; the tagger's sentiment takes over once it has
    labelled as many tickets as the ground truth covers.

    Broke: the tagger's sentiment was used as soon as it had labelled one ticket: after the
    first written batch (128 tickets, the shortest first) every surge alert had vanished
    (the 2,000-ticket demo: 6 → 0; the 3,000-ticket one: 9 → 0), although the model's labels
    here equal the ground truth, and the page said nothing of the 1,872 unlabelled tickets.
    """
    import shutil

    from analytics.alerts import signal_source, surge_alerts
    from data.store import Store

    path = tmp_path / "signals.duckdb"
    shutil.copy(demo_db_path, path)
    with Store.open(path) as store:
        gold = signal_source(store)
        assert gold is not None and gold.sentiment == "gold"
        expected = surge_alerts(
            store, sentiment=gold.sentiment, entities=gold.entities, freq="day", open_only=False
        )
        assert len(expected) > 0

        def label(limit: int | None) -> None:  # the model labels as the ground truth does
            keys = [
                r[0]
                for r in store.fetchall(
                    "SELECT ticket_key FROM tickets ORDER BY length(text), ticket_key"
                    + (f" LIMIT {int(limit)}" if limit else "")
                )
            ]

            def write(conn: Any) -> None:
                conn.execute(
                    "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
                    " SELECT unnest(?), ?, 'r' ON CONFLICT DO NOTHING",
                    [keys, MODEL],
                )
                conn.execute(
                    "INSERT INTO ticket_sentiment (ticket_key, model_id, label, score)"
                    " SELECT ticket_key, ?, label, 0.9 FROM gold_sentiment"
                    " WHERE ticket_key IN (SELECT unnest(?)) ON CONFLICT DO NOTHING",
                    [MODEL, keys],
                )

            store.write(write)

        label(128)  # the first batch of a run with batch size 32
        source = signal_source(store)
        assert source is not None and source.sentiment == "gold", source
        alerts = surge_alerts(
            store, sentiment=source.sentiment, entities=source.entities, freq="day", open_only=False
        )
        assert len(alerts) == len(expected)
        assert (source.model, source.model_labelled, source.tickets) == (MODEL, 128, 2000)

        label(None)  # tagging has finished: the model's own sentiment
        source = signal_source(store)
        assert source is not None and source.sentiment == MODEL and not source.partial


def test_the_signals_page_says_how_far_the_sentiment_tagger_has_got(app_db: Path) -> None:
    """Expected: the Signals page names the tagger's progress while the ground truth stands
    in for it, and warns when the tagger's partial sentiment is all there is (no demo ground
    truth): the alerts then count only the labelled tickets.

    Broke: with the tagger's first batches labelled the page read "Sentiment shown: model
    gold-test" with nothing about the tickets it had not labelled (see the test above).
    """
    from tests.dashboard.signin import texts
    from tests.dashboard.test_signals_page import run_page, store_write

    store_write(
        app_db,
        lambda conn: conn.execute(
            "INSERT INTO ticket_sentiment SELECT ticket_key, 'gold-test', label, 0.9"
            " FROM gold_sentiment ORDER BY ticket_key LIMIT 128"
        ),
    )
    text = texts(run_page()).replace("**", "")
    assert "Sentiment shown: demo ground truth" in text
    assert "has labelled 128 of 2,000 tickets so far" in text

    from dashboard import queries, state

    state.store().execute_write("DELETE FROM gold_sentiment")  # a store without a demo
    queries.refresh()
    text = texts(run_page()).replace("**", "")
    assert "Sentiment shown: model gold-test" in text
    assert "labelled the sentiment of 128 of 2,000 tickets so far" in text


# -- PRICEWAR_ACCESS_FILE naming something that is not a file ---------------------------------

#: ``access.settings()`` in a child with 1 GiB of address space: prints the outcome.
_READ_ACCESS_SETTINGS = r"""
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from dashboard import access
try:
    access.settings()
except access.AccessSettingsError as exc:
    print("refused:", exc)
else:
    print("accepted")
"""


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_an_access_file_that_is_a_fifo_or_a_device_is_refused_not_read(
    tmp_path: Path, kind: str
) -> None:
    """Expected: ``PRICEWAR_ACCESS_FILE`` naming a FIFO or ``/dev/zero`` is "not a regular
    file" (nobody is let in, the Settings page says why), read no further.

    Broke: the size check passed (both stat as 0 bytes) and the file was read to the end on
    every page run: a FIFO blocked each run for good (every page of every user hung), and
    ``/dev/zero`` was read until memory ran out (MemoryError here under 1 GiB; the server's
    memory without a limit).
    """
    import os
    import subprocess
    import sys

    if kind == "fifo":
        target = tmp_path / "access.toml"
        os.mkfifo(target)
    else:
        target = Path("/dev/zero")
    result = subprocess.run(
        [sys.executable, "-c", _READ_ACCESS_SETTINGS],
        cwd=ROOT,
        env=cli_env(PRICEWAR_ACCESS_FILE=str(target)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert_no_traceback(result.stderr)
    assert result.stdout.startswith("refused:") and "not a regular file" in result.stdout, (
        result.stdout,
        result.stderr[-2000:],
    )


@pytest.mark.usefixtures("secured")
def test_an_access_file_under_an_unknown_home_is_a_message_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Expected: with sign-in configured and ``PRICEWAR_ACCESS_FILE=~nosuchuser/access.toml``,
    a signed-in user gets the "access settings cannot be used" message naming the variable
    (nobody is let in until an admin fixes it), as for any other unusable access file.

    Broke: ``Path.expanduser`` raised ``RuntimeError`` out of ``access.current_user`` (which
    promises never to raise), at the top of every page run, outside any page guard.
    """
    from tests.dashboard.signin import ANALYST, app_as, texts

    monkeypatch.setenv("PRICEWAR_ACCESS_FILE", "~nosuchuser-r6/access.toml")
    at = app_as(ANALYST)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "PRICEWAR_ACCESS_FILE" in shown and "nosuchuser" in shown, shown
    assert not at.metric


# -- PRICEWAR_TAG_PRECISION -------------------------------------------------------------------


def test_a_bad_tag_precision_setting_is_named_in_the_message(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: ``PRICEWAR_TAG_PRECISION`` that cannot be used (``fast``, or ``bf16`` on a
    machine without CUDA) fails the tagger's loading with a message naming the variable, and
    an upper-case ``FP32`` means fp32 (the other ``PRICEWAR_*`` switches ignore case).

    Broke: the in-app job failed with "unknown precision 'fast' (auto, fp32, bf16, int8)" or
    "bf16 runs on CUDA only; on the CPU use int8 or fp32", nothing saying the value came from
    the server's environment (no page or command line had asked for it); ``FP32`` was
    refused the same way.
    """
    import torch

    from model import Tagger
    from model.engine import cpu_multiplies_bf16

    monkeypatch.setenv("PRICEWAR_TAG_PRECISION", "fast")
    with pytest.raises(ValueError, match="PRICEWAR_TAG_PRECISION"):
        Tagger.load(tiny_model_dir, device="cpu")
    monkeypatch.setenv("PRICEWAR_TAG_PRECISION", "bf16")
    if cpu_multiplies_bf16():  # AVX-512 BF16: bf16 runs on this CPU
        assert Tagger.load(tiny_model_dir, device="cpu").precision == "bf16"
    else:
        with pytest.raises(ValueError, match="PRICEWAR_TAG_PRECISION='bf16'.*AVX-512 BF16"):
            Tagger.load(tiny_model_dir, device="cpu")
    monkeypatch.setenv("PRICEWAR_TAG_PRECISION", "FP32")
    tagger = Tagger.load(tiny_model_dir, device="cpu")
    assert tagger.precision == "fp32"
    # an explicit precision still wins over the setting, and is reported as itself
    monkeypatch.setenv("PRICEWAR_TAG_PRECISION", "fast")
    assert Tagger.load(tiny_model_dir, device="cpu", precision="fp32").precision == "fp32"
    if not torch.cuda.is_available() and not cpu_multiplies_bf16():
        with pytest.raises(ValueError, match="^bf16 runs on CUDA or on a CPU with AVX-512 BF16"):
            Tagger.load(tiny_model_dir, device="cpu", precision="bf16")
