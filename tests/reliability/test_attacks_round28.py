"""Round 28 of the hostile-user attacks (#12): the issue's own areas once more, fresh.

The issue asks that a fresh round of its attacks find nothing new in its areas: the inbox
and the files it hands over, reading files, links and numbers, exports. This round sent:

- entity shards handed over by an inbox request (item 7's hand-made Parquet, through the
  door ``python -m model tag --engine ray`` uses): entity texts that are not the ticket's
  text, shard files that are named pipes, links to ``/dev/zero`` or folders;
- 24 ticket files a reader could misread: a NUL byte, Latin-1 bytes, UTF-16, a lone
  surrogate escape, a number or an object where the text belongs, a key written twice,
  ``NaN``, dates outside the range or not dates, ``large_string`` and ``string_view``
  Parquet, a column named twice, nested and binary columns, an empty file, float ids,
  CR-only line ends, a quote never closed, a byte-order mark, other separators;
- link numbers in other digits (Arabic-Indic, full-width), with ``_`` separators, spaces,
  a subnormal price.

Broke (fixed in ``data/shard_loading.py``): a shard's entity text was checked for length
only, never against the ticket: a shard naming "Claude" (or any 1,000 characters) at the
offsets of "GPT-4o" in a ticket was loaded, and the entity roll-ups the pages read
(``rollup_entity_months``) counted a mention that no ticket makes (checked: "Anthropic"
written over "GPT-4o" was counted; a shard may name the app's own model id). Now
every entity's text must be the ticket's text from its start to its end (DuckDB and Python
both count code points: an emoji with a skin-tone modifier and combining accents before
the entity load as the tagger wrote them), or the shard is refused, named by file, row and
column, and nothing is loaded; the inbox request is set aside.

Held: everything else (refused in words naming row and column, or read exactly).
"""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.scenario import Scenario, ScenarioError
from data.entity_shards import EntityShardError, shard_paths
from data.inbox import hand_shards_to_inbox, import_inbox
from data.ingest import ingest_files
from data.paths import inbox_dir
from data.shard_loading import load_entity_shards
from data.store import Store
from tests.data.test_entity_shards import MODEL, keyed, make_shard
from tests.reliability.conftest import app_probe, copy_db, record_figure, replace_with

# -- entity shards whose text is not the ticket's ------------------------------------------

#: A ticket whose entity stands after characters Python and DuckDB could count apart: an
#: emoji with a skin-tone modifier (two code points) and an "e" with two combining accents.
TICKET = "\U0001f44d\U0001f3fd e\u0301\u0303 moving to GPT-4o next week"
ENTITY = "GPT-4o"


def _store_with_ticket(tmp_path: Path, demo_db: Path) -> tuple[Path, Path, str]:
    """A copy of the demo store holding :data:`TICKET`; ``(db, source file, its key)``."""
    db = copy_db(demo_db, tmp_path / "db.duckdb")
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"id": "t1", "text": TICKET}) + "\n", encoding="utf-8")
    with Store.open(db) as store:
        (report,) = ingest_files(store, [source])
        assert report.accepted, report.message
    return db, source, keyed(source)["ticket_key"][0]


def _loaded(db: Path, key: str) -> tuple[list[tuple], int]:
    """The entities of ``key`` by :data:`~tests.data.test_entity_shards.MODEL`, and whether
    the ticket counts as tagged by it."""
    with Store.open(db, read_only=True) as store:
        rows = store.fetchall(
            'SELECT start, "end", label, text FROM entities WHERE ticket_key = ? '
            "AND model_id = ? ORDER BY start",
            [key, MODEL],
        )
        tagged = store.fetchall(
            "SELECT count(*) FROM tagged_tickets WHERE ticket_key = ? AND model_id = ?",
            [key, MODEL],
        )[0][0]
    return rows, tagged


@pytest.mark.parametrize(
    "written",
    [
        pytest.param("Claude", id="another_name_of_the_same_length"),
        pytest.param("gpt-4o", id="another_case"),
        pytest.param("GPT-4o ", id="a_trailing_space"),
        pytest.param("", id="empty"),
        pytest.param("C" * 1000, id="a_thousand_characters"),
    ],
)
def test_a_shard_entity_text_that_is_not_the_tickets_text_is_refused(
    demo_db: Path, tmp_path: Path, written: str
) -> None:
    """Expected: an entity shard is loaded only when each entity's text is the ticket's
    text from its start to its end, as the tagger writes it; otherwise it is refused,
    named by file, row and column, and nothing is loaded.

    Broke: only the text's length was checked (at most 1,000 characters), so a shard
    could put "Claude" (or anything) at the offsets of "GPT-4o", and the entity roll-ups
    the pages read counted a mention that no ticket makes."""
    db, source, key = _store_with_ticket(tmp_path, demo_db)
    start = TICKET.index(ENTITY)
    folder = tmp_path / "shards"
    rows = [
        (key, start, start + len(ENTITY), "PRODUCT", written, 0.9),
        (key, 0, 2, "PRODUCT", TICKET[:2], 0.8),  # the emoji: a true entity beside it
    ]
    make_shard(folder, source, rows, [key])
    with Store.open(db) as store, pytest.raises(EntityShardError) as refused:
        load_entity_shards(store, folder)
    message = str(refused.value)
    assert "row 1, column 'text'" in message and "nothing was loaded" in message, message
    assert "the ticket's text from its start to its end" in message, message
    assert _loaded(db, key) == ([], 0)


