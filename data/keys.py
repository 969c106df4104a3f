"""Content-hash keys of tickets and files.

A ticket's key is a hash of what identifies it: its text and, when the upload gives them,
its id, customer, creation time and subject. Uploading the same rows again therefore yields
the same keys, and nothing new is written.

Example:
    >>> ticket_key("The API is down", source_id="42") == ticket_key("The API is down", source_id="42")
    True
    >>> len(ticket_key("x"))
    32
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import IO

__all__ = ["KEY_VERSION", "file_hash", "ticket_key", "ticket_key_sql"]

KEY_VERSION = "t1"
_SEP = "\x1f"


_TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _part(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return ""
    if isinstance(value, datetime):  # pandas Timestamps too
        return value.strftime(_TS_FORMAT)
    return str(value)


def ticket_key(
    text: str,
    *,
    source_id: str | None = None,
    customer_id: str | None = None,
    created_at: datetime | str | None = None,
    subject: str | None = None,
) -> str:
    """32 hex characters of SHA-256 over the ticket's identifying fields.

    ``created_at`` given as a string is used as is; give a ``datetime`` to match keys
    computed in SQL by :func:`ticket_key_sql`.
    """
    payload = _SEP.join(
        (KEY_VERSION, _part(source_id), _part(customer_id), _part(created_at), _part(subject), text)
    )
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def file_hash(stream: IO[bytes], *, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a binary stream's bytes (read from where it stands)."""
    digest = hashlib.sha256()
    while True:
        block = stream.read(chunk)
        if not block:
            break
        digest.update(block)
    return digest.hexdigest()


def ticket_key_sql(alias: str = "") -> str:
    """The DuckDB expression computing :func:`ticket_key` over a relation's columns.

    The columns are ``source_id``, ``customer_id``, ``created_at`` (TIMESTAMP), ``subject``
    and ``text``; ``alias`` qualifies them (e.g. ``"s"``). Ingest computes keys with it, in
    bulk, inside the database.
    """
    p = f"{alias}." if alias else ""
    sep = "chr(31)"
    return (
        f"substr(sha256(concat('{KEY_VERSION}', {sep}, coalesce({p}source_id, ''), {sep}, "
        f"coalesce({p}customer_id, ''), {sep}, "
        f"coalesce(strftime({p}created_at, '{_TS_FORMAT}'), ''), {sep}, "
        f"coalesce({p}subject, ''), {sep}, {p}text)), 1, 32)"
    )
