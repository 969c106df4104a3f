"""The Settings page (admins only): sign-in and access lists shown read-only, data resets
behind a typed confirmation, refused and audited for any other role, even when forged."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP
from tests.dashboard.signin import (
    ADMIN,
    ANALYST,
    AUTH,
    PII_SOURCE,
    SAVED,
    VIEWER,
    audit_rows,
    open_as,
    plain,
    texts,
)

PAGE = "views/settings.py"
MODEL = "gold-test"
pytestmark = pytest.mark.usefixtures("secured", "loopback")  # the app's database, an access file
EVIL = "**bold** <img src=x onerror=alert(1)> [x](javascript:alert(1)).csv"


def settings_as(email: str) -> AppTest:
    at = open_as(email)
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def count(sql: str, params: list[Any] | None = None) -> int:
    from dashboard import state

    return int(state.store().scalar(sql, params))


def reset_button(at: AppTest) -> Any:
    return at.button(key="set_reset")


def confirm_and_click(at: AppTest, word: str = "RESET") -> AppTest:
    """Type ``word`` (the button is drawn enabled for RESET only), then click."""
    at.text_input(key="set_confirm").set_value(word).run()
    reset_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def forge_click(at: AppTest, word: str) -> AppTest:
    """Click the enabled button with ``word`` in the box at the same time: the event a
    browser that skips the page's own check would send."""
    at.text_input(key="set_confirm").set_value("RESET").run()
    at.text_input(key="set_confirm").set_value(word)
    reset_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def outcome(at: AppTest, *, raw: bool = False) -> list[str]:
    """The reset's outcome messages shown (success or error), as read (or ``raw``)."""
    return [
        e.value if raw else plain(e.value)
        for e in [*at.success, *at.error]
        if e.value.startswith(("Removed", "Nothing was reset", "You have"))
    ]


# -- what an admin sees ----------------------------------------------------------------------


def test_an_admin_sees_sign_in_and_the_access_lists_read_only() -> None:
    at = settings_as(ADMIN)
    assert at.title[0].value == "Settings"
    shown = texts(at)
    assert "Sign-in is **configured**" in shown and "default provider" in shown
    lists = at.dataframe[0].value
    assert list(lists["list"]) == ["allow", "analysts", "admins"]
    assert list(lists["file"]) == ["@example.com", ANALYST, ADMIN]
    assert list(lists["variable"]) == ["PRICEWAR_ALLOW", "PRICEWAR_ANALYSTS", "PRICEWAR_ADMINS"]
    assert "access.toml" in shown and "named by PRICEWAR_ACCESS_FILE" in shown
    assert "without a restart" in shown
    assert not [t for t in at.text_input if t.key != "set_confirm"]  # nothing to edit


def test_the_environment_lists_are_shown_apart_from_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRICEWAR_ANALYSTS", "extra@example.com")
    at = settings_as(ADMIN)
    lists = at.dataframe[0].value.set_index("list")
    assert lists.loc["analysts", "file"] == ANALYST
    assert lists.loc["analysts", "environment"] == "extra@example.com"
    assert lists.loc["admins", "environment"] == "—"


def test_an_admin_resets_a_model_only_after_typing_the_word() -> None:
    from data import audit

    at = settings_as(ADMIN)
    at.radio(key="set_kind").set_value("model").run()
    at.selectbox(key="set_model").set_value(MODEL).run()
    tagged = count("SELECT count(*) FROM tagged_tickets WHERE model_id = ?", [MODEL])
    assert tagged and reset_button(at).disabled
    assert f"{tagged:,} tagged tickets" in texts(at)
    forge_click(at, "reset please")  # the wrong word: refused by the handler itself
    assert outcome(at) == ["Nothing was reset: type RESET to confirm the reset."]
    assert count("SELECT count(*) FROM tagged_tickets WHERE model_id = ?", [MODEL]) == tagged
    confirm_and_click(at)
    assert outcome(at)[0].startswith("Removed the tagging results of model")
    assert count("SELECT count(*) FROM entities WHERE model_id = ?", [MODEL]) == 0
    assert count("SELECT count(*) FROM tagged_tickets WHERE model_id = ?", [MODEL]) == 0
    [row] = audit_rows(actions=[audit.DATA_RESET])
    assert (row["actor"], row["role"], row["target"]) == (ADMIN, "admin", f"model:{MODEL}")
    assert row["detail"].startswith(f"removed {tagged:,} tagged tickets")
    assert "No model has tagged any ticket yet." in texts(at)


def test_a_batch_reset_shows_the_untrusted_file_name_as_text() -> None:
    from dashboard import state

    state.store().execute_write(
        "UPDATE tickets SET source = ? WHERE source = ?", [EVIL, PII_SOURCE]
    )
    at = settings_as(ADMIN)
    at.radio(key="set_kind").set_value("batch").run()
    at.selectbox(key="set_batch").set_value(EVIL).run()
    confirm_and_click(at)
    [message] = outcome(at, raw=True)
    assert "&lt;img" in message and "<img" not in message  # no HTML …
    assert "\\*\\*bold\\*\\*" in message and "\\[x\\]\\(javascript" in message  # … nor Markdown
    assert "3 tickets" in message
    assert count("SELECT count(*) FROM tickets WHERE source = ?", [EVIL]) == 0


