"""The access settings (``dashboard.access``): the lists of the access file and of the
environment, their entries (e-mail addresses and ``@domain``\\ s) and the role each list
gives; the file read once per change, never blocking."""

from __future__ import annotations

import functools
import os
import threading
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Any

from dashboard.access_roles import AccessSettingsError, Role

__all__ = [
    "ACCESS_FILE_ENV",
    "ENV_LISTS",
    "MAX_ACCESS_FILE_BYTES",
    "AccessSettings",
    "actors",
    "entry_matches",
    "fold_address",
    "read_settings",
]

#: Environment variable naming the access file.
ACCESS_FILE_ENV = "PRICEWAR_ACCESS_FILE"
#: The lists of the access file and the environment variables that add to each.
ENV_LISTS: dict[str, str] = {
    "allow": "PRICEWAR_ALLOW",
    "analysts": "PRICEWAR_ANALYSTS",
    "admins": "PRICEWAR_ADMINS",
}
#: Largest access file read (a list of addresses; anything bigger is a mistake).
MAX_ACCESS_FILE_BYTES = 1 << 20

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


def read_settings(path: Path, environ: Mapping[str, str]) -> AccessSettings:
    """The access settings of the file at ``path`` plus the lists of ``environ``:
    ``dashboard.access.settings`` once the file is found (a missing file means empty lists
    unless ``PRICEWAR_ACCESS_FILE`` named it; the rest, there).

    Raises:
        AccessSettingsError: see ``dashboard.access.settings``.
    """
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


def actors(entries: Iterable[str]) -> str:
    """Entries of an access list as one line for display (``—`` when empty)."""
    items = list(entries)
    return ", ".join(items) if items else "—"
