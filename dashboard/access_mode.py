"""The server's mode (``dashboard.access``): sign-in, when Streamlit's OpenID Connect
support is configured in the secrets, else local mode, which is safe only while the server
and the request are this machine's alone (:func:`exposure`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dashboard.access_roles import AccessSettingsError

__all__ = [
    "FORWARDED_HEADERS",
    "auth_providers",
    "exposure",
    "is_loopback",
    "is_loopback_host",
]

#: The secrets file Streamlit reads when its option does not say (the usual place).
_SECRETS_FILE = Path(__file__).resolve().parents[1] / ".streamlit" / "secrets.toml"
#: Request headers that say a proxy forwarded the request (local mode refuses them).
FORWARDED_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")


def _secrets() -> Any:
    import streamlit as st

    return st.secrets  # looked up on every call: AppTest swaps it for its own


def auth_providers() -> tuple[str | None, ...] | None:
    """The sign-in providers configured for ``st.login``, or None when sign-in is not
    configured (local mode).

    ``(None,)`` is the unnamed default provider (``server_metadata_url`` in ``[auth]``);
    ``("okta", …)`` are named providers (``[auth.okta]`` subsections).

    Raises:
        AccessSettingsError: a secrets file exists but cannot be read, or ``[auth]`` names
            no provider (sign-in was meant, but cannot work).
    """
    secrets = _secrets()
    try:
        section = secrets.get("auth") if "auth" in secrets else None
    except Exception as exc:  # StreamlitSecretNotFoundError: no file, or an unreadable one
        if any(Path(p).expanduser().is_file() for p in _secret_files()):
            raise AccessSettingsError(
                f"the secrets file cannot be read ({type(exc).__name__}): sign-in is not "
                "configured until it is fixed"
            ) from None
        return None
    if section is None:
        return None
    if not isinstance(section, Mapping):
        raise AccessSettingsError(
            "[auth] in the secrets must be a section: sign-in is not configured"
        )
    providers: list[str | None] = []
    if "server_metadata_url" in section:
        providers.append(None)
    providers += sorted(
        name
        for name, value in section.items()
        if isinstance(value, Mapping) and name != "client_kwargs"
    )
    if not providers:
        raise AccessSettingsError(
            "the [auth] section of the secrets names no provider "
            "(server_metadata_url): sign-in is not configured"
        )
    return tuple(providers)


def _secret_files() -> list[str]:
    try:
        import streamlit as st

        return [str(p) for p in (st.get_option("secrets.files") or [])]
    except Exception:  # an unknown option in another Streamlit: the usual place
        return [str(_SECRETS_FILE)]


def is_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` is reachable from this machine only.

    None or empty (Streamlit's default) means every interface: not loopback.

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0"), is_loopback(None)
        (True, True, False, False)
    """
    text = (address or "").strip().strip("[]").lower()
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def _headers() -> Mapping[str, str]:
    try:
        import streamlit as st

        return {str(k).lower(): str(v) for k, v in (st.context.headers or {}).items()}
    except Exception:  # outside a session: no request
        return {}


def exposure() -> str | None:
    """Why local mode would be reachable by others, or None when it is not.

    Local mode is safe only when the server listens on a loopback address
    (``server.address``, set in ``.streamlit/config.toml``), the request was not forwarded
    by a proxy (which would let the proxy's users in as the local admin), and it was
    addressed to a loopback name (:func:`is_loopback_host`), not to another site's DNS name
    pointed at this machine (DNS rebinding).
    """
    from streamlit import config  # st.get_option's own source (patchable in tests)

    address = config.get_option("server.address")
    if not is_loopback(address):
        return (
            f"the server listens on {address}"
            if address
            else "the server listens on every network interface (server.address is not set)"
        )
    headers = _headers()
    forwarded = [h for h in FORWARDED_HEADERS if h in headers]
    if forwarded:
        return f"the request came through a proxy ({forwarded[0]} header)"
    host = headers.get("host")
    if host is not None and not is_loopback_host(host):
        return (
            f"the request was addressed to {host[:100]!r}, not to a loopback name such as "
            "localhost or 127.0.0.1: a web page may be using a DNS name that points to this "
            "machine (DNS rebinding); open the dashboard as http://localhost:PORT"
        )
    return None


def is_loopback_host(host: str) -> bool:
    """Whether a request's ``Host`` header names this machine's loopback interface by a name
    no one else can point here: ``localhost`` (and ``*.localhost``) or a loopback address,
    with or without a port. Any other name, even one that resolves to 127.0.0.1, may be a
    web page's own DNS name rebound to this machine: its scripts would then drive the local
    admin's dashboard (reset data, read tickets) from the visitor's browser.

    Example:
        >>> [is_loopback_host(h) for h in ("localhost:8501", "127.0.0.1", "[::1]:8501",
        ...                                "rebind.example:8501", "127.0.0.1.nip.io")]
        [True, True, True, False, False]
    """
    text = host.strip().lower()
    if text.startswith("["):
        name = text[1 : text.find("]")] if "]" in text else text
    else:
        name = text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    name = name.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