def test_a_shard_entity_after_emoji_and_combining_marks_loads_as_written(
    demo_db: Path, tmp_path: Path
) -> None:
    """Expected (the check's own control): entities at Python offsets after an emoji with a
    skin-tone modifier and an "e" with two combining accents load, with their text, since
    DuckDB's ``substr`` counts code points as Python does."""
    db, source, key = _store_with_ticket(tmp_path, demo_db)
    start = TICKET.index(ENTITY)
    accented = TICKET.index("e\u0301")
    rows = [
        (key, 0, 2, "PRODUCT", TICKET[:2], 0.8),
        (key, accented, accented + 3, "PER", TICKET[accented : accented + 3], 0.7),
        (key, start, start + len(ENTITY), "PRODUCT", ENTITY, 0.9),
    ]
    make_shard(tmp_path / "shards", source, rows, [key])
    with Store.open(db) as store:
        report = load_entity_shards(store, tmp_path / "shards")
    assert report.new_entities == 3, report.message
    assert _loaded(db, key) == ([tuple(r[1:5]) for r in rows], 1)


def test_an_inbox_request_for_shards_with_a_false_entity_text_is_set_aside(
    demo_db: Path, tmp_path: Path
) -> None:
    """Expected: the running app, handed such a shard folder through the inbox (as ``python
    -m model tag --engine ray`` hands its output), loads nothing, says why, and moves the
    request aside; a true shard handed after it is loaded."""
    db, source, key = _store_with_ticket(tmp_path, demo_db)
    start = TICKET.index(ENTITY)
    false = tmp_path / "false-shards"
    make_shard(false, source, [(key, start, start + 6, "PRODUCT", "Claude", 0.9)], [key])
    true = tmp_path / "true-shards"
    make_shard(true, source, [(key, start, start + 6, "PRODUCT", ENTITY, 0.9)], [key])
    hand_shards_to_inbox(db, [false])
    with Store.open(db) as store:
        said = import_inbox(store)
    assert len(said) == 1 and "could not be loaded" in said[0], said
    assert "column 'text'" in said[0], said
    assert _loaded(db, key) == ([], 0)
    inbox = inbox_dir(db)
    assert [p.name for p in (inbox / "failed").iterdir()], "the request was not set aside"
    hand_shards_to_inbox(db, [true])
    with Store.open(db) as store:
        said = import_inbox(store)
    assert _loaded(db, key) == ([(start, start + 6, "PRODUCT", ENTITY)], 1), said


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "folder"])
@pytest.mark.parametrize("part", ["entities", "tagged"])
def test_shard_files_that_are_not_files_are_skipped_as_incomplete(
    demo_db: Path, tmp_path: Path, kind: str, part: str
) -> None:
    """Expected (held): a shard whose entities or tagged-list Parquet is a named pipe, a
    link to ``/dev/zero`` or a folder is never opened: the load returns, skipping it as
    incomplete, and loads nothing (a named pipe opened for reading waits for a writer for
    good: the app's inbox poller would have stopped)."""
    db, source, key = _store_with_ticket(tmp_path, demo_db)
    start = TICKET.index(ENTITY)
    folder = tmp_path / "shards"
    make_shard(folder, source, [(key, start, start + 6, "PRODUCT", ENTITY, 0.9)], [key])
    replace_with(getattr(shard_paths(folder, next(folder.glob("*.parquet")).stem), part), kind)
    outcome: list[Any] = []

    def load() -> None:
        with Store.open(db) as store:
            outcome.append(load_entity_shards(store, folder))

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(120)  # a guard against a hang, not a measure of speed
    assert outcome, f"loading a shard folder whose {part} file is a {kind} did not return"
    assert len(outcome[0].incomplete) == 1 and outcome[0].new_entities == 0
    assert _loaded(db, key) == ([], 0)


# -- ticket files a reader could misread -----------------------------------------------------


def _parquet(path: Path, table: pa.Table) -> bytes:
    pq.write_table(table, path)
    return path.read_bytes()


