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
  app's limits (:func:`data.ingest.stage_file`: per-column lengths, date range 1990–2100,
  row limit), staged beside the database like an upload; its schema must be the staging
  schema and the row count it claims must be the one it holds; no signature is needed,
  because nothing is taken on trust;
- the file hash a handed file claims is never recorded on its word: when the hidden note
  ``hand_to_inbox`` leaves beside it names a regular file whose SHA-256 the app computes to
  be the claimed one, that file itself is staged and recorded under it (exactly a direct
  upload); otherwise the entry's rows are recorded under a hash of the entry's own bytes,
  so a claim can never make a later upload look "ingested before";
- JSON requests are capped in size (:data:`MAX_REQUEST_BYTES`) and nesting depth
  (:data:`MAX_JSON_DEPTH`) before they are parsed, and their values are checked;
- an entry that fails for any reason is moved aside into ``failed/`` inside the inbox
  (opened with ``O_NOFOLLOW``, so never through a link; when ``failed`` is not a real folder
  ``failed-aside/`` is used, and when neither can be, the entry is deleted), and the next
  entry is handled: one bad entry never blocks the others.

While it polls, the app keeps a heartbeat file in the inbox (:func:`write_heartbeat`), so a
command line can say honestly whether a dashboard is there to take its work
(:func:`running_dashboard`).

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
import shutil
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.errors import DataError, IngestError, Problem
from data.ingest import (
    STAGED_SCHEMA,
    IngestLimits,
    IngestReport,
    _known_file,
    commit_staged,
    limits_from_env,
    source_name,
    stage_file,
    staging_dir_for,
)
from data.paths import inbox_dir

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_POLL_SECONDS",
    "MAX_REQUEST_BYTES",
    "HandedFile",
    "InboxEntryError",
    "InboxPathError",
    "clear_heartbeat",
    "hand_shards_to_inbox",
    "hand_to_inbox",
    "import_inbox",
    "inbox_entries",
    "json_depth",
    "pending",
    "read_json_entry",
    "real_inbox",
    "remove_entry",
    "running_dashboard",
    "set_aside",
    "write_heartbeat",
]

log = logging.getLogger("data.inbox")

_STAGING = ".staging"
_FAILED = ("failed", "failed-aside")  # the second when the first is not a real folder
_SHARDS_SUFFIX = ".shards.json"
_HEARTBEAT = ".app-heartbeat"
_SOURCE_SUFFIX = ".source.json"

#: Largest JSON request (tagging, entity shards) read from the inbox, in bytes.
MAX_REQUEST_BYTES = 64 * 1024
#: Deepest nesting of arrays and objects accepted in a JSON request.
MAX_JSON_DEPTH = 8
#: Longest poll interval of the app (seconds; ``PRICEWAR_INBOX_SECONDS`` is capped to it).
#: A heartbeat claiming a longer one is not believed (it would stay "fresh" for hours).
MAX_POLL_SECONDS = 300.0
#: Entries of one kind handled per poll (the rest wait for the next poll).
MAX_ENTRIES_PER_POLL = 256
#: Largest Parquet footer (metadata) of a handed file; the app's own are a few KiB.
MAX_FOOTER_BYTES = 1024 * 1024
_MAX_NAME_CHARS = 255
_HASH = re.compile(r"[0-9a-f]{64}")
_META = b"pricewar."


class InboxEntryError(ValueError):
    """An inbox entry that is refused (not a regular file, too large, malformed)."""


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
        kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else _kind(info.st_mode)
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
    from data.entity_shards import check_shard_folder

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


# -- reading entries safely --------------------------------------------------------------


