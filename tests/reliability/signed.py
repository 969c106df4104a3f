"""A real ``streamlit run`` with sign-in configured, and light sessions signed in to it.

Each user is a :class:`SignedSession` (:class:`bench.light_client.LightSession`: Streamlit's
own protobuf messages over its websocket) carrying the identity cookie Streamlit itself signs
with the secrets file's ``cookie_secret`` (what a browser holds after signing in), so the app
reads ``st.user`` exactly as after a real sign-in and the access file gives the role. Used by
the attack rounds that forge events no browser page would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

from bench.light_client import LightSession
from bench.streamlit_server import Server, free_port, run_streamlit
from tests import oidc
from tests.reliability.conftest import ARTIFACTS, cli_env, copy_db, run_coroutine

VIEWER, ANALYST, ADMIN = "vera@example.com", "ana@example.com", "boss@example.com"
COOKIE_SECRET = "round15-cookie-secret-0123456789abcdef"


def identity_claims(email: str, origin: str, **changes: Any) -> dict[str, Any]:
    """The claims Streamlit keeps in its identity cookie after ``email`` signed in through
    ``origin``; a change to None drops the claim."""
    out: dict[str, Any] = {
        "origin": origin,
        "is_logged_in": True,
        "email": email,
        "email_verified": True,
        "name": email.split("@")[0],
        "iat": int(time.time()),
    }
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def signed_identity(cookie_secret: str, origin: str, email: str) -> str:
    """The ``_streamlit_user`` value Streamlit signs with ``cookie_secret`` once ``email``
    signed in at ``origin`` (:func:`identity_claims`; signed under the plain name, whichever
    name the browser holds it under)."""
    claims = json.dumps(identity_claims(email, origin))
    return create_signed_value(cookie_secret, "_streamlit_user", claims).decode()


def heard_addresses(s: LightSession) -> list[str]:
    """The addresses (query strings) the server writes for session ``s`` from now on, in
    order, in the list returned (filled as the session's messages arrive)."""
    heard: list[str] = []
    handle = s._handle

    def _handle(msg: Any) -> None:
        if msg.WhichOneof("type") == "page_info_changed":
            heard.append(msg.page_info_changed.query_string)
        handle(msg)

    s._handle = _handle  # type: ignore[method-assign]
    return heard


class SignedSession(LightSession):
    """A light session whose websocket carries a signed-in identity cookie for ``email``, or
    the ``sign_in_cookies`` given instead (a ``Cookie`` header's text after the XSRF
    cookie: what a browser holding planted cookies sends). The identity is sent under both
    names a browser may hold it under, with the same value: ``__Host-_streamlit_user``
    (``serve.py`` on a loopback or https ``redirect_uri``: ``dashboard.host_signin``, which
    drops the plain one) and ``_streamlit_user`` (``app.py``, or plain http elsewhere, where
    the ``__Host-`` one is not read)."""

    def __init__(
        self, base_url: str, email: str, *, sign_in_cookies: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(base_url, **kwargs)
        self.email = email
        self.sign_in_cookies = sign_in_cookies

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        for name, value in await asyncio.to_thread(self._http, "GET", "/_stcore/health"):
            if name.lower() == "set-cookie" and value.startswith("_streamlit_xsrf="):
                self._xsrf = value.split(";", 1)[0].split("=", 1)[1].strip('"')
        value = signed_identity(COOKIE_SECRET, self.base_url, self.email)
        sign_in = self.sign_in_cookies or f"_streamlit_user={value}; __Host-_streamlit_user={value}"
        self._cookie = f"_streamlit_xsrf={self._xsrf}; {sign_in}"
        self._ws = await connect(
            "ws" + self.base_url[4:] + "/_stcore/stream",
            subprotocols=["streamlit", self._xsrf],
            additional_headers={"Origin": self.base_url, "Cookie": self._cookie},
            max_size=None,
            open_timeout=self.timeout,
            ping_interval=None,
        )
        self._reader = asyncio.create_task(self._read(), name="signed-session-reader")


@dataclass
class SignedServer:
    """A running server and the store it serves."""

    server: Server
    db: Path

    @property
    def url(self) -> str:
        return self.server.url


@contextlib.contextmanager
def signed(
    folder: Path,
    demo_db: Path,
    prepare: Callable[[Path], None] | None = None,
    redirect_host: str = "127.0.0.1",
    **env: str,
) -> Iterator[SignedServer]:
    """``streamlit run dashboard/app.py`` on a copy of ``demo_db`` in ``folder`` (first
    changed by ``prepare``), with sign-in configured (:data:`VIEWER`, :data:`ANALYST` and
    :data:`ADMIN` in the access file) and ``env`` added to its environment.
    ``redirect_host``: the host of ``[auth] redirect_uri`` (the deployment's public URL;
    the sessions still connect to 127.0.0.1, and Streamlit checks a sign-in cookie's origin
    against the websocket's ``Origin``, not this)."""
    db = copy_db(demo_db, folder / "db.duckdb")
    if prepare is not None:
        prepare(db)
    port = free_port()
    secrets_file, access_file = oidc.write_sign_in_files(
        folder,
        redirect_uri=f"http://{redirect_host}:{port}/oauth2callback",
        cookie_secret=COOKIE_SECRET,
        client_id="price-war-room",
        client_secret="not-a-secret",
        # never fetched: nobody presses "Sign in" (the identity cookie is already there)
        metadata_url="http://127.0.0.1:9/.well-known/openid-configuration",
        allow=[VIEWER],
        analysts=[ANALYST],
        admins=[ADMIN],
        prompt_login=False,
    )
    server_env = cli_env(
        PRICEWAR_DB=str(db),
        PRICEWAR_AUTOTAG="0",
        PRICEWAR_INBOX_SECONDS="1",
        PRICEWAR_ACCESS_FILE=str(access_file),
        **env,
    )
    for name in ("PRICEWAR_ALLOW", "PRICEWAR_ANALYSTS", "PRICEWAR_ADMINS"):
        server_env.pop(name, None)
    with run_streamlit(
        db,
        server_env,
        log=folder / "streamlit.log",
        port=port,
        secrets=secrets_file,
        keep_log=ARTIFACTS / f"streamlit-{folder.name}.log",
    ) as server:
        yield SignedServer(server, db)


def run(coro: Any) -> Any:
    """Run ``coro`` to its end in a thread of its own (see ``conftest.run_coroutine``)."""
    return run_coroutine(coro)


@contextlib.asynccontextmanager
async def session(server: SignedServer, email: str) -> AsyncIterator[SignedSession]:
    """A signed-in session for ``email`` whose first page run showed no problem."""
    s = SignedSession(server.url, email, timeout=180)
    await s.connect()
    try:
        opened = await s.open()
        assert not opened.problems, opened.problems
        yield s
    finally:
        await s.close()
