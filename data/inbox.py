"""Work handed to the running dashboard: validated uploads as Parquet files in an inbox.

DuckDB lets one process write a file. While the dashboard holds the database, ``python -m
data ingest`` validates the files itself and drops each, normalised, as a Parquet file into
:func:`data.paths.inbox_dir` (written under a hidden name, then renamed, so the app never
sees half a file). The app calls :func:`import_inbox` periodically; it commits each file
exactly as a direct ingest would (idempotent by file hash and ticket key) and removes it.
Entity-shard folders (``python -m model tag --engine ray``) are handed over as a JSON request
naming the folder (:func:`hand_shards_to_inbox`); the app loads them after the files.

The inbox is writable by anyone who can write beside the database, so the app trusts
nothing in it:

- only regular files are read (opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked with
  ``fstat``: no symbolic links, FIFOs, devices or folders), each under a size cap;
- a handed Parquet file is validated again before import, with ingest's own checks and the
  app's limits (:func:`data.staging.stage_file`: per-column lengths, date range 1990–2100,
  row limit), staged beside the database like an upload; its schema must be the staging
  schema and the row count it claims must be the one it holds; no signature is needed,
  because nothing is taken on trust;
- the file hash a handed file claims is never recorded on its word: when the hidden note
  ``hand_to_inbox`` leaves beside it names a regular file whose SHA-256 the app computes to
  be the claimed one, that file itself is staged and recorded under it (exactly a direct
  upload); otherwise the entry's rows are recorded under a hash of the entry's own bytes,
  so a claim can never make a later upload look "ingested before";
- JSON requests are capped in size (:data:`data.inbox_entries.MAX_REQUEST_BYTES`) and nesting depth
  (:data:`~data.inbox_entries.MAX_JSON_DEPTH`) before they are parsed, and their values are checked;
- an entry that fails for any reason is moved aside into ``failed/`` inside the inbox
  (opened with ``O_NOFOLLOW``, so never through a link; when ``failed`` is not a real folder
  ``failed-aside/`` is used, and when neither can be, the entry is deleted), and the next
  entry is handled: one bad entry never blocks the others.

Reading, moving aside and removing one entry safely is :mod:`data.inbox_entries`; the
running app's heartbeat in the inbox, which tells a command line whether a dashboard is
there to take its work, is :mod:`data.heartbeat`.

Example:
    >>> handed = hand_to_inbox("var/pricewar.duckdb", ["tickets.csv"])  # doctest: +SKIP
    >>> import_inbox(store)                                             # doctest: +SKIP
    ['tickets.csv: 120 rows, 120 new tickets']
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import os
import re
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.errors import DataError, IngestError, Problem
from data.inbox_entries import (
    InboxEntryError,
    entry_kind,
    inbox_entries,
    one_line,
    open_regular,
    read_json_entry,
    remove_entry,
    set_aside,
)
from data.ingest import (
    IngestReport,
    already_ingested,
    commit_staged,
    staging_dir_for,
)
from data.limits import IngestLimits, limits_from_env
from data.normalise import STAGED_SCHEMA
from data.paths import inbox_dir
from data.staging import source_name, stage_file

__all__ = [
    "MAX_FOOTER_BYTES",
    "HandedFile",
    "InboxPathError",
    "hand_shards_to_inbox",
    "hand_to_inbox",
    "import_inbox",
    "pending",
    "real_inbox",
]

log = logging.getLogger("data.inbox")

_STAGING = ".staging"
_SHARDS_SUFFIX = ".shards.json"
_SOURCE_SUFFIX = ".source.json"

#: Largest Parquet footer (metadata) of a handed file; the app's own are a few KiB.
MAX_FOOTER_BYTES = 1024 * 1024
_MAX_NAME_CHARS = 255
_HASH = re.compile(r"[0-9a-f]{64}")
_META = b"pricewar."


@dataclass(frozen=True)
class HandedFile:
    """A validated file waiting in the inbox."""

    file: str
    rows: int
    path: Path


class InboxPathError(DataError, OSError):
    """The inbox is not a real folder (a symbolic link, a file): nothing is read from it or
    written into it."""

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


def real_inbox(db_path: Path | str, *, create: bool = False) -> Path | None:
    """The inbox of ``db_path`` if it is a real folder (None when it does not exist and
    ``create`` is False).

    Never a symbolic link: ``<db>.inbox`` linked to another folder made the app move that
    folder's ``.parquet`` and ``.json`` files into ``failed/`` there (and import and delete
    staged ones), and made the command lines write validated tickets into it.

    Raises:
        InboxPathError: the inbox is a link or not a folder.
    """
    inbox = inbox_dir(Path(db_path))
    if create:
        inbox.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # a link there is found just below
            os.mkdir(inbox)
    try:
        info = os.lstat(inbox)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else entry_kind(info.st_mode)
        raise InboxPathError(
            errno.ENOTDIR,
            f"the inbox is {kind}, not a real folder; remove it (nothing was read from it "
            "or written into it)",
            str(inbox),
        )
    return inbox


def _private_dir(path: Path) -> Path:
    """``path`` created if needed; refused unless it is a real folder (not a link).

    Raises:
        OSError: ``path`` is a link or not a folder (the command line says so in one line).
    """
    path.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or not stat.S_ISDIR(os.lstat(path).st_mode):
        raise OSError(errno.ENOTDIR, "not a real folder (a link or a file); remove it", str(path))
    return path


def hand_to_inbox(
    db_path: Path | str, sources: Sequence[Any], *, limits: IngestLimits | None = None
) -> list[HandedFile]:
    """Validate each source and drop it into the inbox of ``db_path``.

    All sources are validated before any is handed over.

    Raises:
        IngestError: a file was rejected (nothing is handed over).
    """
    limits = limits if limits is not None else limits_from_env()
    inbox = real_inbox(db_path, create=True)
    assert inbox is not None
    staging = _private_dir(inbox / _STAGING)
    _remove_stale(staging)
    staged = []
    try:
        for source in sources:
            staged.append(
                stage_file(source, name=source_name(source), limits=limits, staging_dir=staging)
            )
    except IngestError:
        for s in staged:
            s.path.unlink(missing_ok=True)
        raise
    handed = []
    for source, s in zip(sources, staged, strict=True):
        final = inbox / f"{s.file_hash[:24]}.parquet"
        _write_source_note(staging, final, source, s.file_hash)
        os.replace(s.path, final)  # atomic: the app sees the whole file or nothing
        handed.append(HandedFile(s.name, s.rows, final))
    return handed


def _source_note(entry: Path) -> Path:
    """The hidden note beside a handed file naming the file it was made from."""
    return entry.with_name(f".{entry.stem}{_SOURCE_SUFFIX}")


def _write_source_note(staging: Path, entry: Path, source: Any, file_hash: str) -> None:
    """Name the source file of ``entry`` (when it is a path), so the app can check the
    file hash the entry claims against the file itself (see :func:`_verified_source`)."""
    note = _source_note(entry)
    if not isinstance(source, str | os.PathLike):
        note.unlink(missing_ok=True)
        return
    tmp = staging / note.name.lstrip(".")
    tmp.write_text(
        json.dumps({"path": os.path.abspath(os.fspath(source)), "file_hash": file_hash}),
        encoding="utf-8",
    )
    os.replace(tmp, note)


def hand_shards_to_inbox(db_path: Path | str, folders: Sequence[Path | str]) -> list[Path]:
    """Ask the running app to load entity-shard folders (``python -m model tag --engine
    ray`` output): each folder is checked, then named in a small JSON request in the inbox.

    The shards stay where they are; the app loads them within seconds
    (:func:`import_inbox`), so the folder must stay readable until then.

    Raises:
        EntityShardError: a folder is not a valid shard folder (nothing is handed over).
    """
    from data.shard_loading import check_shard_folder

    resolved = [Path(f).resolve() for f in folders]
    models = [check_shard_folder(f) for f in resolved]
    inbox = real_inbox(db_path, create=True)
    assert inbox is not None
    staging = _private_dir(inbox / _STAGING)
    handed = []
    for folder, model_id in zip(resolved, models, strict=True):
        digest = hashlib.sha256(f"{folder}\0{time.time_ns()}".encode()).hexdigest()[:24]
        tmp = staging / f"{digest}{_SHARDS_SUFFIX}"
        tmp.write_text(json.dumps({"folder": str(folder), "model_id": model_id}), encoding="utf-8")
        final = inbox / tmp.name
        os.replace(tmp, final)  # atomic: the app sees the whole request or nothing
        handed.append(final)
    return handed


def _remove_stale(staging: Path, *, older_than_s: float = 3600.0) -> None:
    """Delete half-written files left by a job that was killed while validating."""
    now = time.time()
    for leftover in staging.glob("*"):
        try:
            info = os.lstat(leftover)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > older_than_s:
                leftover.unlink()
        except OSError:
            continue


# -- importing -------------------------------------------------------------------------


def pending(db_path: Path | str) -> list[Path]:
    """Regular Parquet files waiting in the inbox for import, oldest first."""
    inbox = inbox_dir(Path(db_path))
    files = []
    for path in inbox_entries(inbox, lambda n: n.endswith(".parquet")):
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                files.append(path)
        except OSError:
            continue
    return files


def import_inbox(store: Any, *, limits: IngestLimits | None = None) -> list[str]:
    """Ingest every file waiting in the inbox of ``store``; return one message per file.

    Each file is validated again under ``limits`` (default: the app's
    :func:`data.limits.limits_from_env`) before it is committed. An entry that cannot be
    imported, for whatever reason, is moved aside (:func:`set_aside`) and reported; the
    others are still imported.
    """
    limits = limits if limits is not None else limits_from_env()
    inbox = inbox_dir(Path(store.path))
    messages = []
    for path in inbox_entries(inbox, lambda n: n.endswith(".parquet")):
        try:
            report = _import_handed(store, path, limits)
        except Exception as exc:  # one bad entry must not stop the app or the others
            where = set_aside(path)
            log.warning("inbox file %s refused: %s; %s", path.name, exc, where)
            messages.append(f"{path.name}: could not be imported ({one_line(exc)}); {where}")
            remove_entry(_source_note(path))
            continue
        remove_entry(path)
        remove_entry(_source_note(path))
        messages.append(report.message)
    return messages + _import_shard_requests(store)


def _footer_size(f: Any) -> int:
    """Length of the Parquet footer of the open file ``f``, from its last 8 bytes."""
    f.seek(0, os.SEEK_END)
    if f.tell() < 12:
        raise InboxEntryError("not a Parquet file (too short)")
    f.seek(-8, os.SEEK_END)
    tail = f.read(8)
    if tail[4:] != b"PAR1":
        raise InboxEntryError("not a Parquet file (no PAR1 at the end)")
    return int.from_bytes(tail[:4], "little")


def _claims(meta: dict[bytes, bytes]) -> tuple[str, str, int]:
    """The name, file hash and row count a handed file claims, checked for form."""

    def get(key: str) -> str:
        return meta.get(_META + key.encode(), b"").decode("utf-8", "replace")

    name = "".join(ch if ch.isprintable() else "?" for ch in get("name"))[:_MAX_NAME_CHARS]
    digest, rows = get("file_hash"), get("rows")
    counted = rows.isascii() and rows.isdigit() and len(rows) <= 12
    if not name or not _HASH.fullmatch(digest) or not counted:
        raise InboxEntryError(
            "not a file handed over by 'python -m data ingest' (its "
            "name, file hash or row count is missing or malformed)"
        )
    return name, digest, int(rows)


def _import_handed(store: Any, path: Path, limits: IngestLimits) -> IngestReport:
    """Validate the handed Parquet file ``path`` again, as an upload, and commit it.

    Raises:
        InboxEntryError: not a regular file, too large, not a staged file, or its claims
            do not hold.
        IngestError: a value breaks ingest's checks (lengths, dates, …).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    fd = open_regular(path, max_bytes=limits.max_bytes)
    with os.fdopen(fd, "rb") as f:
        if _footer_size(f) > MAX_FOOTER_BYTES:
            raise InboxEntryError(f"Parquet metadata over {MAX_FOOTER_BYTES:,} bytes")
        f.seek(0)
        try:
            parquet = pq.ParquetFile(f)
            schema, meta = parquet.schema_arrow, parquet.metadata.metadata or {}
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InboxEntryError(f"not a readable Parquet file ({one_line(exc)})") from None
        if not schema.remove_metadata().equals(STAGED_SCHEMA):
            raise InboxEntryError("its columns are not those of a validated upload")
        name, digest, claimed_rows = _claims(meta)
        if claimed_rows > limits.max_rows:
            raise InboxEntryError(
                f"claims {claimed_rows:,} rows, over the limit of "
                f"{limits.max_rows:,} (PRICEWAR_MAX_UPLOAD_ROWS)"
            )
        source = _verified_source(path, digest, limits)
        if source is None:
            # The claimed hash cannot be checked: the rows are recorded under a hash of the
            # entry's own bytes (apart from any upload's), so a claim never makes a later
            # upload look "ingested before".
            digest = _entry_hash(f)
        try:
            if already_ingested(store, digest):
                return IngestReport(
                    file=name, status="unchanged", already_ingested=True, file_hash=digest
                )
            # Staged again beside the database (``<db>.staging``, swept of a killed
            # process's files when a store opens for writing), not in the system temp
            # folder. The checks are ingest's own, dates included (1990–2100, for typed
            # timestamps too). When the source file is there with the claimed hash, it is
            # what is staged, exactly as a direct upload of it.
            reader = (path.name, f) if source is None else source
            reader[1].seek(0)
            staged = stage_file(
                reader,
                name=name,
                limits=limits,
                file_hash=digest,
                staging_dir=staging_dir_for(store),
            )
        finally:
            if source is not None:
                source[1].close()
    try:
        if source is None and staged.rows != claimed_rows:
            raise IngestError(
                name, [Problem(f"the file claims {claimed_rows:,} rows but holds {staged.rows:,}")]
            )
        return commit_staged(store, dataclasses.replace(staged, name=name))
    finally:
        staged.path.unlink(missing_ok=True)


