"""Tagging requests handed to the running dashboard through its inbox folder.

DuckDB lets one process write a file. While the dashboard holds the database, ``python -m
model tag --db`` cannot write entities itself; it drops a small JSON request (which tagger,
which batch size) into :func:`data.paths.inbox_dir` instead, written under a hidden name and
renamed so the app never reads half a file. The app's inbox poller takes the requests and
runs them with its own background tagging job, which is resumable like the command.

A request is read like every inbox entry (:mod:`data.inbox`): only a regular file, at most
:data:`data.inbox_entries.MAX_REQUEST_BYTES`, JSON nested at most :data:`data.inbox_entries.MAX_JSON_DEPTH`
deep; its values are checked (:func:`validate_request`) before they reach the app's job. A
refused request is moved aside (``failed/`` in the inbox) with a message saying why, and
the requests behind it are still taken.

Example:
    >>> request_tagging("var/pricewar.duckdb", model_dir="model/default")  # doctest: +SKIP
    >>> take_tagging_requests("var/pricewar.duckdb")                       # doctest: +SKIP
    [TaggingRequest(model_dir='/…/model/default', batch_size=None, path=…)]
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.paths import inbox_dir

__all__ = [
    "MAX_BATCH_SIZE",
    "TaggingRequest",
    "check_batch_size",
    "check_model_dir",
    "check_model_files",
    "request_tagging",
    "take_tagging_requests",
    "validate_request",
]

log = logging.getLogger("data.tag_requests")

_PREFIX = "tag-request-"
_KEYS = frozenset({"model_dir", "batch_size"})
#: Largest batch size a request may ask for.
MAX_BATCH_SIZE = 4096
_MAX_PATH_CHARS = 4096


@dataclass(frozen=True)
class TaggingRequest:
    """A request to tag the store's untagged tickets with one tagger."""

    model_dir: str | None  # absolute artefact folder; None = the app's default tagger
    batch_size: int | None
    path: Path


