"""Who may use the dashboard, and what each may do: access settings, roles, the current user.

Two modes, chosen by the server's settings (never by the visitor):

- **Sign-in** (Streamlit's OpenID Connect support is configured: ``.streamlit/secrets.toml``
  has an ``[auth]`` section with a ``server_metadata_url`` or provider subsections). Every
  visitor signs in with the identity provider (``st.login``); a signed-in user is let in
  only when their e-mail address is on the access list (:class:`AccessSettings`), with the
  role the list gives them.
- **Local** (no sign-in configured). The user is ``local:<OS user>`` with the ``admin``
  role, but only while the server listens on a loopback address and no proxy forwards the
  requests; otherwise nobody is let in (the page says that sign-in is not configured).

Roles are ordered, ``viewer < analyst < admin`` (:class:`Role`). Pages hide what a role may
not do, and every write action checks again with :func:`require` inside the action itself,
so a crafted rerun cannot reach it. A refusal raises :class:`AccessDenied` (pages show its
message) and leaves an ``access_denied`` row in the audit trail.

Exceptions::

    AccessError
    ├── AccessSettingsError   the access file or an environment variable cannot be used
    └── AccessDenied          the current user's role does not allow an action

Settings (``PRICEWAR_ACCESS_FILE``, default ``.streamlit/access.toml`` under the repository
root)::

    allow = ["@example.com", "contractor@gmail.com"]   # everyone here is at least a viewer
    analysts = ["ana@example.com"]                     # uploads, tagging, shards, scenarios
    admins = ["boss@example.com"]                      # also the audit trail and settings

``PRICEWAR_ALLOW``, ``PRICEWAR_ANALYSTS`` and ``PRICEWAR_ADMINS`` (comma-separated) add to
the file's lists. The file is re-read when it changes (cached by modification time), so an
edit takes effect on the next page run, without a restart.

Where each part lives (this module re-exports their public names, and keeps the current
user, the sign-out record and the checks inside the actions): ``dashboard.access_roles``
(roles, users, the exceptions), ``dashboard.access_settings`` (the access lists and their
file), ``dashboard.access_mode`` (sign-in or local mode, local mode's exposure checks) and
``dashboard.access_signouts`` (the sign-out file).

Example:
    >>> s = AccessSettings.from_toml('allow = ["@example.com"]\\nadmins = ["boss@example.com"]')
    >>> s.role_for("Ann@Example.com"), s.role_for("boss@example.com"), s.role_for("x@evil.com")
    (<Role.VIEWER: 1>, <Role.ADMIN: 3>, None)
"""

from __future__ import annotations

import getpass
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dashboard.access_mode import (
    FORWARDED_HEADERS,
    auth_providers,
    exposure,
    is_loopback,
    is_loopback_host,
)
from dashboard.access_roles import (
    AccessDenied,
    AccessError,
    AccessSettingsError,
    Role,
    Status,
    User,
)
from dashboard.access_settings import (
    ACCESS_FILE_ENV,
    ENV_LISTS,
    MAX_ACCESS_FILE_BYTES,
    AccessSettings,
    actors,
    entry_matches,
    fold_address,
    read_settings,
)
from dashboard.access_signouts import (
    MAX_SIGN_OUT_FILE_BYTES,
    MAX_SIGN_OUTS,
    SIGN_OUT_FILE_ENV,
    issued_at,
    read_sign_outs,
    sign_out_file,
    write_sign_out,
)

__all__ = [
    "ACCESS_FILE_ENV",
    "DEFAULT_ACCESS_FILE",
    "ENV_LISTS",
    "FORWARDED_HEADERS",
    "MAX_ACCESS_FILE_BYTES",
    "MAX_SIGN_OUTS",
    "MAX_SIGN_OUT_FILE_BYTES",
    "ROOT",
    "SIGN_OUT_FILE_ENV",
    "AccessDenied",
    "AccessError",
    "AccessSettings",
    "AccessSettingsError",
    "Role",
    "Status",
    "User",
    "access_file",
    "actors",
    "auth_providers",
    "current_user",
    "entry_matches",
    "exposure",
    "fold_address",
    "identity_user",
    "is_loopback",
    "is_loopback_host",
    "local_actor",
    "record_sign_out",
    "require",
    "settings",
    "sign_out_file",
]

log = logging.getLogger("dashboard.access")

#: The repository root.
ROOT = Path(__file__).resolve().parents[1]
#: The access file used when ``PRICEWAR_ACCESS_FILE`` is not set (it may be missing).
DEFAULT_ACCESS_FILE = ROOT / ".streamlit" / "access.toml"


