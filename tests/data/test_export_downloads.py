"""The Batch tagging downloads built from pages of tickets (``data.export.entities_csv``,
``tickets_jsonl``) and handed to the button now or on click (``now_or_on_click``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pandas as pd

from data import export


def _page(keys: list[str], entities: list[list[dict]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticket_key": keys,
            "source": "up.csv",
            "source_id": [f"id-{k}" for k in keys],
            "created_at": pd.Timestamp("2026-01-02"),
            "text": [f"=cmd {k}" for k in keys],
            "entities": entities,
        }
    )


def _entity(text: str) -> dict:
    return {"label": "ORG", "text": text, "start": 0, "end": len(text), "score": 0.91234}


def _pages() -> Iterator[pd.DataFrame]:
    yield _page(["a"], [[]])  # a first page without entities: the header still comes once
    yield _page(["b", "c"], [[_entity("=Acme")], [_entity("Azure"), _entity("OpenAI")]])


def test_the_entities_csv_has_one_header_and_every_entity_formula_safe() -> None:
    data = export.entities_csv(_pages())
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == list(export.ENTITY_ROW_COLUMNS)
    assert [r[4] for r in rows[1:]] == ["'=Acme", "Azure", "OpenAI"]
    assert [r[0] for r in rows[1:]] == ["b", "c", "c"]


def test_the_tickets_jsonl_holds_the_download_columns_of_every_ticket() -> None:
    lines = [json.loads(line) for line in export.tickets_jsonl(_pages()).splitlines()]
    assert [t["ticket_key"] for t in lines] == ["a", "b", "c"]
    assert all(list(t) == export.TICKET_JSONL_COLUMNS for t in lines)
    assert lines[2]["entities"][1]["text"] == "OpenAI" and lines[0]["text"] == "=cmd a"


def test_both_stop_at_the_bound_without_reading_later_pages() -> None:
    read: list[int] = []

    def pages() -> Iterator[pd.DataFrame]:
        for i in range(5):
            read.append(i)
            yield _page([f"k{i}"], [[_entity("x" * 200)]])

    one_line = len(export.tickets_jsonl([_page(["k0"], [[_entity("x" * 200)]])]))
    data = export.tickets_jsonl(pages(), max_bytes=2 * one_line)
    assert len(data.splitlines()) == 2 and read == [0, 1, 2]  # the third made, not kept
    read.clear()
    assert export.entities_csv(pages(), max_bytes=10) == b"" and read == [0]


def test_now_builds_at_once_and_on_click_builds_at_each_click() -> None:
    built: list[int] = []

    def build() -> bytes:
        built.append(1)
        return b"x" * len(built)

    assert export.now_or_on_click(build, now=True) == b"x" and len(built) == 1
    later = export.now_or_on_click(build, now=False)
    assert len(built) == 1 and callable(later)
    assert later() == b"xx" and later() == b"xxx"  # each click builds anew
