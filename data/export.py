"""Downloads: CSV and JSONL bytes, with spreadsheet formulas neutralised in CSV.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return can run as a
formula when a CSV is opened in a spreadsheet (CSV injection). Such text cells get a leading
apostrophe, which spreadsheets show as text. Numeric columns, and text that is just a number
(``-5``, ``+3.2``), are left as they are.

Example:
    >>> neutralise_formulas(pd.DataFrame({"t": ["=1+1", "ok"], "n": [-1, 2]}))["t"].tolist()
    ["'=1+1", 'ok']
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralise_cell", "neutralise_formulas", "to_csv_bytes",
           "to_jsonl_bytes"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading apostrophe if it is text that a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas.

    Column names are neutralised too. Numeric, boolean and datetime columns are unchanged.
    """
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if (pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)
                or pd.api.types.is_datetime64_any_dtype(series.dtype)):
            continue
        out[col] = series.map(neutralise_cell, na_action="ignore")
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame, *, neutralise: bool = True) -> bytes:
    """UTF-8 CSV bytes of ``df`` (no index), formulas neutralised unless told otherwise."""
    frame = neutralise_formulas(df) if neutralise else df
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _json_value(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if value is pd.NaT or value is None or value is pd.NA:
        return None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    return value


def to_jsonl_bytes(records: Iterable[Mapping[str, Any]] | pd.DataFrame) -> bytes:
    """UTF-8 JSON Lines, one object per record (a DataFrame gives one per row)."""
    if isinstance(records, pd.DataFrame):
        records = records.to_dict(orient="records")
    lines = [json.dumps({str(k): _json_value(v) for k, v in r.items()}, ensure_ascii=False,
                        default=str) for r in records]
    return ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
