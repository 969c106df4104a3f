"""Debian's chromium driven by playwright's sync API, shared by the browser test suites.

Playwright cannot download browsers here, so the tests launch ``/usr/bin/chromium`` with
the flags this closed network needs (no background networking, no sandbox as root).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]


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
