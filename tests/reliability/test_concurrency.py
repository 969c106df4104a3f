"""Many users at once against one ``streamlit run``, with the in-app tagging job running and
command-line jobs started beside it; and kill -9 of the app in the middle of its job.

Mechanisms guarded: the single writer thread of ``data.store.Store`` shared through
``st.cache_resource`` (``dashboard.state.AppState``), readers on their own cursors, the
resumable ``model.tag_store`` behind ``dashboard.tagging_job.TaggingJob``, the inbox hand-off of
``python -m data ingest`` (``data.inbox``) and the app's ``InboxPoller``.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from data.store import Store
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, SCRIPT_STATE_JS
from tests.reliability.conftest import (
    INJECTED_JS,
    copy_db,
    entity_rows,
    kill9,
    needs_chromium,
    new_page,
    open_page,
    p95,
    page_problems,
    record_figure,
    run_cli,
    streamlit_server,
    tagged_keys,
)

pytestmark = [needs_chromium, pytest.mark.e2e, pytest.mark.slow]

SESSIONS = int(os.environ.get("PRICEWAR_TEST_SESSIONS", "10"))
TICKETS = 1200


#: Streamlit runs a full ``gc.collect(2)`` after every script and fragment run
#: (``runner.postScriptGC``, on by default). With ten sessions rerunning their sidebar
#: fragment every 2 s while the job runs, the collections hold the GIL so long that the
#: server stops answering (health check > 20 s, every session timed out after 300 s): see
#: tests/reliability/GAPS.md. The test runs with it off (the fix proposed there) unless
#: PRICEWAR_TEST_POSTSCRIPTGC=1 asks for the default, to reproduce the gap.
GC_OPTIONS = (
    []
    if os.environ.get("PRICEWAR_TEST_POSTSCRIPTGC") == "1"
    else ["--runner.postScriptGC", "false"]
)


@pytest.fixture(scope="module")
def busy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo database large enough that the in-app job runs while the sessions browse."""
    from data.demo import generate_demo

    path = tmp_path_factory.mktemp("busy") / "busy.duckdb"
    with Store.open(path) as store:
        generate_demo(store, tickets=TICKETS, seed=9)
    return path


def _upload_csv(folder: Path, name: str, prefix: str, n: int = 3) -> Path:
    path = folder / name
    path.write_text(
        "id,text\n"
        + "".join(
            f"{prefix}-{i},{prefix} ticket {i}: Jane Doe at Acme moved from Azure to Paris\n"
            for i in range(n)
        ),
        encoding="utf-8",
    )
    return path


def _reference(start_db: Path, uploads: list[Path], model_dir: Path, target: Path) -> Path:
    """The same work done one step after the other, in-process: ingest, then tag."""
    from data.ingest import ingest_files
    from model import Tagger, tag_store

    ref = copy_db(start_db, target)
    with Store.open(ref) as store:
        reports = ingest_files(store, uploads)
        assert all(r.accepted for r in reports)
        tag_store(store, Tagger.load(model_dir, device="cpu"), batch_size=8)
    return ref


def _content(path: Path, model_id: str) -> tuple[set, list, set]:
    with Store.open(path, read_only=True) as store:
        keys = {r[0] for r in store.fetchall("SELECT ticket_key FROM tickets")}
    rows = entity_rows(path, model_id)
    return keys, rows, {k for k, m in tagged_keys(path) if m == model_id}


def assert_same_entities(got: list[tuple], expected: list[tuple]) -> None:
    """Same spans, labels and texts; scores equal up to batch-padding noise (1e-3)."""
    assert [r[:6] for r in got] == [r[:6] for r in expected]
    worst = max((abs(a[6] - b[6]) for a, b in zip(got, expected, strict=True)), default=0.0)
    assert worst <= 1e-3, worst


# -- the sessions (async playwright, one browser, one context per user) -------------------


