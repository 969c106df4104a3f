"""Map the columns of an uploaded file to the ticket fields.

Headers are compared case-insensitively, ignoring surrounding spaces and treating spaces,
dashes, dots and slashes as underscores. ``text`` is required; the others are used when
present. When several columns could be a field, its own name wins, then the first alias in
:data:`ALIASES` order.

Example:
    >>> map_columns(["Ticket ID", "Body", "Created"]).fields
    {'text': 'Body', 'id': 'Ticket ID', 'created_at': 'Created'}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["ALIASES", "REQUIRED", "ColumnMap", "map_columns", "normalise_header"]

REQUIRED = "text"
#: Field → accepted header names (normalised), in order of preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "text": (
        "text",
        "body",
        "description",
        "message",
        "content",
        "ticket_text",
        "ticket_body",
        "ticket_description",
        "message_body",
        "comment",
        "comments",
        "details",
        "issue",
        "problem",
        "request",
        "customer_message",
        "ticket",
        "note",
        "notes",
        "question",
    ),
    "id": (
        "id",
        "ticket_id",
        "ticketid",
        "ticket_number",
        "ticket_no",
        "case_id",
        "case_number",
        "number",
        "external_id",
        "reference",
        "ref",
        "key",
        "source_id",
    ),
    "created_at": (
        "created_at",
        "created",
        "date",
        "timestamp",
        "time",
        "datetime",
        "created_date",
        "created_on",
        "creation_date",
        "submitted_at",
        "opened_at",
        "opened",
        "date_created",
        "received_at",
    ),
    "customer": (
        "customer",
        "customer_id",
        "customer_name",
        "client",
        "client_id",
        "account",
        "account_id",
        "account_name",
        "company",
        "organisation",
        "organization",
        "org",
    ),
    "channel": ("channel", "source_channel", "via", "medium", "origin", "contact_channel"),
    "subject": ("subject", "title", "summary", "headline", "topic_line"),
    "category": ("category", "type", "topic", "issue_type", "ticket_type", "queue", "reason"),
    "priority": ("priority", "severity", "urgency", "prio"),
    "resolution_minutes": ("resolution_minutes", "resolution_time_minutes", "minutes_to_resolve"),
    "resolved_by": ("resolved_by", "resolver_type"),
}

_SEPARATORS = re.compile(r"[\s\-./]+")


def normalise_header(name: object) -> str:
    """``" Ticket-ID "`` → ``"ticket_id"``."""
    return _SEPARATORS.sub("_", str(name).replace("\ufeff", "").strip().lower()).strip("_")


@dataclass(frozen=True)
class ColumnMap:
    """Which column of the file feeds which ticket field."""

    fields: dict[str, str]  # field → the file's column name
    ignored: list[str] = field(default_factory=list)

    @property
    def has_text(self) -> bool:
        """Whether a text column was found."""
        return REQUIRED in self.fields


def map_columns(columns: list[str] | tuple[str, ...]) -> ColumnMap:
    """Map a file's columns to ticket fields (see :data:`ALIASES`)."""
    normalised = {normalise_header(c): str(c) for c in reversed(list(columns))}
    fields: dict[str, str] = {}
    used: set[str] = set()
    for name, aliases in ALIASES.items():
        for alias in aliases:
            original = normalised.get(alias)
            if original is not None and original not in used:
                fields[name] = original
                used.add(original)
                break
    ignored = [str(c) for c in columns if str(c) not in used]
    return ColumnMap(fields, ignored)
