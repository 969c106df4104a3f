"""One entry of the inbox, handled as untrusted input: listed without following links, read
only when it is a regular file under a size cap (a JSON request also under a nesting cap),
moved aside or removed through descriptors of real folders, never through a link.

Anyone who can write beside the database can write into its inbox (:mod:`data.inbox`), so
every entry may be a symbolic link, a FIFO, a device, a hard link to another user's file, a
huge file or deeply nested JSON. Each function here refuses those with
:class:`InboxEntryError` (its message says what the entry is) or works around them.

Example:
    >>> json_depth('[["a]]]", 1], [2]]')
    2
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from data.errors import DataError

__all__ = [
    "FOLDER_FLAGS",
    "MAX_ENTRIES_PER_POLL",
    "MAX_JSON_DEPTH",
    "MAX_REQUEST_BYTES",
    "InboxEntryError",
    "entry_kind",
    "folder_fd",
    "inbox_entries",
    "json_depth",
    "one_line",
    "open_regular",
    "read_json_entry",
    "read_regular",
    "remove_entry",
    "set_aside",
]

log = logging.getLogger("data.inbox")

_FAILED = ("failed", "failed-aside")  # the second when the first is not a real folder

#: Largest JSON request (tagging, entity shards) read from the inbox, in bytes.
MAX_REQUEST_BYTES = 64 * 1024
#: Deepest nesting of arrays and objects accepted in a JSON request.
MAX_JSON_DEPTH = 8
#: Entries of one kind handled per poll (the rest wait for the next poll).
MAX_ENTRIES_PER_POLL = 256


class InboxEntryError(DataError, ValueError):
    """An inbox entry that is refused (not a regular file, too large, malformed)."""


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


def entry_kind(mode: int) -> str:
    """What a file mode is, in words ("a folder", "a FIFO", ...), for refusals."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def folder_fd(path: Path) -> int:
    """A descriptor of the folder holding the inbox entry ``path``, opened ``O_NOFOLLOW``:
    the entry is then opened or removed relative to it (``dir_fd``), so an inbox swapped
    for a link after it was listed is never read or changed through.

    Raises:
        InboxEntryError: the folder is a link or not a folder (any more).
    """
    try:
        return os.open(path.parent, FOLDER_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise InboxEntryError(
                "the inbox is no longer a real folder (a link?); nothing read through it"
            ) from None
        raise


def open_regular(path: Path, *, max_bytes: int, in_inbox: bool = True) -> int:
    """A read-only descriptor of ``path`` if it is a regular file of at most ``max_bytes``.

    Opened with ``O_NOFOLLOW | O_NONBLOCK`` (a link is refused, a FIFO does not block) and
    checked with ``fstat`` on the descriptor itself, so nothing can be swapped in between.
    An inbox entry (``in_inbox``) is opened relative to its folder, itself opened without
    following a link (:func:`folder_fd`).

    Raises:
        InboxEntryError: a link, FIFO, device, socket or folder, or over ``max_bytes``.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        if in_inbox:
            folder = folder_fd(path)
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
            raise InboxEntryError(f"{entry_kind(info.st_mode)}; only regular files are read")
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


def read_regular(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (see :func:`open_regular`)."""
    with os.fdopen(open_regular(path, max_bytes=max_bytes), "rb") as f:
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


def _object_of_unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are each given once: ``{"batch_size": 8, "batch_size":
    4096}`` would otherwise be read as its last value, silently (the writer meant one)."""
    payload: dict[str, Any] = {}
    for key, value in pairs:
        if key in payload:
            shown = ascii(key[:40])  # a lone surrogate or a control shown as its escape
            raise InboxEntryError(f"the key {shown} is given twice (which value is meant?)")
        payload[key] = value
    return payload


def read_json_entry(
    path: Path, *, max_bytes: int = MAX_REQUEST_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> dict[str, Any]:
    """The JSON object in the inbox entry ``path``, read safely.

    Raises:
        InboxEntryError: not a regular file, over ``max_bytes``, not UTF-8, nested deeper
            than ``max_depth``, not valid JSON, a key given twice or not an object.
    """
    data = read_regular(path, max_bytes=max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InboxEntryError("not UTF-8 text") from None
    if json_depth(text, max_depth) > max_depth:
        raise InboxEntryError(f"JSON nested deeper than {max_depth} levels")
    try:
        payload = json.loads(
            text, parse_constant=_no_constant, object_pairs_hook=_object_of_unique_keys
        )
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, InboxEntryError):
            raise
        raise InboxEntryError(f"not valid JSON ({one_line(exc)})") from None
    if not isinstance(payload, dict):
        raise InboxEntryError(f"a JSON {type(payload).__name__}, not an object")
    return payload


# -- moving entries aside --------------------------------------------------------------


def one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def delete_entry(path: Path) -> None:
    """Remove the inbox entry ``path`` relative to its folder (:func:`folder_fd`), never
    through a link, whether the entry or the inbox itself was made one."""
    folder = folder_fd(path)
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
    dir_flags = FOLDER_FLAGS
    try:
        inbox_fd = os.open(inbox, dir_flags)  # the inbox itself never through a link
    except OSError as exc:
        return f"could not be moved aside ({one_line(exc)})"
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
        delete_entry(path)
        return "deleted (no real 'failed' folder to move it into)"
    except FileNotFoundError:
        return "gone already"
    except (OSError, InboxEntryError) as exc:
        return f"could be neither moved aside nor deleted ({one_line(exc)})"


def remove_entry(path: Path) -> bool:
    """Delete a handled inbox entry (never following a link); False if it could not be."""
    try:
        delete_entry(path)
        return True
    except FileNotFoundError:
        return True
    except (OSError, InboxEntryError):
        log.warning("inbox entry %s could not be removed", path, exc_info=True)
        return False
