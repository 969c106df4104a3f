"""Once per server process: load what the pages use, then keep it out of full collections.

Python's full (generation 2) garbage collection walks every tracked object of the process
and holds the GIL meanwhile, so every session's page waits for it. With the pages' libraries
loaded (pandas, altair, the analytics and dashboard modules: about 150,000 objects) such a
pass stalled every session for 0.1–0.6 s each time, 17 times in 17 s with ten sessions at
once beside the tagging job (issue 16, bench/RESULTS.md). :func:`prepare_process` imports
those modules once and calls :func:`gc.freeze`: every object alive then moves to a permanent
generation that collections skip. Objects made later are collected as before, and a frozen
object is still freed when its last reference goes (reference counting); only a reference
cycle among start-up objects would be kept.
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading

log = logging.getLogger("dashboard.startup")

#: What the pages import (their heavy part), loaded before the collector is frozen. The
#: analytics modules and scipy are here too: imported by a page's first load instead, they
#: cost that page 0.3-0.7 s (``scipy.stats`` alone 0.65 s at load 4), on every page's first
#: visit in a fresh process (issue 16: Signals at 1 M tickets).
PAGE_MODULES = (
    "pandas",
    "numpy",
    "altair",
    "scipy.optimize",
    "scipy.stats",
    "analytics",
    "analytics.alerts",
    "analytics.competition",
    "analytics.defaults",
    "analytics.evaluate",
    "analytics.explore",
    "analytics.goalseek",
    "analytics.montecarlo",
    "analytics.risk",
    "analytics.scenario",
    "analytics.sensitivity",
    "analytics.war",
    "dashboard.charts",
    "dashboard.queries",
    "dashboard.ui",
    "data.export",
    "data.ingest",
)

_lock = threading.Lock()
_prepared = False


def warm_up() -> list[str]:
    """Do once what the first page of a process would otherwise pay for besides its data:
    the competitor matcher's fingerprint (``data.rollups.matcher_fingerprint``: a parse of
    ``data/competitor_names.py`` and ``data/reference.py`` and a hash of the reference files,
    35 ms, asked by every check of the mention roll-ups) and a first chart spec (altair
    compiles its patterns and loads its Arrow helpers on the first ``to_dict``: 40 ms, then
    1.5 ms). Both depend only on the installed code, never on the store. The names of the
    steps that failed (logged)."""
    import altair as alt
    import pandas as pd

    from dashboard.charts.spec import vega_lite_spec
    from data.rollups import matcher_fingerprint

    steps = {
        "matcher fingerprint": matcher_fingerprint,
        "first chart spec": lambda: vega_lite_spec(
            alt.Chart(pd.DataFrame({"x": [0.0]})).mark_point().encode(x=alt.X("x:Q"))
        ),
    }
    failed = []
    for name, step in steps.items():
        try:
            step()
        except Exception:
            log.warning("start-up warm-up %s failed", name, exc_info=True)
            failed.append(name)
    return failed


def prepare_process() -> bool:
    """Import :data:`PAGE_MODULES`, :func:`warm_up`, collect once, then freeze the
    collector's objects;
    True the first time in this process, False after (nothing done: cheap on every run).

    A module that cannot be imported is logged and skipped (its page says what is wrong).
    """
    global _prepared
    if _prepared:
        return False
    with _lock:
        if _prepared:
            return False
        for name in PAGE_MODULES:
            try:
                importlib.import_module(name)
            except Exception:
                log.warning("start-up import of %s failed", name, exc_info=True)
        warm_up()
        gc.collect()
        gc.freeze()
        _prepared = True
        log.info("garbage collector: %s start-up objects frozen", f"{gc.get_freeze_count():,}")
        return True
