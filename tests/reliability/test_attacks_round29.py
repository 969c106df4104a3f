"""Round 29 of the hostile-user attacks (#12): the issue's own areas once more, with values
that pass each check alone but say two things at once.

The issue closes when a fresh round of its attacks finds nothing new in its areas (the
inbox and what it hands over, reading files, links and numbers, exports). This round sent:

- inbox entries with a key given twice (``{"batch_size": 8, "batch_size": 4096}``, one of
  them spelled with an escape), in tagging requests, shard requests and the source notes
  beside handed files; a tagging request whose ``model_dir`` holds a lone surrogate escape;
- entity shards whose sentiment rows give one ticket two labels (each row valid alone);
- a link refused for a value's length, opened on the Overview, then a what-if page;
- CSV cells starting with the full-width ``＋ － ＠`` (the round 3 fix covered ``＝`` only)
  or a NUL, at the start of a cell or of a line inside it, in a table and in the entity
  download of tickets loaded from shards.

Broke (fixed): the inbox read a key given twice as its last value, silently
(``data/inbox_entries.read_json_entry``); a shard's disagreeing sentiment rows loaded as
whichever label had the lower score (``data/shard_loading._check_sentiment``); a link
refused for a length never reached the next what-if page's note
(``dashboard/scenario_links.scenario_link_problems`` returned before remembering it);
full-width ``＋ － ＠`` and a leading NUL were exported unprefixed (``data/export.py``).
A ``model_dir`` with a lone surrogate is now refused when the request is read (before: by the
job, "is not a folder", after the request was taken).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data import export
from data.entity_shards import EntityShardError
from data.inbox import hand_shards_to_inbox, import_inbox
from data.paths import inbox_dir
from data.shard_loading import load_entity_shards
from data.store import Store
from data.tag_requests import take_tagging_requests
from tests.dashboard.conftest import APP, app_db  # noqa: F401  (the fixture)
from tests.data.test_entity_shards import MODEL, make_shard
from tests.reliability.test_attacks_round28 import ENTITY, TICKET, _store_with_ticket

# -- the inbox: a key given twice ------------------------------------------------------------

TWICE = {
    "batch_size": '{"model_dir": null, "batch_size": 8, "batch_size": 4096}',
    "model_dir": '{"model_dir": null, "model_dir": "/srv/other-tagger"}',
    "escaped": '{"batch_size": 8, "batch\\u005fsize": 4096}',
}


def _drop_request(db: Path, name: str, text: str) -> Path:
    inbox = inbox_dir(db)
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / f"tag-request-{name}.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(TWICE))
def test_a_tagging_request_with_a_key_given_twice_is_set_aside(db: Path, case: str) -> None:
    """Expected: a request that gives a key twice says two things; it is refused in words
    (which key) and moved aside, and the valid request behind it is still taken.

    Broke: Python's JSON reader keeps the last value, so ``batch_size`` 4096 (or another
    tagger) ran although the writer may have meant 8."""
    bad = _drop_request(db, "0-twice", TWICE[case])
    _drop_request(db, "1-good", '{"model_dir": null, "batch_size": 16}')
    refused: list[str] = []
    taken = take_tagging_requests(db, refused=refused)
    assert [r.batch_size for r in taken] == [16], (taken, refused)
    assert len(refused) == 1 and "is given twice" in refused[0], refused
    key = "model_dir" if case == "model_dir" else "batch_size"
    assert f"'{key}'" in refused[0], refused
    assert not bad.exists() and (inbox_dir(db) / "failed" / bad.name).is_file()


def test_a_tagging_request_for_a_folder_no_file_name_can_spell_is_refused(db: Path) -> None:
    """Expected: ``model_dir`` with a lone surrogate escape (``"\\ud800"``: valid JSON,
    never a file name) is refused as the request is read, in words, and set aside."""
    _drop_request(db, "surrogate", '{"model_dir": "/srv/tagger-\\ud800", "batch_size": 8}')
    refused: list[str] = []
    assert take_tagging_requests(db, refused=refused) == []
    assert len(refused) == 1 and "no file name can hold" in refused[0], refused
    refused[0].encode("utf-8")  # the note itself can be shown (no lone surrogate in it)


def test_a_shard_request_with_its_folder_given_twice_loads_nothing(
    demo_db: Path, tmp_path: Path
) -> None:
    """Expected: a shard request naming two folders under one key is set aside with the key
    named; neither folder is loaded, and the same folder handed properly then loads.

    Broke: the last folder named was loaded."""
    db, source, key = _store_with_ticket(tmp_path, demo_db)
    start = TICKET.index(ENTITY)
    folder = tmp_path / "shards"
    make_shard(folder, source, [(key, start, start + 6, "PRODUCT", ENTITY, 0.9)], [key])
    (request,) = hand_shards_to_inbox(db, [folder])
    request.write_text(
        f'{{"folder": "/nowhere", "folder": {json.dumps(str(folder))}, "model_id": "{MODEL}"}}',
        encoding="utf-8",
    )
    with Store.open(db) as store:
        said = import_inbox(store)
        tagged = store.scalar("SELECT count(*) FROM tagged_tickets WHERE model_id = ?", [MODEL])
    assert len(said) == 1 and "'folder' is given twice" in said[0], said
    assert tagged == 0
    hand_shards_to_inbox(db, [folder])
    with Store.open(db) as store:
        import_inbox(store)
        tagged = store.scalar("SELECT count(*) FROM tagged_tickets WHERE model_id = ?", [MODEL])
    assert tagged == 1


# -- entity shards: a ticket given two sentiments ---------------------------------------------


@pytest.mark.parametrize(
    "moods",
    [
        pytest.param([("negative", 0.9), ("positive", 0.8)], id="two_labels"),
        pytest.param([("neutral", 0.5), ("neutral", 0.5), ("negative", 0.99)], id="third_row"),
    ],
)
def test_a_shard_giving_a_ticket_two_sentiments_is_refused(
    demo_db: Path, tmp_path: Path, moods: list[tuple[str, float]]
) -> None:
    """Expected: the tagger gives each ticket one sentiment; a shard whose rows give one
    ticket two labels is refused, named by file, row and column, and nothing is loaded.

    Broke: each row passed the row checks, and the load kept the label with the lower
    score (``positive`` for a ticket the other row called ``negative`` at 0.9)."""
    db, source, key = _store_with_ticket(tmp_path, demo_db)
    start = TICKET.index(ENTITY)
    folder = tmp_path / "shards"
    rows = [(key, start, start + 6, "PRODUCT", ENTITY, 0.9)]
    make_shard(folder, source, rows, [key], moods=[(key, label, s) for label, s in moods])
    with Store.open(db) as store, pytest.raises(EntityShardError) as refused:
        load_entity_shards(store, folder)
    message = str(refused.value)
    assert "column 'label'" in message and "another sentiment label" in message, message
    assert "nothing was loaded" in message
    with Store.open(db, read_only=True) as store:
        assert (
            store.scalar("SELECT count(*) FROM ticket_sentiment WHERE ticket_key = ?", [key]) == 0
        )
        assert store.scalar("SELECT count(*) FROM entities WHERE ticket_key = ?", [key]) == 0


def test_a_ticket_written_twice_with_the_same_sentiment_loads_once(
    demo_db: Path, tmp_path: Path
) -> None:
    """The check's control: rows that agree on the label (a retried shard; the score may
    differ in its last digits between devices) load as one sentiment."""
    db, source, key = _store_with_ticket(tmp_path, demo_db)
    start = TICKET.index(ENTITY)
    folder = tmp_path / "shards"
    rows = [(key, start, start + 6, "PRODUCT", ENTITY, 0.9)]
    moods = [(key, "negative", 0.91), (key, "negative", 0.9100001)]
    make_shard(folder, source, rows, [key], moods=moods)
    with Store.open(db) as store:
        report = load_entity_shards(store, folder)
        got = store.fetchall(
            "SELECT label FROM ticket_sentiment WHERE ticket_key = ? AND model_id = ?", [key, MODEL]
        )
    assert report.new_sentiments == 1 and got == [("negative",)]


# -- links: a value over its length, then a what-if page ----------------------------------------

LONG_LINKS = {
    "name_longer_than_its_box": {"s_name": "n" * 500},
    "value_over_16_KiB": {"s_segment": "x" * 40_000},
    "competitor_name_too_long": {"s_cut_competitor": "c" * 100},
}


@pytest.mark.usefixtures("app_db")
@pytest.mark.parametrize("case", list(LONG_LINKS))
@pytest.mark.parametrize("page", ["views/pricing.py", "views/price_war.py"])
def test_a_link_refused_for_a_length_is_said_again_on_the_what_if_page(
    case: str, page: str
) -> None:
    """Expected: a link opened on the Overview whose what-if inputs are refused is said
    there, and again on the first what-if page opened after (as for every other refusal).

    Broke: a value over its length returned before the problems were remembered, so the
    what-if page showed the default inputs without a word."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in LONG_LINKS[case].items():
        at.query_params[key] = value
    at.run()
    assert [w for w in at.warning if "link were not used" in str(w.value)], "no note at first"
    at.switch_page(page).run()
    notes = [str(w.value) for w in at.warning if "link were not used" in str(w.value)]
    assert len(notes) == 1 and "characters long" in notes[0], [str(w.value) for w in at.warning]
    assert not at.exception and not at.error


