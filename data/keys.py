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
from datetime import datetime
from typing import IO

__all__ = ["KEY_VERSION", "file_hash", "ticket_key"]

KEY_VERSION = "t1"
_SEP = "\x1f"


def _part(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def ticket_key(
    text: str,
    *,
    source_id: str | None = None,
    customer_id: str | None = None,
    created_at: datetime | str | None = None,
    subject: str | None = None,
) -> str:
    """32 hex characters of SHA-256 over the ticket's identifying fields."""
    payload = _SEP.join((KEY_VERSION, _part(source_id), _part(customer_id), _part(created_at),
                         _part(subject), text))
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
