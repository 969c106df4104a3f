"""Round 30 of the hostile-user attacks (#12): names the store takes from files it is handed,
shown on every page, and every what-if the checks accept, computed.

The issue closes when a fresh round of its attacks finds nothing new in its areas (the inbox
and what it hands over, reading files, links and numbers, exports and rendering). This round
sent:

- a model id in an entity-shard folder's manifest (printable text, the one check it has)
  written as HTML, a Markdown link to ``javascript:``, emphasis and LaTeX, loaded for every
  ticket so that it becomes the model the pages show; then every page opened;
- the same text as the name of a ticket file handed over (its name becomes the tickets'
  ``source``), shown on the Batch tagging page and its ticket cards;
- a ticket file with two columns the text could be read from (``text`` and ``body``);
- 2,000 tagging requests at once, every other one giving a key twice (round 29's refusal);
- the same tickets as CSV, JSON Lines and Parquet, with dates in other time zones, a
  ``Z``, nanoseconds, no time, no zone;
- what-ifs built from each input's own bounds (its smallest, its largest, and values between,
  1–3 demand segments, 0–3 competitors), each accepted by the scenario's checks, computed
  as the Pricing and Price war pages compute them (the scenario, its Monte Carlo, tornado,
  segment table, price war, and goal seek for every input at targets up to ±1e308).

Weak, mended: the upload report said which column the text was read from, not that the
other (``body``) was left out (``dashboard/views/batch_tagging.report_row``: "not_used").

Held: everything else. No text of the name reached a page unescaped (Markdown bodies, labels,
help, alerts, HTML); the poller took at most 256 entries a poll, the valid requests in
order, the others set aside; the three formats gave the same instants, in UTC; every
accepted what-if gave numbers without NaN, or a ScenarioError the page shows in words.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from analytics import evaluate, scenario_sensitivity, scenario_tables, war
from analytics.errors import ScenarioError
from analytics.goalseek import goal_seek
from analytics.scenario import Scenario
from analytics.scenario_parts import Competitor, DemandSegment
from dashboard.whatif_inputs import (
    COST_INPUTS,
    CUT_PCT,
    MAIN_INPUTS,
    MORE_INPUTS,
    OUR_SHARE,
    STRATEGY_INPUTS,
)
from data.inbox_entries import MAX_ENTRIES_PER_POLL
from data.ingest import ingest_files
from data.paths import inbox_dir
from data.shard_loading import load_entity_shards
from data.store import Store
from tests.dashboard.conftest import APP, app_db  # noqa: F401  (the fixture)
from tests.data.test_entity_shards import make_shard
from tests.reliability.conftest import record_figure

#: Printable text that is HTML, a ``javascript:`` link, emphasis and LaTeX when rendered raw.
HOSTILE = "<img src=x onerror=alert(1)>[l](javascript:alert(2))**B**$x^2$"
#: What must never appear in a rendered field: the raw tag, the raw link, raw emphasis.
RAW = ("<img", "](javascript", "**B**")
PAGES = (
    "views/overview.py",
    "views/entities.py",
    "views/batch_tagging.py",
    "views/signals.py",
    "views/pricing.py",
    "views/price_war.py",
    "views/scenarios.py",
    "views/audit.py",
    "views/settings.py",
)
#: Proto fields a browser renders as Markdown or HTML (options and values are plain text).
_RENDERED_FIELDS = {"body", "label", "help", "caption"}


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def _strings(message: Any, names: set[str]) -> Iterator[str]:
    """Every text field named in ``names`` of a protobuf message, nested ones included."""
    for field, value in message.ListFields():
        repeated = not isinstance(value, str | bytes) and hasattr(value, "__len__")
        items = value if repeated and not hasattr(value, "ListFields") else [value]
        for item in items:
            if hasattr(item, "ListFields"):
                yield from _strings(item, names)
            elif field.name in names and isinstance(item, str):
                yield item


def _raw_on_page(at: AppTest) -> list[str]:
    """Rendered texts of the page that hold :data:`RAW` (code blocks show text literally;
    in HTML only a raw tag is live)."""
    found = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None or getattr(node, "type", "") == "code":
            continue
        # HTML shows brackets and asterisks as they are: only a raw tag is live there
        raws = ("<img",) if getattr(node, "type", "") == "html" else RAW
        for text in _strings(proto, _RENDERED_FIELDS):
            if any(raw in text for raw in raws):
                found.append(f"{getattr(node, 'type', '?')}: {text[:160]}")
    return found


def _shown(at: AppTest) -> str:
    return " ".join(
        text
        for node in _walk(at._tree)
        if getattr(node, "proto", None) is not None
        for text in _strings(node.proto, _RENDERED_FIELDS)
    )


def test_a_hostile_model_id_from_a_shard_is_escaped_on_every_page(
    app_db: Path, tmp_path: Path
) -> None:
    """Expected (held): a shard folder's model id is printable text of at most 300
    characters and nothing more; once its entities tag every ticket it is the model the pages
    show, and each page shows it as text, never as HTML, a link or emphasis."""
    with Store.open(app_db, read_only=True) as store:
        keys = [k for (k,) in store.fetchall("SELECT ticket_key FROM tickets ORDER BY 1")]
        rows = store.fetchall(
            'SELECT ticket_key, start, "end", label, text, 0.9::DOUBLE FROM gold_entities'
        )
    folder = tmp_path / "shards"
    make_shard(folder, tmp_path / "demo.csv", rows, keys, model_id=HOSTILE)
    with Store.open(app_db) as store:
        report = load_entity_shards(store, folder)
    assert report.new_tickets == len(keys), report.message
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    seen_model = False
    for page in PAGES:
        if page != PAGES[0]:
            at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not _raw_on_page(at), (page, _raw_on_page(at))
        seen_model |= "onerror" in _shown(at)
    assert seen_model, "no page showed the model id: the attack did not reach a page"


def test_a_hostile_file_name_is_escaped_on_the_batch_tagging_page(
    app_db: Path, tmp_path: Path
) -> None:
    """Expected (held): the name of a ticket file (the tickets' ``source``) is shown as
    text in the page's captions and notes, and escaped in its ticket cards."""
    source = tmp_path / f"{HOSTILE}.csv"
    source.write_text("id,text\n1,Moving from OpenAI to you next month\n", encoding="utf-8")
    with Store.open(app_db) as store:
        (report,) = ingest_files(store, [source])
    assert report.accepted, report.message
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("views/batch_tagging.py").run()
    at.multiselect(key="bt_show").set_value([source.name]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not _raw_on_page(at), _raw_on_page(at)
    cards = "".join(h.proto.body for h in at.get("html"))
    assert "Moving from OpenAI" in cards and "&lt;img src=x" in cards, cards[:400]


def test_a_column_that_could_be_the_text_is_said_not_used_in_the_upload_report(
    app_db: Path,
) -> None:
    """Expected: a file with both ``text`` and ``body`` (each a name the text is read
    from) is read from ``text``, as the column rule says, and the upload report says that
    ``body`` was not used.

    Weak before: the report said ``text ← text`` only; the body of every ticket was left
    out without a word."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page("views/batch_tagging.py").run()
    both = b"id,text,body\n1,Refund please,The long story of the refund I asked for\n"
    at.file_uploader(key="bt_files").set_value([("both.csv", both, "text/csv")])
    at.button(key="bt_import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    row = at.dataframe[0].value.set_index("file").loc["both.csv"]
    assert row["status"] == "imported" and row["columns"].startswith("text ← text"), row
    assert row["not_used"] == "body", row


# -- the inbox: many requests at once ---------------------------------------------------------


def test_two_thousand_requests_are_taken_a_bounded_batch_a_poll(db: Path) -> None:
    """Expected (held): an inbox of 2,000 tagging requests, every other one giving a key
    twice, is taken at most :data:`MAX_ENTRIES_PER_POLL` entries a poll, oldest first: the
    valid requests in order, the others set aside, each poll quick."""
    from dashboard.inbox_poller import InboxPoller

    inbox = inbox_dir(db)
    inbox.mkdir(parents=True, exist_ok=True)
    for i in range(2_000):
        body = {"batch_size": 1 + i % 64} if i % 2 else None
        text = json.dumps(body) if body else '{"batch_size": 8, "batch_size": 9}'
        path = inbox / f"tag-request-{i:05d}.json"
        path.write_text(text, encoding="utf-8")
        when = 1_700_000_000 + i  # oldest first by modification time
        os.utime(path, (when, when))
    taken: list[int] = []
    seconds = []
    with Store.open(db) as store:
        poller = InboxPoller(store, on_tag_request=lambda r: taken.append(r.batch_size))
        for _ in range(2_000 // MAX_ENTRIES_PER_POLL + 1):
            start = time.perf_counter()
            poller.poll_once()
            seconds.append(time.perf_counter() - start)
            assert len(taken) <= MAX_ENTRIES_PER_POLL * len(seconds) // 2 + 1
    assert taken == [1 + i % 64 for i in range(1, 2_000, 2)]
    assert len(list((inbox / "failed").iterdir())) == 1_000
    assert not list(inbox.glob("tag-request-*.json"))
    record_figure("round30_poll_seconds_of_256_requests_max", round(max(seconds), 3))


# -- reading files: the same tickets in three formats, dates in other zones ----------------

_WHEN = (
    "2025-03-01T23:30:00-05:00",
    "2025-03-01T23:30:00+09:00",
    "2025-03-01T23:30:00Z",
    "2025-03-01T23:30:00.123456789Z",
    "2025-03-01 23:30",
    "2025-03-01",
)


def test_the_same_tickets_in_three_formats_are_the_same_instants(tmp_path: Path) -> None:
    """Expected (held): dates with a zone are stored as the same instant in UTC (``-05:00``
    at 23:30 is 04:30 the next day), without a zone as written; a CSV, a JSON Lines file and
    a Parquet file (a zoned timestamp column) of the same tickets store the same dates."""
    texts = [f"ticket {i} about GPT-4o" for i in range(len(_WHEN))]
    csv_file = tmp_path / "t.csv"
    csv_file.write_text(
        "id,text,created_at\n"
        + "".join(f"{i},{t},{w}\n" for i, (t, w) in enumerate(zip(texts, _WHEN, strict=True))),
        encoding="utf-8",
    )
    jsonl_file = tmp_path / "t.jsonl"
    jsonl_file.write_text(
        "".join(
            json.dumps({"id": i, "text": t, "created_at": w}) + "\n"
            for i, (t, w) in enumerate(zip(texts, _WHEN, strict=True))
        ),
        encoding="utf-8",
    )
    zoned = _WHEN[:4]  # a Parquet timestamp column holds instants: the zoned ones
    pq.write_table(
        pa.table(
            {
                "id": list(range(len(zoned))),
                "text": texts[: len(zoned)],
                "created_at": pa.array(
                    [pd.Timestamp(w) for w in zoned], type=pa.timestamp("ns", tz="UTC")
                ),
            }
        ),
        tmp_path / "t.parquet",
    )
    stored = {}
    for name in ("t.csv", "t.jsonl", "t.parquet"):
        with Store.open(tmp_path / f"{name}.duckdb") as store:
            (report,) = ingest_files(store, [tmp_path / name])
            assert report.accepted, report.message
            stored[name] = store.fetchall(
                "SELECT source_id, created_at FROM tickets ORDER BY source_id"
            )
    utc = [  # worked out by hand: the instant of each of _WHEN in UTC, to the microsecond
        datetime(2025, 3, 2, 4, 30),
        datetime(2025, 3, 1, 14, 30),
        datetime(2025, 3, 1, 23, 30),
        datetime(2025, 3, 1, 23, 30, 0, 123456),
        datetime(2025, 3, 1, 23, 30),
        datetime(2025, 3, 1),
    ]
    expected = [(str(i), when) for i, when in enumerate(utc)]
    assert stored["t.csv"] == expected
    assert stored["t.jsonl"] == expected
    assert stored["t.parquet"] == expected[: len(zoned)]


# -- every accepted what-if, computed ------------------------------------------------------

_SPECS = (*MAIN_INPUTS, *COST_INPUTS, *MORE_INPUTS, *STRATEGY_INPUTS, CUT_PCT, OUR_SHARE)
_GOAL_INPUTS = (
    "price",
    "elasticity_shift",
    "volume_factor",
    "output_share",
    "ai_resolution_share",
    *scenario_sensitivity.NUMERIC_INPUTS,
)
_TARGETS = (0.0, 0.55, -0.99, 0.99, 1e9, -1e9, 1e-300, 1e308, -1e308)


def _edge(rng: random.Random, lo: float | None, hi: float | None) -> float:
    """An input's smallest or largest value, or one between (log-uniform when positive)."""
    lo = -1e9 if lo is None else lo
    hi = 1e9 if hi is None else hi
    pick = rng.random()
    if pick < 0.25:
        return lo
    if pick < 0.5:
        return hi
    if pick < 0.75 and lo > 0:
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))
    return rng.uniform(lo, hi)