# -- exports: full-width triggers and NUL ----------------------------------------------------

FULL_WIDTH = [
    "\uff0bcmd|' /C calc'!A0",
    "\uff0d1+cmd|' /C calc'!A0",
    "\uff20SUM(1+1)*cmd|' /C calc'!A0",
    '\u00a0\uff0bHYPERLINK("http://x")',
    "\x00=1+1",
    "\x00cmd|' /C calc'!A0",
]


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize("value", FULL_WIDTH)
def test_full_width_triggers_and_nul_are_neutralised_in_csv(value: str) -> None:
    """Expected: a cell starting with a full-width ``＋ － ＠`` (read as the plain ones by a
    spreadsheet with an East Asian input method, like the ``＝`` round 3 covered) or a NUL
    (OWASP ASVS 1.2.10), or a line inside a cell starting so, gets the apostrophe.

    Broke: only ``＝`` of the full-width forms was prefixed, and a NUL never."""
    frame = pd.DataFrame({"text": [value, f"Refund please\n{value}"], "n": [1, 2]})
    first, inner = (row[0] for row in _cells(export.to_csv_bytes(frame))[1:])
    assert first == "'" + value, first
    assert inner == "Refund please\n'" + value, inner


def test_plain_text_and_full_width_bullets_are_left_as_written() -> None:
    """The control: prose, numbers and a full-width list item inside a cell stay as
    written (an exported ticket re-imports as the same ticket)."""
    for value in ["-5", "+3.2", "Refund please\n\uff0d refund the last invoice", "hello \uff0b"]:
        assert export.neutralise_cell(value) == value


