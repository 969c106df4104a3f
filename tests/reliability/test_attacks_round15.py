"""Round 15 of the hostile-user attacks (#12): what broke, as regression tests, and guards.

Forged widget events go over a real ``streamlit run`` with sign-in configured: each user
is a :class:`bench.light_client.LightSession` (Streamlit's own protobuf messages over its
websocket) carrying the identity cookie Streamlit itself signs with the secrets file's
``cookie_secret`` (what a browser holds after signing in), so the app reads ``st.user``
exactly as after a real sign-in and the access file gives the role. A forged event is one
a browser's page would never send: a value the table's own limits would stop, an edit of
a read-only column, or the id of a widget the user's page never drew.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.proto.NumberInput_pb2 import NumberInput as NumberInputProto
from streamlit.proto.WidgetStates_pb2 import WidgetState

from bench.light_client import LightSession
from tests.reliability.conftest import cli_env, copy_db, fingerprint, record_figure
from tests.reliability.signed import (
    ADMIN,
    ANALYST,
    VIEWER,
    SignedServer,
    run,
    session,
    signed,
)

#: A saved scenario written before the name limit (by another program, or an old app).
POISONED = "saved before the limit"
HUGE = 1_000_000


def _poison(db: Path) -> None:
    """A saved scenario whose competitor is named with :data:`HUGE` characters, written as
    an app before this round's fix saved it."""
    from analytics.saved_scenarios import save_scenario
    from analytics.scenario import Scenario
    from analytics.scenario_parts import Competitor
    from data.store import Store

    scenario = Scenario(
        name=POISONED, competitors=(Competitor("R" * HUGE, 1.0, 0.2),), cut_competitor=""
    )
    with Store.open(db) as store:
        save_scenario(store, scenario)


@pytest.fixture(scope="module")
def signed_server(
    tmp_path_factory: pytest.TempPathFactory, demo_db: Path
) -> Iterator[SignedServer]:
    """The round's signed-in server; the store holds :data:`POISONED`."""
    with signed(tmp_path_factory.mktemp("round15"), demo_db, _poison) as server:
        yield server


async def forge_editor(s: LightSession, key: str, edits: dict[str, Any]) -> Any:
    """Send a data editor's state as the browser would, holding ``edits`` (a browser's own
    table would never send them)."""
    w = s.widget(key)
    s.values[w.id] = WidgetState(id=w.id, string_value=json.dumps(edits))
    return await s.run(f"forge {key}", fragment_id=w.fragment_id)


async def save_as(s: LightSession, name: str) -> Any:
    await s.goto(s.page("scenarios"))
    box = s.widget("sc_name")
    s.values[box.id] = WidgetState(id=box.id, string_value=name)
    return await s.click("sc_save")


def _scalar(server: SignedServer, sql: str) -> Any:
    """One value read from a copy of the running app's store (see :func:`saved_scenarios`)."""
    import duckdb

    copy = copy_db(server.db, server.db.parent / f"peek-{time.monotonic_ns()}" / "peek.duckdb")
    with duckdb.connect(str(copy), read_only=True) as conn:
        return conn.execute(sql).fetchone()[0]


def saved_scenarios(server: SignedServer) -> dict[str, dict[str, Any]]:
    """The saved scenarios' parameters, read through the running app's store file."""
    import duckdb

    # the server holds the file's write lock; a second reader must attach read-only
    # through a copy (DuckDB allows one process per file)
    folder = server.db.parent / f"peek-{time.monotonic_ns()}"
    copy = copy_db(server.db, folder / "peek.duckdb")
    with duckdb.connect(str(copy), read_only=True) as conn:
        rows = conn.execute("SELECT name, CAST(params AS VARCHAR) FROM scenarios").fetchall()
    return {name: json.loads(params) for name, params in rows}


# -- breaks -----------------------------------------------------------------------------


def test_a_forged_competitor_name_past_the_limit_is_refused_and_never_saved(
    signed_server: SignedServer,
) -> None:
    """Expected: a competitor name the Price war table would never send (its column holds 60
    characters in the browser) is refused on the page, naming the limit, and a scenario
    saved after it does not carry it.

    Broke: the 60 characters held in the browser only: an analyst's forged table edit named
    a competitor with 5,000,000 characters, the page took it (2.6 s a run), and Save stored
    a 10 MB scenario (the name twice: competitor and the one that cuts) that every
    Scenarios page then compared by default (the newest two), link and table cells
    included, for every user."""

    async def attack() -> tuple[Any, Any]:
        async with session(signed_server, ANALYST) as s:
            await s.goto(s.page("price-war"))
            forged = await forge_editor(
                s, r"pw_comp_\d+", {"edited_rows": {"0": {"name": "A" * HUGE}}}
            )
            texts = list(s.texts)
            saved = await save_as(s, "after a forged name")
            return (forged, texts), saved

    (forged, texts), saved = run(attack())
    assert not forged.problems and not saved.problems, (forged.problems, saved.problems)
    assert any("has a name of 1,000,000 characters" in t and "at most 200" in t for t in texts), [
        t[:200] for t in texts
    ]
    stored = saved_scenarios(signed_server)["after a forged name"]
    names = [c["name"] for c in stored["competitors"]] + [stored["cut_competitor"]]
    assert max(map(len, names)) <= 200