def _files(tmp: Path) -> dict[str, bytes]:
    """The hostile files, by name (the name's suffix says the format)."""
    one = {"id": ["1"]}
    return {
        "nul.csv": b"id,text\n1,hello\x00world\n2,ok\n",
        "latin1.csv": b"id,text\n1,caf\xe9\n2,ok\n",
        "utf16.csv": "id,text\n1,hello\n".encode("utf-16"),
        "surrogate.jsonl": b'{"id": "1", "text": "a\\ud800b"}\n{"id": "2", "text": "ok"}\n',
        "number_text.jsonl": b'{"id": "1", "text": 1e400}\n',
        "object_text.jsonl": b'{"id": "1", "text": {"a": 1}}\n',
        "key_twice.jsonl": b'{"id": "1", "text": "a", "text": "b"}\n',
        "nan_id.jsonl": b'{"id": NaN, "text": "a"}\n',
        "dates.csv": b"id,text,created_at\n1,a,0001-01-01\n2,b,9999-12-31T23:59:59\n3,c,2024-02-30\n",
        "not_a_date.csv": b"id,text,created_at\n1,a,2024-01-01T00:00:00+14:00\n2,b,1e10\n",
        "large_string.parquet": _parquet(
            tmp / "a.parquet", pa.table({**one, "text": pa.array(["x"], pa.large_string())})
        ),
        "string_view.parquet": _parquet(
            tmp / "b.parquet", pa.table({**one, "text": pa.array(["x"], pa.string_view())})
        ),
        "column_twice.parquet": _parquet(
            tmp / "c.parquet",
            pa.table([pa.array(["1"]), pa.array(["a"]), pa.array(["b"])], ["id", "text", "text"]),
        ),
        "nested.parquet": _parquet(
            tmp / "d.parquet", pa.table({**one, "text": pa.array([{"a": "x"}])})
        ),
        "binary.parquet": _parquet(
            tmp / "e.parquet", pa.table({**one, "text": pa.array([b"caf\xe9"], pa.binary())})
        ),
        "extreme_dates.parquet": _parquet(
            tmp / "f.parquet",
            pa.table(
                {
                    "id": ["1", "2"],
                    "text": ["a", "b"],
                    "created_at": pa.array(
                        [-62135596800 * 10**6, 253402300799 * 10**6], pa.timestamp("us")
                    ),
                }
            ),
        ),
        "empty.parquet": _parquet(
            tmp / "g.parquet",
            pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}),
        ),
        "float_ids.parquet": _parquet(
            tmp / "h.parquet", pa.table({"id": [1.5, float("nan")], "text": ["a", "b"]})
        ),
        "cr_only.csv": b"id,text\r1,a\r2,b\r",
        "quote_never_closed.csv": b'id,text\n1,"never closed\n2,b\n',
        "byte_order_mark.csv": b"\xef\xbb\xbfid,text\n1,a\n",
        "upper_case_header.csv": b"ID,Text\n1,a\n",
        "semicolons.csv": b"id;text\n1;a\n",
        "no_header.txt": b"hello world\nsecond line\n",
    }


#: What each file must give: the words of its refusal, or the (source id, text) rows read.
EXPECTED: dict[str, str | list[tuple[str | None, str]]] = {
    "nul.csv": "row 1, column 'text': contains a NUL byte",
    "latin1.csv": "row 1, column 'text': not valid UTF-8 (byte 0xe9)",
    "utf16.csv": [("1", "hello")],
    "surrogate.jsonl": "row 1: holds a \\u escape of a lone surrogate",
    "number_text.jsonl": [("1", "1e400")],  # the number as written, never "inf"
    "object_text.jsonl": [("1", '{"a": 1}')],
    "key_twice.jsonl": "row 1: the key 'text' appears twice in one object",
    "nan_id.jsonl": "row 1, column 'id': NaN is not a JSON number",
    "dates.csv": "row 3, column 'created_at': cannot read the date '2024-02-30'",
    "not_a_date.csv": "row 2, column 'created_at': cannot read the date '1e10'",
    "large_string.parquet": [("1", "x")],
    "string_view.parquet": [("1", "x")],
    "column_twice.parquet": "column 'text': duplicate column name (also column 2)",
    "nested.parquet": "column 'text': must hold text or one value per row, found nested",
    "binary.parquet": "row 1, column 'text': must hold text, found binary",
    "extreme_dates.parquet": "row 1, column 'created_at': date outside 1990–2100",
    "empty.parquet": "the file has a header but no data rows",
    "float_ids.parquet": [("1.5", "a"), (None, "b")],
    "cr_only.csv": [("1", "a"), ("2", "b")],
    "quote_never_closed.csv": "row 1, column 'text': a quoted field is never closed",
    "byte_order_mark.csv": [("1", "a")],
    "upper_case_header.csv": [("1", "a")],
    "semicolons.csv": "no text column: expected one of text",
    "no_header.txt": "no text column: expected one of text",
}


