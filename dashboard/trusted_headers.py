"""``server.trustedUserHeaders``: refused, because this dashboard's identity is its sign-in.

Streamlit copies the request headers named in that option into ``st.user`` when a
websocket connects, *over* the claims of the signed identity cookie (a header not sent
sets its key to None). The access check (``dashboard.access.identity_user``) then reads
the address from the header beside the cookie's ``is_logged_in`` and ``email_verified``:
round 24 of #12 measured, with ``{"X-Pwr-Email": "email"}`` set, a signed-in viewer who
sent ``X-Pwr-Email: <the admin's address>`` get the admin's nine pages, and every user
whose request lacked the header refused ("The identity provider sent no e-mail
address"). The upload sender check (``dashboard.upload_sender``) reads the cookie only.
So the option is refused when the server starts (``dashboard/serve.py``), in words.
"""

from __future__ import annotations

from typing import Any


def trusted_header_problem(mapping: Any = None) -> str | None:
    """Why the server must not start with ``server.trustedUserHeaders`` = ``mapping``
    (Streamlit's configured value when None), or None when it is unset or empty.

    Example:
        >>> trusted_header_problem({}) is None
        True
        >>> trusted_header_problem({"X-Email": "email"})[:45]
        'server.trustedUserHeaders is set (X-Email → e'
    """
    if mapping is None:
        from streamlit import config

        mapping = config.get_option("server.trustedUserHeaders")
    if not mapping:
        return None
    shown = (
        ", ".join(f"{h} → {k}" for h, k in list(mapping.items())[:5])
        if isinstance(mapping, dict)
        else str(mapping)[:200]
    )
    return (
        f"server.trustedUserHeaders is set ({shown}): Streamlit would put those request "
        "headers into the signed-in user over the sign-in cookie's claims, so a client "
        "sending one would be whoever it names. This dashboard takes identities from its "
        'own sign-in only (README, "Sign-in, roles and deployment"): unset the option.'
    )