def _segment(rng: random.Random, i: int) -> DemandSegment:
    elasticity = -math.exp(rng.uniform(math.log(0.01), math.log(20)))
    return DemandSegment(
        name=f"s{i}",
        reference_price=_edge(rng, 0.001, 1e6),
        reference_volume_m=_edge(rng, 0.001, 1e9),
        elasticity=elasticity,
        elasticity_ci_low=elasticity * rng.choice([1.0, 1.2, 3.0]),
        elasticity_ci_high=elasticity * rng.choice([1.0, 0.8, 0.2]),
        tickets_per_million=_edge(rng, 0.0, 1e4),
        output_share=_edge(rng, 0.0, 1.0),
        ai_resolution_share=_edge(rng, 0.0, 1.0),
    )


def _what_if(rng: random.Random) -> Scenario:
    """A what-if of values each input takes; ScenarioError when they do not fit together."""
    values: dict[str, Any] = {s.field: _edge(rng, s.min_value, s.max_value) for s in _SPECS}
    values["price_floor"], values["price_ceiling"] = sorted(
        (values["price_floor"], values["price_ceiling"])
    )
    values["segments"] = tuple(_segment(rng, i) for i in range(rng.randint(1, 3)))
    values["competitors"] = tuple(
        Competitor(f"c{i}", _edge(rng, 0.001, 100.0), rng.uniform(0.01, 0.2))
        for i in range(rng.randint(0, 3))
    )
    values.update(mc_draws=1_000, curve_points=60, our_share=min(values["our_share"], 0.3))
    return Scenario(**values)


