"""data.export: formula neutralisation and download bytes."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from data.export import neutralise_cell, neutralise_formulas, to_csv_bytes, to_jsonl_bytes


@pytest.mark.parametrize(
    "cell", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=x", '=HYPERLINK("http://x")']
)
def test_dangerous_cells_get_an_apostrophe(cell):
    assert neutralise_cell(cell) == "'" + cell


def test_a_formula_after_a_line_break_is_neutralised_too():
    # a reader that splits rows at the bare CR would otherwise see a cell starting with "="
    assert neutralise_cell("\r=x") == "'\r'=x"
    assert neutralise_cell("a\n-cmd|' /C calc'!A0") == "a\n'-cmd|' /C calc'!A0"
    # list items and signatures inside a ticket stay as written (re-import adds nothing)
    assert neutralise_cell("a\n- refund\n-- Kwame") == "a\n- refund\n-- Kwame"


@pytest.mark.parametrize("cell", ["hello", "", "a=b", " =1", "-5", "+3.25", "-1e3", 42, -1.5, None])
def test_safe_cells_are_unchanged(cell):
    assert neutralise_cell(cell) == cell


def test_numbers_stay_numbers_and_the_input_is_not_modified():
    df = pd.DataFrame(
        {
            "t": ["=1+1", "ok", None],
            "n": [-1, 2, 3],
            "f": [-0.5, 1.0, None],
            "=evil": ["x", "y", "z"],
        }
    )
    out = neutralise_formulas(df)
    assert out["t"].tolist()[:2] == ["'=1+1", "ok"] and pd.isna(out["t"].iloc[2])
    assert out["n"].tolist() == [-1, 2, 3] and out["n"].dtype == df["n"].dtype
    assert out["f"].dtype == df["f"].dtype
    assert list(out.columns)[-1] == "'=evil"
    assert df["t"].iloc[0] == "=1+1"


def test_neutralising_twice_changes_nothing_more():
    df = pd.DataFrame({"t": ["=1", "-x", "@y"]})
    once = neutralise_formulas(df)
    pd.testing.assert_frame_equal(neutralise_formulas(once), once)


def test_csv_bytes_round_trip_safely():
    df = pd.DataFrame({"text": ["=cmd()", 'multi\nline, "quoted"'], "n": [1, 2]})
    data = to_csv_bytes(df)
    back = pd.read_csv(io.BytesIO(data))
    assert back["text"].tolist() == ["'=cmd()", 'multi\nline, "quoted"']
    assert back["n"].tolist() == [1, 2]
    assert to_csv_bytes(df, neutralise=False).count(b"'=") == 0


def test_jsonl_bytes():
    df = pd.DataFrame({"a": [1, 2], "t": pd.to_datetime(["2026-01-01", None]), "x": [0.5, None]})
    lines = to_jsonl_bytes(df).decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"a": 1, "t": "2026-01-01T00:00:00", "x": 0.5},
        {"a": 2, "t": None, "x": None},
    ]
    assert to_jsonl_bytes([]) == b""
    assert json.loads(to_jsonl_bytes([{"é": "ü"}])) == {"é": "ü"}


@given(st.text(max_size=30))
def test_no_csv_cell_starts_with_a_formula_character(text):
    out = neutralise_formulas(pd.DataFrame({"t": [text]}))["t"].iloc[0]
    assert not (
        out.startswith(("=", "+", "-", "@", "\t", "\r"))
        and not pd.Series([out]).str.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?").iloc[0]
    )