def test_the_entity_download_of_shard_loaded_tickets_is_neutralised(
    demo_db: Path, tmp_path: Path
) -> None:
    """Expected: a ticket starting with a full-width trigger, tagged through a shard (its
    entity text is the ticket's text there, round 28), downloads with both the ticket's
    entity cell and its text neutralised."""
    db = tmp_path / "db.duckdb"
    db.write_bytes(demo_db.read_bytes())
    text = "\uff0bcmd|' /C calc'!A0 after GPT-4o cut its price"
    source = tmp_path / "hostile.jsonl"
    source.write_text(json.dumps({"id": "h1", "text": text}) + "\n", encoding="utf-8")
    from data.ingest import ingest_files

    with Store.open(db) as store:
        (report,) = ingest_files(store, [source])
        assert report.accepted, report.message
        key = store.scalar("SELECT ticket_key FROM tickets WHERE source_id = 'h1'")
    folder = tmp_path / "shards"
    make_shard(folder, source, [(key, 0, 4, "PRODUCT", text[:4], 0.9)], [key])
    with Store.open(db) as store:
        load_entity_shards(store, folder)
        tickets = export.tickets_of_keys(store, [key])
        tickets["entities"] = export.entities_of_keys(store, MODEL, [key], limit=10)
    header, row = _cells(export.entities_csv([tickets]))
    assert row[header.index("entity")] == "'" + text[:4], row
    flat = _cells(export.to_csv_bytes(export.flatten_entities(tickets)))
    assert flat[1][flat[0].index("text")] == "'" + text, flat[1]
