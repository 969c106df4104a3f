"""Interpreter shutdown while the background tagging job runs (GAPS.md item 3).

The app's process ends (server stopped) while its job tags with the real default tagger:
the run must be recorded as ``interrupted``, not ``failed``, and the next start must resume
and end with exactly the rows of a clean run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from dashboard.jobs import TaggingJob
from dashboard.state import AppState, register_before_shutdown
from data.store import Store

ROOT = Path(__file__).resolve().parents[2]
TICKETS = 48

# Opens the app state (real default tagger, batch 1 so rows do not depend on batching),
# waits for the first tagged tickets, then lets the main thread end mid-run.
CHILD = textwrap.dedent("""
    import sys, threading, time
    from pathlib import Path
    from dashboard.state import AppState
    state = AppState(Path(sys.argv[1]))
    state.open()
    deadline = time.monotonic() + 240
    while state.job.status().done < 4 and time.monotonic() < deadline:
        status = state.job.status()
        if status.state in {"failed", "done"}:
            sys.exit(f"job ended before the shutdown: {status.state} {status.message}")
        time.sleep(0.02)
    # A server's own threads (not daemons) are joined at shutdown after concurrent.futures
    # refuses new work: meanwhile an unstopped job starts its next batch and fails.
    threading.Thread(target=time.sleep, args=(5,), name="server-thread").start()
    print("exiting at", state.job.status().done, flush=True)
""")


def _small_copy(demo_db_path: Path, target: Path) -> Path:
    shutil.copy(demo_db_path, target)
    with Store.open(target) as store:

        def keep_few(conn) -> None:
            keep = "SELECT ticket_key FROM tickets ORDER BY ticket_key LIMIT ?"
            conn.execute(f"DELETE FROM gold_entities WHERE ticket_key NOT IN ({keep})", [TICKETS])
            conn.execute(f"DELETE FROM tickets WHERE ticket_key NOT IN ({keep})", [TICKETS])

        store.write(keep_few)
    return target


def _rows(db: Path) -> tuple[list, list]:
    with Store.open(db, read_only=True) as store:
        entities = store.fetchall(
            'SELECT ticket_key, model_id, start, "end", label, text, score'
            " FROM entities ORDER BY ALL"
        )
        tagged = store.fetchall("SELECT ticket_key, model_id FROM tagged_tickets ORDER BY ALL")
    return entities, tagged


def _tag_all(db: Path) -> None:
    from dashboard.jobs import default_loader

    with Store.open(db) as store:
        job = TaggingJob(store, loader=default_loader, batch_size=1)
        try:
            job.start()
            status = job.wait(600)
            assert status.state == "done", status.message
        finally:
            job.close()  # ends its tagging process


@pytest.mark.slow
def test_shutdown_mid_run_is_interrupted_and_resumes_to_a_clean_result(
    demo_db_path: Path, tmp_path: Path
) -> None:
    victim = _small_copy(demo_db_path, tmp_path / "victim.duckdb")
    clean = shutil.copy(victim, tmp_path / "clean.duckdb")
    env = {
        **os.environ,
        "PRICEWAR_TAG_BATCH": "1",
        "PRICEWAR_INBOX_SECONDS": "0",
        "PRICEWAR_AUTOTAG": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PRICEWAR_MODEL_DIR", None)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(victim)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    assert "cannot schedule new futures" not in child.stderr, child.stderr[-3000:]
    with Store.open(victim, read_only=True) as store:
        runs = store.fetchall("SELECT status, message FROM tagging_runs")
        left = store.scalar(
            "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM"
            " tagged_tickets g WHERE g.ticket_key = t.ticket_key)"
        )
    assert runs and all(status != "failed" for status, _ in runs), runs
    assert [status for status, _ in runs] == ["interrupted"], runs
    assert 0 < left < TICKETS, "the shutdown did not land mid-run; the test proved little"

    _tag_all(victim)  # the next start resumes
    _tag_all(Path(clean))
    victim_entities, victim_tagged = _rows(victim)
    clean_entities, clean_tagged = _rows(Path(clean))
    assert victim_tagged == clean_tagged and len(victim_tagged) == TICKETS
    assert victim_entities == clean_entities


def test_shutdown_hook_stops_the_job_before_the_thread_pools_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook is registered with ``threading`` (before concurrent.futures' own hook runs)
    and stops the inbox and the job, waiting for the current batch."""
    hooks: list = []
    monkeypatch.setattr(threading, "_register_atexit", hooks.append)
    called: list[str] = []
    register_before_shutdown(lambda: called.append("hook"))
    assert len(hooks) == 1
    hooks[0]()
    assert called == ["hook"]

    state = AppState(tmp_path / "none.duckdb")

    class Recorder:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def stop(self) -> None:
            self.calls.append("stop")

        def wait(self, timeout: float | None = None) -> None:
            self.calls.append(f"wait {timeout}")

    state.job, state.inbox = Recorder(), Recorder()  # type: ignore[assignment]
    state.stop_jobs(5)
    assert state.inbox.calls == ["stop"]  # type: ignore[union-attr]
    assert state.job.calls == ["stop", "wait 5"]  # type: ignore[union-attr]
