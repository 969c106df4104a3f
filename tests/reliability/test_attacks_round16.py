"""Round 16 of the hostile-user attacks (#12): what broke, as regression tests, and guards.

Round 15's new upload guard itself is attacked over a real ``streamlit run`` with sign-in
configured (the users are round 15's :class:`SignedSession`: Streamlit's own protobuf
messages over its websocket with the identity cookie Streamlit signs): an analyst's session
that PUTs file after file, a visitor who PUTs before any page ran, and forged multiselect and
date values on the sidebar filters every page draws.
"""

from __future__ import annotations

import asyncio
import csv as csv_module
import io
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState

from bench.light_client import LightSession
from tests.reliability.conftest import copy_db, record_figure
from tests.reliability.signed import (
    ANALYST,
    VIEWER,
    SignedServer,
    run,
    session,
    signed,
)
from tests.reliability.test_attacks_round15 import _scalar

MIB = 1 << 20
#: The held-upload limits the round's server runs with (small, so the test sends little).
SESSION_HELD = 8 * MIB
TOTAL_HELD = 12 * MIB
#: Saved scenarios in the round's store.
SAVED = 30
#: How long Streamlit's metrics endpoint keeps its memory figures.
METRICS_TTL_SECONDS = 5.0


def _save_scenarios(db: Path) -> None:
    """:data:`SAVED` saved scenarios, more than a comparison shows at once."""
    from analytics.saved_scenarios import save_scenario
    from analytics.scenario import Scenario
    from data.store import Store

    with Store.open(db) as store:
        for i in range(SAVED):
            save_scenario(store, Scenario(name=f"s{i:02d}", price_per_m=1.0 + i / 10))


@pytest.fixture(scope="module")
def signed_server(
    tmp_path_factory: pytest.TempPathFactory, demo_db: Path
) -> Iterator[SignedServer]:
    """The round's server: held uploads limited to :data:`SESSION_HELD` a session and
    :data:`TOTAL_HELD` in all."""
    with signed(
        tmp_path_factory.mktemp("round16"),
        demo_db,
        _save_scenarios,
        PRICEWAR_MAX_HELD_UPLOAD_BYTES=str(SESSION_HELD),
        PRICEWAR_MAX_HELD_UPLOADS_TOTAL_BYTES=str(TOTAL_HELD),
    ) as server:
        yield server


#: A file small enough for the server to have read it whole (uvicorn reads ahead 64 KiB)
#: when it refuses it: larger refused bodies made the refusal a connection reset now and
#: then (CI: "Connection reset by peer" while a 2 MiB body was still being sent).
SMALL = 32 * 1024


async def put_files(s: LightSession, count: int, size: int) -> list[tuple[str, str]]:
    """Ask for upload addresses and ``PUT`` ``count`` files of ``size`` bytes, as the
    uploader's frontend does (no page run needed: the server fills in the session); each
    file's delete address and the refusal in words ("" when it was taken)."""
    outcomes = []
    content = b"x" * size
    for i in range(count):
        (urls,) = await s.upload_urls([f"f{i}.csv"])
        try:
            await s.put_file(urls, f"f{i}.csv", content)
            outcomes.append((urls.delete_url, ""))
        except RuntimeError as exc:
            outcomes.append((urls.delete_url, str(exc)))
    return outcomes


def delete(s: LightSession, url: str) -> None:
    """What the uploader's frontend sends when a file is removed from it."""
    headers = {"Origin": s.base_url}
    if s._xsrf:
        headers["X-Xsrftoken"] = s._xsrf
        headers["Cookie"] = s._cookie
    s._http("DELETE", url, None, headers)


def held_upload_bytes(server: SignedServer) -> int:
    """The bytes of uploads the server holds, as Streamlit's own metrics report them (after
    their 5-second cache has expired: ``_METRICS_EXPENSIVE_STATS_TTL_SECONDS``)."""
    time.sleep(METRICS_TTL_SECONDS + 0.5)
    with urllib.request.urlopen(server.url + "/_stcore/metrics", timeout=60) as resp:
        text = resp.read().decode()
    return sum(
        int(float(m))
        for m in re.findall(r"cache_memory_bytes\{[^}]*UploadedFileManager[^}]*\} (\S+)", text)
    )


# -- breaks -----------------------------------------------------------------------------


