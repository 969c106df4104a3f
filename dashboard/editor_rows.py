"""Rows of an edited table that lack a value the page needs.

Streamlit's data editor turns a cell value it cannot parse for its column (a text or a list
for a number, an empty text, ``"NaN"``, a whole number too large for a float) into an empty
cell (``data_editor._parse_value``: None), and a browser leaves the cells of a new row empty
until they are typed. A page that drops the incomplete rows (``DataFrame.dropna``) then
silently loses a row the table started with: a forged "abc" for one competitor's price took
that competitor out of the price war, the saved scenario and the what-if link, with nothing
said (round 21 of #12). :func:`incomplete_rows` tells the two apart, so a page can refuse the
first in words and leave out only new rows still being filled in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd


def incomplete_rows(
    edited: pd.DataFrame, original: pd.DataFrame, required: Sequence[str], name: str = "name"
) -> tuple[list[str], int]:
    """The rows of ``edited`` with an empty cell in one of the ``required`` columns: the rows
    ``original`` had (by index label: added rows come after), each as "<its name in
    ``original``>: <the empty columns>", and how many added rows are incomplete.

    Example:
        >>> original = pd.DataFrame({"name": ["a", "b"], "price": [1.0, 2.0]})
        >>> edited = pd.DataFrame(
        ...     {"name": ["a", "b", "new"], "price": [None, 2.0, None]}, index=[0, 1, 2]
        ... )
        >>> incomplete_rows(edited, original, ["name", "price"])
        (['a: price'], 1)
        >>> incomplete_rows(original, original, ["name", "price"])
        ([], 0)
    """
    empty = edited[list(required)].isna().to_numpy()
    gaps = empty.any(axis=1)
    started = pd.Index(edited.index).isin(original.index)
    missing = [
        f"{_name_of(original, edited.index[pos], name)}: "
        + ", ".join(str(c) for c, gap in zip(required, empty[pos], strict=True) if gap)
        for pos in (gaps & started).nonzero()[0]
    ]
    return missing, int((gaps & ~started).sum())


def _name_of(original: pd.DataFrame, label: Any, name: str) -> str:
    value = original.loc[label, name] if name in original.columns else label
    if isinstance(value, pd.Series):  # a repeated label: its first row
        value = value.iloc[0]
    return str(value)
