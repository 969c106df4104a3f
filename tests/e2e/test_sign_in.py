"""Signing in (#13) in a real browser, against a real OpenID Connect provider.

The provider is django-oidc-provider (``tests/oidc``), started on 127.0.0.1 with three
accounts; ``streamlit run dashboard/app.py`` gets a secrets file in a temporary folder
whose ``[auth]`` section points at the provider's discovery URL, and an access file
(``PRICEWAR_ACCESS_FILE``) that lets in a viewer and an analyst. Chromium signs in on the
provider's own login form. One provider and one signed-in server serve the whole module.

Two more servers run without sign-in configured: started with no ``--server.address``, it
must listen on loopback only; started on 0.0.0.0, it must let nobody in.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import secrets
import shutil
import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.streamlit_server import Server, free_port, run_streamlit
from tests import oidc
from tests.chromium import new_page as fresh_page
from tests.chromium import settle
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

_missing = oidc.is_available()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

VIEWER = oidc.User("vera@example.com", "vera-" + secrets.token_hex(8))
ANALYST = oidc.User("ana@example.com", "ana-" + secrets.token_hex(8))
STRANGER = oidc.User("sam@elsewhere.org", "sam-" + secrets.token_hex(8))
CLIENT_ID = "price-war-room"

PAGE_TITLES = [
    "Overview",
    "Entities",
    "Signals",
    "Batch tagging",
    "Pricing what-if",
    "Price war & positioning",
    "Scenarios",
]


@dataclass
class SignInSetup:
    server: Server
    provider: oidc.Provider

    @property
    def url(self) -> str:
        return self.server.url


def _env(db: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PRICEWAR_DB": str(db),
        "PRICEWAR_AUTOTAG": "0",
        "PRICEWAR_INBOX_SECONDS": "2",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONWARNINGS": "ignore",
        **extra,
    }
    for name in ("PRICEWAR_ALLOW", "PRICEWAR_ANALYSTS", "PRICEWAR_ADMINS"):
        env.pop(name, None)  # only the test's access file decides
    return env


def _copy_db(e2e_demo_db: Path, folder: Path) -> Path:
    """A copy of the shared small demo database for one server (one process per file)."""
    db = folder / "app.duckdb"
    shutil.copy(e2e_demo_db, db)
    return db


@pytest.fixture(scope="module")
def signin(tmp_path_factory: pytest.TempPathFactory, e2e_demo_db: Path) -> Iterator[SignInSetup]:
    """The provider and ``streamlit run dashboard/app.py`` configured against it."""
    folder = tmp_path_factory.mktemp("signin")
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/oauth2callback"
    client_secret = secrets.token_urlsafe(24)
    client = oidc.OidcClient(CLIENT_ID, client_secret, [redirect_uri], [redirect_uri])
    with oidc.run_provider(folder / "provider", [VIEWER, ANALYST, STRANGER], [client]) as provider:
        secrets_file, access_file = oidc.write_sign_in_files(
            folder,
            redirect_uri=redirect_uri,
            cookie_secret=secrets.token_urlsafe(32),
            client_id=CLIENT_ID,
            client_secret=client_secret,
            metadata_url=provider.discovery_url,
            allow=[VIEWER.email],
            analysts=[ANALYST.email],
        )
        db = _copy_db(e2e_demo_db, folder)
        env = _env(db, PRICEWAR_ACCESS_FILE=str(access_file))
        try:
            with run_streamlit(
                db,
                env,
                log=folder / "streamlit.log",
                port=port,
                secrets=secrets_file,
                keep_log=ARTIFACTS / "streamlit-signin.log",
            ) as server:
                yield SignInSetup(server, provider)
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(provider.log, ARTIFACTS / "oidc-provider.log")


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser page with no cookies (no app server of conftest's: each test has its own)."""
    with fresh_page(browser) as pg:
        yield pg


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_errors(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.dialogs == []


def sign_in_button(page):
    return page.get_by_role("button", name="Sign in", exact=True)


def sign_out_button(page):
    return page.get_by_role("button", name="Sign out", exact=True)


def shows_no_dashboard(page) -> None:
    """None of the pages' content: no navigation, no page title, no metric, no uploader."""
    assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0
    for title in PAGE_TITLES:
        assert page.locator("h1", has_text=re.compile(f"^{re.escape(title)}$")).count() == 0
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.locator('input[type="file"]').count() == 0


def open_signed_out(page, url: str) -> None:
    page.goto(url)
    sign_in_button(page).wait_for(timeout=90_000)
    settle(page)


def sign_in(page, setup: SignInSetup, user: oidc.User) -> None:
    """Sign in as ``user`` on the provider's login form, back to the dashboard."""
    open_signed_out(page, setup.url)
    sign_in_button(page).click()
    page.wait_for_url(re.compile(re.escape(setup.provider.url) + r"/accounts/login/"))
    page.get_by_label("Username").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in", exact=True).click()  # the provider's form
    page.wait_for_url(re.compile(re.escape(setup.url) + r"/"), timeout=60_000)
    sign_out_button(page).wait_for(timeout=90_000)
    settle(page)
    # app.py keeps Streamlit's plain cookie (only serve.py sets __Host- ones:
    # dashboard.host_signin, tested in tests/reliability/test_host_signin.py)
    held = {c["name"] for c in page.context.cookies() if "_streamlit_user" in c["name"]}
    assert "_streamlit_user" in held, sorted(held)
    assert not any(n.startswith("__Host-") for n in held), sorted(held)


def test_signed_out_visitor_sees_only_sign_in(page, signin: SignInSetup) -> None:
    for path in ("", "batch-tagging", "scenarios"):
        open_signed_out(page, f"{signin.url}/{path}")
        shows_no_dashboard(page)
        assert sign_out_button(page).count() == 0
        no_errors(page)
    shot(page, "signin-signed-out")


def test_viewer_sees_the_pages_but_no_uploader(page, signin: SignInSetup) -> None:
    sign_in(page, signin, VIEWER)
    page.locator("h1", has_text="Overview").wait_for()
    nav = page.locator('[data-testid="stSidebarNavLink"]')
    assert nav.count() == len(PAGE_TITLES), nav.all_inner_texts()
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert VIEWER.email in sidebar.inner_text()
    assert re.search(r"\bviewer\b", sidebar.inner_text(), re.IGNORECASE)
    assert sidebar.get_by_role("button", name="Sign out", exact=True).count() == 1
    no_errors(page)
    shot(page, "signin-viewer-overview")
    nav.filter(has_text="Batch tagging").click()
    page.locator("h1", has_text="Batch tagging").wait_for()
    settle(page)
    assert page.locator('input[type="file"]').count() == 0
    assert page.get_by_role("button", name=re.compile("Check and import")).count() == 0
    assert page.get_by_text(re.compile("analyst role")).count() >= 1
    no_errors(page)
    shot(page, "signin-viewer-batch-tagging")


def test_analyst_uploads_a_file(page, signin: SignInSetup, tmp_path: Path) -> None:
    sign_in(page, signin, ANALYST)
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert ANALYST.email in sidebar.inner_text()
    assert re.search(r"\banalyst\b", sidebar.inner_text(), re.IGNORECASE)
    marker = f"signin-{secrets.token_hex(4)}"
    csv = tmp_path / f"{marker}.csv"
    csv.write_text(
        f"id,text\n{marker}-1,Ticket {marker}: we compare Acme and OpenAI prices\n",
        encoding="utf-8",
    )
    page.goto(f"{signin.url}/batch-tagging")
    page.locator("h1", has_text="Batch tagging").wait_for(timeout=90_000)
    settle(page)
    page.locator('input[type="file"]').set_input_files(str(csv))
    page.get_by_role("button", name=re.compile("Check and import")).click()
    page.wait_for_selector("text=Import done", timeout=90_000)
    settle(page)
    report = page.locator('[data-testid="stDataFrame"]').first
    report.wait_for()
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    no_errors(page)
    shot(page, "signin-analyst-upload")


def test_user_not_on_the_list_is_refused(page, signin: SignInSetup) -> None:
    sign_in(page, signin, STRANGER)
    page.get_by_text(re.compile("not on the access list")).first.wait_for()
    shows_no_dashboard(page)
    no_errors(page)
    shot(page, "signin-refused")
    page.goto(f"{signin.url}/batch-tagging")  # a deep link lets them in no further
    page.get_by_text(re.compile("not on the access list")).first.wait_for(timeout=90_000)
    settle(page)
    shows_no_dashboard(page)


def test_sign_out_ends_the_session(page, signin: SignInSetup) -> None:
    sign_in(page, signin, VIEWER)
    assert any(c["name"] == "oidc_op_session" for c in page.context.cookies())
    sign_out_button(page).click()
    sign_in_button(page).wait_for(timeout=90_000)
    settle(page)
    shows_no_dashboard(page)
    names = {c["name"] for c in page.context.cookies()}
    assert not any("_streamlit_user" in n for n in names), names  # __Host- ones too
    assert "oidc_op_session" not in names, names  # the provider's session ended too
    page.reload()
    sign_in_button(page).wait_for(timeout=90_000)
    settle(page)
    shows_no_dashboard(page)
    page.goto(f"{signin.url}/batch-tagging")
    sign_in_button(page).wait_for(timeout=90_000)
    settle(page)
    shows_no_dashboard(page)
    no_errors(page)


# -- without sign-in configured -----------------------------------------------------------


def non_loopback_ipv4() -> str | None:
    """An IPv4 address of this machine other than loopback, or None when it has none."""
    candidates: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, contextlib.suppress(OSError):
        s.connect(("192.0.2.1", 9))  # UDP: chooses the outgoing address, sends nothing
        candidates.append(s.getsockname()[0])
    with contextlib.suppress(OSError):
        candidates += [
            i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        ]
    for address in candidates:
        ip = ipaddress.ip_address(address)
        if ip.is_loopback or ip.is_unspecified:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((address, 0))  # really one of ours
            except OSError:
                continue
        return address
    return None


def _health(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as r:
        return r.status


@pytest.fixture
def no_auth(tmp_path: Path, e2e_demo_db: Path) -> dict[str, object]:
    """Arguments for a server with no sign-in configured (an empty secrets file of its own,
    so a developer's ``.streamlit/secrets.toml`` cannot change the outcome)."""
    empty = tmp_path / "secrets.toml"
    empty.write_text("", encoding="utf-8")
    db = _copy_db(e2e_demo_db, tmp_path)
    missing = tmp_path / "no-access.toml"  # no access file either: local mode needs none
    return {
        "db": db,
        "env": _env(db, PRICEWAR_ACCESS_FILE=str(missing)),
        "secrets": empty,
        "log": tmp_path / "streamlit.log",
    }


def test_without_sign_in_the_server_listens_on_loopback_only(no_auth) -> None:
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    with run_streamlit(
        **no_auth,
        address=None,  # type: ignore[arg-type]
        keep_log=ARTIFACTS / "streamlit-loopback.log",
    ) as server:
        port = int(server.url.rsplit(":", 1)[1])
        assert _health(server.url) == 200
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, port), timeout=5).close()


def test_exposed_without_sign_in_lets_nobody_in(page, no_auth) -> None:
    address = non_loopback_ipv4()
    with run_streamlit(
        **no_auth,
        address="0.0.0.0",  # type: ignore[arg-type]
        keep_log=ARTIFACTS / "streamlit-exposed.log",
    ) as server:
        port = int(server.url.rsplit(":", 1)[1])
        if address is not None:  # the loopback-only check above is not a network quirk
            assert _health(f"http://{address}:{port}") == 200
        page.goto(server.url)
        page.get_by_text(re.compile("sign-in is not configured")).first.wait_for(timeout=90_000)
        settle(page)
        shows_no_dashboard(page)
        assert sign_in_button(page).count() == 0
        no_errors(page)
        shot(page, "signin-exposed-without-auth")
