"""Time every dashboard page's script run on a large database (AppTest, no browser).

Create the database first (one million tickets)::

    python -m data demo --db var/big.duckdb --tickets 1000000
    python bench/dashboard.py --db var/big.duckdb

The demo is not tagged; unless ``--no-gold`` is given, the generator's gold spans are
stored once as the entities of a stand-in model (``gold-bench``), so the Entities page has
millions of entity rows to aggregate, as it would after a full tagging run.

For each page it reports the first load (cold query caches) and the median and worst of the
following reruns (what a user waits for after any click: cached queries keyed by filters and
data), plus a filter change on Overview (a new cache key: the SQL runs again).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = [
    ("Overview", "views/overview.py"),
    ("Entities", "views/entities.py"),
    ("Batch tagging", "views/batch_tagging.py"),
    ("Pricing what-if", "views/pricing.py"),
    ("Price war & positioning", "views/price_war.py"),
    ("Scenarios", "views/scenarios.py"),
]
GOLD_MODEL = "gold-bench"


def store_gold_entities(db: Path) -> int:
    """Copy gold spans into ``entities`` as model ``gold-bench`` (once); return the rows."""
    from data.store import Store

    with Store.open(db) as store:
        have = store.scalar("SELECT count(*) FROM entities WHERE model_id = ?", [GOLD_MODEL])
        if not have:
            def copy(conn) -> None:
                conn.execute("INSERT INTO entities SELECT ticket_key, ?, start, \"end\", label,"
                             " text, 1.0 FROM gold_entities", [GOLD_MODEL])
                conn.execute("INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
                             " SELECT ticket_key, ?, 'bench' FROM tickets", [GOLD_MODEL])
            store.write(copy)
        return int(store.scalar("SELECT count(*) FROM entities WHERE model_id = ?",
                                [GOLD_MODEL]))


def timed(at, action=None) -> float:
    """Seconds of one script run (after ``action`` prepared the widgets)."""
    if action is not None:
        action(at)
    t = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t
    if at.exception or at.error:
        raise RuntimeError(f"page failed: {[e.value for e in [*at.exception, *at.error]]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=ROOT / "var" / "big.duckdb")
    ap.add_argument("--reruns", type=int, default=5, help="reruns timed per page")
    ap.add_argument("--no-gold", action="store_true", help="do not store gold entities")
    args = ap.parse_args(argv)
    if not args.db.exists():
        print(f"{args.db} does not exist; create it with:\n"
              f"  python -m data demo --db {args.db} --tickets 1000000", file=sys.stderr)
        return 2
    entities = 0 if args.no_gold else store_gold_entities(args.db)
    os.environ.update(PRICEWAR_DB=str(args.db.resolve()), PRICEWAR_AUTOTAG="0",
                      PRICEWAR_INBOX_SECONDS="0")

    from streamlit.testing.v1 import AppTest

    from data.store import Store

    with Store.open(args.db, read_only=True) as s:
        tickets = int(s.scalar("SELECT count(*) FROM tickets"))
    print(f"database: {args.db} ({tickets:,} tickets, {entities:,} entities); "
          f"python {platform.python_version()}, {os.cpu_count()} cores")
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=600)
    rows = []
    for i, (name, path) in enumerate(PAGES):
        if i:
            at.switch_page(path)
        first = timed(at)
        reruns = [timed(at) for _ in range(args.reruns)]
        rows.append((name, first, statistics.median(reruns), max(reruns)))
        if name == "Overview":
            change = timed(at, lambda a: a.multiselect(key="segment").set_value(["smb"]))
            back = timed(at, lambda a: a.multiselect(key="segment").set_value([]))
            rows.append(("Overview: filter change (new query)", change, back, back))
        if name == "Entities":
            last = at.selectbox(key="ent_pick").options[-1]
            pick = timed(at, lambda a, v=last: a.selectbox(key="ent_pick").set_value(v))
            search = timed(at, lambda a: a.text_input(key="ent_search").set_value("invoice"))
            rows.append(("Entities: pick an entity, then search (new queries)", pick, search,
                         max(pick, search)))
        if name == "Pricing what-if":
            box = at.number_input(key="wi_price_per_m_0")
            runs = [timed(at, lambda a, v=v: a.number_input(key="wi_price_per_m_0").set_value(v))
                    for v in (box.value * 1.1, box.value * 1.2, box.value * 1.3)]
            rows.append(("Pricing: input change", runs[0], statistics.median(runs), max(runs)))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'page':<{width}}  first load  rerun median  rerun max")
    for name, first, med, worst in rows:
        print(f"{name:<{width}}  {first:9.3f}s  {med:11.3f}s  {worst:8.3f}s")
    slow = [r[0] for r in rows if r[2] >= 1.0]
    print("\nall reruns under 1 s" if not slow else f"\nover 1 s: {', '.join(slow)}")
    return 0 if not slow else 1


if __name__ == "__main__":
    raise SystemExit(main())
