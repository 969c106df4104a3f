"""The browser tests' Streamlit server: :mod:`bench.streamlit_server`, where it lives (the
benchmarks start the same server); imported from here by the test suites."""

from __future__ import annotations

from bench.streamlit_server import ROOT, Server, free_port, run_streamlit, wait_healthy

__all__ = ["ROOT", "Server", "free_port", "run_streamlit", "wait_healthy"]
