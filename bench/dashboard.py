"""Time every dashboard page's script run on a large database (AppTest, no browser).

Create the database first (one million tickets)::

    python -m data demo --db var/big.duckdb --tickets 1000000
    python -m bench.dashboard --db var/big.duckdb

The pages are those of ``dashboard/app.py``'s navigation (every ``st.Page`` in it, the admin
pages included: the bench runs in local mode, as an admin), read from its source, so a new
page is timed without touching this file.

The demo is not tagged; unless ``--no-gold`` is given, the generator's gold spans are
stored once as the entities of a stand-in model (``gold-bench``), so the Entities page has
millions of entity rows to aggregate, as it would after a full tagging run; the roll-ups
(``data.rollups``) are rebuilt in that transaction, and whenever they are stale, so the
pages read them as they would after tagging.

For each page it reports the first load and the median and worst of the following reruns
(what a user waits for after any click: cached queries keyed by filters and data), plus a
filter change on Overview and on Entities and an input change on Pricing (new cache keys:
the SQL runs again). Each page is timed in a fresh process: the app first starts there on
another, light page (imports, the store opened: reported apart as the app start), then the
data caches are emptied and the page's first load is timed (cold caches, a cold DuckDB
buffer for this page's data). ``--one-process`` times every page in one process instead,
emptying the data caches before each page's first load (quicker; DuckDB's buffer stays
warm from the pages before).

The last line printed is::

    dashboard: tickets=N first_load_max=S rerun_max=S

``first_load_max``: the slowest page's first load; ``rerun_max``: the slowest rerun of any
page with unchanged inputs (the rows with changed filters and inputs are in the table).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

APP = ROOT / "dashboard" / "app.py"
GOLD_MODEL = "gold-bench"
ROWS_TAG = "BENCH-ROWS "  # how a child process hands its rows to the parent


@dataclass(frozen=True)
class AppPage:
    """One ``st.Page`` of the app's navigation."""

    title: str
    path: str  # relative to dashboard/, as AppTest.switch_page wants it
    url_path: str  # "" for the default page


def app_pages(app: Path = APP) -> list[AppPage]:
    """Every ``st.Page(...)`` in ``app``'s source, in source order (admin pages included)."""
    tree = ast.parse(app.read_text(encoding="utf-8"))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "Page"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]
    pages = []
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
        kw = {k.arg: k.value.value for k in call.keywords if isinstance(k.value, ast.Constant)}
        path = str(call.args[0].value)
        pages.append(
            AppPage(
                str(kw.get("title") or Path(path).stem),
                path,
                "" if kw.get("default") else str(kw.get("url_path") or Path(path).stem),
            )
        )
    if not pages:
        raise RuntimeError(f"no st.Page(...) found in {app}")
    return pages


def store_gold_entities(db: Path) -> int:
    """Copy gold spans into ``entities`` as model ``gold-bench`` (once), in the transaction
    that brings the roll-ups up to date with them (``data.rollups``: the pages then read the
    roll-ups, as after a tagging run); rebuild stale roll-ups; return the entity rows."""
    from data import rollup_tables, rollups
    from data.store import Store

    with Store.open(db) as store:
        have = store.scalar("SELECT count(*) FROM entities WHERE model_id = ?", [GOLD_MODEL])
        if not have:

            def copy(conn) -> None:
                conn.execute(
                    'INSERT INTO entities SELECT ticket_key, ?, start, "end", label,'
                    " text, 1.0 FROM gold_entities",
                    [GOLD_MODEL],
                )
                conn.execute(
                    "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
                    " SELECT ticket_key, ?, 'bench' FROM tickets",
                    [GOLD_MODEL],
                )
                rollups.rebuild_all(conn)

            store.write(copy)
        with store.reading() as cur:
            stale = set(rollup_tables.PARTS) - rollups.fresh_parts(cur)
        if stale:  # written behind the roll-ups' back, or an upgraded store
            print(f"rebuilding stale roll-ups ({', '.join(sorted(stale))}) ...", flush=True)
            rollups.rebuild_rollups(store)
        return int(store.scalar("SELECT count(*) FROM entities WHERE model_id = ?", [GOLD_MODEL]))


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


# A row: (name, first load or single run, rerun median, rerun max, kind) where kind is
# "page" (a page's first load and its reruns with the same inputs) or "change".
Row = tuple[str, float, float, float, str]


def time_page(at, page: AppPage, reruns: int, *, switch: bool) -> list[Row]:
    """The rows of one page: first load, reruns, and its changes of filters or inputs."""
    if switch:
        at.switch_page(page.path)
    first = timed(at)
    again = [timed(at) for _ in range(reruns)] or [float("nan")]
    rows: list[Row] = [(page.title, first, statistics.median(again), max(again), "page")]
    if page.path == "views/overview.py":
        change = timed(at, lambda a: a.multiselect(key="segment").set_value(["smb"]))
        back = timed(at, lambda a: a.multiselect(key="segment").set_value([]))
        rows.append(("Overview: filter change (new query)", change, back, back, "change"))
    elif page.path == "views/entities.py":
        last = at.selectbox(key="ent_pick").options[-1]
        pick = timed(at, lambda a, v=last: a.selectbox(key="ent_pick").set_value(v))
        search = timed(at, lambda a: a.text_input(key="ent_search").set_value("invoice"))
        rows.append(
            (
                "Entities: pick an entity, then search (new queries)",
                pick,
                search,
                max(pick, search),
                "change",
            )
        )
    elif page.path == "views/pricing.py":
        box = at.number_input(key="wi_price_per_m_0")
        runs = [
            timed(at, lambda a, v=v: a.number_input(key="wi_price_per_m_0").set_value(v))
            for v in (box.value * 1.1, box.value * 1.2, box.value * 1.3)
        ]
        rows.append(
            ("Pricing: input change", runs[0], statistics.median(runs), max(runs), "change")
        )
    return rows