def _nan_paths(value: Any, path: str, depth: int = 0) -> list[str]:
    """Where ``value`` (a result, nested dataclasses, frames, arrays) holds a NaN."""
    if depth > 4:
        return []
    if isinstance(value, float | np.floating):
        return [path] if math.isnan(value) else []
    if isinstance(value, pd.DataFrame):
        numbers = value.select_dtypes("number")
        return [f"{path}[{c}]" for c in numbers.columns[numbers.isna().any()]]
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return [path] if np.isnan(value).any() else []
    if isinstance(value, tuple | list):
        return [
            p for i, v in enumerate(value[:50]) for p in _nan_paths(v, f"{path}[{i}]", depth + 1)
        ]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            p
            for f in dataclasses.fields(value)
            if f.name not in ("scenario", "model")
            for p in _nan_paths(getattr(value, f.name), f"{path}.{f.name}", depth + 1)
        ]
    return []


@pytest.mark.parametrize("seed", range(4))
def test_every_accepted_what_if_gives_numbers_or_a_scenario_error(seed: int) -> None:
    """Expected (held): a what-if whose inputs each lie in their widget's bounds, accepted
    by the scenario's checks, is computed by every analysis the what-if pages run without an
    exception other than ScenarioError (which the pages show in words) and without a NaN in
    what they show; goal seek finds a finite value or none, at any target the box takes."""
    rng = random.Random(seed)
    computed = 0
    problems: list[str] = []
    while computed < 12:
        try:
            s = _what_if(rng)
        except ScenarioError:
            continue
        computed += 1
        analyses = {
            "evaluate": lambda s=s: evaluate.evaluate_scenario(s),
            "monte_carlo": lambda s=s: scenario_sensitivity.scenario_monte_carlo(s, None),
            "tornado": lambda s=s: scenario_sensitivity.scenario_tornado(s, None),
            "segments": lambda s=s: scenario_tables.segment_table(s),
            "price_war": lambda s=s: war.evaluate_price_war(s),
        }
        for name, run in analyses.items():
            try:
                problems += _nan_paths(run(), name)
            except ScenarioError:
                pass
            except Exception as exc:  # the page would show "Something went wrong"
                problems.append(f"{name}: {type(exc).__name__}: {exc} for {s}")
        for name in rng.sample(_GOAL_INPUTS, 3):
            for metric in ("margin", "profit", "optimal_profit"):
                target = rng.choice(_TARGETS)
                try:
                    found = goal_seek(s, name, target, metric=metric, points=40)
                except ScenarioError:
                    continue
                except Exception as exc:
                    problems.append(f"goal seek {name} {metric} {target}: {exc!r}")
                    continue
                if found.value is not None and not math.isfinite(found.value):
                    problems.append(f"goal seek {name} {metric} {target}: {found.value}")
    assert not problems, problems[:5]
