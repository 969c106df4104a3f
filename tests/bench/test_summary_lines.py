"""The benchmarks' summary lines (the last line each prints) on a tiny demo.

``python -m bench.dashboard`` (on a copy of the 2,000-ticket test demo) and
``python -m bench.sessions`` (on a fresh 300-ticket demo) are run as a user runs them; only the form of the last line and the error count are asserted,
never a time (speed lives in bench/RESULTS.md).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import dashboard, sessions
from tests.conftest import DEMO_TICKETS

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_LINE = re.compile(
    r"^dashboard: tickets=(\d+) first_load_max=\d+\.\d{3} rerun_max=\d+\.\d{3}$"
)
SESSIONS_LINE = re.compile(r"^sessions: n=(\d+) p95=\d+\.\d{3} median=\d+\.\d{3} errors=(\d+)$")
TICKETS = 300  # of the fresh demo bench.sessions makes


@pytest.fixture(scope="module")
def tiny_db(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's demo (the benches write to it: gold entities)."""
    return Path(shutil.copy(demo_db_path, tmp_path_factory.mktemp("bench") / "demo.duckdb"))


def run_bench(
    module: str, *args: str | os.PathLike[str], timeout: float = 150
) -> subprocess.CompletedProcess[str]:
    """``python -m <module> <args>`` in the repository root, offline, output captured."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONWARNINGS": "ignore",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PRICEWAR_DB", None)
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr[-3000:]
    return lines[-1]


def test_the_page_list_is_every_st_page_of_the_app() -> None:
    source = (ROOT / "dashboard" / "app.py").read_text(encoding="utf-8")
    pages = dashboard.app_pages()
    assert len(pages) == source.count("st.Page(")
    titles = {p.title for p in pages}
    assert {
        "Overview",
        "Signals",
        "Batch tagging",
        "Pricing what-if",
        "Scenarios",
        "Audit trail",
        "Settings",
    } <= titles
    assert [p.url_path for p in pages].count("") == 1  # the default page
    assert all((ROOT / "dashboard" / p.path).is_file() for p in pages)


def test_summary_line_forms() -> None:
    rows = [
        ("A", 1.23456, 0.1, 0.2, "page"),
        ("A: change", 9.0, 9.0, 9.0, "change"),
        ("B", 0.5, 0.3, 0.4, "page"),
    ]
    assert (
        dashboard.summary_line(12, rows)
        == "dashboard: tickets=12 first_load_max=1.235 rerun_max=0.400"
    )
    line = sessions.summary_line(3, [0.1, 0.2, 0.3, 2.0], 0)
    assert SESSIONS_LINE.match(line), line
    assert line == "sessions: n=3 p95=2.000 median=0.250 errors=0"


@pytest.mark.slow
def test_dashboard_bench_in_one_process_prints_its_summary_line(tiny_db: Path) -> None:
    result = run_bench("bench.dashboard", "--db", tiny_db, "--one-process", "--reruns", "1")
    line = last_line(result)
    match = DASHBOARD_LINE.match(line)
    assert match, result.stdout[-2000:] + result.stderr[-2000:]
    assert int(match.group(1)) == DEMO_TICKETS
    for page in dashboard.app_pages():  # every page of the navigation is in the table
        assert re.search(rf"^{re.escape(page.title)} ", result.stdout, re.M), page.title
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_dashboard_bench_in_fresh_processes_prints_its_summary_line(tiny_db: Path) -> None:
    result = run_bench("bench.dashboard", "--db", tiny_db, "--reruns", "1", "--pages", "scenarios")
    match = DASHBOARD_LINE.match(last_line(result))
    assert match, result.stdout[-2000:] + result.stderr[-2000:]
    assert "a fresh process per page" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_sessions_bench_with_light_clients_prints_its_summary_line(tmp_path: Path) -> None:
    from tests.reliability.conftest import save_tiny_model

    model = save_tiny_model(tmp_path / "tiny-model")
    result = run_bench(
        "bench.sessions",
        "--sessions",
        "2",
        "--tickets",
        TICKETS,
        "--model",
        model,
        "--timeout",
        "60",
        "--tag-wait",
        "30",
        timeout=240,
    )
    line = last_line(result)
    match = SESSIONS_LINE.match(line)
    assert match, result.stdout[-3000:] + result.stderr[-2000:]
    assert match.group(1) == "2"
    assert match.group(2) == "0", result.stdout[-3000:]
    for action in ("what-if change", "upload", "save scenario", "page settings"):
        assert re.search(rf"^{action} +2 ", result.stdout, re.M), action
