"""Every page under AppTest on the demo database: runs clean, and a key input changes the
result. Widgets are found by their keys (see the page modules)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP

PAGES = [
    "views/overview.py",
    "views/entities.py",
    "views/batch_tagging.py",
    "views/pricing.py",
    "views/price_war.py",
    "views/scenarios.py",
]
EVIL = "'; DROP TABLE tickets; --"
HOSTILE_TEXT = (
    'Hi <script>alert("x")</script><img src=x onerror=alert(1)> '
    "[click](javascript:alert(2)) ![p](http://x/p.png) see OpenAI"
)


def clean(at: AppTest) -> None:
    """No exception element and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def open_page(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if page != PAGES[0]:
        at.switch_page(page).run()
    clean(at)
    return at


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_clean(app_db: Path, page: str) -> None:
    at = open_page(page)
    assert at.title and at.caption  # a title and a plain-language caption


def test_overview_filters_change_kpis_and_live_in_the_url(app_db: Path) -> None:
    at = open_page(PAGES[0])
    everyone = metric(at, "Tickets")
    at.multiselect(key="segment").set_value(["smb"]).run()
    clean(at)
    assert metric(at, "Tickets") != everyone
    shared = open_page(PAGES[0], segment="smb")  # the link of that view
    assert shared.multiselect(key="segment").value == ["smb"]
    assert metric(shared, "Tickets") == metric(at, "Tickets")


def test_overview_cost_input_changes_cost_per_ticket(app_db: Path) -> None:
    at = open_page(PAGES[0])
    before = metric(at, "Support cost per ticket (USD)")
    at.number_input(key="ov_human").set_value(50.0).run()
    clean(at)
    assert metric(at, "Support cost per ticket (USD)") != before


def test_hostile_url_filters_are_ignored(app_db: Path) -> None:
    at = open_page(PAGES[0], segment=EVIL, plan=EVIL, region=EVIL)
    assert at.multiselect(key="segment").value == []
    from dashboard import state

    assert state.store().scalar("SELECT count(*) FROM tickets") == 2000
    assert metric(at, "Tickets") != "0"


def test_entities_pick_filters_tickets_and_text_stays_text(app_db: Path) -> None:
    from dashboard import state

    store = state.store()
    store.execute_write(
        "INSERT INTO tickets (ticket_key, customer_id, created_at, text, source)"
        " SELECT 'evil', customer_id, now()::TIMESTAMP, ?, 'demo' FROM customers LIMIT 1",
        [HOSTILE_TEXT],
    )
    store.execute_write(
        "INSERT INTO entities VALUES ('evil', 'gold-test', ?, ?, 'ORG', 'OpenAI', 1.0)",
        [HOSTILE_TEXT.index("OpenAI"), len(HOSTILE_TEXT)],
    )
    store.execute_write(
        "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
        " VALUES ('evil', 'gold-test', 't')"
    )
    at = open_page(PAGES[1])
    everything = listed(at)
    options = at.selectbox(key="ent_pick").options
    assert len(options) > 1 and everything == 200
    at.selectbox(key="ent_pick").set_value(options[-1]).run()  # the least mentioned entity
    clean(at)
    assert 0 < listed(at) < everything
    assert "<mark" in "".join(h.proto.body for h in at.get("html"))
    at.selectbox(key="ent_pick").set_value(options[0]).run()
    at.text_input(key="ent_search").set_value("onerror").run()
    clean(at)
    assert listed(at) == 1
    html = "".join(h.proto.body for h in at.get("html"))
    assert "&lt;script&gt;" in html and "<script" not in html and "<img" not in html


def listed(at: AppTest) -> int:
    """How many tickets the Entities page lists (from its caption)."""
    text = next(c.value for c in at.caption if "newest matching tickets" in c.value)
    return int(text.split()[0].replace(",", ""))


def test_check_and_import_without_a_file_says_so(app_db: Path) -> None:
    at = open_page(PAGES[2])
    at.button(key="bt_import").click().run()
    assert any("Choose one or more ticket files" in w.value for w in at.warning)
    assert not at.dataframe and not at.exception


def test_batch_tagging_upload_report_and_tagging(app_db: Path) -> None:
    at = open_page(PAGES[2])
    good = (
        b"id,text,created_at\n1,Moving from OpenAI to you,2026-01-02\n"
        b"2,Berlin office needs invoices,2026-01-03\n"
    )
    bad = b"\x00\x01\x02 not a table"
    at.file_uploader(key="bt_files").set_value(
        [("good.csv", good, "text/csv"), ("bad.csv", bad, "text/csv")]
    )
    at.button(key="bt_import").click().run()  # a form: the files go with the submit
    report = at.dataframe[0].value
    assert report.set_index("file").loc["good.csv", "status"] == "imported"
    assert report.set_index("file").loc["bad.csv", "status"] == "rejected"
    assert any("rejected" in e.value for e in at.error)  # the rejection says what to fix
    at.button(key="bt_start").click().run()
    from dashboard import state

    assert state.job().wait(60).state == "done"
    deadline = time.time() + 10
    while time.time() < deadline:
        at.run()
        if any("fake-tagger" in c.value for c in at.caption):
            break
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == [
        "Entities (CSV)",
        "Tickets with entities (JSONL)",
    ]


def test_pricing_price_changes_profit_and_url(app_db: Path) -> None:
    at = open_page(PAGES[3])
    before = metric(at, "Profit at this price, USD/month")
    price = at.number_input(key="wi_price_per_m_0")
    price.set_value(round(price.value * 1.5, 3)).run()
    clean(at)
    assert metric(at, "Profit at this price, USD/month") != before
    assert at.query_params["s_price_per_m"]


def test_pricing_reads_inputs_from_the_link(app_db: Path) -> None:
    seg = '[["solo",0.9,1000.0,-0.8,-0.9,-0.7,0.0,0.0,0.5,1.2]]'
    at = open_page(PAGES[3], s_price_per_m="0.9", s_segments=seg, s_price_ceiling="2.5")
    assert at.number_input(key="wi_price_per_m_0").value == pytest.approx(0.9)
    assert any("inelastic" in w.value for w in at.warning)
    assert metric(at, "Optimal price, USD per 1M tokens") == "$2.500"  # on the ceiling


def test_price_war_cut_changes_equilibrium(app_db: Path) -> None:
    at = open_page(PAGES[4])
    before = metric(at, "Our best price, USD per 1M tokens")
    at.slider(key="pw_cut_0").set_value(60.0).run()
    clean(at)
    assert metric(at, "Our best price, USD per 1M tokens") != before


def test_scenarios_save_load_compare(app_db: Path) -> None:
    at = open_page(PAGES[3])
    at.number_input(key="wi_price_per_m_0").set_value(0.77).run()
    at.switch_page(PAGES[5]).run()
    clean(at)
    name = "Cut; DROP TABLE scenarios; -- <b>"
    at.text_input(key="sc_name").set_value(name).run()
    at.button(key="sc_save").click().run()
    clean(at)
    assert name in list(at.dataframe[0].value["name"])
    at.switch_page(PAGES[3]).run()
    at.number_input(key="wi_price_per_m_0").set_value(1.5).run()
    at.switch_page(PAGES[5]).run()
    at.selectbox(key="sc_pick").set_value(name).run()
    at.button(key="sc_load").click().run()
    clean(at)
    at.switch_page(PAGES[3]).run()
    assert at.number_input(key="wi_price_per_m_1").value == pytest.approx(0.77)
    at.switch_page(PAGES[5]).run()
    assert at.dataframe[1].value.empty  # current inputs = the loaded scenario: no difference
    at.toggle(key="sc_only_diff").set_value(False).run()
    table = at.dataframe[1].value
    assert "price_per_m" in set(table["item"]), (
        at.toggle(key="sc_only_diff").value,
        at.multiselect(key="sc_compare").value,
        table,
    )
    assert [b.label for b in at.get("download_button")] == ["Comparison (CSV)", "Chart (PNG)"]


def test_save_without_a_name_says_so_and_saves_nothing(app_db: Path) -> None:
    """Save is always pressable (the click carries the box's text); with the box empty or
    blank it warns and nothing is saved or audited."""
    at = open_page(PAGES[5])
    for blank in ("", "   "):
        at.text_input(key="sc_name").set_value(blank).run()
        at.button(key="sc_save").click().run()
        assert [w.value for w in at.warning if "Type a name" in w.value], blank
        assert not [s for s in at.success if "Saved as" in s.value]
    assert "Saved scenarios" in [h.value for h in at.subheader]
    from dashboard import state

    store = state.store()
    saved = store.scalar("SELECT count(*) FROM scenarios")
    audited = store.scalar("SELECT count(*) FROM audit_log WHERE action = 'scenario_save'")
    assert (saved, audited) == (0, 0)


def test_first_start_creates_the_demo_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "fresh" / "pricewar.duckdb"
    monkeypatch.setenv("PRICEWAR_DB", str(db))
    monkeypatch.setenv("PRICEWAR_DEMO_TICKETS", "150")
    monkeypatch.setenv("PRICEWAR_AUTOTAG", "0")
    monkeypatch.setenv("PRICEWAR_INBOX_SECONDS", "0")
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    clean(at)
    assert db.exists()
    assert any(s.label == "Database ready" for s in at.status)
    assert metric(at, "Tickets") != "0"
    at.run()  # later runs skip the bootstrap
    assert not at.status


def test_inbox_files_are_imported_by_the_running_app(app_db: Path) -> None:
    from dashboard import state
    from data.inbox import hand_to_inbox

    at = open_page(PAGES[0])
    hand_to_inbox(app_db, [("handed.csv", b"text\nHanded over by the command line\n")])
    poller = state.app_state().inbox
    assert poller is not None
    imported = poller.poll_once()
    assert imported == ["handed.csv: 1 row, 1 new ticket"], (imported, poller.store.path, app_db)
    assert state.store().scalar("SELECT count(*) FROM tickets WHERE source = 'handed.csv'") == 1
    assert "handed.csv" in poller.last_message
    at.run()
    clean(at)


def test_locked_database_gives_a_plain_message(
    tmp_path: Path, demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import subprocess
    import sys

    db = tmp_path / "held.duckdb"
    shutil.copy(demo_db_path, db)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]);"
            " print('held', flush=True); time.sleep(60)",
            str(db),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        monkeypatch.setenv("PRICEWAR_DB", str(db))
        monkeypatch.setenv("PRICEWAR_AUTOTAG", "0")
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.run()
        assert not at.exception
        (message,) = [e.value for e in at.error]
        assert "in use by another program" in message and "Traceback" not in message
    finally:
        holder.kill()
        holder.wait()