def test_a_forged_edit_of_the_read_only_segment_name_does_not_rename_the_segment(
    signed_server: SignedServer,
) -> None:
    """Expected: the demand table's segment column is read-only, so a forged edit of it
    changes nothing, and a forged added row is a note, not "Something went wrong".

    Broke: Streamlit applies a data editor's cell edits on the server without checking that
    the column is read-only: a forged edit renamed the segment (1,000 characters here, or
    the name of another segment) in the what-if and in the scenario saved from it; a forged
    added row to the fixed table stopped the page ("Something went wrong", a ValueError of
    the rows' zip)."""

    async def attack() -> tuple[Any, Any, Any, list[str]]:
        async with session(signed_server, ANALYST) as s:
            await s.goto(s.page("pricing"))
            added = await forge_editor(
                s, r"wi_demand_\d+", {"added_rows": [{"reference_price": 1.0}]}
            )
            note = [t for t in s.texts if "rows cannot be added" in t]
            renamed = await forge_editor(
                s, r"wi_demand_\d+", {"edited_rows": {"0": {"name": "Z" * 1000}}}
            )
            saved = await save_as(s, "after a forged rename")
            return added, renamed, saved, note

    added, renamed, saved, note = run(attack())
    assert not added.problems, added.problems
    assert note, "no note about the added row"
    assert not renamed.problems and not saved.problems
    stored = saved_scenarios(signed_server)["after a forged rename"]
    assert all("ZZZ" not in g["name"] for g in stored["segments"]), [
        g["name"][:20] for g in stored["segments"]
    ]


def test_a_saved_scenario_with_a_huge_name_is_noted_not_compared(
    signed_server: SignedServer,
) -> None:
    """Expected: a saved scenario already holding a competitor named with 1,000,000
    characters (saved before this round's fix) is left out of the Scenarios page with a
    note saying why, when picked (or compared); the page works.

    Broke: the page read it whole and showed it: the name went into the "Share by link"
    address, the comparison table and its CSV (compared by default while among the two
    newest), for every user who picked it."""

    async def visit() -> tuple[Any, list[str]]:
        async with session(signed_server, VIEWER) as s:
            await s.goto(s.page("scenarios"))
            action = await s.set_value("sc_pick", POISONED)  # as picked in the box
            return action, list(s.texts)

    action, texts = run(visit())
    assert not action.problems, action.problems
    note = [t for t in texts if "cannot be read" in t and POISONED in t.replace("\\", "")]
    assert note and "bytes" in note[0], [t[:200] for t in texts]
    assert not any("RRRRRRRRRR" in t for t in texts)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _put_files(s: LightSession, count: int, size: int) -> list[str]:
    """Ask for upload addresses and ``PUT`` ``count`` files of ``size`` bytes, as the
    uploader's frontend does, with no uploader on the page; the refusals, in words."""
    refused = []
    content = b"x" * size
    for i in range(count):
        (urls,) = await s.upload_urls([f"f{i}.csv"])
        try:
            await s.put_file(urls, f"f{i}.csv", content)
        except RuntimeError as exc:
            refused.append(str(exc))
    return refused


