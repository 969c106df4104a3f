"""Sign-in, roles, audit and masking on the pages, under AppTest.

The signed-in user is set the way Streamlit's AppTest supports it: ``at.secrets`` holds an
``[auth]`` section (sign-in configured) and ``at.user`` the identity claims that the app
reads as ``st.user``; nothing in the app reads a test-only switch. A "crafted rerun" is a
script run by that user that calls a write action directly, as a forged widget event would.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from tests.dashboard.conftest import APP
from tests.dashboard.signin import (
    ADMIN,
    ANALYST,
    AUTH,
    EMAIL,
    OUTSIDER,
    PAGES,
    PII_SOURCE,
    PII_TEXT,
    SAVED,
    VIEWER,
    app_as,
    audit_rows,
    buttons,
    no_pii,
    open_as,
    plain,
    texts,
)

pytestmark = pytest.mark.usefixtures("loopback")

# -- who is let in ----------------------------------------------------------------------


def test_a_signed_out_visitor_sees_only_the_sign_in_button(secured: Path) -> None:
    at = app_as(None)
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe and not at.get("html") and not at.sidebar.caption
    at.switch_page(PAGES["batch"]).run()  # a page's address: still only the sign-in
    assert [b.label for b in at.button] == ["Sign in"] and not at.get("file_uploader")


@pytest.mark.parametrize(
    ("email", "verified"),
    [(OUTSIDER, True), ("x@example.com.evil.org", True), (ADMIN, False), (ADMIN, "false")],
)
def test_a_user_not_on_the_list_sees_the_refusal_and_sign_out_only(
    secured: Path, email: str, verified: Any
) -> None:
    from dashboard import state
    from data import audit

    state.store()  # the app is running: the refusal is recorded
    at = app_as(email)
    at.user["email_verified"] = verified
    at.run()
    assert not at.exception
    assert "not on the access list" in texts(at)
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.metric and not at.dataframe and not at.get("html")
    refused = audit_rows(actions=[audit.ACCESS_DENIED], actor=email)
    assert len(refused) == 1
    at.run()  # once per session
    assert len(audit_rows(actions=[audit.ACCESS_DENIED], actor=email)) == 1
    at.button[0].click().run()  # Sign out: back to signed out
    assert at.user.get("is_logged_in") is False
    assert audit_rows(actions=[audit.SIGN_OUT], actor=email)


def test_an_allowed_user_sees_the_pages_their_name_role_and_sign_out(secured: Path) -> None:
    from data import audit

    at = open_as(VIEWER)
    assert at.metric  # the Overview
    sidebar = "\n".join(plain(c.value) for c in at.sidebar.caption)
    assert VIEWER in sidebar and "viewer" in sidebar
    assert [b.label for b in at.sidebar.button] == ["Sign out"]
    at.run()
    rows = audit_rows(actions=[audit.SIGN_IN], actor=VIEWER)
    assert len(rows) == 1 and rows[0]["role"] == "viewer"  # once per session


def test_trusted_user_headers_let_nobody_in_under_streamlit_run(secured: Path) -> None:
    """With ``server.trustedUserHeaders`` set, a header could name any user (round 24 of #12):
    ``serve.py`` refuses to start; under ``streamlit run`` every page run refuses, in words,
    even the admin's (GAPS.md item 18)."""
    with patch_config_options({"server.trustedUserHeaders": {"X-Pwr-Email": "email"}}):
        at = app_as(ADMIN)
        at.run()
    assert not at.exception
    assert not at.metric  # no page ran
    shown = texts(at)
    assert "server.trustedUserHeaders is set" in shown and "X-Pwr-Email" in shown


def test_without_sign_in_a_server_on_a_network_address_shows_only_a_stop(secured: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    with patch_config_options({"server.address": "0.0.0.0"}):
        at.run()
    assert not at.exception
    assert "sign-in is not configured" in texts(at)
    assert not at.button and not at.metric and not at.dataframe


def test_without_sign_in_on_loopback_the_local_user_is_admin(secured: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    with patch_config_options({"server.address": "127.0.0.1"}):
        at.run()
        assert not at.exception and at.metric
        sidebar = "\n".join(plain(c.value) for c in at.sidebar.caption)
        assert "Local mode: local:" in sidebar and "(admin)" in sidebar
        at.switch_page(PAGES["audit"]).run()
        assert not at.exception and at.title[0].value == "Audit trail"


# -- what a viewer sees and may not do ----------------------------------------------------


# 3 tickets: downloads sent with the page; 1,001: built on click (over INLINE_DOWNLOAD_TICKETS)
@pytest.mark.parametrize("secured", [3, 1_001], indirect=True)
def test_a_viewer_on_batch_tagging_has_no_write_controls(
    secured: Path, downloads: dict[str, bytes]
) -> None:
    at = open_as(VIEWER, "batch")
    assert not at.get("file_uploader")
    assert not buttons(at) & {"bt_import", "bt_start", "bt_stop", "bt_load_shards"}
    assert not [t for t in at.text_input if t.key == "bt_shards"]
    assert any("analyst role" in plain(i.value) for i in at.info)
    at.multiselect(key="bt_show").set_value([PII_SOURCE]).run()
    assert not at.exception
    shown = texts(at)
    assert "•" in shown and "OpenAI" in shown and no_pii(shown), shown
    assert {"entities.csv", "tagged_tickets.jsonl"} <= set(downloads)
    for name in ("entities.csv", "tagged_tickets.jsonl"):
        assert no_pii(downloads[name].decode()), name
    tickets = [json.loads(line) for line in downloads["tagged_tickets.jsonl"].splitlines()]
    assert tickets and all(len(t["text"]) == len(PII_TEXT) for t in tickets)  # same length
    per = [e for t in tickets for e in t["entities"] if e["label"] == "PER"]
    assert per and all(set(e["text"]) <= {"•", "@", "."} or "•" in e["text"] for e in per)


def test_an_analyst_sees_customer_data_as_written(
    secured: Path, downloads: dict[str, bytes]
) -> None:
    at = open_as(ANALYST, "batch")
    assert at.get("file_uploader") and {"bt_import", "bt_start"} <= buttons(at)
    at.multiselect(key="bt_show").set_value([PII_SOURCE]).run()
    assert EMAIL in texts(at)
    assert EMAIL in downloads["tagged_tickets.jsonl"].decode()
    assert EMAIL in downloads["entities.csv"].decode()


def test_a_viewer_on_entities_sees_masked_tickets_and_downloads(
    secured: Path, downloads: dict[str, bytes]
) -> None:
    at = open_as(VIEWER, "entities")
    shown = texts(at)
    assert "OpenAI is cheaper" in shown and no_pii(shown)
    rows = list(csv.DictReader(io.StringIO(downloads["tickets.csv"].decode())))
    pii = [r for r in rows if r["ticket_key"].startswith("pii-")]
    assert len(pii) == 3 and all(no_pii(" ".join(r.values())) for r in pii)
    assert all("•" in r["text"] and "•" in r["subject"] for r in pii)
    # a hidden address cannot be found by searching for it
    at.text_input(key="ent_search").set_value("jane.doe").run()
    assert not at.exception and no_pii(texts(at))
    assert any("No ticket matches" in i.value for i in at.info)
    at.text_input(key="ent_search").set_value("cheaper").run()
    assert not at.get("html") or no_pii(texts(at))


def test_an_analyst_on_entities_can_search_customer_data(secured: Path) -> None:
    at = open_as(ANALYST, "entities")
    at.text_input(key="ent_search").set_value("jane.doe").run()
    assert EMAIL in texts(at)


def test_a_viewer_on_scenarios_has_no_save_or_delete(
    secured: Path, downloads: dict[str, bytes]
) -> None:
    at = open_as(VIEWER, "scenarios")
    assert not buttons(at) & {"sc_save", "sc_delete"}
    assert not [t for t in at.text_input if t.key == "sc_name"]
    assert "sc_load" in buttons(at) and SAVED in list(at.dataframe[0].value["name"])
    assert "scenarios.csv" in downloads  # comparing and exporting stay open to viewers


def test_the_audit_page_is_for_admins_only(secured: Path) -> None:
    from data import audit

    viewer = open_as(VIEWER)
    with pytest.raises(Exception):  # noqa: B017 - not in a viewer's navigation at all
        viewer.switch_page(PAGES["audit"]).run()
        assert viewer.title[0].value != "Audit trail"
        raise RuntimeError("reached")
    # reached anyway (e.g. a stale link run on its own): the page refuses and records it
    page = AppTest.from_file(str(APP.parent / PAGES["audit"]), default_timeout=60)
    page.secrets = dict(AUTH)
    page.user = {"is_logged_in": True, "email": ANALYST, "email_verified": True}
    page.run()
    assert not page.dataframe and not page.get("download_button")
    refused = audit_rows(actions=[audit.ACCESS_DENIED], actor=ANALYST)
    assert refused and refused[0]["target"] == "audit_view"


def test_an_admin_reads_filters_and_downloads_the_audit_trail(
    secured: Path, downloads: dict[str, bytes]
) -> None:
    from data import audit

    at = open_as(ADMIN, "audit")
    assert at.title[0].value == "Audit trail"
    assert [b.label for b in at.get("download_button")] == ["Download audit log (CSV)"]
    log = at.dataframe[0].value
    assert ADMIN in set(log["actor"])  # their own sign-in
    at.multiselect(key="au_actions").set_value([audit.SIGN_IN]).run()
    assert set(at.dataframe[0].value["action"]) == {audit.SIGN_IN}
    csv_text = downloads["audit-log.csv"].decode()
    assert ADMIN in csv_text and audit.SIGN_IN in csv_text


# -- the actions themselves: a crafted rerun is refused ------------------------------------


def crafted(action: str) -> None:
    """A script run that calls a write action directly (as a forged widget event would)."""
    import io

    import streamlit as st

    from analytics.scenario import Scenario
    from dashboard import state
    from dashboard.access import AccessDenied

    upload = io.BytesIO(b"text\nCrafted ticket about Berlin\n")
    upload.name = "crafted.csv"
    calls = {
        "upload": lambda: state.upload_files([upload]),
        "tag_start": state.start_tagging,
        "tag_stop": state.stop_tagging,
        "shard_load": lambda: state.load_shards("/nonexistent/shards"),
        "scenario_save": lambda: state.save_scenario(Scenario(name="crafted")),
        "scenario_delete": lambda: state.delete_scenario("keep me"),
        "data_reset": lambda: state.reset_data("scenarios", None, state.RESET_CONFIRM_WORD),
    }
    try:
        calls[action]()
    except AccessDenied as exc:
        st.error(f"refused: {exc}")
    except Exception as exc:  # the action ran and failed on its own (e.g. no such folder)
        st.warning(f"failed: {exc}")
    else:
        st.success("done")


ACTIONS = ["upload", "tag_start", "tag_stop", "shard_load", "scenario_save", "scenario_delete"]


def run_action(email: str, action: str) -> AppTest:
    at = AppTest.from_function(crafted, args=(action,), default_timeout=60)
    at.secrets = dict(AUTH)
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def snapshot() -> dict[str, Any]:
    from dashboard import state

    store = state.store()
    return {
        "tickets": store.scalar("SELECT count(*) FROM tickets"),
        "entities": store.scalar("SELECT count(*) FROM entities"),
        "scenarios": sorted(r[0] for r in store.fetchall("SELECT name FROM scenarios")),
        "job": state.job().status().state,
    }


@pytest.mark.parametrize("action", ACTIONS)
def test_a_viewer_calling_a_write_action_is_refused_and_recorded(
    secured: Path, action: str
) -> None:
    from data import audit

    before = snapshot()
    others_before = [r for r in audit_rows() if r["action"] != audit.ACCESS_DENIED]
    at = run_action(VIEWER, action)
    assert [plain(e.value) for e in at.error][0].startswith("refused: You have the viewer role")
    assert "analyst role" in at.error[0].value and not at.success
    assert snapshot() == before  # nothing changed …
    denied = audit_rows(actions=[audit.ACCESS_DENIED], actor=VIEWER)
    assert len(denied) == 1 and denied[0]["role"] == "viewer"  # … but the refusal's row
    assert denied[0]["target"] == getattr(audit, action.upper())
    others = [r for r in audit_rows() if r["action"] != audit.ACCESS_DENIED]
    assert others == others_before


@pytest.mark.parametrize("email", [VIEWER, ANALYST])
def test_only_an_admin_can_reset_data_even_by_a_crafted_call(secured: Path, email: str) -> None:
    from data import audit

    before = snapshot()
    at = run_action(email, "data_reset")
    assert "admin role" in at.error[0].value and not at.success
    assert snapshot() == before and before["scenarios"]  # the saved scenario is still there
    denied = audit_rows(actions=[audit.ACCESS_DENIED], actor=email)
    assert [r["target"] for r in denied] == [audit.DATA_RESET]
    assert audit_rows(actions=[audit.DATA_RESET]) == []
    at = run_action(ADMIN, "data_reset")
    assert not at.error and at.success
    assert snapshot()["scenarios"] == []
    [row] = audit_rows(actions=[audit.DATA_RESET], actor=ADMIN)
    assert row["role"] == "admin"


def run_checked(email: str, action: str) -> AppTest:
    at = run_action(email, action)
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.mark.parametrize("action", ACTIONS)
def test_an_analyst_action_leaves_its_audit_row(secured: Path, action: str) -> None:
    from dashboard import state
    from data import audit

    at = run_checked(ANALYST, action)
    rows = audit_rows(actions=[getattr(audit, action.upper())], actor=ANALYST)
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["role"] == "analyst" and row["source"] == "app"
    expected_target = {
        "upload": "crafted.csv",
        "scenario_save": "crafted",
        "scenario_delete": SAVED,
        "shard_load": "/nonexistent/shards",
    }
    if action in expected_target:
        assert row["target"] == expected_target[action]
    if action == "upload":
        assert at.success and row["detail"].startswith("imported")
        assert state.store().scalar("SELECT count(*) FROM tickets WHERE source = 'crafted.csv'")
    if action == "shard_load":
        assert row["detail"].startswith("failed") and at.warning
    if action == "scenario_delete":
        assert row["detail"] == "deleted"
    if action == "tag_start":
        state.job().wait(60)
        ends = audit_rows(actions=[audit.TAG_END], actor=ANALYST)
        assert len(ends) == 1 and ends[0]["detail"].startswith("done")


def test_uploads_and_saves_on_the_pages_are_audited(secured: Path) -> None:
    from data import audit

    at = open_as(ANALYST, "batch")
    at.file_uploader(key="bt_files").set_value(
        [
            ("good.csv", b"text\nMoving from OpenAI\n", "text/csv"),
            ("bad.csv", b"\x00\x01 not a table", "text/csv"),
        ]
    )
    at.button(key="bt_import").click().run()
    assert not at.exception
    rows = {r["target"]: r for r in audit_rows(actions=[audit.UPLOAD], actor=ANALYST)}
    assert rows["good.csv"]["detail"].startswith("imported")
    assert rows["bad.csv"]["detail"].startswith("rejected")
    at.switch_page(PAGES["scenarios"]).run()
    at.text_input(key="sc_name").set_value("audited").run()
    at.button(key="sc_save").click().run()
    assert not at.exception
    saved = audit_rows(actions=[audit.SCENARIO_SAVE], actor=ANALYST)
    assert [r["target"] for r in saved] == ["audited"]
    at.selectbox(key="sc_pick").set_value("audited").run()
    at.button(key="sc_delete").click().run()
    deleted = audit_rows(actions=[audit.SCENARIO_DELETE], actor=ANALYST)
    assert [(r["target"], r["detail"]) for r in deleted] == [("audited", "deleted")]
