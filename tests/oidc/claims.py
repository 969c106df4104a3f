"""The provider's ``OIDC_USERINFO`` function: standard claims from Django's user."""

from __future__ import annotations

from typing import Any


def userinfo(claims: dict[str, Any], user: Any) -> dict[str, Any]:
    """Fill the e-mail (verified: the test accounts are created with it) and the name."""
    claims["email"] = user.email
    claims["email_verified"] = True
    claims["name"] = user.get_full_name() or user.username
    claims["preferred_username"] = user.username
    return claims
