"""Work handed to the running dashboard: validated uploads as Parquet files in an inbox.

DuckDB lets one process write a file. While the dashboard holds the database, ``python -m
data ingest`` validates the files itself and drops each, normalised, as a Parquet file into
:func:`data.paths.inbox_dir` (written under a hidden name, then renamed, so the app never
sees half a file). The app calls :func:`import_inbox` periodically; it commits each file
exactly as a direct ingest would (idempotent by file hash and ticket key) and removes it.
Entity-shard folders (``python -m model tag --engine ray``) are handed over as a JSON request
naming the folder (:func:`hand_shards_to_inbox`); the app loads them after the files.

Example:
    >>> handed = hand_to_inbox("var/pricewar.duckdb", ["tickets.csv"])  # doctest: +SKIP
    >>> import_inbox(store)                                             # doctest: +SKIP
    ['tickets.csv: 120 rows, 120 new tickets']
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.errors import IngestError
from data.ingest import (
    IngestLimits,
    commit_staged,
    limits_from_env,
    read_staged,
    source_name,
    stage_file,
)
from data.paths import inbox_dir

__all__ = ["HandedFile", "hand_shards_to_inbox", "hand_to_inbox", "import_inbox", "pending"]

_STAGING = ".staging"
_FAILED = "failed"
_SHARDS_SUFFIX = ".shards.json"


@dataclass(frozen=True)
class HandedFile:
    """A validated file waiting in the inbox."""

    file: str
    rows: int
    path: Path


def hand_to_inbox(db_path: Path | str, sources: Sequence[Any], *,
                  limits: IngestLimits | None = None) -> list[HandedFile]:
    """Validate each source and drop it into the inbox of ``db_path``.

    All sources are validated before any is handed over.

    Raises:
        IngestError: a file was rejected (nothing is handed over).
    """
    limits = limits if limits is not None else limits_from_env()
    inbox = inbox_dir(Path(db_path))
    staging = inbox / _STAGING
    staging.mkdir(parents=True, exist_ok=True)
    _remove_stale(staging)
    staged = []
    try:
        for source in sources:
            staged.append(stage_file(source, name=source_name(source), limits=limits,
                                     staging_dir=staging))
    except IngestError:
        for s in staged:
            s.path.unlink(missing_ok=True)
        raise
    handed = []
    for s in staged:
        final = inbox / f"{s.file_hash[:24]}.parquet"
        os.replace(s.path, final)  # atomic: the app sees the whole file or nothing
        handed.append(HandedFile(s.name, s.rows, final))
    return handed


def hand_shards_to_inbox(db_path: Path | str, folders: Sequence[Path | str]) -> list[Path]:
    """Ask the running app to load entity-shard folders (``python -m model tag --engine
    ray`` output): each folder is checked, then named in a small JSON request in the inbox.

    The shards stay where they are; the app loads them within seconds
    (:func:`import_inbox`), so the folder must stay readable until then.

    Raises:
        EntityShardError: a folder is not a valid shard folder (nothing is handed over).
    """
    from data.entity_shards import check_shard_folder

    resolved = [Path(f).resolve() for f in folders]
    models = [check_shard_folder(f) for f in resolved]
    inbox = inbox_dir(Path(db_path))
    staging = inbox / _STAGING
    staging.mkdir(parents=True, exist_ok=True)
    handed = []
    for folder, model_id in zip(resolved, models, strict=True):
        digest = hashlib.sha256(f"{folder}\0{time.time_ns()}".encode()).hexdigest()[:24]
        tmp = staging / f"{digest}{_SHARDS_SUFFIX}"
        tmp.write_text(json.dumps({"folder": str(folder), "model_id": model_id}),
                       encoding="utf-8")
        final = inbox / tmp.name
        os.replace(tmp, final)  # atomic: the app sees the whole request or nothing
        handed.append(final)
    return handed


def _remove_stale(staging: Path, *, older_than_s: float = 3600.0) -> None:
    """Delete half-written files left by a job that was killed while validating."""
    now = time.time()
    for leftover in staging.glob("*"):
        try:
            if leftover.is_file() and now - leftover.stat().st_mtime > older_than_s:
                leftover.unlink()
        except OSError:
            continue


def pending(db_path: Path | str) -> list[Path]:
    """Inbox files waiting for import, oldest first."""
    inbox = inbox_dir(Path(db_path))
    if not inbox.is_dir():
        return []
    files = [p for p in inbox.glob("*.parquet") if p.is_file()]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def import_inbox(store: Any) -> list[str]:
    """Ingest every file waiting in the inbox of ``store``; return one message per file.

    A file that cannot be read is moved to ``failed/`` in the inbox (and reported) instead
    of blocking the others.
    """
    messages = []
    for path in pending(store.path):
        try:
            staged = read_staged(path)
            report = commit_staged(store, staged)
        except Exception as exc:  # a damaged inbox file must not stop the app
            failed = path.parent / _FAILED
            failed.mkdir(exist_ok=True)
            shutil.move(str(path), failed / path.name)
            messages.append(f"{path.name}: could not be imported ({exc}); moved to {failed}")
            continue
        path.unlink(missing_ok=True)
        messages.append(report.message)
    return messages + _import_shard_requests(store)


def _import_shard_requests(store: Any) -> list[str]:
    """Load the entity-shard folders named by requests in the inbox (oldest first)."""
    from data.entity_shards import load_entity_shards

    inbox = inbox_dir(Path(store.path))
    if not inbox.is_dir():
        return []
    requests = sorted((p for p in inbox.glob(f"*{_SHARDS_SUFFIX}") if p.is_file()),
                      key=lambda p: (p.stat().st_mtime, p.name))
    messages = []
    for path in requests:
        try:
            folder = json.loads(path.read_text(encoding="utf-8"))["folder"]
            messages.append(load_entity_shards(store, folder).message)
        except Exception as exc:  # a bad request or folder must not stop the app
            failed = path.parent / _FAILED
            failed.mkdir(exist_ok=True)
            shutil.move(str(path), failed / path.name)
            messages.append(f"{path.name}: entity shards could not be loaded ({exc}); "
                            f"moved to {failed}")
            continue
        path.unlink(missing_ok=True)
    return messages
