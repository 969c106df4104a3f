"""Tagging requests handed to the running dashboard through its inbox folder.

DuckDB lets one process write a file. While the dashboard holds the database, ``python -m
model tag --db`` cannot write entities itself; it drops a small JSON request (which tagger,
which batch size) into :func:`data.paths.inbox_dir` instead, written under a hidden name and
renamed so the app never reads half a file. The app's inbox poller takes the requests and
runs them with its own background tagging job, which is resumable like the command.

Example:
    >>> request_tagging("var/pricewar.duckdb", model_dir="model/default")  # doctest: +SKIP
    >>> take_tagging_requests("var/pricewar.duckdb")                       # doctest: +SKIP
    [TaggingRequest(model_dir='/…/model/default', batch_size=None, path=…)]
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from data.paths import inbox_dir

__all__ = ["TaggingRequest", "request_tagging", "take_tagging_requests"]

_PREFIX = "tag-request-"


@dataclass(frozen=True)
class TaggingRequest:
    """A request to tag the store's untagged tickets with one tagger."""

    model_dir: str | None  # absolute artefact folder; None = the app's default tagger
    batch_size: int | None
    path: Path


def request_tagging(db_path: Path | str, *, model_dir: Path | str | None = None,
                    batch_size: int | None = None) -> Path:
    """Drop a tagging request for the app holding ``db_path``; return the request file."""
    inbox = inbox_dir(Path(db_path))
    inbox.mkdir(parents=True, exist_ok=True)
    payload = {"model_dir": str(Path(model_dir).resolve()) if model_dir else None,
               "batch_size": batch_size}
    name = f"{_PREFIX}{uuid.uuid4().hex}.json"
    hidden = inbox / f".{name}"
    hidden.write_text(json.dumps(payload), encoding="utf-8")
    final = inbox / name
    os.replace(hidden, final)  # atomic: the app sees the whole request or nothing
    return final


def take_tagging_requests(db_path: Path | str) -> list[TaggingRequest]:
    """Remove and return the waiting requests, oldest first; unreadable ones are dropped."""
    inbox = inbox_dir(Path(db_path))
    if not inbox.is_dir():
        return []
    files = sorted(inbox.glob(f"{_PREFIX}*.json"), key=lambda p: (p.stat().st_mtime, p.name))
    requests = []
    for path in files:
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            model_dir = payload.get("model_dir")
            batch_size = payload.get("batch_size")
            requests.append(TaggingRequest(
                model_dir=str(model_dir) if model_dir else None,
                batch_size=int(batch_size) if batch_size else None, path=path))
        except (OSError, ValueError, AttributeError):
            pass  # a damaged request is dropped; the command that wrote it said what it did
        path.unlink(missing_ok=True)
    return requests
