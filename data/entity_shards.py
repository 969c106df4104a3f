"""Folders of entity shards (tagging done outside the store): their format, and writing them.

A tagging job that runs away from the store (``python -m model tag --engine ray``, see
:mod:`model.ray_engine`) writes one *shard* per input file into an output folder::

    OUT/_pricewar_entity_shards.json   the folder's manifest: format and the ONE model id
    OUT/<name>.parquet                 entities of one input file: exactly the columns of
                                       the ``entities`` table (DuckDB reads them natively)
    OUT/_tagged/<name>.parquet         every ticket of that file that was tagged (also those
                                       without entities): ticket_key, row, source_id
    OUT/_done/<name>.json              the completion marker: input file (path, size,
                                       mtime), counts, bad rows (row, column, problem)
    OUT/_sentiment/<name>.parquet      a two-head tagger's sentiment of those tickets: the
                                       columns of ``ticket_sentiment`` (written before the
                                       marker; absent for a tagger without the head)

``<name>`` is the input's file name plus 8 hex characters of its absolute path. Both
Parquet files are written under a hidden temporary name and renamed; the marker is written
(the same way) last, so **a shard is complete exactly when its marker exists** and names the
folder's model. A rerun skips complete shards whose input is unchanged and rewrites the
others. Names starting with ``_`` or ``.`` are ignored by Parquet dataset readers, so
``read_parquet('OUT/*.parquet')`` sees entities only.

One folder holds one model's entities: writing another model's into it is refused
(:class:`EntityShardError`), so ids never mix silently.

:mod:`data.shard_loading` checks a folder and loads its complete shards into the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from data.db_file import file_kind
from data.errors import DataError

__all__ = [
    "ENTITY_SCHEMA",
    "FORMAT",
    "MANIFEST",
    "SENTIMENT_DIR",
    "SENTIMENT_SCHEMA",
    "TAGGED_SCHEMA",
    "EntityShardError",
    "check_folder_model",
    "complete_shards",
    "is_shard_folder",
    "read_marker",
    "remove_shard",
    "shard_name",
    "shard_paths",
    "write_shard",
    "read_json",
]

FORMAT = 1
MANIFEST = "_pricewar_entity_shards.json"
TAGGED_DIR = "_tagged"
DONE_DIR = "_done"
SENTIMENT_DIR = "_sentiment"

ENTITY_SCHEMA = pa.schema(
    [
        ("ticket_key", pa.string()),
        ("model_id", pa.string()),
        ("start", pa.int32()),
        ("end", pa.int32()),
        ("label", pa.string()),
        ("text", pa.string()),
        ("score", pa.float64()),
    ]
)
"""The columns of the ``entities`` table (``data/migrations.py``), as Parquet writes them."""

SENTIMENT_SCHEMA = pa.schema(
    [
        ("ticket_key", pa.string()),
        ("model_id", pa.string()),
        ("label", pa.string()),
        ("score", pa.float64()),
    ]
)
"""The columns of the ``ticket_sentiment`` table (``data/migrations.py``)."""

SENTIMENT_LABELS = ("negative", "neutral", "positive")
"""The labels ``ticket_sentiment`` accepts (its CHECK constraint)."""

TAGGED_SCHEMA = pa.schema(
    [
        ("ticket_key", pa.string()),
        ("row", pa.int64()),
        ("source_id", pa.string()),
    ]
)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class EntityShardError(DataError):
    """A folder is not a usable entity-shard folder (the message names file and column)."""


@dataclass(frozen=True)
class ShardPaths:
    """The files of one shard (``sentiment`` exists only for a two-head tagger's)."""

    entities: Path
    tagged: Path
    marker: Path
    sentiment: Path


# -- layout --------------------------------------------------------------------------------


def shard_name(source: Path | str) -> str:
    """The shard name of an input file: its name (safe characters) + 8 hex of its path.

    Example:
        >>> shard_name("/data/in/tickets 1.csv.gz")
        'tickets_1.csv.gz-f681f509'
    """
    absolute = os.path.abspath(os.fspath(source))
    digest = hashlib.sha1(absolute.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{_UNSAFE.sub('_', Path(absolute).name)[:120]}-{digest}"


def shard_paths(folder: Path | str, name: str) -> ShardPaths:
    """Where the files of shard ``name`` live in ``folder``."""
    folder = Path(folder)
    return ShardPaths(
        folder / f"{name}.parquet",
        folder / TAGGED_DIR / f"{name}.parquet",
        folder / DONE_DIR / f"{name}.json",
        folder / SENTIMENT_DIR / f"{name}.parquet",
    )


def is_shard_folder(folder: Path | str) -> bool:
    """Whether ``folder`` holds an entity-shard manifest."""
    return (Path(folder) / MANIFEST).is_file()


#: Largest manifest or completion marker read (the tagger writes a few hundred bytes).
MAX_JSON_BYTES = 1024 * 1024


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when it is missing or not a JSON object.

    Only a regular file of at most :data:`MAX_JSON_BYTES` is read (looked at with ``stat``
    first, then opened ``O_NONBLOCK`` and judged by the descriptor's own ``fstat``): a
    named pipe at ``_done/<name>.json`` blocked the loader for good (``data ingest`` of
    the folder, and the app's inbox poller for every later handover), and a link to
    ``/dev/zero`` or a huge file was read whole.

    Raises:
        EntityShardError: ``path`` is not a regular file, or is too large.
    """
    try:
        info = os.stat(path)
    except OSError:
        return None
    _check_small_regular(path, info)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        _check_small_regular(path, os.fstat(fd))
        raw = os.read(fd, MAX_JSON_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _check_small_regular(path: Path, info: os.stat_result) -> None:
    """Refuse a manifest or marker that is not a regular file of at most the limit."""
    if not stat.S_ISREG(info.st_mode):
        raise EntityShardError(
            f"{path} is {file_kind(info.st_mode)}, not a file the tagger writes; remove it"
        )
    if info.st_size > MAX_JSON_BYTES:
        raise EntityShardError(
            f"{path} holds {info.st_size:,} bytes, more than a shard's JSON ever does "
            f"({MAX_JSON_BYTES:,}); remove it"
        )


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_parquet_atomic(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, str(tmp), compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_folder_model(folder: Path | str, model_id: str) -> None:
    """Create ``folder``'s manifest for ``model_id``, or check that it names that model.

    Raises:
        EntityShardError: the folder holds another model's entities, or its manifest is
            unreadable.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if path.exists():
        manifest = read_json(path)
        if manifest is None or "model_id" not in manifest:
            raise EntityShardError(
                f"{path} is not a readable entity-shard manifest; move the "
                "folder aside or choose another output folder"
            )
        if manifest["model_id"] != model_id:
            raise EntityShardError(
                f"{folder} holds entities of model {manifest['model_id']}, not {model_id}: "
                "entities of two models never share a folder; choose another output folder"
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps({"format": FORMAT, "model_id": model_id}).encode())


def read_marker(folder: Path | str, name: str) -> dict[str, Any] | None:
    """The completion marker of shard ``name``, or ``None`` when it is not complete."""
    paths = shard_paths(folder, name)
    marker = read_json(paths.marker)
    if marker is None or marker.get("format") != FORMAT:
        return None
    if not (paths.entities.is_file() and paths.tagged.is_file()):
        return None
    return marker


def remove_shard(folder: Path | str, name: str) -> None:
    """Delete every file of shard ``name`` (the marker first: never a marker without data)."""
    paths = shard_paths(folder, name)
    for path in (paths.marker, paths.entities, paths.tagged, paths.sentiment):
        path.unlink(missing_ok=True)


def remove_temporary(folder: Path | str) -> int:
    """Delete half-written files (hidden ``.tmp``) left by a killed job; return how many."""
    n = 0
    folder = Path(folder)
    for sub in (folder, folder / TAGGED_DIR, folder / DONE_DIR, folder / SENTIMENT_DIR):
        if sub.is_dir():
            for path in sub.glob(".*.tmp"):
                path.unlink(missing_ok=True)
                n += 1
    return n


def write_shard(
    folder: Path | str,
    name: str,
    entities: pa.Table,
    tagged: pa.Table,
    marker: dict[str, Any],
    *,
    sentiment: pa.Table | None = None,
) -> ShardPaths:
    """Write one shard: entities, tagged tickets and sentiment (each atomically), then its
    marker.

    Args:
        folder: the output folder (its manifest must exist, see :func:`check_folder_model`).
        name: the shard name (:func:`shard_name` of the input).
        entities: rows of :data:`ENTITY_SCHEMA`.
        tagged: rows of :data:`TAGGED_SCHEMA`.
        marker: what the marker records (input, counts, bad rows); ``format`` is added, and
            ``sentiment`` (its row count) when there is a sentiment table.
        sentiment: rows of :data:`SENTIMENT_SCHEMA` (a two-head tagger's), or ``None``
            (any older sentiment file of the shard is removed).
    """
    paths = shard_paths(folder, name)
    paths.marker.unlink(missing_ok=True)  # not complete while its files change
    marker = {k: v for k, v in marker.items() if k != "sentiment"}
    if sentiment is not None:
        paths.sentiment.parent.mkdir(parents=True, exist_ok=True)
        _write_parquet_atomic(paths.sentiment, sentiment.cast(SENTIMENT_SCHEMA))
        marker["sentiment"] = sentiment.num_rows
    else:
        paths.sentiment.unlink(missing_ok=True)
    _write_parquet_atomic(paths.entities, entities.cast(ENTITY_SCHEMA))
    _write_parquet_atomic(paths.tagged, tagged.cast(TAGGED_SCHEMA))
    _write_atomic(
        paths.marker, json.dumps({"format": FORMAT, **marker}, ensure_ascii=False).encode("utf-8")
    )
    return paths


def complete_shards(folder: Path | str) -> list[tuple[str, dict[str, Any]]]:
    """``(name, marker)`` of every complete shard of ``folder``, by name."""
    done = Path(folder) / DONE_DIR
    if not done.is_dir():
        return []
    out = []
    for path in sorted(done.glob("*.json")):
        marker = read_marker(folder, path.stem)
        if marker is not None:
            out.append((path.stem, marker))
    return out