def test_uploads_from_sessions_that_may_not_upload_are_refused_not_held(
    signed_server: SignedServer,
) -> None:
    """Expected: Streamlit's upload endpoint keeps a file only for a session whose user may
    upload (an analyst or an admin): a visitor on the sign-in page and a viewer are
    answered 403 and nothing is held; an analyst's upload still imports.

    Broke: the endpoint kept every file PUT for any open session, with no uploader drawn
    and no sign-in: a visitor who never signed in held 5 × 50 MB (+250 MiB of server
    memory) for as long as the websocket stayed open, and could go on until the server ran
    out of memory."""
    pid = signed_server.server.proc.pid

    async def attack() -> tuple[list[str], list[str], int, Any]:
        async with session(signed_server, VIEWER) as viewer:  # the pages' modules loaded
            from_viewer = await _put_files(viewer, 1, 1 << 20)
        visitor = LightSession(signed_server.url, timeout=180)  # not signed in
        await visitor.connect()
        try:
            opened = await visitor.open()
            assert "Sign in" in " ".join(visitor.texts), (opened.problems, visitor.texts)
            before = _rss_kib(pid)
            from_visitor = await _put_files(visitor, 5, 40 << 20)
            growth = _rss_kib(pid) - before  # while the visitor's session is open
        finally:
            await visitor.close()
        async with session(signed_server, ANALYST) as analyst:
            await analyst.goto(analyst.page("batch-tagging"))
            imported = await analyst.upload_and_submit(
                "bt_files",
                "bt_import",
                "round15.csv",
                b"text\nOpenAI cut its prices\nDeepSeek is cheaper\n",
            )
            return from_visitor, from_viewer, growth, imported

    from_visitor, from_viewer, growth, imported = run(attack())
    assert len(from_visitor) == 5 and all("403" in r for r in from_visitor), from_visitor
    assert len(from_viewer) == 1 and "403" in from_viewer[0], from_viewer
    record_figure("round15_refused_uploads_growth_mib", round(growth / 1024))
    assert growth < 120 * 1024, f"server grew by {growth / 1024:.0f} MiB"  # 200 MB were sent
    assert not imported.problems, imported.problems
    assert _scalar(signed_server, "SELECT count(*) FROM tickets WHERE source = 'round15.csv'") == 2


# -- guards (held) ----------------------------------------------------------------------


def test_guard_a_viewer_forging_admin_and_analyst_events_changes_nothing(
    signed_server: SignedServer,
) -> None:
    """Guard (held): a viewer's session sends the widget ids of the admin's Settings reset
    (kind, the typed confirmation, the button), the analyst's Save, Import, Start tagging,
    Load entity shards, Delete, and asks for the Settings and Audit pages by their page
    hashes. Streamlit keeps a widget's value and callback only for widgets the session's
    last run drew, so none of them acts: the store is unchanged and no admin page runs."""

    async def collect(email: str, plan: dict[str, list[tuple[str, Any]]]) -> tuple[dict, dict]:
        found: dict[str, tuple[str, str]] = {}
        async with session(signed_server, email) as s:
            for path, steps in plan.items():
                await s.goto(s.page(path))
                for key, value in steps:
                    await s.set_value(key, value)
                found |= {w.id: (path, w.kind) for w in s.widgets.values() if w.id in s._run_ids}
            return found, {p.url_path: p.script_hash for p in s.pages}

    async def attack() -> list[tuple[str, list[str], list[str]]]:
        admin, admin_pages = await collect(
            ADMIN, {"settings": [("set_kind", "All saved scenarios")]}
        )
        analyst, _ = await collect(
            ANALYST, {"batch-tagging": [("bt_shards", "/nowhere")], "scenarios": []}
        )
        assert any(i.endswith("-set_reset") for i in admin), sorted(admin)
        forged, triggers = [], []
        for wid, (_, kind) in {**admin, **analyst}.items():
            if wid.endswith("-access_sign_out"):
                continue  # the viewer's own page draws this one: it would sign them out
            if kind == "button":
                triggers.append(WidgetState(id=wid, trigger_value=True))
            elif wid.endswith("-set_confirm"):
                forged.append(WidgetState(id=wid, string_value="RESET"))
            elif wid.endswith("-set_kind"):
                forged.append(WidgetState(id=wid, string_value="All saved scenarios"))
            elif kind == "text_input":
                forged.append(WidgetState(id=wid, string_value="forged"))
        seen = []
        async with session(signed_server, VIEWER) as s:
            for state in forged:
                s.values[state.id] = state
            targets = [(p.url_path, p.script_hash) for p in s.pages]
            targets += [(name, admin_pages[name]) for name in ("settings", "audit")]
            for name, page_hash in targets:
                for state in forged:
                    s.values[state.id] = state
                action = await s.run(
                    f"forge on {name}", page_hash=page_hash, triggers=tuple(triggers)
                )
                seen.append((name, action.problems, list(s.texts)))
        return seen

    before = saved_scenarios(signed_server)
    store_before = _fingerprint(signed_server)
    seen = run(attack())
    for name, problems, texts in seen:
        assert not problems, (name, problems)
        assert not any(t in {"Settings", "Audit trail", "Data reset"} for t in texts), name
    assert saved_scenarios(signed_server) == before
    assert _fingerprint(signed_server) == store_before


def _fingerprint(server: SignedServer) -> dict[str, tuple[int, str]]:
    folder = server.db.parent / f"fp-{time.monotonic_ns()}"
    copy = copy_db(server.db, folder / "fp.duckdb")
    return fingerprint(copy, stable=True, skip=("audit_log", "schema_version", "tagging_runs"))