def test_ticket_files_a_reader_could_misread_are_refused_in_words_or_read_exactly(
    tmp_path: Path,
) -> None:
    """Expected (held): each file is refused with words that say what is wrong and where
    (row, column), writing nothing, or read exactly (a number where the text belongs is
    kept as written, UTF-16 and a byte-order mark are read as text)."""
    files = _files(tmp_path)
    assert sorted(files) == sorted(EXPECTED)
    seen = {}
    for name, content in files.items():
        with Store.open(tmp_path / f"{name}.duckdb") as store:
            (report,) = ingest_files(store, [(name, io.BytesIO(content))])
            rows = store.fetchall("SELECT source_id, text FROM tickets ORDER BY source_id")
        seen[name] = report.status
        expected = EXPECTED[name]
        if isinstance(expected, str):
            assert report.status == "rejected", (name, report.message)
            assert expected in report.message, (name, report.message)
            assert rows == [], name
        else:
            assert report.status == "imported", (name, report.message)
            assert sorted(rows, key=str) == sorted(expected, key=str), name
    record_figure("round28_hostile_files", len(seen))
    record_figure("round28_hostile_files_refused", sum(s == "rejected" for s in seen.values()))


# -- link numbers in other digits --------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "text", "field", "value"),
    [
        ("s_curve_points", "\u0661\u0660\u0660", "curve_points", 100),  # Arabic-Indic 100
        ("s_curve_points", "\uff11\uff10\uff10", "curve_points", 100),  # full-width 100
        ("s_curve_points", "1_0_0", "curve_points", 100),
        ("s_curve_points", " +100\n", "curve_points", 100),
        ("s_mc_draws", "2_000", "mc_draws", 2000),
        ("s_price_per_m", "\u0661.\u0665", "price_per_m", 1.5),
    ],
)
def test_link_numbers_in_other_digits_are_read_as_python_reads_them(
    key: str, text: str, field: str, value: float
) -> None:
    """Expected (held): a link's number in other digits or with ``_`` is the number Python
    reads, then bounded like any other."""
    assert getattr(Scenario.from_query_params({key: text}), field) == value


def test_link_numbers_in_other_digits_past_the_bounds_are_refused_in_words() -> None:
    """Expected (held): eleven Arabic-Indic digits of Monte Carlo draws are over the bound,
    and said so; a hexadecimal or exponent count is not a count."""
    with pytest.raises(ScenarioError, match="mc_draws must be between 1 and 1,000,000"):
        Scenario.from_query_params({"s_mc_draws": "\u0661" + "\u0660" * 10})
    for text in ("0x10", "1e2"):
        with pytest.raises(ScenarioError, match=f"s_curve_points={text!r} is not valid"):
            Scenario.from_query_params({"s_curve_points": text})


_SUBNORMAL_PRICE = """
import json, sys
from streamlit.testing.v1 import AppTest

def pricing(price):
    at = AppTest.from_file(sys.argv[1], default_timeout=300)
    at.query_params["s_price_per_m"] = price
    at.run()
    at.switch_page("views/pricing.py").run()
    return {"warnings": [str(w.value) for w in at.warning],
            "metrics": {m.label: m.value for m in at.metric},
            "problems": [str(e.value) for e in [*at.exception, *at.error]]}

print(json.dumps({"subnormal": pricing("1e-320"), "lowest": pricing("0.001")}))
"""


@pytest.mark.slow
def test_a_subnormal_price_in_a_link_starts_at_the_inputs_lowest_price_in_words(
    demo_db: Path, tmp_path: Path
) -> None:
    """Expected (held): ``s_price_per_m=1e-320`` (a positive number, so a valid what-if)
    is said to be below what the price input takes, and the page's figures are those of
    its lowest price, $0.001: every figure the same as the page shows for a link of $0.001,
    and finite (never a 300-digit number)."""
    seen = app_probe(_SUBNORMAL_PRICE, copy_db(demo_db, tmp_path / "db.duckdb"))
    subnormal, lowest = seen["subnormal"], seen["lowest"]
    assert subnormal["problems"] == [] and lowest["problems"] == []
    said = " ".join(subnormal["warnings"]).replace("\\", "")
    assert "Our price, USD per 1M tokens" in said and "it takes 0.001 to" in said, said
    assert len(lowest["metrics"]) >= 5 and subnormal["metrics"] == lowest["metrics"]
    margin = subnormal["metrics"]["Contribution margin at this price"]
    assert margin.endswith("%") and len(margin) < 20, subnormal["metrics"]