def _entry_hash(f: Any) -> str:
    """SHA-256 of the open inbox entry ``f``, in a domain of its own (never the hash of an
    uploaded file)."""
    digest = hashlib.sha256(b"pricewar-inbox-entry\0")
    f.seek(0)
    for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _verified_source(entry: Path, digest: str, limits: IngestLimits) -> tuple[str, Any] | None:
    """The name and open source file of the handed ``entry``, when its note names a regular file
    whose SHA-256 the app computes to be the claimed ``digest``; otherwise None."""
    try:
        note = read_json_entry(_source_note(entry), max_bytes=8192)
    except (OSError, InboxEntryError):
        return None
    where = note.get("path")
    if (
        note.get("file_hash") != digest
        or not isinstance(where, str)
        or not where
        or len(where) > 4096
        or "\0" in where
        or not os.path.isabs(where)
    ):
        return None
    try:
        f = os.fdopen(open_regular(Path(where), max_bytes=limits.max_bytes, in_inbox=False), "rb")
    except (OSError, InboxEntryError):
        return None
    try:
        actual = hashlib.sha256()
        for block in iter(lambda: f.read(1 << 20), b""):
            actual.update(block)
        if actual.hexdigest() == digest:
            f.seek(0)
            return Path(where).name, f
    except OSError:
        pass
    f.close()
    return None


