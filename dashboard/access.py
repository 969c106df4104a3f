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

Example:
    >>> s = AccessSettings.from_toml('allow = ["@example.com"]\\nadmins = ["boss@example.com"]')
    >>> s.role_for("Ann@Example.com"), s.role_for("boss@example.com"), s.role_for("x@evil.com")
    (<Role.VIEWER: 1>, <Role.ADMIN: 3>, None)
"""

from __future__ import annotations

import contextlib
import enum
import functools
import getpass
import ipaddress
import logging
import math
import os
import threading
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any, Literal

__all__ = [
    "ACCESS_FILE_ENV",
    "ENV_LISTS",
    "AccessDenied",
    "AccessError",
    "AccessSettings",
    "AccessSettingsError",
    "Role",
    "User",
    "access_file",
    "auth_providers",
    "current_user",
    "entry_matches",
    "exposure",
    "fold_address",
    "is_loopback",
    "local_actor",
    "record_sign_out",
    "require",
    "settings",
    "sign_out_file",
]

log = logging.getLogger("dashboard.access")

ROOT = Path(__file__).resolve().parents[1]
#: Environment variable naming the access file.
ACCESS_FILE_ENV = "PRICEWAR_ACCESS_FILE"
#: The access file used when ``PRICEWAR_ACCESS_FILE`` is not set (it may be missing).
DEFAULT_ACCESS_FILE = ROOT / ".streamlit" / "access.toml"
#: The lists of the access file and the environment variables that add to each.
ENV_LISTS: dict[str, str] = {
    "allow": "PRICEWAR_ALLOW",
    "analysts": "PRICEWAR_ANALYSTS",
    "admins": "PRICEWAR_ADMINS",
}
#: Largest access file read (a list of addresses; anything bigger is a mistake).
MAX_ACCESS_FILE_BYTES = 1 << 20
#: Request headers that say a proxy forwarded the request (local mode refuses them).
FORWARDED_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")


# -- exceptions -------------------------------------------------------------------------


class AccessError(Exception):
    """Base class of the errors of this module."""


class AccessSettingsError(AccessError):
    """The access settings cannot be used; the message names the file (or variable) and key."""


class AccessDenied(AccessError):
    """The current user's role does not allow ``action``; the message says so in words.

    Attributes:
        user: who tried.
        needed: the least role the action needs.
        action: the audit action that was refused (e.g. ``"upload"``).
    """

    def __init__(self, user: User, needed: Role, action: str) -> None:
        self.user = user
        self.needed = needed
        self.action = action
        held = f"the {user.role.label} role" if user.role is not None else "no access"
        super().__init__(
            f"You have {held}, which may not {_words(action)}: that needs the "
            f"{needed.label} role. Ask an admin if you need it."
        )


# -- roles ------------------------------------------------------------------------------


class Role(enum.IntEnum):
    """What a user may do; a higher role may do everything a lower one may.

    - ``VIEWER``: read every page and download what it shows (customer data masked);
    - ``ANALYST``: also upload files, start and stop tagging, load entity shards, save and
      delete scenarios (sees ticket text unmasked);
    - ``ADMIN``: also the audit trail, the access settings and data resets.

    Example:
        >>> Role.VIEWER < Role.ANALYST < Role.ADMIN, Role.parse("Analyst").label
        (True, 'analyst')
    """

    VIEWER = 1
    ANALYST = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        """The role's name in lower case, as pages and the audit trail write it."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named ``text`` (case-insensitive).

        Raises:
            ValueError: no role has that name.
        """
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {text!r} (viewer, analyst or admin)") from None


# -- settings ---------------------------------------------------------------------------


#: A-Z to a-z and nothing else: ``str.lower`` also maps characters outside ASCII onto
#: ASCII letters (the Kelvin sign U+212A becomes "k"), which would let ``x@\u212apmg.com``, an
#: address of another (internationalised) domain, in as ``x@kpmg.com``.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_address(text: str) -> str:
    """``text`` without surrounding white space and with ASCII letters in lower case; every
    other character is kept as it is, so only the same address in another ASCII case
    matches (never an address that merely lower-cases or normalises to it).

    Example:
        >>> fold_address(" Ann@Example.COM "), fold_address("x@\u212apmg.com") == "x@kpmg.com"
        ('ann@example.com', False)
    """
    return text.strip().translate(_ASCII_LOWER)


def _normalise_entry(entry: object, where: str) -> str:
    """An access-list entry in lower case (ASCII letters only): an e-mail address or
    ``@domain``.

    Raises:
        AccessSettingsError: ``entry`` is not text, or neither form; names ``where``.
    """
    if not isinstance(entry, str):
        raise AccessSettingsError(
            f"{where}: entries must be text (an e-mail address or "
            f"@domain), not {type(entry).__name__}"
        )
    text = fold_address(entry)
    local, at, domain = text.rpartition("@")
    valid = (
        bool(at)
        and bool(domain)
        and "@" not in local
        and not text.endswith(".")
        and not any(c.isspace() or c in ',;<>"' for c in text)
        and not domain.startswith(".")
        and ".." not in domain
    )
    if not valid:
        raise AccessSettingsError(
            f"{where}: {entry[:80]!r} is neither an e-mail address "
            "(name@example.com) nor a domain (@example.com)"
        )
    return text


def entry_matches(email: str, entry: str) -> bool:
    """Whether ``email`` is let in by the (normalised) access-list ``entry``.

    An address entry matches that address; a domain entry ``@example.com`` matches every
    address of exactly that domain (not ``a@evil-example.com``, not ``a@example.com.evil.org``,
    not ``a@sub.example.com``). The case of ASCII letters does not matter; other characters
    must be the same (:func:`fold_address`).

    Example:
        >>> entry_matches("Ann@Example.COM", "@example.com"), entry_matches(
        ...     "ann@evil-example.com", "@example.com")
        (True, False)
    """
    address = fold_address(email)
    if not address or "@" not in address:
        return False
    if entry.startswith("@"):
        return address.rpartition("@")[2] == entry[1:]
    return address == entry


@dataclass(frozen=True)
class AccessSettings:
    """Who is let in, and with which role (each list: e-mail addresses and ``@domain``\\ s).

    Attributes:
        allow: let in as viewers (at least).
        analysts: let in as analysts (even when not in ``allow``).
        admins: let in as admins (even when not in ``allow``).
        source: where the settings came from (for messages).
    """

    allow: tuple[str, ...] = ()
    analysts: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()
    source: str = ""

    @classmethod
    def from_toml(cls, text: str, source: str = "<text>") -> AccessSettings:
        """Settings from the text of an access file.

        Raises:
            AccessSettingsError: not TOML, an unknown key, a list that is not a list of
                entries or a bad entry; the message names ``source`` and the key.
        """
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise AccessSettingsError(f"{source} is not valid TOML: {exc}") from None
        return cls.from_mapping(data, source)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<settings>") -> AccessSettings:
        """Settings from a parsed access file (see :meth:`from_toml`)."""
        unknown = sorted(set(data) - set(ENV_LISTS))
        if unknown:
            raise AccessSettingsError(
                f"{source}: unknown key {unknown[0]!r} (the keys are allow, analysts, admins)"
            )
        lists: dict[str, tuple[str, ...]] = {}
        for key in ENV_LISTS:
            value = data.get(key, [])
            if not isinstance(value, list):
                raise AccessSettingsError(
                    f"{source}: {key} must be a list of e-mail addresses "
                    f"and @domains, not {type(value).__name__}"
                )
            lists[key] = tuple(
                dict.fromkeys(_normalise_entry(v, f"{source}: {key}") for v in value)
            )
        return cls(source=source, **lists)

    def with_env(self, environ: Mapping[str, str] | None = None) -> AccessSettings:
        """These settings plus the entries of ``PRICEWAR_ALLOW``, ``PRICEWAR_ANALYSTS`` and
        ``PRICEWAR_ADMINS`` (comma-separated; empty items are ignored).

        Raises:
            AccessSettingsError: a bad entry; the message names the variable.
        """
        environ = os.environ if environ is None else environ
        lists = {key: getattr(self, key) for key in ENV_LISTS}
        used = []
        for key, name in ENV_LISTS.items():
            raw = environ.get(name, "")
            extra = [_normalise_entry(item, name) for item in raw.split(",") if item.strip()]
            if extra:
                used.append(name)
                lists[key] = tuple(dict.fromkeys([*lists[key], *extra]))
        source = " + ".join([s for s in [self.source, *used] if s])
        return AccessSettings(source=source, **lists)

    @property
    def empty(self) -> bool:
        """True when nobody at all is on the lists (then nobody is let in)."""
        return not (self.allow or self.analysts or self.admins)

    def role_for(self, email: str | None) -> Role | None:
        """The highest role the lists give ``email``; None when it is on none of them."""
        if not email:
            return None
        for role, entries in (
            (Role.ADMIN, self.admins),
            (Role.ANALYST, self.analysts),
            (Role.VIEWER, self.allow),
        ):
            if any(entry_matches(email, e) for e in entries):
                return role
        return None


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
    path = access_file(environ)
    env = tuple(environ.get(name, "") for name in ENV_LISTS.values())
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        if environ.get(ACCESS_FILE_ENV, "").strip():
            raise AccessSettingsError(f"{path}: no such file ({ACCESS_FILE_ENV})") from None
        return _env_only(env)
    except OSError as exc:  # a socket (ENXIO), no permission, a loop of links
        raise AccessSettingsError(f"{path} cannot be read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not S_ISREG(info.st_mode):
            # a FIFO blocked every page run for good; /dev/zero (size 0) was read until the
            # server ran out of memory
            raise AccessSettingsError(f"{path} is not a regular file ({ACCESS_FILE_ENV})")
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        key = (str(path), stamp, env)
        with _SETTINGS_LOCK:
            cached = _SETTINGS_CACHE.get(key)
        if cached is not None:
            return cached
        if info.st_size > MAX_ACCESS_FILE_BYTES:
            raise AccessSettingsError(
                f"{path} is {info.st_size:,} bytes (at most "
                f"{MAX_ACCESS_FILE_BYTES:,}): is it the right file?"
            )
        data = os.read(fd, MAX_ACCESS_FILE_BYTES + 1)  # never more, whatever it became
    except OSError as exc:
        raise AccessSettingsError(f"{path} cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_ACCESS_FILE_BYTES:
        raise AccessSettingsError(
            f"{path} is over {MAX_ACCESS_FILE_BYTES:,} bytes: is it the right file?"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise AccessSettingsError(
            f"{path} is UTF-16 text (as Windows editors save 'Unicode'); save it as UTF-8"
        )
    try:
        # a UTF-8 byte-order mark (Notepad's "UTF-8 with BOM", PowerShell 5's Out-File) is
        # no part of the TOML: read as a character, it made the file "not valid TOML (at line
        # 1, column 1)" and nobody was let in
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AccessSettingsError(f"{path} cannot be read: {exc}") from None
    result = AccessSettings.from_toml(text, str(path)).with_env(
        dict(zip(ENV_LISTS.values(), env, strict=True))
    )
    with _SETTINGS_LOCK:
        if len(_SETTINGS_CACHE) >= 16:
            _SETTINGS_CACHE.clear()
        _SETTINGS_CACHE[key] = result
    return result


#: Parsed access files by (path, stamp, environment lists): read again only when changed.
_SETTINGS_CACHE: dict[tuple[str, tuple[int, int, int], tuple[str, ...]], AccessSettings] = {}
_SETTINGS_LOCK = threading.Lock()


@functools.lru_cache(maxsize=16)
def _env_only(env: tuple[str, ...]) -> AccessSettings:
    """The settings without an access file: the environment's lists alone."""
    return AccessSettings().with_env(dict(zip(ENV_LISTS.values(), env, strict=True)))


