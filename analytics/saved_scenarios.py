"""Saved scenarios: a ``Scenario`` kept in the store's ``scenarios`` table under a cleaned
name (``clean_scenario_name``: NFC, no control or invisible characters; at most
``MAX_NAME_CHARS`` as typed, ``scenario_name_length``), read back, sized, listed and deleted
(values always as parameters). The ``Scenario`` itself and its JSON live in
``analytics.scenario``.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pandas as pd

from analytics.errors import ScenarioError, ScenarioNotFoundError
from analytics.scenario import Scenario

#: Longest name a saved scenario may have (the Scenarios page's name box holds as many).
MAX_NAME_CHARS = 80
#: Unicode categories dropped from a saved name: controls (ESC, NUL, backspace: invalid in
#: XML, so in the chart's SVG), format characters (bidirectional overrides, zero-width
#: spaces and joiners, BOM: invisible, they make look-alike names), surrogates and
#: unassigned code points (U+FFFE, U+FFFF: invalid in XML too).
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn"})


def clean_scenario_name(name: str) -> str:
    """The name a scenario is saved under: NFC (a name typed with combining accents is the
    same name as the precomposed one), without control, format, surrogate or unassigned
    characters, every run of white space (line breaks, NBSP) one space, stripped.

    Example:
        >>> clean_scenario_name("cafe\u0301\u202e \x1b[2J  plan\u200b")
        'café [2J plan'
    """
    return _visible(unicodedata.normalize("NFC", str(name)))


def _visible(text: str) -> str:
    """``text`` without control, format, surrogate or unassigned characters, every run of
    white space one space, stripped (no normalisation)."""
    text = "".join(
        " " if unicodedata.category(ch) in ("Zl", "Zp") else ch
        for ch in text
        if unicodedata.category(ch) not in _DROPPED_CATEGORIES or ch in "\t\n\r"
    )
    return " ".join(text.split())


def scenario_name_length(name: str) -> int:
    """The length of ``name`` held against :data:`MAX_NAME_CHARS`: the shorter of its
    length as typed (invisible characters dropped) and its cleaned (NFC) length. NFC spells
    some letters with two or three characters (Devanagari क़ U+0958 is क + nukta, Hebrew
    U+FB2C three), so a name the page's box holds (80 typed characters) is never refused
    for it; a name typed with combining accents counts as composed. The saved name has at
    most 3 × :data:`MAX_NAME_CHARS` characters (NFC triples a character at most)."""
    return min(len(_visible(str(name))), len(clean_scenario_name(name)))


def save_scenario(store: Any, scenario: Scenario) -> None:
    """Insert or replace the scenario under its cleaned name (:func:`clean_scenario_name`),
    through the store's writer.

    Raises:
        ScenarioError: the cleaned name is empty, or longer than :data:`MAX_NAME_CHARS`
            (:func:`scenario_name_length`).
    """
    name = clean_scenario_name(scenario.name)
    if not name:
        raise ScenarioError("a scenario needs a name to be saved")
    length = scenario_name_length(scenario.name)
    if length > MAX_NAME_CHARS:
        raise ScenarioError(
            f"a scenario name has at most {MAX_NAME_CHARS} characters (this one has {length:,})"
        )
    params = [name, scenario.replace(name=name).to_json()]
    store.write(
        lambda conn: (
            conn.execute(
                "INSERT INTO scenarios (name, params) VALUES (?, ?::JSON) ON CONFLICT (name) DO UPDATE"
                " SET params = excluded.params, updated_at = now()",
                params,
            )
            and None
        )
    )


def load_scenario(store: Any, name: str) -> Scenario:
    """The saved scenario ``name``; raises ``ScenarioNotFoundError`` when there is none."""
    text = store.scalar("SELECT CAST(params AS VARCHAR) FROM scenarios WHERE name = ?", [name])
    if text is None:
        raise ScenarioNotFoundError(f"no saved scenario named {name!r}")
    return Scenario.from_json(text).replace(name=name)


def saved_scenario_size(store: Any, name: str) -> int | None:
    """Characters of the saved scenario ``name``'s stored inputs (None: no such scenario),
    counted in the store without reading them, so an oversized one can be refused unread."""
    size = store.scalar(
        "SELECT strlen(CAST(params AS VARCHAR)) FROM scenarios WHERE name = ?", [name]
    )
    return None if size is None else int(size)


def list_scenarios(store: Any) -> pd.DataFrame:
    """Saved scenarios, newest change first: ``name``, ``created_at``, ``updated_at``."""
    return store.query(
        "SELECT name, created_at, updated_at FROM scenarios ORDER BY updated_at DESC, name"
    )


def delete_scenario(store: Any, name: str) -> bool:
    """Delete the saved scenario ``name``; True when one was deleted."""

    def run(conn: Any) -> bool:
        found = conn.execute("SELECT count(*) FROM scenarios WHERE name = ?", [name]).fetchone()
        conn.execute("DELETE FROM scenarios WHERE name = ?", [name])
        return bool(found and found[0])

    return bool(store.write(run))