def test_an_analysts_session_cannot_hold_uploads_without_bound(
    signed_server: SignedServer,
) -> None:
    """Expected: a session holds at most ``PRICEWAR_MAX_HELD_UPLOAD_BYTES`` of uploads and
    the server at most ``PRICEWAR_MAX_HELD_UPLOADS_TOTAL_BYTES``; a file past either is
    answered 413 naming the limit; files removed from the uploader free their room, and an
    ordinary import still works.

    Broke: Streamlit keeps every file PUT for a session until the browser deletes it or the
    session ends (a file its uploader no longer shows is never dropped), so an analyst's
    session (a role round 15's guard lets through) held file after file: 6 × 2 MiB here
    all taken; at 200 MB a file, five sessions' worth of PUTs ran the server out of memory."""

    async def attack() -> dict[str, Any]:
        async with session(signed_server, ANALYST) as first:
            # the files past a limit are small (SMALL): a refused body the server has not
            # read makes its close a reset, and a client still sending never reads the 413
            mine = await put_files(first, 4, 2 * MIB) + await put_files(first, 2, SMALL)
            async with session(signed_server, ANALYST) as second:
                theirs = await put_files(second, 2, 2 * MIB) + await put_files(second, 1, SMALL)
                held = held_upload_bytes(signed_server)
                for owner, outcomes in ((first, mine), (second, theirs)):
                    for url, refusal in outcomes:
                        if not refusal:
                            await asyncio.to_thread(delete, owner, url)
                freed = held_upload_bytes(signed_server)
            async with session(signed_server, ANALYST) as third:
                empty = await put_files(third, SESSION_HELD // (64 << 10) + 2, 0)
            async with session(signed_server, ANALYST) as second:
                await second.goto(second.page("batch-tagging"))
                imported = await second.upload_and_submit(
                    "bt_files",
                    "bt_import",
                    "round16.csv",
                    b"text\nOpenAI cut its prices\nDeepSeek is cheaper\n",
                )
        return {
            "mine": mine,
            "theirs": theirs,
            "held": held,
            "freed": freed,
            "empty": [refusal for _, refusal in empty],
            "imported": imported,
        }

    seen = run(attack())
    mine = [refusal for _, refusal in seen["mine"]]
    theirs = [refusal for _, refusal in seen["theirs"]]
    assert mine[:4] == [""] * 4, mine  # 8 MiB: the session's limit exactly
    assert all("413" in r and "PRICEWAR_MAX_HELD_UPLOAD_BYTES" in r for r in mine[4:]), mine
    assert theirs[:2] == ["", ""], theirs  # 12 MiB: the server's limit exactly
    assert "413" in theirs[2] and "PRICEWAR_MAX_HELD_UPLOADS_TOTAL_BYTES" in theirs[2], theirs
    record_figure("round16_held_upload_mib_at_the_limits", seen["held"] / MIB)
    assert seen["held"] <= TOTAL_HELD, seen["held"]
    assert seen["freed"] == 0, seen["freed"]
    empty = seen["empty"]  # each held file counts for at least 64 KiB: 128 in 8 MiB
    assert empty[:128] == [""] * 128 and all("413" in r for r in empty[128:]), empty[126:]
    assert not seen["imported"].problems, seen["imported"].problems
    assert _scalar(signed_server, "SELECT count(*) FROM tickets WHERE source = 'round16.csv'") == 2


def test_uploads_put_before_any_page_ran_are_dropped_when_the_guard_starts(
    tmp_path: Path, demo_db: Path
) -> None:
    """Expected: files a visitor PUT to a freshly started server before any page ran (so
    before round 15's guard was installed) are dropped when the first page run installs it.

    Broke: ``streamlit run`` runs no project code before a page run, and a session gets
    upload addresses without one (the server fills in the session id): a visitor who never
    signed in and never asked for a page held 2 × 5 MiB for as long as its websocket stayed
    open, also after the guard was installed by another user's page."""

    async def attack(server: SignedServer) -> tuple[list[str], int, int, list[str]]:
        visitor = LightSession(server.url, timeout=180)  # not signed in, no page run
        await visitor.connect()
        try:
            early = [r for _, r in await put_files(visitor, 2, 5 * MIB)]
            before = held_upload_bytes(server)
            async with session(server, VIEWER):  # the first page run: the guard installed
                pass
            after = held_upload_bytes(server)
            late = [r for _, r in await put_files(visitor, 1, SMALL)]
        finally:
            await visitor.close()
        return early, before, after, late

    with signed(tmp_path, demo_db, _save_scenarios) as server:
        early, before, after, late = run(attack(server))
    assert early == ["", ""], early  # Streamlit's endpoint, before any project code ran
    assert before >= 10 * MIB, before
    assert after == 0, f"still held after the guard started: {after:,} bytes"
    assert len(late) == 1 and "403" in late[0], late


# -- guards (held) ----------------------------------------------------------------------


def test_guard_forged_sidebar_filters_are_bounded_by_their_options(
    signed_server: SignedServer,
) -> None:
    """Guard (held): the sidebar's Segment multiselect sent 100,000 copies of a real segment
    and 100,000 made-up names, and the period sent backwards (From after To) and far out of
    the data's range, on Overview: Streamlit drops the values outside the options and
    resets out-of-range dates to the defaults; the page runs with no error."""

    async def attack() -> list[tuple[str, list[str]]]:
        seen = []
        async with session(signed_server, VIEWER) as s:
            segment = s.widget("segment")
            real = list(segment.proto.options)
            assert real, "the demo store has segments"
            pick = real[0]
            forged = {
                "duplicates": [pick] * 100_000,
                "made up": [f"seg{i}" for i in range(100_000)],
            }
            for name, values in forged.items():
                state = WidgetState(id=segment.id)
                state.string_array_value.data.extend(values)
                s.values[segment.id] = state
                action = await s.run(f"segment {name}")
                seen.append((name, action.problems + [t for t in s.texts if "rror" in t]))
            for name, (start, end) in {
                "backwards": ("2099-01-01", "1900-01-01"),
                "far out": ("0001-01-01", "9999-12-31"),
            }.items():
                for key, day in (("from", start), ("to", end)):
                    w = s.widget(key)
                    state = WidgetState(id=w.id)
                    state.string_array_value.data.append(day)
                    s.values[w.id] = state
                action = await s.run(f"period {name}")
                seen.append((name, action.problems + [t for t in s.texts if "rror" in t]))
        return seen

    for name, problems in run(attack()):
        assert not problems, (name, problems)


def test_a_forged_comparison_repeating_a_scenario_is_compared_once_and_bounded(
    signed_server: SignedServer,
) -> None:
    """Expected: the Scenarios comparison solves each chosen scenario once, and at most
    ``MAX_COMPARED_SCENARIOS`` of them, with a note naming the limit.

    Broke: a viewer's forged value of the "Scenarios to compare" multiselect repeating
    "(current inputs)" 2,000 times (an 80 KB message; Streamlit keeps repeated options)
    was solved 2,000 times in one page run: **48 s** of a core for one message (the
    Δ columns grow with it: 20,000 would hold a core for many minutes, the run not
    interruptible); every user can open the page."""
    from dashboard.scenario_state import MAX_COMPARED_SCENARIOS

    async def attack() -> tuple[Any, list[str], str]:
        async with session(signed_server, VIEWER) as s:
            await s.goto(s.page("scenarios"))
            w = s.widget("sc_compare")
            options = list(w.proto.options)
            state = WidgetState(id=w.id)
            state.string_array_value.data.extend([options[0]] * 500 + options)
            s.values[w.id] = state
            action = await s.run("compare, forged")
            url = s.widget("sc_csv").proto.url
            csv = await asyncio.to_thread(_get, signed_server.url + url)
            return action, list(s.texts), csv

    action, texts, csv = run(attack())
    assert not action.problems, action.problems
    header = next(csv_module.reader(io.StringIO(csv)))
    compared = [c for c in header if c not in {"item", "kind"} and not c.startswith("Δ ")]
    assert len(compared) == MAX_COMPARED_SCENARIOS, header[:40]
    assert len(set(compared)) == len(compared), compared
    note = f"The first {MAX_COMPARED_SCENARIOS} of the {SAVED + 1} scenarios chosen"
    assert any(note in t for t in texts), texts


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=120) as resp:
        return resp.read().decode("utf-8-sig")