@dataclass
class SessionLog:
    """What one simulated user did and saw."""

    index: int
    times: list[tuple[str, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    uploaded: int = 0
    saved: str = ""
    #: what the page showed when a press of Save saved nothing (pressed once more)
    clicked_again: list[str] = field(default_factory=list)


async def _settle(page: Any, timeout: float = 300) -> None:
    """Wait until the script has finished (a sidebar fragment may rerun every 2 s while the
    job runs, so a finished state is not required to last, and charts may still be drawing
    their placeholders)."""
    await asyncio.sleep(0.3)
    # Polled by interval: with ten pages at once, animation-frame polling is throttled.
    await page.wait_for_function(SCRIPT_STATE_JS, timeout=timeout * 1000, polling=250)
    await asyncio.sleep(0.2)


async def _problems(page: Any, where: str, errors_allowed: bool = False) -> list[str]:
    found = []
    if await page.locator('[data-testid="stException"]').count():
        found.append(f"{where}: exception")
    if not errors_allowed and await page.locator('[data-testid="stAlertContentError"]').count():
        texts = await page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
        found.append(f"{where}: error box {texts}")
    found += [f"{where}: injected {x}" for x in await page.evaluate(INJECTED_JS)]
    if page.dialogs:
        found.append(f"{where}: dialogs {page.dialogs}")
    return found


async def _timed_open(page: Any, url: str, log: SessionLog, name: str) -> None:
    started = time.monotonic()
    await page.goto(url)
    await page.wait_for_selector("h1", timeout=300_000)
    await _settle(page)
    log.times.append((name, time.monotonic() - started))
    log.problems += await _problems(page, name)


async def _upload(page: Any, path: Path) -> None:
    """Choose the file and press "Check and import". The button sits in a form, which keeps it
    disabled while the file is still uploading, and Playwright's click waits until it is
    enabled (GAPS.md item 5); waiting first for the uploader to list the file makes sure the
    upload has begun before the click."""
    await page.locator('input[type="file"]').set_input_files(str(path))
    await page.locator('[data-testid="stFileUploader"]', has_text=path.name).wait_for()
    await page.get_by_role("button", name=re.compile("Check and import")).click()
    outcome = page.locator("text=Import done").or_(page.locator("text=Choose one or more"))
    await outcome.first.wait_for(timeout=300_000)
    if await page.locator("text=Choose one or more").count():
        raise AssertionError("the click reached the script without the chosen file")


async def _save_scenario(page: Any, name: str, log: SessionLog) -> None:
    """Type the scenario's name and press Save straight away, as a user would: the click
    carries what the box holds (Save no longer waits for the name's own rerun, GAPS 21).

    Should a click be lost under load (no "Saved as" within 120 s), what the page showed is
    kept in ``log.clicked_again`` and Save is pressed once more, as a user would; a second
    loss fails the session."""
    await page.get_by_label("Name").fill(name)
    save = page.get_by_role("button", name=re.compile("^Save"))
    for attempt in (1, 2):
        await save.click()
        try:
            await page.wait_for_selector("text=Saved as", timeout=120_000)
            return
        except Exception:  # playwright's TimeoutError: recorded, then pressed again
            state = await page.evaluate(
                "() => document.querySelector('[data-testid=\"stApp\"]')"
                "?.getAttribute('data-test-script-state')"
            )
            box = await page.get_by_label("Name").input_value()
            log.clicked_again.append(
                f"attempt {attempt}: no 'Saved as' 120 s after Save; the box shows {box!r}, "
                f"script state {state!r}"
            )
    raise AssertionError(f"Save never saved the typed name: {log.clicked_again}")


async def _session(browser: Any, base: str, index: int, upload: Path) -> SessionLog:
    log = SessionLog(index)
    step = "start"
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: page.dialogs.append(d.message))
    page.set_default_timeout(300_000)  # a shared 2-core machine: slow, but must not fail
    try:
        step = "overview"
        await _timed_open(page, f"{base}/", log, "overview")
        step = "what-if"
        await _timed_open(page, f"{base}/pricing", log, "pricing")
        box = page.get_by_role("spinbutton", name="Our price, USD per 1M tokens")
        await box.fill(f"{0.41 + index * 0.013:.3f}")
        started = time.monotonic()
        await box.press("Enter")
        await _settle(page)
        log.times.append(("what-if change", time.monotonic() - started))
        log.problems += await _problems(page, "what-if change")
        step = "upload"
        await _timed_open(page, f"{base}/batch-tagging", log, "batch-tagging")
        started = time.monotonic()
        await _upload(page, upload)
        await _settle(page)
        log.times.append(("upload", time.monotonic() - started))
        log.problems += await _problems(page, "upload")
        log.uploaded = 3
        step = "save scenario"
        await _timed_open(page, f"{base}/scenarios", log, "scenarios")
        name = f"session {index}: price {0.41 + index * 0.013:.3f}"
        await _save_scenario(page, name, log)
        log.problems += await _problems(page, "save scenario")
        log.saved = name
    except Exception as exc:  # recorded, then asserted on: a session must not break
        log.problems.append(f"session {index} failed at {step}: {type(exc).__name__}: {exc}"[:600])
    finally:
        await context.close()
    return log


def _run_sessions(base: str, uploads: list[Path]) -> list[SessionLog]:
    """Run the sessions at once in a thread of their own (async playwright)."""
    results: list[SessionLog] = []
    failure: list[BaseException] = []

    async def main() -> None:
        from playwright.async_api import async_playwright

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                results.extend(
                    await asyncio.gather(
                        *(_session(browser, base, i, uploads[i]) for i in range(len(uploads)))
                    )
                )
            finally:
                await browser.close()

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name="browser-sessions")
    thread.start()
    thread.join(900)
    assert not thread.is_alive(), "the sessions did not finish within 15 minutes"
    if failure:
        raise failure[0]
    return results


