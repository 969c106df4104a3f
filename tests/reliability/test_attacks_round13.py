"""Round 13 of hostile attempts (#12): angles rounds 1-12 did not try.

Each test names what broke before its fix, or guards what held (RELIABILITY.md, Round 13):
scenario names at the Scenarios page's length limit in letters that NFC spells with more
characters, entity names with SQL and LIKE metacharacters on the ticket list, and data
resets of a target that vanished or sent several times at once.
"""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP, app_db  # noqa: F401  (the fixture)
from tests.data.test_entity_shards import MODEL, keyed, make_shard

#: Devanagari QA (U+0958): NFC spells it with two characters (क + nukta, a composition
#: exclusion); the page's box (80 characters) holds 80 of them.
QA = "\u0958"


# -- scenario names at the length limit (analytics/saved_scenarios.py, dashboard/actions.py)


def test_a_name_the_box_holds_is_saved_even_when_nfc_lengthens_it(tmp_path: Path) -> None:
    """Expected: a name of 80 typed characters (what the Scenarios page's box holds) is
    saved, under its NFC spelling; 81 typed characters are still refused.

    Broke: the limit counted the NFC spelling: 80 × क़ (U+0958) was "a scenario name has
    at most 80 characters (this one has 160)" for a name the box had just accepted.
    """
    from analytics.errors import ScenarioError
    from analytics.saved_scenarios import clean_scenario_name, list_scenarios, save_scenario
    from analytics.scenario import Scenario
    from data.store import Store

    with Store.open(tmp_path / "s.duckdb") as store:
        save_scenario(store, Scenario(name=QA * 80))
        save_scenario(store, Scenario(name="\ufb2c" * 80))  # Hebrew: three characters each
        save_scenario(store, Scenario(name="e\u0301" * 41))  # decomposed: 41 letters
        names = set(list_scenarios(store)["name"])
        assert names == {
            clean_scenario_name(QA * 80),
            "\u00e9" * 41,
            clean_scenario_name("\ufb2c" * 80),
        }
        assert max(len(n) for n in names) == 240
        for name in (QA * 81, "z" * 81, "z" * 10_000):
            with pytest.raises(ScenarioError, match="at most 80 characters"):
                save_scenario(store, Scenario(name=name))


def test_the_scenarios_page_saves_a_name_of_eighty_letters_lengthened_by_nfc(
    app_db: Path,
) -> None:
    """Expected: typing 80 × क़ in the Scenarios page's name box and pressing Save saves
    it (listed, audited under its saved spelling).

    Broke: "Could not save: a scenario name has at most 80 characters (this one has 160)".
    """
    from analytics.saved_scenarios import clean_scenario_name

    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    at.switch_page("views/scenarios.py").run()
    at.text_input(key="sc_name").input(QA * 80).run()
    at.button(key="sc_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    saved = clean_scenario_name(QA * 80)
    assert any(saved in str(s.value) for s in at.success)
    assert saved in list(at.dataframe[0].value["name"])


# -- entity names with SQL and LIKE metacharacters (analytics/explore/tickets.py) ---------

HOSTILE_NAMES = [
    "50%",
    "a_b",
    "x\\y",
    "O'Brien",
    'say "hi"',
    "%",
    "_",
    "\\",
    "\u202eevil",
    "A" * 1000,
]


def test_entity_names_with_like_metacharacters_find_exactly_their_tickets(
    tmp_path: Path,
) -> None:
    """Guard (held): the ticket list's entity filter matches the name exactly (case
    aside): ``%``, ``_``, ``\\`` and quotes are no patterns; a label not in the store, NUL
    and a 10,000-character name find nothing, without an error."""
    from analytics.explore import tickets
    from analytics.explore.filters import Filters
    from data.ingest import ingest_files
    from data.shard_loading import load_entity_shards
    from data.store import Store

    source = tmp_path / "t.csv"
    with source.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "created_at"])
        writer.writerows([f"we compare {n} prices", "2024-05-03"] for n in HOSTILE_NAMES)
    with Store.open(tmp_path / "s.duckdb") as store:
        assert all(r.accepted for r in ingest_files(store, [source]))
        keys = keyed(source)["ticket_key"]
        rows = [
            (k, 11, 11 + len(n), "COMPETITOR", n, 0.9)
            for k, n in zip(keys, HOSTILE_NAMES, strict=True)
        ]
        make_shard(tmp_path / "shards", source, rows, keys)
        load_entity_shards(store, tmp_path / "shards")
        for key, name in zip(keys, HOSTILE_NAMES, strict=True):
            for label in (None, "COMPETITOR"):
                found = tickets.ticket_list(store, Filters(), MODEL, entity=name, label=label)
                assert list(found["ticket_key"]) == [key], (name, label)
        for name, label in (
            ("50%", "%"),
            ("5", None),
            ("ab", None),
            ("\x00", None),
            ("B" * 10_000, None),
        ):
            found = tickets.ticket_list(store, Filters(), MODEL, entity=name, label=label)
            assert found.empty, (name, label)


# -- data resets (data/reset.py) -----------------------------------------------------------


def test_four_resets_of_one_batch_at_once_remove_it_once(tmp_path: Path) -> None:
    """Guard (held): four resets of the same batch sent at once remove it once, with one
    ``data_reset`` audit row; the other three say the batch is gone, naming what is left."""
    from data import reset
    from data.ingest import ingest_files
    from data.store import Store

    source = tmp_path / "t.csv"
    source.write_text("text\nfirst\nsecond\n")
    with Store.open(tmp_path / "s.duckdb") as store:
        assert all(r.accepted for r in ingest_files(store, [source]))
        outcomes: list[object] = []

        def go() -> None:
            try:
                outcomes.append(
                    reset.reset(store, reset.BATCH, "t.csv", actor="boss@example.com", role="admin")
                )
            except reset.ResetError as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=go) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done = [o for o in outcomes if isinstance(o, reset.ResetResult)]
        refused = [str(o) for o in outcomes if isinstance(o, reset.ResetError)]
        assert len(done) == 1 and done[0].removed["tickets"] == 2
        assert len(refused) == 3 and all("no batch named 't.csv'" in r for r in refused)
        assert store.scalar("SELECT count(*) FROM audit_log WHERE action = 'data_reset'") == 1
        assert store.scalar("SELECT count(*) FROM tickets") == 0
