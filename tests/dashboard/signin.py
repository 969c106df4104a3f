"""Helpers of the sign-in and role tests: identities, a ticket with customer data, and
AppTest runs of the app as a signed-in user.

The signed-in user is set the way Streamlit's AppTest supports it: ``at.secrets`` holds an
``[auth]`` section (sign-in configured) and ``at.user`` the identity claims that the app
reads as ``st.user``; nothing in the app reads a test-only switch. The fixtures that build on
these (``secured``, ``downloads``, ``loopback``) are in ``conftest.py``.
"""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP

AUTH = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-cookie-secret-0123456789abcdef",
        "client_id": "pricewar-test",
        "client_secret": "not-a-secret",
        "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
    }
}
VIEWER, ANALYST, ADMIN = "vera@example.com", "ana@example.com", "boss@example.com"
OUTSIDER = "eve@evil-example.com"

EMAIL, PHONE, CARD = "jane.doe@example.org", "+1 415 555 0134", "4111 1111 1111 1111"
SSN, SPELLED_EMAIL = "123-45-6789", "jane dot doe [at] example [dot] org"
PII_TEXT = (
    f"Call me on {PHONE} or write to {EMAIL}; card {CARD}, SSN {SSN}, or {SPELLED_EMAIL}."
    " OpenAI is cheaper."
)
PII_SUBJECT = f"Refund for {EMAIL}"
SECRETS = (EMAIL, "jane.doe", "555 0134", "4111 1111", "123-45", "doe [at] example")
PII_SOURCE = "pii.csv"
SAVED = "keep me"
PAGES = {
    "overview": "views/overview.py",
    "entities": "views/entities.py",
    "batch": "views/batch_tagging.py",
    "scenarios": "views/scenarios.py",
    "audit": "views/audit.py",
}


def app_as(email: str | None, *, verified: bool | None = True) -> AppTest:
    """The app with sign-in configured, for ``email`` (None: signed out)."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets = dict(AUTH)
    if email is None:
        at.user = {"is_logged_in": False}
    else:
        at.user = {"is_logged_in": True, "email": email, "name": email.split("@")[0]}
        if verified is not None:
            at.user["email_verified"] = verified
    return at


def open_as(email: str, page: str = "overview") -> AppTest:
    at = app_as(email)
    at.run()
    if page != "overview":
        at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def plain(markdown: str) -> str:
    """Markdown source as the reader sees it (``ui.md_text`` escapes with backslashes)."""
    return markdown.replace("\\", "")


def texts(at: AppTest) -> str:
    parts = [
        plain(str(e.value))
        for kind in ("markdown", "caption", "info", "warning", "error", "success", "title")
        for e in getattr(at, kind)
    ]
    parts += [h.proto.body for h in at.get("html")]
    parts += [d.value.to_csv() for d in at.dataframe]
    return "\n".join(parts)


def buttons(at: AppTest) -> set[str]:
    return {b.key or b.label for b in at.button}


def audit_rows(**filters: Any) -> list[dict[str, Any]]:
    from dashboard import state
    from data import audit

    log = audit.read_log(state.store(), **filters)
    return log.to_dict("records")


def no_pii(text: str) -> bool:
    return not any(s in text for s in SECRETS)