def _shard_folder(payload: dict[str, Any]) -> str:
    """The folder a shard request names, checked for form."""
    folder = payload.get("folder")
    if not isinstance(folder, str) or not folder or len(folder) > 4096 or "\0" in folder:
        raise InboxEntryError("'folder' must be a path (text of at most 4096 characters)")
    if not os.path.isabs(folder):
        raise InboxEntryError("'folder' must be an absolute path")
    model_id = payload.get("model_id")
    if model_id is not None and (not isinstance(model_id, str) or len(model_id) > 1000):
        raise InboxEntryError("'model_id' must be text")
    return folder


def _import_shard_requests(store: Any) -> list[str]:
    """Load the entity-shard folders named by requests in the inbox (oldest first)."""
    from data.shard_loading import load_entity_shards

    inbox = inbox_dir(Path(store.path))
    messages = []
    for path in inbox_entries(inbox, lambda n: n.endswith(_SHARDS_SUFFIX)):
        try:
            folder = _shard_folder(read_json_entry(path))
            messages.append(load_entity_shards(store, folder).message)
        except Exception as exc:  # a bad request or folder must not stop the app
            where = set_aside(path)
            log.warning("shard request %s refused: %s; %s", path.name, exc, where)
            messages.append(
                f"{path.name}: entity shards could not be loaded ({one_line(exc)}); {where}"
            )
            continue
        remove_entry(path)
    return messages