def inbox_entries(
    inbox: Path, match: Callable[[str], bool], *, limit: int = MAX_ENTRIES_PER_POLL
) -> list[Path]:
    """Entries of ``inbox`` whose name ``match`` accepts, oldest first (by ``lstat``, so
    links are never followed); hidden names are skipped; at most ``limit``. An inbox that
    is a link (to another folder) or not a folder has no entries (logged)."""
    found: list[tuple[float, str]] = []
    try:
        info = os.lstat(inbox)
    except OSError:
        return []
    if not stat.S_ISDIR(info.st_mode):
        log.warning("inbox %s is not a real folder (a link?): not read", inbox)
        return []
    try:
        with os.scandir(inbox) as it:
            for entry in it:
                if entry.name.startswith(".") or not match(entry.name):
                    continue
                try:
                    found.append((entry.stat(follow_symlinks=False).st_mtime, entry.name))
                except OSError:
                    continue  # gone since the listing
    except (FileNotFoundError, NotADirectoryError):
        return []
    found.sort()
    return [inbox / name for _, name in found[:limit]]


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _folder_fd(path: Path) -> int:
    """A descriptor of the folder holding the inbox entry ``path``, opened ``O_NOFOLLOW``:
    the entry is then opened or removed relative to it (``dir_fd``), so an inbox swapped
    for a link after it was listed is never read or changed through.

    Raises:
        InboxEntryError: the folder is a link or not a folder (any more).
    """
    try:
        return os.open(path.parent, _DIR_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise InboxEntryError(
                "the inbox is no longer a real folder (a link?); nothing read through it"
            ) from None
        raise


def _open_regular(path: Path, *, max_bytes: int, in_inbox: bool = True) -> int:
    """A read-only descriptor of ``path`` if it is a regular file of at most ``max_bytes``.

    Opened with ``O_NOFOLLOW | O_NONBLOCK`` (a link is refused, a FIFO does not block) and
    checked with ``fstat`` on the descriptor itself, so nothing can be swapped in between.
    An inbox entry (``in_inbox``) is opened relative to its folder, itself opened without
    following a link (:func:`_folder_fd`).

    Raises:
        InboxEntryError: a link, FIFO, device, socket or folder, or over ``max_bytes``.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        if in_inbox:
            folder = _folder_fd(path)
            try:
                fd = os.open(path.name, flags, dir_fd=folder)
            finally:
                os.close(folder)
        else:
            fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InboxEntryError("a symbolic link; only regular files are read") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InboxEntryError(f"{_kind(info.st_mode)}; only regular files are read")
        if info.st_nlink > 1:
            raise InboxEntryError(
                "a hard link to another file; only files written into the inbox are read"
            )
        if info.st_size > max_bytes:
            raise InboxEntryError(f"{info.st_size:,} bytes, over the limit of {max_bytes:,}")
        os.set_blocking(fd, True)
        return fd
    except BaseException:
        os.close(fd)
        raise


def _read_regular(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (see :func:`_open_regular`)."""
    with os.fdopen(_open_regular(path, max_bytes=max_bytes), "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InboxEntryError(f"over the limit of {max_bytes:,} bytes")
    return data


def json_depth(text: str, limit: int | None = None) -> int:
    """Nesting depth of the JSON ``text`` (arrays and objects; strings skipped, no parsing),
    counted up to ``limit + 1`` when a limit is given.

    Example:
        >>> json_depth('[["a]]]", 1], [2]]')
        2
    """
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if limit is not None and deepest > limit:
                    break
        elif ch in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise InboxEntryError(f"{name} is not a number JSON allows")


def read_json_entry(
    path: Path, *, max_bytes: int = MAX_REQUEST_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> dict[str, Any]:
    """The JSON object in the inbox entry ``path``, read safely.

    Raises:
        InboxEntryError: not a regular file, over ``max_bytes``, not UTF-8, nested deeper
            than ``max_depth``, not valid JSON or not an object.
    """
    data = _read_regular(path, max_bytes=max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InboxEntryError("not UTF-8 text") from None
    if json_depth(text, max_depth) > max_depth:
        raise InboxEntryError(f"JSON nested deeper than {max_depth} levels")
    try:
        payload = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, InboxEntryError):
            raise
        raise InboxEntryError(f"not valid JSON ({_one_line(exc)})") from None
    if not isinstance(payload, dict):
        raise InboxEntryError(f"a JSON {type(payload).__name__}, not an object")
    return payload


# -- moving entries aside --------------------------------------------------------------


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _delete(path: Path) -> None:
    """Remove the inbox entry ``path`` relative to its folder (:func:`_folder_fd`), never
    through a link, whether the entry or the inbox itself was made one."""
    folder = _folder_fd(path)
    try:
        info = os.stat(path.name, dir_fd=folder, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            # the fd-based version: links inside are removed, not followed
            shutil.rmtree(path.name, dir_fd=folder)
        else:
            os.unlink(path.name, dir_fd=folder)
    finally:
        os.close(folder)


def set_aside(path: Path) -> str:
    """Move the inbox entry ``path`` out of the way; return what was done, in words.

    The entry goes into ``failed/`` inside the inbox, renamed through descriptors of real
    folders (``O_NOFOLLOW``), so a ``failed`` that is a link is never followed: then
    ``failed-aside/`` is used, and when neither is a real folder the entry is deleted.
    Never raises: an entry that can be neither moved nor deleted is reported.
    """
    inbox = path.parent
    dir_flags = _DIR_FLAGS
    try:
        inbox_fd = os.open(inbox, dir_flags)  # the inbox itself never through a link
    except OSError as exc:
        return f"could not be moved aside ({_one_line(exc)})"
    try:
        for name in _FAILED:
            try:
                os.mkdir(name, dir_fd=inbox_fd)
            except FileExistsError:
                pass
            except OSError:
                continue
            try:
                failed_fd = os.open(name, dir_flags, dir_fd=inbox_fd)
            except OSError:
                continue  # a link, a file, a FIFO…: never moved through
            try:
                for target in (path.name, f"{path.name}.{time.time_ns()}"):
                    try:
                        os.rename(path.name, target, src_dir_fd=inbox_fd, dst_dir_fd=failed_fd)
                        return f"moved to {inbox / name / target}"
                    except FileNotFoundError:
                        return "gone already"
                    except OSError:
                        continue  # e.g. a folder of that name there: try a unique name
            finally:
                os.close(failed_fd)
    finally:
        os.close(inbox_fd)
    try:
        _delete(path)
        return "deleted (no real 'failed' folder to move it into)"
    except FileNotFoundError:
        return "gone already"
    except (OSError, InboxEntryError) as exc:
        return f"could be neither moved aside nor deleted ({_one_line(exc)})"


def remove_entry(path: Path) -> bool:
    """Delete a handled inbox entry (never following a link); False if it could not be."""
    try:
        _delete(path)
        return True
    except FileNotFoundError:
        return True
    except (OSError, InboxEntryError):
        log.warning("inbox entry %s could not be removed", path, exc_info=True)
        return False


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
    :func:`data.ingest.limits_from_env`) before it is committed. An entry that cannot be
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
            messages.append(f"{path.name}: could not be imported ({_one_line(exc)}); {where}")
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

    fd = _open_regular(path, max_bytes=limits.max_bytes)
    with os.fdopen(fd, "rb") as f:
        if _footer_size(f) > MAX_FOOTER_BYTES:
            raise InboxEntryError(f"Parquet metadata over {MAX_FOOTER_BYTES:,} bytes")
        f.seek(0)
        try:
            parquet = pq.ParquetFile(f)
            schema, meta = parquet.schema_arrow, parquet.metadata.metadata or {}
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InboxEntryError(f"not a readable Parquet file ({_one_line(exc)})") from None
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
            if _known_file(store, digest):
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
        f = os.fdopen(_open_regular(Path(where), max_bytes=limits.max_bytes, in_inbox=False), "rb")
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
    from data.entity_shards import load_entity_shards

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
                f"{path.name}: entity shards could not be loaded ({_one_line(exc)}); {where}"
            )
            continue
        remove_entry(path)
    return messages


# -- who is there to take the work -------------------------------------------------------


def write_heartbeat(db_path: Path | str, every: float) -> None:
    """Record in the inbox that this process imports it every ``every`` seconds.

    Written under a temporary name and renamed (a link at the final name is replaced,
    never followed), both relative to the inbox opened without following a link (an inbox
    swapped for a link after its check is not written through). Failures are logged, not
    raised: the app works without it.
    """
    try:
        inbox = real_inbox(db_path, create=True)
        assert inbox is not None
        folder = os.open(inbox, _DIR_FLAGS)
        try:
            tmp = f"{_HEARTBEAT}.{os.getpid()}.tmp"
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK
            fd = os.open(tmp, flags, 0o644, dir_fd=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"pid": os.getpid(), "time": time.time(), "every": float(every)}, f)
            os.replace(tmp, _HEARTBEAT, src_dir_fd=folder, dst_dir_fd=folder)
        finally:
            os.close(folder)
    except OSError:
        log.warning("could not write the inbox heartbeat", exc_info=True)


def clear_heartbeat(db_path: Path | str) -> None:
    """Remove this process's heartbeat (when it stops polling)."""
    path = inbox_dir(Path(db_path)) / _HEARTBEAT
    try:
        if read_json_entry(path, max_bytes=4096).get("pid") == os.getpid():
            _delete(path)
    except (OSError, InboxEntryError):
        return


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OSError:
        return False
    return True


def running_dashboard(db_path: Path | str, lock_pid: int | None = None) -> int | None:
    """The process id of a dashboard that polls the inbox of ``db_path`` now, or None.

    A dashboard counts when its heartbeat is recent (within 4 polls, at least 2 minutes;
    an interval over :data:`MAX_POLL_SECONDS`, or a time in the future, is not believed),
    its process is alive and, when the holder of the database lock is known (``lock_pid``),
    it is that process.
    """
    try:
        beat = read_json_entry(inbox_dir(Path(db_path)) / _HEARTBEAT, max_bytes=4096)
    except (OSError, InboxEntryError):
        return None
    pid, when, every = beat.get("pid"), beat.get("time"), beat.get("every")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    if not isinstance(when, int | float) or not isinstance(every, int | float):
        return None
    if isinstance(every, bool) or not 0 < every <= MAX_POLL_SECONDS:
        return None  # not an interval the app polls at (NaN and infinity included)
    age = time.time() - when
    if not -60.0 <= age <= max(120.0, 4 * float(every)):
        return None  # stale, or "written" in the future
    if lock_pid is not None and lock_pid != pid:
        return None
    return pid if _alive(pid) else None