def access_file(environ: Mapping[str, str] | None = None) -> Path:
    """The access file: ``$PRICEWAR_ACCESS_FILE`` or ``.streamlit/access.toml`` under the
    repository root."""
    environ = os.environ if environ is None else environ
    named = environ.get(ACCESS_FILE_ENV, "").strip()
    if not named:
        return DEFAULT_ACCESS_FILE
    try:
        return Path(named).expanduser()
    except RuntimeError:  # "~nosuchuser/…": no such user's home folder
        shown = named if len(named) <= 80 else named[:79] + "…"
        raise AccessSettingsError(
            f"{ACCESS_FILE_ENV}={shown!r}: no home folder for "
            f"{named.split('/', 1)[0]!r}; set it to a full path"
        ) from None


def settings(environ: Mapping[str, str] | None = None) -> AccessSettings:
    """The access settings in force: the access file plus the environment's additions.

    Cheap to call on every page run: the file is parsed again only when its modification
    time, size or the environment's lists change. A missing default file means empty lists;
    a file named by ``PRICEWAR_ACCESS_FILE`` must exist. The file is opened once, without
    blocking (``O_NONBLOCK``), and judged by ``fstat`` of that descriptor: a file swapped
    for a named pipe or a device after a check can neither block a page run nor be read.

    Raises:
        AccessSettingsError: the file is unreadable, too big, not a regular file, not TOML,
            has an unknown key or a bad entry (the message names the file and the key).
    """
    environ = os.environ if environ is None else environ
    return read_settings(access_file(environ), environ)


# -- the current user -------------------------------------------------------------------


def local_actor() -> str:
    """``local:<OS user>``: who acts in local mode and on the command line."""
    try:
        name = getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        name = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"local:{name}"


def _user_info() -> dict[str, Any]:
    import streamlit as st

    try:
        return dict(st.user.to_dict())
    except Exception:  # outside a session: nobody
        return {}


# -- sign-outs ------------------------------------------------------------------------------
#
# Why a sign-out is remembered, and the file that shares it: ``dashboard.access_signouts``.
# Here: the record in memory (by address, the latest ``iat`` signed out), under a lock that
# also guards the file's reads and writes.

_SIGNED_OUT: dict[str, float] = {}
_SIGNED_OUT_LOCK = threading.Lock()


def record_sign_out() -> None:
    """Remember that the current session's identity signed out (see above); call it
    before ``st.logout``. Without an address or an ``iat`` claim nothing is recorded.
    Never raises: a sign-out file that cannot be written is logged, and the record in
    memory still holds for this process."""
    info = _user_info()
    raw, issued = info.get("email"), issued_at(info)
    if not isinstance(raw, str) or not raw.strip() or issued is None:
        return
    email = fold_address(raw)
    with _SIGNED_OUT_LOCK:
        _SIGNED_OUT[email] = max(issued, _SIGNED_OUT.get(email, issued))
        path = sign_out_file()
        if path is None:
            return
        try:
            write_sign_out(path, email, issued)
        except OSError as exc:
            log.error(
                "sign-out of %s not shared with other server processes (%s): %s",
                email,
                path,
                exc.strerror or exc,
            )


def _signed_out_elsewhere(email: str, info: Mapping[str, Any]) -> bool:
    """Whether this session's sign-in of ``email`` was ended by a sign-out in another
    session, in this server process or another (its token is no newer than the one signed
    out)."""
    issued = issued_at(info)
    if issued is None:  # without an iat it cannot be told
        return False
    with _SIGNED_OUT_LOCK:
        ended = _SIGNED_OUT.get(email)
        path = sign_out_file()
        shared = read_sign_outs(path).get(email) if path is not None else None
    ends = [t for t in (ended, shared) if t is not None]
    return bool(ends) and issued <= max(ends)


