"""Benchmark: ingest a 1,000,000-row CSV; print rows/s and peak memory.

Run: ``python bench/ingest.py [--rows N] [--keep DIR]``. Prints one JSON line per step.
The two steps of :func:`data.ingest.ingest_files` are timed apart: validation and staging
(:func:`data.staging.stage_file`, streamed in chunks, Python side) and the commit (one DuckDB
transaction). Peak memory is the process's peak resident set size (``getrusage``), read after
each step.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path

from data.ingest import commit_staged, ingest_files
from data.staging import stage_file
from data.store import Store

CHANNELS = ("email", "chat", "web", "phone")
WORDS = (
    "api",
    "latency",
    "invoice",
    "price",
    "refund",
    "error",
    "token",
    "limit",
    "slow",
    "cheaper",
    "contract",
    "timeout",
    "model",
    "support",
    "please",
    "urgent",
    "thanks",
)


def write_csv(path: Path, rows: int, seed: int = 1) -> int:
    """Write a CSV of ``rows`` tickets (id, created_at, customer, channel, subject, text)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("id,created_at,customer,channel,subject,text\n")
        for i in range(rows):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(8, 40)))
            text = f'"Ticket {i}: {words}, see ""order"" #{rng.randrange(10**6)}"'
            f.write(
                f"T{i},2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} "
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:00,C{rng.randrange(500):04d},"
                f"{rng.choice(CHANNELS)},subject {i % 97},{text}\n"
            )
    return path.stat().st_size


def peak_rss_mib() -> float:
    """Peak resident memory of this process (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="folder for the CSV and DB")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, db_path = folder / "tickets.csv", folder / "bench.duckdb"
    for p in (db_path, db_path.with_name(db_path.name + ".wal")):
        p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    size = write_csv(csv_path, args.rows)
    print(
        json.dumps(
            {
                "step": "write_csv",
                "rows": args.rows,
                "mib": round(size / 2**20, 1),
                "seconds": round(time.perf_counter() - t0, 1),
            }
        ),
        flush=True,
    )
    rss_before = peak_rss_mib()
    with Store.open(db_path) as store:
        t0 = time.perf_counter()
        staged = stage_file(csv_path, staging_dir=folder)
        stage_s = time.perf_counter() - t0
        rss_stage = peak_rss_mib()
        t1 = time.perf_counter()
        report = commit_staged(store, staged)
        commit_s = time.perf_counter() - t1
        staged.path.unlink()
        seconds = time.perf_counter() - t0
        assert report.accepted, report.message
        t2 = time.perf_counter()
        again = ingest_files(store, [csv_path])[0]
        again_s = time.perf_counter() - t2
        count = store.scalar("SELECT count(*) FROM tickets")
    print(
        json.dumps(
            {
                "step": "ingest",
                "rows": report.rows,
                "new_tickets": report.new_tickets,
                "tickets_in_store": count,
                "seconds": round(seconds, 1),
                "rows_per_s": round(report.rows / seconds),
                "csv_mib": round(size / 2**20, 1),
                "validate_and_stage_seconds": round(stage_s, 1),
                "commit_seconds": round(commit_s, 1),
                "peak_rss_before_mib": round(rss_before),
                "peak_rss_after_staging_mib": round(rss_stage),
                "peak_rss_after_commit_mib": round(peak_rss_mib()),
                "reingest_seconds": round(again_s, 2),
                "reingest_message": again.message,
                "cpus": os.cpu_count(),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