# -- the server's mode ------------------------------------------------------------------


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
        return [str(ROOT / ".streamlit" / "secrets.toml")]


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


def local_actor() -> str:
    """``local:<OS user>``: who acts in local mode and on the command line."""
    try:
        name = getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        name = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"local:{name}"


# -- the current user -------------------------------------------------------------------

Status = Literal["allowed", "signed_out", "not_listed", "unprotected", "misconfigured"]


@dataclass(frozen=True)
class User:
    """The person behind the current page run.

    Attributes:
        actor: who acts, as the audit trail writes it: the e-mail address, or
            ``local:<OS user>`` in local mode.
        role: what they may do; None when they are not let in (see ``status``).
        email: the verified e-mail address (None in local mode or when signed out).
        name: a display name.
        mode: ``"oidc"`` (sign-in configured) or ``"local"``.
        status: ``allowed``, ``signed_out``, ``not_listed`` (signed in but not on the
            access list, or an unverified address), ``unprotected`` (local mode reachable by
            others) or ``misconfigured`` (settings unusable).
        message: why they are not let in, in words.
        providers: the sign-in providers (``None`` is the default one).
    """

    actor: str
    role: Role | None
    email: str | None = None
    name: str = ""
    mode: Literal["oidc", "local"] = "local"
    status: Status = "allowed"
    message: str = ""
    providers: tuple[str | None, ...] = field(default=())

    @property
    def allowed(self) -> bool:
        """Whether the user is let in at all."""
        return self.role is not None

    def can(self, role: Role) -> bool:
        """Whether the user's role is ``role`` or higher."""
        return self.role is not None and self.role >= role

    @property
    def sees_pii(self) -> bool:
        """Whether ticket text is shown unmasked (analysts and admins)."""
        return self.can(Role.ANALYST)

    @property
    def role_label(self) -> str:
        """The role's name, or ``none``."""
        return self.role.label if self.role is not None else "none"