def _prepare_env(db: Path) -> None:
    os.environ.update(
        PRICEWAR_DB=str(db.resolve()), PRICEWAR_AUTOTAG="0", PRICEWAR_INBOX_SECONDS="0"
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _warm_imports() -> None:
    """Import what every page run needs, so a fresh process's first load times the page:
    every module of ``analytics`` too (the package loads them on first use, PEP 562; a server
    imports each once, at its first page that needs it — process start, not a page's data)."""
    import importlib
    import pkgutil

    import altair  # noqa: F401
    from streamlit.testing.v1 import AppTest  # noqa: F401

    import analytics
    import dashboard.state  # noqa: F401

    for module in pkgutil.iter_modules(analytics.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"analytics.{module.name}")


def child(db: Path, path: str, reruns: int) -> int:
    """Time one page in this (fresh) process; print its rows as one JSON line.

    The app starts first on another, light page (imports, the store opened, the sidebar),
    then the data caches are emptied, so the first load times the page with cold caches,
    not the process start (reported apart as ``start``).
    """
    _prepare_env(db)
    _warm_imports()
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    pages = app_pages()
    page = next(p for p in pages if p.path == path)
    warm = next(p for p in reversed(pages) if p.path != path)  # an admin page: light
    at = AppTest.from_file(str(APP), default_timeout=600)
    start = timed(at, lambda a: a.switch_page(warm.path))
    st.cache_data.clear()
    rows = time_page(at, page, reruns, switch=True)
    print(ROWS_TAG + json.dumps({"rows": rows, "start": start}), flush=True)
    return 0


def in_fresh_process(db: Path, page: AppPage, reruns: int) -> tuple[list[Row], float]:
    """Run :func:`child` for ``page`` in a new Python process; its rows and start."""
    cmd = [
        sys.executable,
        "-m",
        "bench.dashboard",
        "--db",
        str(db),
        "--reruns",
        str(reruns),
        "--no-gold",
        "--child-page",
        page.path,
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [x for x in done.stdout.splitlines() if x.startswith(ROWS_TAG)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{page.title}: exit {done.returncode}\n{(done.stdout + done.stderr)[-3000:]}"
        )
    got = json.loads(lines[-1][len(ROWS_TAG) :])
    return [tuple(r) for r in got["rows"]], float(got["start"])


def summary_line(tickets: int, rows: list[Row]) -> str:
    """The contract line: ``dashboard: tickets=N first_load_max=S rerun_max=S``."""
    pages = [r for r in rows if r[4] == "page"]
    first = max(r[1] for r in pages)
    rerun = max(r[3] for r in pages)
    return f"dashboard: tickets={tickets} first_load_max={first:.3f} rerun_max={rerun:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=ROOT / "var" / "big.duckdb")
    ap.add_argument("--reruns", type=int, default=5, help="reruns timed per page")
    ap.add_argument("--no-gold", action="store_true", help="do not store gold entities")
    ap.add_argument(
        "--one-process",
        action="store_true",
        help="all pages in this process; data caches emptied before each page's "
        "first load (quicker; the store stays open)",
    )
    ap.add_argument(
        "--pages",
        default="",
        help="comma-separated url paths or titles to time (default: every page; "
        "'/' or 'overview' is the default page)",
    )
    ap.add_argument("--child-page", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not args.db.exists():
        print(
            f"{args.db} does not exist; create it with:\n"
            f"  python -m data demo --db {args.db} --tickets 1000000",
            file=sys.stderr,
        )
        return 2
    if args.child_page:
        return child(args.db, args.child_page, args.reruns)
    pages = app_pages()
    if args.pages:
        wanted = {w.strip().lower().strip("/") for w in args.pages.split(",") if w.strip()}
        pages = [p for p in pages if {p.url_path, p.title.lower(), Path(p.path).stem} & wanted]
        if not pages:
            print(f"no page matches --pages {args.pages!r}", file=sys.stderr)
            return 2
    entities = 0 if args.no_gold else store_gold_entities(args.db)
    _prepare_env(args.db)

    from data.store import Store

    with Store.open(args.db, read_only=True) as s:
        tickets = int(s.scalar("SELECT count(*) FROM tickets"))
    load = os.getloadavg()
    print(
        f"database: {args.db} ({tickets:,} tickets, {entities:,} entities); "
        f"python {platform.python_version()}, {os.cpu_count()} cores, load "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"{'one process' if args.one_process else 'a fresh process per page'}; "
        f"{len(pages)} pages: {', '.join(p.title for p in pages)}"
    )
    rows: list[Row] = []
    starts: list[float] = []
    if args.one_process:
        import streamlit as st
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(APP), default_timeout=600)
        for page in pages:
            st.cache_data.clear()
            rows += time_page(at, page, args.reruns, switch=True)
    else:
        for page in pages:
            got, start = in_fresh_process(args.db, page, args.reruns)
            rows += got
            starts.append(start)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'page':<{width}}  first load  rerun median  rerun max")
    for name, first, med, worst, _ in rows:
        print(f"{name:<{width}}  {first:9.3f}s  {med:11.3f}s  {worst:8.3f}s")
    if starts:
        print(
            f"(app start in each fresh process, on a light page before the data caches "
            f"are emptied, not counted: median {statistics.median(starts):.3f}s, "
            f"max {max(starts):.3f}s)"
        )
    slow = [r[0] for r in rows if r[2] >= 1.0]
    print("\nall reruns under 1 s" if not slow else f"\nover 1 s: {', '.join(slow)}")
    print(summary_line(tickets, rows))
    return 0 if not slow else 1


if __name__ == "__main__":
    raise SystemExit(main())
