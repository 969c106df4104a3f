"""Whether a page is being computed right now, so background work can give way to it.

The background tagging job writes a batch of entities every few seconds (its roll-ups are
maintained in the same transaction, ``data.rollup_upkeep``). On a small machine such a write holds
the store's one writer (an upload or a saved scenario waits behind it) and competes with the
page scripts for the cores and the GIL. :func:`wait_for_quiet_pages` lets the job wait,
a bounded time, until no page script runs: the job slows, the pages do not.

A page script runs in a thread Streamlit names ``ScriptRunner.scriptThread`` (one per
session while a run or a fragment rerun is in progress; it ends when the session has nothing
left to run); :func:`running_pages` counts those threads of this process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: The name Streamlit gives the thread that runs a session's script (and its fragments).
SCRIPT_THREAD_NAME = "ScriptRunner.scriptThread"
#: The longest background work waits for the pages before it goes ahead anyway (seconds):
#: under a steady stream of page runs the job still moves.
MAX_YIELD_SECONDS = 10.0
#: How often the wait looks again (seconds).
POLL_SECONDS = 0.05


def running_pages() -> int:
    """How many page scripts (full runs or fragment reruns) this process runs right now."""
    return sum(1 for t in threading.enumerate() if t.name == SCRIPT_THREAD_NAME and t.is_alive())


def wait_for_quiet_pages(
    most: float = MAX_YIELD_SECONDS,
    *,
    stop: threading.Event | None = None,
    busy: Callable[[], int] = running_pages,
) -> float:
    """Wait until no page script runs, at most ``most`` seconds (sooner once ``stop`` is
    set); return the seconds waited. Called from a background thread, never from a page.

    Example:
        >>> wait_for_quiet_pages(1.0, busy=lambda: 0)
        0.0
    """
    if busy() == 0:
        return 0.0
    started = time.monotonic()
    deadline = started + max(0.0, most)
    while busy() > 0:
        left = deadline - time.monotonic()
        if left <= 0 or (stop is not None and stop.is_set()):
            break
        if stop is not None:
            stop.wait(min(POLL_SECONDS, left))
        else:
            time.sleep(min(POLL_SECONDS, left))
    return time.monotonic() - started