def test_guard_forged_numbers_at_float_extremes_never_reach_the_managers(
    signed_server: SignedServer,
) -> None:
    """Guard (held): NaN, ±infinity, 1e308 and -0.0 sent for the what-if's number inputs and
    in the Price war and demand tables: Streamlit resets a number input's value outside its
    range (or not finite) to its default, and the scenario refuses the tables' values with
    a note; no page shows "nan" or "inf", none fails. (A whole-number input sent NaN or
    infinity fails inside Streamlit, before the page runs, in the sender's session only:
    noted in RELIABILITY.md, left out here.)"""
    values = [float("nan"), float("inf"), -float("inf"), 1e308, -0.0]

    async def attack() -> list[tuple[str, list[str], list[str]]]:
        seen = []
        async with session(signed_server, ANALYST) as s:
            await s.goto(s.page("pricing"))
            inputs = [
                (w.id.split("-", 2)[-1], w.proto.data_type == NumberInputProto.INT)
                for w in s.widgets.values()
                if w.kind == "number_input" and w.id in s._run_ids
            ]
            for key, whole in inputs:
                # a whole-number input given a non-finite float fails inside Streamlit
                # before the page runs, in the forger's own session only (noted)
                for value in [v for v in values if not whole or math.isfinite(v)]:
                    action = await s.set_value(key, value)
                    seen.append((f"{key}={value}", action.problems, list(s.texts)))
                    s.values.clear()
            for value in values:
                cell = {"edited_rows": {"0": {"reference_volume_m": value, "elasticity": value}}}
                action = await forge_editor(s, r"wi_demand_\d+", cell)
                seen.append((f"demand={value}", action.problems, list(s.texts)))
            await s.goto(s.page("price-war"))
            for value in values:
                cell = {"edited_rows": {"0": {"price": value, "share": value}}}
                action = await forge_editor(s, r"pw_comp_\d+", cell)
                seen.append((f"competitor={value}", action.problems, list(s.texts)))
        return seen

    for name, problems, texts in run(attack()):
        assert not problems, (name, problems)
        notes = ("Check the", "These inputs")  # the refusals name the value they refuse
        shown = " ".join(t for t in texts if not t.startswith(notes))
        assert " nan" not in shown.lower() and "inf " not in shown, name


# -- a reset of the model inside a tagging run --------------------------------------------


def test_a_model_reset_inside_a_run_keeps_the_runs_record_and_says_what_is_left(
    db: Path,
) -> None:
    """Expected: an admin's reset of a model lands while that model's in-app run goes on
    (``reset_data`` checks "is tagging running" before its transaction: round 14's window).
    The tickets the run tags after the reset belong to a ``tagging_runs`` row of the run,
    and the job's message says how many tickets still need tagging.

    Broke (round 14's note): the reset deleted the run's ``tagging_runs`` row and the run's
    later counter updates found none, so 252 tagged tickets belonged to no run, and the job
    said "Done: 252 tickets tagged" while the 48 reset tickets waited untagged."""
    from dashboard.jobs import TaggingJob
    from data.reset import reset_model
    from data.store import Store
    from tests.dashboard.conftest import FakeTagger

    with Store.open(db) as store:

        class ResetAfterFirstBatch(FakeTagger):
            def tag(self, texts, batch_size=64, progress=None):  # type: ignore[override]
                if self.calls == 1:  # the first batch is written: an admin resets
                    reset_model(store, self.model_id, actor="admin@example.com")
                return super().tag(texts, batch_size=batch_size)

        job = TaggingJob(store, loader=ResetAfterFirstBatch, batch_size=12)  # 48 a batch
        assert job.start()
        status = job.wait(120)
        assert status.state == "done", status.message
        runs = store.fetchall(
            "SELECT run_id, tickets FROM tagging_runs WHERE model_id = ?", ["fake-tagger"]
        )
        tagged = store.fetchall(
            "SELECT run_id, count(*) FROM tagged_tickets WHERE model_id = ? GROUP BY run_id",
            ["fake-tagger"],
        )
        left = store.scalar(
            "SELECT count(*) FROM tickets t ANTI JOIN tagged_tickets g ON g.ticket_key ="
            " t.ticket_key AND g.model_id = 'fake-tagger'"
        )
    assert left == 48
    assert dict(tagged) == dict(runs), (tagged, runs)  # every tagged ticket has its run
    assert "48 still need tagging" in status.message, status.message


# -- the tagger's folder changed while it is loaded or used ----------------------------------


