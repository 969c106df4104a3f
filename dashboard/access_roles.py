"""Roles, the user of a page run and the errors of the access checks (``dashboard.access``).

Exceptions::

    AccessError
    ├── AccessSettingsError   the access file or an environment variable cannot be used
    └── AccessDenied          the current user's role does not allow an action
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "AccessDenied",
    "AccessError",
    "AccessSettingsError",
    "Role",
    "Status",
    "User",
]


# -- exceptions -------------------------------------------------------------------------


class AccessError(Exception):
    """Base class of the errors of the access checks (``dashboard.access``)."""


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


# -- the user of a page run ----------------------------------------------------------------

#: Why a user is or is not let in (:attr:`User.status`).
Status = Literal["allowed", "signed_out", "not_listed", "unprotected", "misconfigured"]


@dataclass(frozen=True)
class User:
    """The person behind the current page run.

    Attributes:
        actor: who acts, as the audit trail writes it: the e-mail address, or
            ``local:<OS user>`` in local mode.
        role: what they may do; None when they are not let in (see ``status``).
        email: the e-mail address the identity claims (None in local mode or when signed
            out); verified and on the access list only when ``allowed``: compare it
            only after checking that (``dashboard.upload_sender``).
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


# -- refusals in words -------------------------------------------------------------------

#: The audit actions in words, for :class:`AccessDenied`'s message.
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