def _wait_tagging_done(browser: Any, base: str, timeout: float = 240) -> str:
    """Open Batch tagging until every ticket is tagged (starting the job if it is idle)."""
    deadline = time.monotonic() + timeout
    with new_page(browser) as page:
        open_page(page, f"{base}/batch-tagging")
        while time.monotonic() < deadline:
            tagged = page.locator('[data-testid="stMetric"]', has_text="Tickets tagged")
            value = tagged.locator('[data-testid="stMetricValue"]').inner_text()
            done, total = (int(x.replace(",", "")) for x in value.split("/"))
            job = (
                page.locator('[data-testid="stMetric"]', has_text="Job")
                .locator('[data-testid="stMetricValue"]')
                .inner_text()
            )
            if done == total and job != "running":
                return value
            if job not in {"running", "loading"}:
                page.get_by_role("button", name=re.compile("Start tagging")).click()
            time.sleep(2)
            open_page(page, f"{base}/batch-tagging")
        raise AssertionError(f"tagging did not finish within {timeout} s ({value}, {job})")


def test_ten_sessions_and_command_line_jobs_beside_the_running_app(
    busy_db: Path, tiny_model_dir: Path, tiny_model_id: str, browser: Any, tmp_path: Path
) -> None:
    db = copy_db(busy_db, tmp_path / "app" / "app.duckdb")
    uploads = [_upload_csv(tmp_path, f"session-{i}.csv", f"S{i}") for i in range(SESSIONS)]
    cli_file = _upload_csv(tmp_path, "from-the-cli.csv", "CLI", n=5)
    with streamlit_server(
        db,
        model_dir=tiny_model_dir,
        autotag=True,
        env={"PRICEWAR_TAG_BATCH": "1"},
        options=GC_OPTIONS,
    ) as server:
        with new_page(browser) as page:  # the first visit opens the store and starts tagging
            open_page(page, server.url)
            assert page_problems(page) == []
        started = time.monotonic()
        logs = _run_sessions(server.url, uploads)
        wall = time.monotonic() - started
        problems = [p for log in logs for p in log.problems]
        assert problems == [], problems
        times = [t for log in logs for _, t in log.times]
        record_figure("sessions", SESSIONS)
        record_figure(
            "scenario_saves_pressed_again", [c for log in logs for c in log.clicked_again]
        )
        record_figure("session_page_times_p95_s", round(p95(times), 2))
        record_figure("session_page_times_median_s", round(sorted(times)[len(times) // 2], 2))
        record_figure("session_page_times_max_s", round(max(times), 2))
        record_figure("session_actions_total", len(times))
        record_figure("sessions_wall_s", round(wall, 1))
        # A command-line ingest beside the running app: handed over through the inbox.
        result = run_cli("data", "ingest", "--db", db, cli_file)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "handed to the running dashboard" in result.stdout, result.stdout
        assert "Traceback" not in result.stderr
        record_figure("cli_ingest_beside_app", result.stdout.strip().splitlines()[-1][:200])
        final = _wait_tagging_done(browser, server.url)
        record_figure("tagged_at_the_end", final)
    # The server is stopped (its store closed): compare with the same work done in sequence.
    reference = _reference(
        busy_db, [*uploads, cli_file], tiny_model_dir, tmp_path / "ref" / "ref.duckdb"
    )
    got_keys, got_rows, got_tagged = _content(db, tiny_model_id)
    ref_keys, ref_rows, ref_tagged = _content(reference, tiny_model_id)
    assert got_keys == ref_keys, "a ticket was lost or added"
    assert got_tagged == ref_tagged == got_keys
    assert_same_entities(got_rows, ref_rows)
    with Store.open(db, read_only=True) as store:
        names = {r[0] for r in store.fetchall("SELECT name FROM scenarios")}
    assert {log.saved for log in logs} <= names, "a saved scenario was lost"


def test_command_line_tagging_beside_the_running_app_hands_over_or_waits(
    demo_db: Path, tiny_model_dir: Path, tiny_model_id: str, browser: Any, tmp_path: Path
) -> None:
    db = copy_db(demo_db, tmp_path / "app.duckdb")
    with streamlit_server(db, model_dir=tiny_model_dir, autotag=False) as server:
        with new_page(browser) as page:
            open_page(page, server.url)
        result = run_cli(
            "model", "tag", "--db", db, "--model", tiny_model_dir, "--device", "cpu", timeout=180
        )
        assert "Traceback" not in result.stderr
        assert result.returncode == 0, result.stderr[-500:]
        _wait_tagging_done(browser, server.url)
    with Store.open(db, read_only=True) as store:
        total = store.scalar("SELECT count(*) FROM tickets")
    assert len({k for k, m in tagged_keys(db) if m == tiny_model_id}) == total


def test_kill9_of_the_app_during_its_job_then_resume_equals_a_clean_run(
    busy_db: Path, tiny_model_dir: Path, tiny_model_id: str, browser: Any, tmp_path: Path
) -> None:
    from dashboard.jobs import TaggingJob
    from model import Tagger, tag_store

    db = copy_db(busy_db, tmp_path / "app" / "app.duckdb")
    wal = db.with_name(db.name + ".wal")
    with (
        streamlit_server(
            db, model_dir=tiny_model_dir, autotag=True, env={"PRICEWAR_TAG_BATCH": "1"}
        ) as server,
        new_page(browser) as page,
    ):
        page.goto(server.url)  # the first visit opens the store and starts the job
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # a few batches are committed: kill -9
            if wal.exists() and wal.stat().st_size > 64 * 1024:
                break
            time.sleep(0.05)
        assert kill9(server.proc), "the app had already stopped"
    done = len(tagged_keys(db))
    with Store.open(db, read_only=True) as store:
        total = store.scalar("SELECT count(*) FROM tickets")
    record_figure("in_app_job_killed_after", f"{done} of {total} tickets")
    assert 0 < done < total, "the kill did not land in the middle of the job"
    # Resume with the app's own job object (in-process), then compare with a clean run.
    with Store.open(db) as store:
        job = TaggingJob(
            store, loader=lambda: Tagger.load(tiny_model_dir, device="cpu"), batch_size=8
        )
        job.start()
        status = job.wait(300)
    assert status.state == "done", status
    clean = copy_db(busy_db, tmp_path / "clean" / "clean.duckdb")
    with Store.open(clean) as store:
        tag_store(store, Tagger.load(tiny_model_dir, device="cpu"), batch_size=8)
    assert tagged_keys(db) == tagged_keys(clean)
    assert_same_entities(entity_rows(db, tiny_model_id), entity_rows(clean, tiny_model_id))
