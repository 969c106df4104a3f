"""Debian's chromium driven by playwright's sync API, shared by the browser test suites:
the browser (one per session: the ``browser`` fixture of tests/conftest.py), a fresh page,
and waiting for Streamlit to finish a run.

Playwright cannot download browsers here, so the tests launch ``/usr/bin/chromium`` with
the flags this closed network needs (no background networking, no sandbox as root).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """A headless chromium browser, closed (with its playwright instance) on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def new_page(browser: Any) -> Iterator[Any]:
    """A page in a new browser context (no cookies, 1400×1000, downloads accepted) that
    records every JavaScript dialog in ``page.dialogs``; the context is closed afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()


SCRIPT_STATE_JS = (
    "() => document.querySelector('[data-testid=\"stApp\"]')"
    "?.getAttribute('data-test-script-state') === 'notRunning'"
)
SETTLED_JS = (
    "() => document.querySelector('[data-testid=\"stApp\"]')"
    "?.getAttribute('data-test-script-state') === 'notRunning'"
    " && !document.querySelector('[data-testid=\"stSkeleton\"]')"
)


def settle(page: Any, timeout: float = 90) -> None:
    """Wait until Streamlit has finished running the page's script, and stays finished for
    half a second (a first run may trigger a second one, e.g. for URL-bound widgets; on a
    busy machine a run that has not started yet is not taken for a finished one)."""
    deadline = time.monotonic() + timeout
    time.sleep(0.3)
    while True:
        left = max(1.0, deadline - time.monotonic())
        page.wait_for_function(SETTLED_JS, timeout=left * 1000, polling=250)
        time.sleep(0.5)
        if page.evaluate(SETTLED_JS) or time.monotonic() > deadline:
            return