def check_batch_size(value: Any) -> int | None:
    """``value`` if it is None or a whole number in 1…:data:`MAX_BATCH_SIZE`.

    Raises:
        ValueError: anything else (a float, a list, a bool, out of range), said in words.

    Example:
        >>> check_batch_size(64)
        64
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"batch_size must be a whole number, not {type(value).__name__}")
    if not 1 <= value <= MAX_BATCH_SIZE:
        raise ValueError(
            f"batch_size must be between 1 and {MAX_BATCH_SIZE:,}, "
            f"not {value if abs(value) < 10**12 else 'a huge number'}"
        )
    return value


def check_model_dir(value: Any) -> str | None:
    """``value`` if it is None or an absolute path (text of at most 4,096 characters).

    Raises:
        ValueError: anything else, said in words.
    """
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > _MAX_PATH_CHARS:
        raise ValueError(
            f"model_dir must be a folder path (text of at most "
            f"{_MAX_PATH_CHARS:,} characters) or null"
        )
    if "\0" in value or not os.path.isabs(value):
        raise ValueError("model_dir must be an absolute folder path")
    try:
        os.fsencode(value)
    except UnicodeEncodeError:  # a lone surrogate escape: no file system name spells it
        raise ValueError("model_dir holds a character no file name can hold") from None
    return value


#: Most entries a tagger folder may hold, and the largest settings file (``*.json``) read.
MAX_MODEL_ENTRIES = 1_000
MAX_MODEL_JSON_BYTES = 1 << 20


def check_model_files(folder: str | os.PathLike[str]) -> None:
    """Refuse a tagger folder whose files cannot be read safely: the loader reads
    ``tagger.json``, the configs and the weights whole, so a named pipe there hung the
    tagging job (or ``python -m model tag``) for good, and a link to ``/dev/zero`` was read
    until memory ran out. Every entry must be a regular file or a folder (through links),
    each ``.json`` at most :data:`MAX_MODEL_JSON_BYTES`.

    Raises:
        ValueError: naming the file and what it is.
    """
    import stat

    try:
        entries = []
        with os.scandir(folder) as it:
            for entry in it:
                entries.append(entry)
                if len(entries) > MAX_MODEL_ENTRIES:
                    raise ValueError(
                        f"{str(folder)[:200]} holds more than "
                        f"{MAX_MODEL_ENTRIES:,} entries: not a tagger folder"
                    )
    except OSError as exc:
        raise ValueError(f"{str(folder)[:200]} cannot be read: {exc.strerror or exc}") from None
    for entry in entries:
        try:
            info = os.stat(entry.path)
        except OSError as exc:
            raise ValueError(f"{entry.path[:200]} cannot be read: {exc.strerror or exc}") from None
        if stat.S_ISDIR(info.st_mode):
            continue
        if not stat.S_ISREG(info.st_mode):
            kind = (
                "a named pipe (FIFO)"
                if stat.S_ISFIFO(info.st_mode)
                else "a socket"
                if stat.S_ISSOCK(info.st_mode)
                else "a device"
            )
            raise ValueError(f"{entry.path[:200]} is {kind}, not a file of a tagger")
        if entry.name.endswith(".json") and info.st_size > MAX_MODEL_JSON_BYTES:
            raise ValueError(
                f"{entry.path[:200]} is {info.st_size:,} bytes (a tagger's "
                f"settings file holds at most {MAX_MODEL_JSON_BYTES:,})"
            )


def validate_request(payload: Any) -> tuple[str | None, int | None]:
    """``(model_dir, batch_size)`` of a request's JSON object, checked.

    Raises:
        ValueError: not an object, unknown keys, or a value of the wrong type or range.

    Example:
        >>> validate_request({"model_dir": None, "batch_size": 8})
        (None, 8)
    """
    if not isinstance(payload, dict):
        raise ValueError("a request must be a JSON object")
    unknown = sorted(str(k)[:40] for k in payload if k not in _KEYS)
    if unknown:
        raise ValueError(f"unknown keys {', '.join(unknown[:5])}")
    return check_model_dir(payload.get("model_dir")), check_batch_size(payload.get("batch_size"))


def request_tagging(
    db_path: Path | str, *, model_dir: Path | str | None = None, batch_size: int | None = None
) -> Path:
    """Drop a tagging request for the app holding ``db_path``; return the request file.

    Raises:
        data.inbox.InboxPathError: the inbox is a link or not a folder (nothing written).
    """
    from data.inbox import real_inbox

    inbox = real_inbox(db_path, create=True)  # never a link to another folder
    assert inbox is not None
    payload = {
        "model_dir": str(Path(model_dir).resolve()) if model_dir else None,
        "batch_size": batch_size,
    }
    name = f"{_PREFIX}{uuid.uuid4().hex}.json"
    hidden = inbox / f".{name}"
    hidden.write_text(json.dumps(payload), encoding="utf-8")
    final = inbox / name
    os.replace(hidden, final)  # atomic: the app sees the whole request or nothing
    return final


def take_tagging_requests(
    db_path: Path | str, *, refused: list[str] | None = None
) -> list[TaggingRequest]:
    """Remove and return the waiting requests, oldest first.

    A request that cannot be read or is invalid is moved aside (never raised); its message
    is appended to ``refused`` when given, and logged.
    """
    from data.inbox_entries import inbox_entries, read_json_entry, remove_entry, set_aside

    inbox = inbox_dir(Path(db_path))
    requests = []
    for path in inbox_entries(inbox, lambda n: n.startswith(_PREFIX) and n.endswith(".json")):
        try:
            model_dir, batch_size = validate_request(read_json_entry(path))
        except Exception as exc:  # any bad entry is refused, never raised to the poller
            text = " ".join(str(exc).split())[:300] or type(exc).__name__
            message = f"{path.name}: tagging request refused ({text}); {set_aside(path)}"
            log.warning("%s", message)
            if refused is not None:
                refused.append(message)
            continue
        if remove_entry(path):  # one that cannot be removed would run again at every poll
            requests.append(TaggingRequest(model_dir=model_dir, batch_size=batch_size, path=path))
    return requests
