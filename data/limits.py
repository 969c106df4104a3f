"""Limits an upload must respect (:class:`IngestLimits`), and the environment variables that
change them; every rejection message names the limit it broke (:func:`limit_hint`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from data.errors import ConfigError
from data.readers import DEFAULT_CHUNK_BYTES

__all__ = [
    "DEFAULT_LIMITS",
    "LIMIT_ENV_VARS",
    "MAX_FILE_NAME_CHARS",
    "MAX_LIMIT",
    "IngestLimits",
    "limit_hint",
    "limits_from_env",
]


@dataclass(frozen=True)
class IngestLimits:
    """Limits an upload must respect; each rejection message names the limit it broke."""

    max_bytes: int = 1024**3  # decoded: after decompression and Parquet's encodings
    max_rows: int = 2_000_000
    max_columns: int = 500
    max_text_chars: int = 100_000  # one ticket's text
    # One ticket's text in UTF-8 bytes: DuckDB holds about two 2,048-row groups of the
    # widest tickets while it inserts them, so this bounds that memory (2 × 2,048 × 128 KiB
    # = 512 MiB); 100,000 ASCII characters fit, 100,000 four-byte emoji do not.
    max_text_bytes: int = 128 * 1024
    max_field_chars: int = 2_000  # id, customer, channel, subject, category, priority
    chunksize: int = 50_000  # rows read at a time (memory, not a limit on the file)
    chunk_bytes: int = DEFAULT_CHUNK_BYTES  # decoded bytes read at a time (memory too)


DEFAULT_LIMITS = IngestLimits()

#: Longest file name accepted for an upload (characters): a file system allows 255 bytes, so
#: every real file's name fits. A browser may send any name, and the name is stored with
#: every ticket of the file (``tickets.source``): a 1 MiB name made a list of 200 of its
#: tickets 519 MiB in memory.
MAX_FILE_NAME_CHARS = 255

#: Environment variables that change the upload limits (for the dashboard, the CLI and the
#: inbox alike), by :class:`IngestLimits` field.
LIMIT_ENV_VARS: dict[str, str] = {
    "max_bytes": "PRICEWAR_MAX_UPLOAD_BYTES",
    "max_rows": "PRICEWAR_MAX_UPLOAD_ROWS",
    "max_columns": "PRICEWAR_MAX_UPLOAD_COLUMNS",
    "max_text_chars": "PRICEWAR_MAX_TEXT_CHARS",
    "max_text_bytes": "PRICEWAR_MAX_TEXT_BYTES",
    "max_field_chars": "PRICEWAR_MAX_FIELD_CHARS",
}


#: The largest value an upload limit may be given in the environment (far above any file a
#: server could hold, and well inside the 64-bit integers the readers compare with).
MAX_LIMIT = 10**15


def limits_from_env(
    base: IngestLimits = DEFAULT_LIMITS, environ: Mapping[str, str] | None = None
) -> IngestLimits:
    """``base`` with every limit given in the environment (:data:`LIMIT_ENV_VARS`) applied.

    Raises:
        data.errors.ConfigError: a variable is set to something other than a whole number
            from 1 to :data:`MAX_LIMIT` (the message names the variable).

    Example:
        >>> limits_from_env(environ={"PRICEWAR_MAX_UPLOAD_ROWS": "1000"}).max_rows
        1000
    """
    env = os.environ if environ is None else environ
    changes: dict[str, int] = {}
    for field_name, var in LIMIT_ENV_VARS.items():
        text = env.get(var, "").strip().replace("_", "")
        if not text:
            continue
        # ASCII digits only: str.isdigit() is also true for "²" or "④", which int() refuses.
        # At most MAX_LIMIT: the text limits reach pyarrow's compute kernels as int64 (a
        # larger number raised a TypeError out of every upload).
        ok = text.isascii() and text.isdigit() and len(text) <= 20
        if not ok or not 1 <= int(text) <= MAX_LIMIT:
            shown = env[var] if len(env[var]) <= 40 else env[var][:39] + "…"
            raise ConfigError(
                f"{var} must be a whole number from 1 to {MAX_LIMIT:,}, not {shown!r}"
            )
        changes[field_name] = int(text)
    return replace(base, **changes) if changes else base


def limit_hint(field_name: str) -> str:
    """How a message names the limit ``field_name`` and the variable that changes it."""
    return f"IngestLimits.{field_name}; set {LIMIT_ENV_VARS[field_name]} to change it"
