"""Price War Room with its guards in place before the first connection:
``streamlit run dashboard/serve.py`` (same options, same pages as ``dashboard/app.py``).

``streamlit run dashboard/app.py`` runs no project code until a page runs, so the upload
guard (``dashboard.upload_guard``: files only from analysts' and admins' sessions, bounded
per session and server) is installed by the process's first page run. Until then, on a
freshly started server, Streamlit's upload endpoint keeps every file any open websocket
sends, without sign-in and without bound (round 16 drops them when the guard is installed;
round 18: a visitor could fill the memory first).

Streamlit serves a script that builds an ``st.App`` with uvicorn, and runs the app's
lifespan after its runtime has started and before it accepts a connection: this one
installs the guards there (:func:`guards`), then serves ``dashboard/app.py`` as before
(which installs them too, a no-op then).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware

from dashboard import signin_cookies, trusted_headers, upload_guard, upload_sender, widget_bounds
from dashboard.host_signin import HostOnlySignIn


@contextlib.asynccontextmanager
async def guards(_app: Any) -> AsyncIterator[None]:
    """The lifespan: the upload guard and the widget bounds, before the first request; no
    start with ``server.trustedUserHeaders`` set (``dashboard.trusted_headers``)."""
    if (problem := trusted_headers.trusted_header_problem()) is not None:
        raise RuntimeError(problem)
    if not upload_guard.install():
        raise RuntimeError("the upload guard could not be installed at server start")
    widget_bounds.install()
    yield None


if not __package__:
    # run by ``streamlit run`` (uvicorn imports this file as the top-level module "serve");
    # imported as ``dashboard.serve`` (pytest's doctest pass) it builds no app: an App sets
    # the process's main script
    app = st.App(
        str(Path(__file__).with_name("app.py")),
        lifespan=guards,
        middleware=[
            # sign-in (and sign-in start) cookies as __Host- cookies, which no other host can
            # set, plain ones dropped (dashboard.host_signin, GAPS 17); first, so the checks
            # below and Streamlit read only cookies this host set
            Middleware(HostOnlySignIn),
            # no request with two different sign-in cookies of one name, one of them
            # perhaps planted for the parent domain (dashboard.signin_cookies, GAPS 17)
            Middleware(signin_cookies.RepeatedSignInCookies),
            # an upload only from the user whose session it is for (dashboard.upload_sender)
            Middleware(upload_sender.UploadSenderCheck),
        ],
    )