def _flag(value: Any) -> bool | None:
    """A claim that should be a boolean (some providers send "true"/"false" text)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def _unverified(info: Mapping[str, Any]) -> str | None:
    """Why the provider's claims do not vouch for the e-mail address, or None.

    A provider that sends no ``email_verified`` claim vouches for its addresses (Okta,
    Entra ID); one that sends it must send true (``true`` or the text "true"). False, null,
    0, "no", a list, anything else is an unverified address: never let in.
    """
    if "email_verified" not in info:
        return None
    value = info["email_verified"]
    if _flag(value) is True:
        return None
    if _flag(value) is False:
        return "is not verified by the identity provider"
    return (
        f"is not verified by the identity provider (its email_verified claim is "
        f"{str(value)[:40]!r}, not true)"
    )


def current_user() -> User:
    """The user of the current page run (see the module's docstring for the two modes).

    Never raises: unusable settings give a user who is not let in, with the reason.
    """
    try:
        providers = auth_providers()
    except AccessSettingsError as exc:
        return User(actor="unknown", role=None, status="misconfigured", message=str(exc))
    if providers is None:
        actor = local_actor()
        why = exposure()
        if why:
            return User(
                actor=actor,
                role=None,
                status="unprotected",
                message=f"This dashboard is reachable from other machines or sites ({why}), "
                "but sign-in is not configured, so nobody is let in. Configure "
                "sign-in (README: Sign-in, roles and deployment), or run it "
                'on this machine only (server.address = "127.0.0.1").',
            )
        return User(actor=actor, role=Role.ADMIN, name=actor.partition(":")[2], mode="local")
    from dashboard.signin_cookies import page_cookie_problem
    from dashboard.trusted_headers import trusted_header_problem

    # trusted user headers set (``serve.py`` refuses to start; ``streamlit run`` cannot), or
    # two different sign-in cookies, one perhaps planted for the parent domain (GAPS 17)
    problem = trusted_header_problem() or page_cookie_problem()
    if problem is not None:
        return User(
            actor="unknown",
            role=None,
            mode="oidc",
            status="misconfigured",
            message=problem,
            providers=providers,
        )
    return identity_user(_user_info(), providers)


def identity_user(info: Mapping[str, Any], providers: tuple[str | None, ...]) -> User:
    """The user of the identity claims ``info`` (what a session holds as ``st.user``) with
    sign-in configured for ``providers``: :func:`current_user`'s answer, also outside a
    page run (the upload endpoint's check, ``dashboard.upload_guard``). Never raises."""
    if _flag(info.get("is_logged_in")) is not True:
        return User(
            actor="anonymous",
            role=None,
            mode="oidc",
            status="signed_out",
            providers=providers,
            message="Sign in to open the dashboard.",
        )
    raw = info.get("email")
    email = fold_address(raw) if isinstance(raw, str) and raw.strip() else None
    name = str(info.get("name") or email or "unknown")
    signed = {
        "actor": email or "unknown",
        "email": email,
        "name": name,
        "mode": "oidc",
        "providers": providers,
    }
    if email is not None and _signed_out_elsewhere(email, info):
        return User(
            actor="anonymous",
            role=None,
            mode="oidc",
            status="signed_out",
            providers=providers,
            message=f"{email} signed out (in this browser or "
            "another window). Sign in again to open the dashboard.",
        )
    if email is None:
        return User(
            role=None,
            status="not_listed",
            message="The identity provider sent no "
            "e-mail address, so you are not on the access list.",
            **signed,
        )
    if (unverified := _unverified(info)) is not None:
        return User(
            role=None,
            status="not_listed",
            message=f"{email} {unverified}, so it is not on the access list.",
            **signed,
        )
    try:
        role = settings().role_for(email)
    except AccessSettingsError as exc:
        log.error("access settings unusable: %s", exc)
        return User(
            role=None,
            status="misconfigured",
            message=f"The access settings cannot "
            f"be used ({exc}); nobody is let in until an admin fixes them.",
            **signed,
        )
    if role is None:
        return User(
            role=None,
            status="not_listed",
            message=f"{email} is not on the access "
            "list of this dashboard. Ask an admin to add you, or sign out and sign in "
            "with another account.",
            **signed,
        )
    return User(role=role, **signed)


# -- checks inside the actions ----------------------------------------------------------


def require(
    role: Role,
    action: str,
    *,
    target: str | None = None,
    store: Any = None,
    user: User | None = None,
) -> User:
    """The current user, when their role is ``role`` or higher; else refuse.

    Call it inside every write action (the button's handler, not only where the button is
    drawn). A refusal records an ``access_denied`` row in the audit trail (``target``:
    the refused action, ``detail``: its own target and the role it needs) and raises.

    Args:
        role: the least role the action needs.
        action: the audit action (``data.audit.UPLOAD`` …), used in the message and the row.
        target: what the action was about (a file or scenario name), for the audit row.
        store: the store to record in (default: the app's store, when it is open).
        user: the user (default: :func:`current_user`).

    Raises:
        AccessDenied: the role is too low (or the user is not let in at all).
    """
    user = current_user() if user is None else user
    if user.can(role):
        return user
    detail = f"needs {role.label}" + (f"; target {target}" if target else "")
    log.warning("access denied: %s (%s) tried %s: %s", user.actor, user.role_label, action, detail)
    _record_denied(user, action, detail, store)
    raise AccessDenied(user, role, action)


def _record_denied(user: User, action: str, detail: str, store: Any) -> None:
    try:
        from data import audit

        if store is None:
            from dashboard import state

            app = state.app_state()
            store = app.store if app.ready else None
        if store is None:
            return
        audit.record(
            store,
            actor=user.actor,
            action=audit.ACCESS_DENIED,
            target=action,
            detail=detail,
            role=user.role_label,
        )
    except Exception:  # the refusal stands even when it cannot be written down
        log.exception("could not record the refusal of %s to %s", user.actor, action)