def _user_info() -> dict[str, Any]:
    import streamlit as st

    try:
        return dict(st.user.to_dict())
    except Exception:  # outside a session: nobody
        return {}


# -- sign-outs, remembered beside the database ---------------------------------------------
#
# Streamlit reads the identity cookie only when a session starts, and ``st.logout`` clears
# ``st.user`` only in the session that calls it: another tab of the same browser (or one
# left open on another machine) kept the signed-out identity, with its role, for as long
# as it stayed open, even after the browser had signed in as someone else. So a sign-out
# is remembered, by address, with the issue time (``iat``) of the ID token it ended; a
# session holding a token of that address issued no later is treated as signed out. A new
# sign-in brings a newer token.
#
# The record is kept in memory and in a small JSON file (``$PRICEWAR_SIGNOUT_FILE``, by
# default ``<database>.signouts.json`` beside the database), so a restart of the server, or
# another server process behind the same address, sees it too. The file is read only when
# it is a regular file of at most :data:`MAX_SIGN_OUT_FILE_BYTES` (never through a link),
# cached by its modification time, and written whole under a lock by an atomic rename; when
# it cannot be written, the record in memory still holds for this process.

SIGN_OUT_FILE_ENV = "PRICEWAR_SIGNOUT_FILE"
#: The sign-out file holds at most this many addresses (the latest sign-outs are kept) …
MAX_SIGN_OUTS = 10_000
#: … and is read only up to this size.
MAX_SIGN_OUT_FILE_BYTES = 1 << 20