def test_a_tagger_folder_swapped_while_it_loads_is_refused_not_run_under_another_id(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expected: a tagger folder replaced while ``Tagger.load`` reads it (a deployment's
    ``mv new default``, a training writing its output there) is refused in words naming
    the folder, so no run stores one artefact's results under another's model id.

    Broke: ``Tagger.load`` read the weights first and hashed the folder for the model id
    after: the swap landing between them (here right after the weights were read) gave a
    tagger running artefact A's weights under artefact B's id; the store then held A's
    entities as B's, and B's own later runs found every ticket "tagged"."""
    import shutil

    import model.tagger as tagger_module
    from model.artefact import model_id_of
    from model.errors import ModelChangedError
    from model.tagger import Tagger
    from tests.reliability.conftest import save_tiny_model

    folder = tmp_path / "tagger"
    shutil.copytree(tiny_model_dir, folder)
    other = save_tiny_model(tmp_path / "other", seed=1)
    id_a, id_b = model_id_of(folder), model_id_of(other)
    assert id_a != id_b
    real_load = tagger_module.load_model

    def load_then_swap(model_dir: Path) -> Any:  # the swap lands right after the weights
        weights = real_load(model_dir)
        folder.rename(tmp_path / "old-tagger")
        other.rename(folder)
        return weights

    monkeypatch.setattr(tagger_module, "load_model", load_then_swap)
    with pytest.raises(ModelChangedError) as caught:
        Tagger.load(folder, device="cpu", precision="fp32")
    message = str(caught.value)
    assert str(folder) in message and "changed while it was being loaded" in message
    monkeypatch.setattr(tagger_module, "load_model", real_load)
    assert Tagger.load(folder, device="cpu", precision="fp32").model_id == id_b  # settled


_TRUNCATE_DURING_A_RUN = """
import json, sys
from pathlib import Path
from data.store import Store
from model.jobs import tag_store
from model.tagger import Tagger

db, folder = Path(sys.argv[1]), Path(sys.argv[2])
tagger = Tagger.load(folder, device="cpu", precision="fp32")
spoiled = []

def spoil(done, total):  # after the first written batch: `cp` over the weights begins
    if done and not spoiled:
        with (folder / "model.safetensors").open("r+b") as f:
            f.truncate(100)
        spoiled.append(done)

with Store.open(db) as store:
    summary = tag_store(store, tagger, batch_size=16, progress=spoil)
    left = store.scalar(
        "SELECT count(*) FROM tickets t ANTI JOIN tagged_tickets g ON g.ticket_key ="
        " t.ticket_key AND g.model_id = ?", [tagger.model_id])
print(json.dumps({"status": summary.status, "left": left, "spoiled": spoiled}))
"""


def test_weights_truncated_during_a_run_do_not_kill_the_process(
    db: Path, tmp_path: Path, tiny_model_dir: Path
) -> None:
    """Expected: the tagger's weights file truncated while a run tags (as ``cp`` over it, or
    a training writing its output into the folder, begins) changes nothing for the run: it
    tags with the weights it loaded and ends with every ticket tagged; the next load is
    refused naming the folder; a weights file replaced by a link to a named pipe too.

    Broke: the weights stayed memory-mapped views of the file (safetensors): the next
    forward pass after the truncation died of SIGBUS ("Fatal Python error: Bus error",
    exit 135): a command-line run ended without a word, its ``tagging_runs`` row "running"
    for good; with ``PRICEWAR_TAG_PROCESS=0`` the whole app server died with it."""
    import os
    import shutil
    import subprocess
    import sys

    from model.errors import ModelNotFoundError
    from model.tagger import Tagger
    from tests.reliability.conftest import ROOT

    folder = tmp_path / "tagger"
    shutil.copytree(tiny_model_dir, folder)
    child = subprocess.run(
        [sys.executable, "-c", _TRUNCATE_DURING_A_RUN, str(db), str(folder)],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-1500:])
    outcome = json.loads(child.stdout.strip().splitlines()[-1])
    assert outcome["spoiled"] and outcome["status"] == "done" and outcome["left"] == 0
    with pytest.raises(ModelNotFoundError) as truncated:
        Tagger.load(folder, device="cpu", precision="fp32")
    assert str(folder) in str(truncated.value)
    weights = folder / "model.safetensors"
    weights.unlink()
    os.mkfifo(tmp_path / "pipe")
    weights.symlink_to(tmp_path / "pipe")
    with pytest.raises(ModelNotFoundError) as piped:
        Tagger.load(folder, device="cpu", precision="fp32")
    assert "model.safetensors" in str(piped.value) or "named pipe" in str(piped.value)