def test_an_admin_resets_the_saved_scenarios() -> None:
    at = settings_as(ADMIN)
    at.radio(key="set_kind").set_value("scenarios").run()
    confirm_and_click(at)
    assert outcome(at) == ["Removed the saved scenarios: 1 scenario."]
    assert at.text_input(key="set_confirm").value == ""  # the next reset needs it again
    assert reset_button(at).disabled
    assert count("SELECT count(*) FROM scenarios") == 0


def test_no_model_or_batch_reset_while_tagging_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import jobs

    at = settings_as(ADMIN)
    at.radio(key="set_kind").set_value("model").run()
    at.text_input(key="set_confirm").set_value("RESET").run()
    assert not reset_button(at).disabled
    monkeypatch.setattr(jobs.TaggingJob, "status", lambda self: jobs.JobStatus(state="running"))
    reset_button(at).click().run()  # it started between the page and the click
    assert outcome(at) == [
        "Nothing was reset: tagging is running: stop it on Batch tagging "
        "(it stops after its current batch), then reset."
    ]
    assert count("SELECT count(*) FROM tagged_tickets WHERE model_id = ?", [MODEL])
    at.text_input(key="set_confirm").set_value("RESET").run()  # the page says so, too
    assert reset_button(at).disabled and "Tagging is running" in texts(at)


# -- anyone else ----------------------------------------------------------------------------


@pytest.mark.parametrize("email", [VIEWER, ANALYST])
def test_viewers_and_analysts_cannot_open_the_page(email: str) -> None:
    from data import audit

    at = open_as(email)
    with pytest.raises(Exception):  # noqa: B017 - not in their navigation at all
        at.switch_page(PAGE).run()
        assert at.title[0].value != "Settings"
        raise RuntimeError("reached")
    # run on its own (a stale link): the page refuses, shows nothing and records it
    page = AppTest.from_file(str(APP.parent / PAGE), default_timeout=60)
    page.secrets = dict(AUTH)
    page.user = {"is_logged_in": True, "email": email, "email_verified": True}
    page.run()
    assert not page.dataframe and not page.button and not page.text_input
    refused = audit_rows(actions=[audit.ACCESS_DENIED], actor=email)
    assert refused and refused[0]["target"] == "settings_view"


def test_a_forged_reset_by_an_analyst_is_refused_and_audited() -> None:
    """An admin's page, then the same session's next event comes from an analyst: the
    button's handler runs before any page does, so it must check the role itself."""
    from data import audit

    at = settings_as(ADMIN)
    at.radio(key="set_kind").set_value("model").run()
    at.selectbox(key="set_model").set_value(MODEL).run()
    at.text_input(key="set_confirm").set_value("RESET").run()
    before = (count("SELECT count(*) FROM entities"), count("SELECT count(*) FROM scenarios"))
    at.user = {"is_logged_in": True, "email": ANALYST, "email_verified": True}
    reset_button(at).click().run()
    assert not at.exception
    assert (
        count("SELECT count(*) FROM entities"),
        count("SELECT count(*) FROM scenarios"),
    ) == before
    assert not audit_rows(actions=[audit.DATA_RESET])
    refused = audit_rows(actions=[audit.ACCESS_DENIED], actor=ANALYST)
    assert [(r["target"], r["role"], r["detail"]) for r in refused][0] == (
        "data_reset",
        "analyst",
        f"needs admin; target model:{MODEL}",
    )
    assert count("SELECT count(*) FROM scenarios WHERE name = ?", [SAVED]) == 1


def test_in_local_mode_the_page_says_sign_in_is_not_configured() -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)  # no [auth] secrets, on loopback
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception and at.title[0].value == "Settings"
    shown = texts(at)
    assert "Sign-in is **not configured** (local mode)" in shown and "local:" in shown


def test_the_reset_targets_follow_a_scenario_saved_after_the_page_was_read() -> None:
    """The Settings page reads what a reset can remove through a cached query: saving a
    scenario (not counted in the data version) must still show on the next run."""
    at = settings_as(ADMIN)
    at.radio(key="set_kind").set_value("scenarios").run()
    before = count("SELECT count(*) FROM scenarios")
    assert f"This removes {before:,} saved scenarios." in [m.value for m in at.markdown]

    from analytics.saved_scenarios import save_scenario
    from analytics.scenario import Scenario
    from dashboard import state

    save_scenario(state.store(), Scenario(name="one more"))
    at.run()
    assert f"This removes {before + 1:,} saved scenarios." in [m.value for m in at.markdown]
