"""The slow-page log: every page run's script time, for a deployment to watch.

Each run of a page (``dashboard/app.py`` around ``navigation.run()``) logs one line on the
``dashboard.pages`` logger::

    page run: page='Overview' seconds=0.412 role=viewer

at INFO, or at WARNING (``slow page run: …``) when it took longer than
``$PRICEWAR_SLOW_PAGE_SECONDS`` (default 1.0). A run cut short (``st.stop``, a rerun, an
error shown on the page) is logged too. When the process has configured no logging, the
lines go to standard error (the server's log).

Environment:
    PRICEWAR_SLOW_PAGE_SECONDS  seconds above which a page run is logged as slow (default
                                1.0; a number from 0 to 3,600, else every page says what is
                                wrong with it)
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping

log = logging.getLogger("dashboard.pages")

SLOW_PAGE_VAR = "PRICEWAR_SLOW_PAGE_SECONDS"
DEFAULT_SLOW_PAGE_SECONDS = 1.0
#: The largest threshold accepted (an hour: beyond it nothing would ever be slow).
MAX_SLOW_PAGE_SECONDS = 3600.0


def slow_page_seconds_from_env(environ: Mapping[str, str] | None = None) -> float:
    """Seconds above which a page run is logged at WARNING: ``$PRICEWAR_SLOW_PAGE_SECONDS``
    (default 1.0).

    Read on every page run (never at import), so a bad value is shown on the page as a
    message naming the variable (like ``dashboard.job_settings.tag_batch_from_env``).

    Raises:
        data.errors.ConfigError: not a number from 0 to 3,600.

    Example:
        >>> slow_page_seconds_from_env({"PRICEWAR_SLOW_PAGE_SECONDS": "2.5"})
        2.5
    """
    from data.errors import ConfigError

    env = os.environ if environ is None else environ
    text = env.get(SLOW_PAGE_VAR, "").strip()
    if not text:
        return DEFAULT_SLOW_PAGE_SECONDS
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_SLOW_PAGE_SECONDS:  # NaN fails too
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise ConfigError(
            f"{SLOW_PAGE_VAR} must be a number of seconds from 0 to "
            f"{MAX_SLOW_PAGE_SECONDS:,.0f} (a page run longer than it is logged "
            f"as slow), not {shown!r}; fix or unset it and restart the app"
        )
    return value


def _ensure_output() -> None:
    """Send the log's lines to standard error when nothing else takes them (no handler
    on the way to the root logger), at INFO and above."""
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    if not log.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)


def log_page_run(page: str, seconds: float, role: str, threshold: float) -> None:
    """Log one page run: INFO, or WARNING when ``seconds`` exceeds ``threshold``."""
    _ensure_output()
    if seconds > threshold:
        log.warning(
            "slow page run: page=%r seconds=%.3f role=%s threshold=%.3f",
            page,
            seconds,
            role,
            threshold,
        )
    else:
        log.info("page run: page=%r seconds=%.3f role=%s", page, seconds, role)


@contextlib.contextmanager
def timed_page(
    page: str, role: str, threshold: float, started: float | None = None
) -> Iterator[None]:
    """Time the block (a page's script run) and log it (:func:`log_page_run`), also when it
    ends early (``st.stop``, a rerun, an exception); ``started``: a ``time.perf_counter()``
    reading taken earlier in the run (default: when the block starts)."""
    started = time.perf_counter() if started is None else started
    try:
        yield
    finally:
        log_page_run(page, time.perf_counter() - started, role, threshold)