def test_a_forged_files_choice_repeating_one_name_is_queried_once(
    signed_server: SignedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: Batch tagging's "Files" choice reaches the store with each file once.

    Broke: a viewer's forged value of that multiselect repeating the one uploaded file's
    name 400,000 times (a 5 MB message; Streamlit keeps repeated options) was passed whole
    to each query, which tests every ticket against the list (``list_contains``): one page
    run took **22.4 s** of a core (0.08 s with the name once); a message at Streamlit's
    200 MB limit, about 15 minutes. Checked here on the store's own calls (the real
    queries run; the parameters are recorded), and the page run over the websocket."""
    from data import export
    from data.store import Store

    async def page_run() -> Any:
        async with session(signed_server, ANALYST) as analyst:  # one uploaded file
            await analyst.goto(analyst.page("batch-tagging"))
            imported = await analyst.upload_and_submit(
                "bt_files", "bt_import", "round16-files.csv", b"text\nKimi is cheaper\n"
            )
            assert not imported.problems, imported.problems
        async with session(signed_server, VIEWER) as s:
            await s.goto(s.page("batch-tagging"))
            w = s.widget("bt_show")
            state = WidgetState(id=w.id)
            state.string_array_value.data.extend([w.proto.options[0]] * 400_000)
            s.values[w.id] = state
            return await s.run("files, forged")

    action = run(page_run())
    assert not action.problems, action.problems
    record_figure("round16_forged_files_choice_page_seconds", round(action.seconds, 2))

    db = copy_db(signed_server.db, tmp_path / "peek" / "db.duckdb")
    lists: list[int] = []
    with Store.open(db) as store:
        source = store.scalar("SELECT min(source) FROM tickets")
        for name in ("query", "scalar"):
            real = getattr(store, name)

            def recorded(sql: str, params: Any = None, *a: Any, _real: Any = real, **k: Any) -> Any:
                lists.extend(len(v) for v in params or () if isinstance(v, list))
                return _real(sql, params, *a, **k)

            monkeypatch.setattr(store, name, recorded)
        chosen = [source] * 400_000
        pages = list(export.source_ticket_pages(store, chosen))
        export.tagged_ticket_count(store, "any-model", chosen)
        export.text_bytes(store, chosen)
    assert pages and lists, (pages, lists)
    assert max(lists) == 1, lists


def test_guard_the_open_endpoints_show_no_data_or_session(signed_server: SignedServer) -> None:
    """Guard (held): what a visitor who never signed in reads from Streamlit's endpoints
    that need no session (``/_stcore/metrics``, ``/_stcore/host-config``,
    ``/_stcore/health``) while signed-in users work: no e-mail address, file name, ticket
    text or session id (an upload address needs the session id; the metrics' costly
    figures are cached 5 s by Streamlit, one computation per window)."""

    async def activity() -> list[str]:
        async with session(signed_server, ANALYST) as s:
            await s.goto(s.page("batch-tagging"))
            await s.goto(s.page("entities"))
            return [s.session_id]

    session_ids = run(activity())
    answers = {}
    for path in ("/_stcore/metrics", "/_stcore/host-config", "/_stcore/health"):
        with urllib.request.urlopen(signed_server.url + path, timeout=60) as resp:
            answers[path] = resp.read().decode("utf-8", "replace")
    for path, text in answers.items():
        assert "@example" not in text and ".csv" not in text, (path, text[:500])
        assert not any(sid and sid in text for sid in session_ids), path


def test_a_whole_number_input_sent_nan_fails_in_no_session(
    signed_server: SignedServer,
) -> None:
    """Pricing's Monte Carlo draws (a whole-number input) sent NaN or an infinity: another
    user's Pricing page, opened meanwhile, runs without a problem, and so, since round 20
    (``widget_bounds.bounded_number``: the value counts as not sent), do the sender's own
    runs. Until then it failed inside Streamlit (``int(nan)`` in ``NumberInputSerde``,
    before any page code) at every run of the sender's session (round 16 kept that as a
    guard)."""

    async def attack() -> tuple[list[str], list[str], list[str]]:
        async with session(signed_server, VIEWER) as sender:
            await sender.goto(sender.page("pricing"))
            w = sender.widget(r"wi_mc_draws_\d+")
            failures = []
            for value in (float("nan"), float("inf")):
                sender.values[w.id] = WidgetState(id=w.id, double_value=value)
                forged = await sender.run(f"draws {value}")
                failures.append(" ".join(forged.problems))
            async with session(signed_server, ANALYST) as other:
                seen = await other.goto(other.page("pricing"))
            sender.values.pop(w.id, None)
            again = await sender.goto(sender.page("pricing"))
            return failures, seen.problems, again.problems

    failures, other_problems, sender_again = run(attack())
    assert not other_problems, other_problems
    assert not any(failures), failures  # the sender's own runs
    assert not sender_again, sender_again