def test_pricing_measures_a_segment_and_says_when_the_optimum_is_a_bound(app_db: Path) -> None:
    at = open_page(PAGES[3])
    everyone = at.dataframe[0].value if at.dataframe else None
    at.selectbox(key="wi_segment").set_value("enterprise").run()
    at.button(key="wi_measure").click().run()
    clean(at)
    assert at.query_params["s_segment"] == "enterprise"
    assert any("inelastic" in w.value for w in at.warning)  # the demo's enterprise demand
    assert any("price ceiling" in w.value for w in at.warning)
    assert metric(at, "Optimal price, USD per 1M tokens") != "—"
    assert everyone is None or len(everyone) >= 1


def test_upload_limits_come_from_the_environment(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRICEWAR_MAX_UPLOAD_ROWS", "1")
    at = open_page(PAGES[2])
    assert any("1 rows" in c.value for c in at.caption), [c.value for c in at.caption]
    at.file_uploader(key="bt_files").set_value(
        ("two.csv", b"text\nfirst ticket\nsecond ticket\n", "text/csv")
    )
    at.button(key="bt_import").click().run()
    assert at.dataframe[0].value.set_index("file").loc["two.csv", "status"] == "rejected"
    assert any("was rejected" in e.value for e in at.error)
    assert any("row" in c.value.lower() for c in at.code)  # the problem names the limit


def test_interrupted_run_is_offered_for_resumption(app_db: Path) -> None:
    from dashboard import state

    state.store().execute_write(
        "INSERT INTO tagging_runs (run_id, model_id, device, started_at, status) VALUES"
        " ('crashed', 'fake-tagger', 'cpu', now()::TIMESTAMP, 'running')"
    )
    state.store().execute_write(
        "INSERT INTO tickets (ticket_key, text, source) VALUES"
        " ('late', 'not tagged yet', 'late.csv')"
    )
    at = open_page(PAGES[2])
    assert any("resumes where it stopped" in i.value for i in at.info)


def test_report_pricing_and_price_war_pages_show_the_same_numbers(app_db: Path) -> None:
    """`python -m analytics report` and the two pages agree on every number they share."""
    import contextlib
    import io
    import json

    from analytics.cli import main
    from dashboard.ui import fmt_number

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["report", "--db", str(app_db), "--json"]) == 0
    report = json.loads(out.getvalue())
    every = report["segments"]["all"]

    def usd(v: float | None) -> str:
        return "—" if v is None else f"${v:,.3f}"

    at = open_page(PAGES[3])
    assert metric(at, "Optimal price, USD per 1M tokens") == usd(every["optimal_price"])
    assert metric(at, "Optimum across the elasticity interval") == " – ".join(
        usd(v) for v in every["optimal_price_range"]
    )
    assert metric(at, "Profit at the optimum, USD/month") == fmt_number(
        every["profit_at_optimum"], money=True
    )
    assert metric(at, "Break-even prices, USD per 1M tokens") == " – ".join(
        usd(v) for v in every["break_even_prices"]
    )
    assert metric(at, "Price elasticity at today's price") == f"{every['elasticity']:.2f}"
    assert at.number_input(key="wi_price_ceiling_0").value == pytest.approx(every["price_ceiling"])
    assert at.number_input(key="wi_price_per_m_0").value == pytest.approx(
        every["price_now"], abs=5e-4
    )

    at.switch_page(PAGES[4]).run()
    clean(at)
    war = report["price_war"]
    editor = at.get("arrow_data_editor")[0].value if at.get("arrow_data_editor") else None
    # the calibrated market: list prices as the model sees them
    shown = next(d.value for d in at.dataframe if "firm" in d.value and "holds" in d.value)
    assert list(shown["firm"])[1:] == [f["name"] for f in war["firms"]]
    np_prices = list(shown["price"])
    assert np_prices[0] == pytest.approx(war["our_price_now"], rel=1e-9)
    assert np_prices[1:] == pytest.approx([f["list_price"] for f in war["firms"]], rel=1e-9)
    assert [f["baseline_price"] for f in war["firms"]] == pytest.approx(
        [f["list_price"] for f in war["firms"]], rel=0.01
    )
    assert war["our_baseline_price"] == pytest.approx(war["our_price_now"], rel=0.01)
    assert editor is None or list(editor["name"]) == [f["name"] for f in war["firms"]]


def test_pricing_data_table_on_any_two_inputs_and_goal_seek(app_db: Path) -> None:
    at = open_page(PAGES[3])
    assert not [b for b in at.selectbox if b.key == "dt_input"], "closed tabs are not computed"
    at.session_state["wi_tab"] = "Data tables"  # as a click on the tab
    at.run()
    at.selectbox(key="dt_input").set_value("utilisation").run()
    at.selectbox(key="dt_cols").set_value("gpu_cost_per_hour").run()
    clean(at)
    table = next(d.value for d in at.dataframe if d.value.index.name == "utilisation")
    assert table.shape == (5, 5)
    # more utilisation, same GPU price: never less profit (the GPU cost per token falls)
    assert (table.diff().iloc[1:] >= -1e-6).all().all()
    at.session_state["wi_tab"] = "Goal seek"
    at.run()
    at.selectbox(key="gs_input").set_value("utilisation").run()
    at.selectbox(key="gs_metric").set_value("margin").run()
    clean(at)
    needed = metric(at, "utilisation needed")
    assert needed == "—" or 0 < float(needed.replace(",", "")) <= 1