_SIGNED_OUT: dict[str, float] = {}
_SIGNED_OUT_LOCK = threading.Lock()
#: The sign-out file last read: (path, stamp) → its record.
_SIGN_OUT_CACHE: dict[str, tuple[tuple[int, int, int], dict[str, float]]] = {}


def sign_out_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where sign-outs are shared between server processes and restarts:
    ``$PRICEWAR_SIGNOUT_FILE``, or ``<database>.signouts.json`` beside the database the
    app serves; None when neither can be told (a bad ``PRICEWAR_DB``, shown elsewhere)."""
    environ = os.environ if environ is None else environ
    named = environ.get(SIGN_OUT_FILE_ENV, "").strip()
    try:
        if named:
            return Path(named).expanduser()
        from data.paths import default_db_path

        db = default_db_path().expanduser().resolve()
    except Exception:  # never raises: a bad PRICEWAR_DB is shown by the page guard
        log.debug(
            "no sign-out file: %s or PRICEWAR_DB cannot be used", SIGN_OUT_FILE_ENV, exc_info=True
        )
        return None
    return db.with_name(db.name + ".signouts.json")


def _issued_at(info: Mapping[str, Any]) -> float | None:
    value = info.get("iat")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        issued = float(value)
    except (ValueError, OverflowError):
        return None
    return issued if issued == issued and abs(issued) != float("inf") else None


def _parse_sign_outs(data: bytes) -> dict[str, float]:
    import json

    record = json.loads(data.decode("utf-8"))
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    out: dict[str, float] = {}
    for email, issued in record.items():
        if (
            isinstance(email, str)
            and len(email) <= 320
            and not isinstance(issued, bool)
            and isinstance(issued, int | float)
            and math.isfinite(issued)
        ):
            out[email] = float(issued)
    return out


def _read_sign_outs(path: Path) -> dict[str, float]:
    """The record in the sign-out file (empty when there is none or it cannot be used)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        log.warning("sign-out file %s cannot be read: %s", path, exc.strerror or exc)
        return {}
    try:
        stat = os.fstat(fd)
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if not S_ISREG(stat.st_mode) or stat.st_size > MAX_SIGN_OUT_FILE_BYTES:
            log.warning(
                "sign-out file %s is not a regular file of at most %s bytes: not used",
                path,
                f"{MAX_SIGN_OUT_FILE_BYTES:,}",
            )
            return {}
        cached = _SIGN_OUT_CACHE.get(str(path))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_SIGN_OUT_FILE_BYTES + 1)
        record = _parse_sign_outs(data) if len(data) <= MAX_SIGN_OUT_FILE_BYTES else {}
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("sign-out file %s cannot be used: %s", path, exc)
        return {}
    finally:
        os.close(fd)
    _SIGN_OUT_CACHE.clear()
    _SIGN_OUT_CACHE[str(path)] = (stamp, record)
    return record


