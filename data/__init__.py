"""The data layer of Price War Room: the store and everything that fills it.

Modules, one concern each:

- :mod:`data.store` — the DuckDB file, its single writer thread and reads (``Store``);
  :mod:`data.db_file` — whether a path is a DuckDB file we may open, checked before DuckDB
  touches it (``check_db_file``; imports no DuckDB); :mod:`data.migrations` — the numbered
  schema; :mod:`data.paths` — default locations; :mod:`data.errors` — the exceptions.
- :mod:`data.readers` — streaming CSV/TSV/JSONL/Parquet reader (``read_table_chunks``);
  :mod:`data.columns` — column aliases; :mod:`data.keys` — content-hash keys;
  :mod:`data.ingest` — validated, all-or-nothing, idempotent uploads (``ingest_files``):
  :mod:`data.staging` checks a file whole and stages it as Parquet (``stage_file``), then
  one transaction commits it; with :mod:`data.limits` (upload limits, ``IngestLimits``) and
  :mod:`data.normalise` (each value checked and converted, ``normalise_chunk``; also read by
  :mod:`data.keyed_tickets`);
  :mod:`data.inbox` — uploads handed to a running dashboard; :mod:`data.inbox_entries` — one
  inbox entry handled as untrusted input; :mod:`data.heartbeat` — whether a dashboard is
  there to take the work; :mod:`data.export` — downloads.
- :mod:`data.rollups` — the roll-up tables the pages read: whether they may be read
  (freshness) and their rebuilds; :mod:`data.rollup_upkeep` — kept in step inside each
  writer's own transaction (``maintained``, ``inserted_tickets``);
  :mod:`data.rollup_tables` — their catalogue and per-ticket SQL; :mod:`data.rollup_series` — the signal series per day and week;
  :mod:`data.rollup_schema` — their migrations as released.
- :mod:`data.entity_shards` — folders of entity shards tagged outside the store (their
  format, written by the tagging job); :mod:`data.shard_loading` — such a folder checked and
  loaded into the store; :mod:`data.tag_requests` — tagging requests handed to a running
  dashboard's inbox.
- :mod:`data.reset` — the admins' data resets (a model's tagging results, a batch of tickets,
  every saved scenario), each one audited transaction; :mod:`data.reset_targets` — what a
  reset can remove, with counts.
- :mod:`data.masking` — e-mail addresses, phone, card, bank account and social security
  numbers masked for viewers (``mask_pii``, ``mask_frame``, ``pii_spans``);
  :mod:`data.number_spans` — the phone and card numbers in a text found (``number_spans``;
  ``MASK``, the masking character); :mod:`data.account_spans` — the bank account numbers
  (IBANs); :mod:`data.national_id_spans` — the US social security and taxpayer numbers;
  :mod:`data.spelled_email_spans` — the e-mail addresses spelled out (``jane at example dot
  com``); :mod:`data.audit` — the audit trail (``from data import audit``; ``audit.record``,
  ``audit.read_log``).
- :mod:`data.demo` — demo data with ground truth (``generate_demo``, ``iter_gold_tickets``),
  built from :mod:`data.demo.vocab`, :mod:`data.demo.templates` and :mod:`data.demo.text`;
  :mod:`data.bootstrap` — the demo database on first start.
- :mod:`data.reference` — competitor prices, price cuts and cost anchors;
  :mod:`data.competitor_names` — which competitor an entity names (aliases, the matching
  rule).
- :mod:`data.cli` — ``python -m data demo|ingest|stats|rollups``; :mod:`data.cli_kit` — what
  every command line shares (exit statuses, ``OneLineParser``, ``terminal_text``,
  ``shown_name``; ``python -m analytics`` uses it too).

The names below are importable from ``data`` directly; they load their module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ConfigError",
    "DataError",
    "IngestError",
    "IngestLimits",
    "IngestReport",
    "Problem",
    "Store",
    "StoreCorruptError",
    "StoreLockedError",
    "StoreWriteError",
    "default_db_path",
    "ensure_demo_database",
    "generate_demo",
    "ingest_files",
    "iter_gold_tickets",
    "limits_from_env",
    "mask_frame",
    "mask_pii",
    "pii_spans",
    "read_table_chunks",
]

_HOME = {
    "ConfigError": "data.errors",
    "DataError": "data.errors",
    "IngestError": "data.errors",
    "Problem": "data.errors",
    "StoreCorruptError": "data.errors",
    "StoreLockedError": "data.errors",
    "StoreWriteError": "data.errors",
    "Store": "data.store",
    "default_db_path": "data.paths",
    "IngestLimits": "data.limits",
    "IngestReport": "data.ingest",
    "ingest_files": "data.ingest",
    "limits_from_env": "data.limits",
    "read_table_chunks": "data.readers",
    "generate_demo": "data.demo",
    "iter_gold_tickets": "data.demo",
    "ensure_demo_database": "data.bootstrap",
    "mask_frame": "data.masking",
    "mask_pii": "data.masking",
    "pii_spans": "data.masking",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'data' has no attribute {name!r}")
