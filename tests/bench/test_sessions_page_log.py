"""``bench.sessions`` reads each page run's script time back from the server's slow-page
log (``dashboard.pagelog``): the lines the app really writes, slow ones included."""

from __future__ import annotations

import logging

import pytest

from bench.sessions import page_script_times
from dashboard.pagelog import log_page_run


def test_page_script_times_reads_the_lines_the_app_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dashboard.pages"):
        log_page_run("Overview", 0.4121, "admin", threshold=1.0)
        log_page_run("Price war & positioning", 2.5, "viewer", threshold=1.0)  # slow: WARNING
        log_page_run("Overview", 0.05, "admin", threshold=1.0)
    runs = page_script_times(caplog.text)
    assert runs == {"Overview": [0.412, 0.05], "Price war & positioning": [2.5]}