def _write_sign_out(path: Path, email: str, issued: float) -> None:
    """Add one sign-out to the file, under a lock, by an atomic rename."""
    import fcntl
    import json
    import tempfile

    lock = os.open(
        path.with_name(path.name + ".lock"),
        os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o600,
    )
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = dict(_read_sign_outs(path))
        record[email] = max(issued, record.get(email, issued))
        if len(record) > MAX_SIGN_OUTS:  # the oldest sign-outs go first
            record = dict(sorted(record.items(), key=lambda kv: kv[1])[-MAX_SIGN_OUTS:])
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(record, f, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    finally:
        os.close(lock)


def record_sign_out() -> None:
    """Remember that the current session's identity signed out (see above); call it
    before ``st.logout``. Without an address or an ``iat`` claim nothing is recorded.
    Never raises: a sign-out file that cannot be written is logged, and the record in
    memory still holds for this process."""
    info = _user_info()
    raw, issued = info.get("email"), _issued_at(info)
    if not isinstance(raw, str) or not raw.strip() or issued is None:
        return
    email = fold_address(raw)
    with _SIGNED_OUT_LOCK:
        _SIGNED_OUT[email] = max(issued, _SIGNED_OUT.get(email, issued))
        path = sign_out_file()
        if path is None:
            return
        try:
            _write_sign_out(path, email, issued)
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
    issued = _issued_at(info)
    if issued is None:  # without an iat it cannot be told
        return False
    with _SIGNED_OUT_LOCK:
        ended = _SIGNED_OUT.get(email)
        path = sign_out_file()
        shared = _read_sign_outs(path).get(email) if path is not None else None
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

_ACTION_WORDS: dict[str, str] = {
    "upload": "upload files",
    "tag_start": "start tagging",
    "tag_stop": "stop tagging",
    "shard_load": "load entity shards",
    "scenario_save": "save scenarios",
    "scenario_delete": "delete scenarios",
    "data_reset": "reset data",
    "audit_view": "read the audit trail",
    "settings_view": "see the access settings",
}


def _words(action: str) -> str:
    return _ACTION_WORDS.get(action, action.replace("_", " "))


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


def actors(entries: Iterable[str]) -> str:
    """Entries of an access list as one line for display (``—`` when empty)."""
    items = list(entries)
    return ", ".join(items) if items else "—"
