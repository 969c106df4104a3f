"""JSONL rows, line by line: broken lines, lone surrogates and too many keys located by line."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pandas as pd

from data.errors import Problem
from data.readers.opening import MAX_PROBLEMS, Opened, Reject, too_many_columns

#: Longest JSON line read (bytes), unless the chunks are larger: a ticket's text is at most
#: 128 KiB of UTF-8 (six times that written as ``\\u`` escapes), its other fields 2,000
#: characters each.
MAX_LINE_BYTES = 16 * 1024**2


def _bounded_lines(stream: Any, limit: int) -> Iterator[bytes]:
    """The lines of ``stream`` (bytes, or UTF-16 decoded to text, given as UTF-8), each
    read with at most ``limit`` + 1 bytes of the file in memory (``limit // 2`` + 1
    characters for UTF-16): a longer line is refused by its number before it is read whole
    (a 612 KB ``.jsonl.gz`` of one 600 MB line was read, decoded and parsed whole:
    3.7 GiB)."""
    number = 0
    # A UTF-16 character takes at least 2 bytes of the file: half as many characters
    # (a line of 16 M CJK characters held 48 MB of UTF-8 when characters were counted).
    most = limit // 2 if isinstance(stream, io.TextIOBase) else limit
    while True:
        line = stream.readline(most + 1)
        if not line:
            return
        number += 1
        if len(line) > most:
            raise Reject(
                Problem(
                    f"the line is longer than {limit:,} bytes: one record cannot be that "
                    f"large (is this one JSON document rather than JSON Lines?)",
                    row=number,
                )
            )
        yield line.encode("utf-8") if isinstance(line, str) else line


def jsonl_chunks(opened: Opened, chunksize: int) -> Iterator[pd.DataFrame]:
    """Frames of at most ``chunksize`` records (or ``opened.chunk_bytes`` of lines) of the
    JSON Lines in ``opened``, each record's line number kept; every bad line is collected
    (at most :data:`MAX_PROBLEMS`) and refused together, by line.

    Raises:
        Reject: the problems found, or a file without records.
    """
    source: Any = opened.stream
    limit = max(MAX_LINE_BYTES, opened.chunk_bytes)
    if opened.encoding == "utf-16":
        source = io.TextIOWrapper(opened.stream, encoding="utf-16", errors="strict", newline=None)
    lines = _bounded_lines(source, limit)
    problems: list[Problem] = []
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    pending_bytes = 0
    total = 0
    number = 0
    seen = _SeenKeys()
    while True:
        try:
            raw = next(lines)
        except StopIteration:
            break
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(f"the text cannot be decoded as UTF-16 ({exc.reason})", row=number + 1)
            )
            break
        number += 1
        if not raw.strip():
            continue
        record, problem = _line_record(raw, number, opened, seen)
        if problem is not None:
            problems.append(problem)
        elif not problems:
            records.append(record)
            numbers.append(number)
            pending_bytes += len(raw)
        if len(problems) >= MAX_PROBLEMS:
            break
        if (
            records
            and not problems
            and (len(records) >= chunksize or pending_bytes >= opened.chunk_bytes)
        ):
            total += len(records)
            yield _records_frame(records, numbers)
            records, numbers, pending_bytes = [], [], 0
    if problems:
        raise Reject(*problems)
    if total + len(records) == 0:
        raise Reject(Problem("the file has no JSON records"))
    if records:
        yield _records_frame(records, numbers)


class _SeenKeys:
    """The keys of the records so far: every key (the columns the frames will have) and
    each column name as compared (case, spaces) → as written."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.spelled: dict[str, str] = {}


def _line_record(
    raw: bytes, number: int, opened: Opened, seen: _SeenKeys
) -> tuple[dict[str, Any], None] | tuple[None, Problem]:
    """``(record, None)`` for line ``number`` (``raw``, not blank), or ``(None, problem)``.

    Raises:
        Reject: the records so far and this one together have too many keys (refused
            before any frame of that many columns is built).
    """
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, Problem(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            row=number,
        )
    if "\x00" in line:
        return None, Problem("contains a NUL byte (binary content?)", row=number)
    try:
        value = _loads(line)
    except _NotANumber as exc:
        return None, Problem(exc.message, row=number, column=exc.key)
    except (ValueError, RecursionError) as exc:
        return None, Problem(f"not valid JSON ({_json_error(exc)})", row=number)
    problem = _object_problem(value, line, opened, seen)
    if problem is not None:
        return None, replace(problem, row=number)
    if opened.max_columns is not None and _new_keys_over(seen.keys, value, opened.max_columns):
        wide = too_many_columns(len(seen.keys), opened.max_columns, at_least=True)
        assert wide is not None
        raise Reject(Problem(f"the records together have {wide.message}", row=number))
    try:
        return _record(value), None
    except _NotANumber as exc:
        return None, Problem(exc.message, row=number, column=exc.key)
    except RecursionError:
        return None, Problem("not valid JSON (nested too deep)", row=number)


def _json_error(exc: ValueError | RecursionError) -> str:
    """What was wrong with a line ``json`` refused: its own message, "nested too deep", or
    the first line of the error (also a number of over 4,300 digits, not a
    ``JSONDecodeError``)."""
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if isinstance(exc, RecursionError):
        return "nested too deep"
    return str(exc).splitlines()[0][:200] if str(exc) else "a bad value"


def _object_problem(value: Any, line: str, opened: Opened, seen: _SeenKeys) -> Problem | None:
    """Why a parsed line is not a record (no row yet): not an object, too many keys, a
    key twice in other spellings, a lone surrogate; else None."""
    if not isinstance(value, dict):
        kind = "number" if isinstance(value, _NumberText) else type(value).__name__
        return Problem(f"each line must be a JSON object, found {kind}")
    if (wide := too_many_columns(len(value), opened.max_columns)) is not None:
        return wide
    if (twin := _same_name(seen.spelled, value)) is not None:
        return twin
    return _lone_surrogate(line, value)


class _NumberText(str):
    """A JSON number with a fraction or an exponent as written in the file (``1.10``,
    ``1e309``): kept as that text, as a CSV cell is, never read through ``float`` (which
    made ``1e309`` "inf" and ``1.10`` "1.1")."""


class _NotANumber(ValueError):
    """A line holding ``NaN``, ``Infinity`` or ``-Infinity`` (not JSON), or a number that
    is infinite as a float inside a nested value; ``key`` is the top-level key."""

    def __init__(self, message: str, key: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.key = key


class _Constant:
    """Where ``NaN``/``Infinity`` stood in a parsed line (found again by :func:`_loads`)."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _loads(line: str) -> Any:
    """``json.loads`` of one line, numbers kept as :class:`_NumberText`.

    Raises:
        _NotANumber: ``NaN``, ``Infinity`` or ``-Infinity`` anywhere in the line (Python's
            reader accepts them; they are not JSON, and no reader of the other languages
            takes them), by top-level key.
    """
    constants: list[_Constant] = []

    def constant(literal: str) -> _Constant:
        found = _Constant(literal)
        constants.append(found)
        return found

    # whole numbers stay Python's int (exact, and one of over 4,300 digits is refused as
    # before); the others keep the text written
    value = json.loads(
        line, parse_float=_NumberText, parse_constant=constant, object_pairs_hook=_unique_keys
    )
    if "\\u0000" in line and _holds_nul(value):
        key = None
        if isinstance(value, dict):
            key = next((str(k) for k, v in value.items() if "\0" in k or _holds_nul(v)), None)
        raise _NotANumber(
            "holds a \\u0000 escape (a NUL character, which text cannot hold: binary content?)",
            key,
        )
    if constants:
        literal = constants[0].literal
        key = None
        if isinstance(value, dict):
            key = next((str(k) for k, v in value.items() if _holds(v, _Constant)), None)
        raise _NotANumber(
            f'{literal} is not a JSON number (write a number, or the text "{literal}" in quotes)',
            key,
        )
    return value


class _DuplicateKey(_NotANumber):
    """An object that names one key twice (``{"text": "a", "text": "=cmd"}``): JSON
    readers keep either value (Python's the last, others the first), so what the app
    stores would not be what another tool shows; a CSV header naming a column twice is
    refused too."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` of :func:`_loads`: the object, or :class:`_DuplicateKey`."""
    out: dict[str, Any] = {}
    for key, item in pairs:
        if key in out:
            shown = key if len(key) <= 40 else key[:39] + "…"
            raise _DuplicateKey(
                f"the key {shown!r} appears twice in one object (JSON readers keep one or "
                "the other): write it once",
                None,
            )
        out[key] = item
    return out


def _holds_nul(value: Any) -> bool:
    """Whether ``value`` holds, at any depth, text or a key with a NUL character."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and not isinstance(item, _NumberText):
            if "\0" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _holds(value: Any, kind: type) -> bool:
    """Whether ``value`` is, or holds at any depth, an instance of ``kind``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, kind):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _plain_numbers(value: Any) -> Any:
    """A nested value with its numbers as Python numbers again (for ``json.dumps``): the
    kept texts (:class:`_NumberText`) as ``float``.

    Raises:
        _NotANumber: a number that is infinite as a float (``1e309``: it would be written
            back as ``Infinity``, not JSON).
    """
    if isinstance(value, _NumberText):
        return _number(value)
    if not isinstance(value, dict | list):
        return value
    # iterative: a line nested 900 deep is valid JSON (json.loads and json.dumps take it)
    out: dict[str, Any] | list[Any] = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, out)]
    while stack:
        source, target = stack.pop()
        for key, item in source.items() if isinstance(source, dict) else enumerate(source):
            if isinstance(item, dict | list):
                new: Any = {} if isinstance(item, dict) else []
                stack.append((item, new))
            else:
                new = _number(item) if isinstance(item, _NumberText) else item
            if isinstance(target, dict):
                target[key] = new
            else:
                target.append(new)
    return out


def _number(value: _NumberText) -> float:
    """A number with a fraction or an exponent, written in a nested value, as a float.

    Raises:
        _NotANumber: infinite as a float (``1e400``).
    """
    text = str(value)
    shown = text if len(text) <= 40 else text[:39] + "…"
    problem = _NotANumber(
        f"the number {shown} inside this value is too large (write it in "
        "quotes to keep it as text)",
        None,
    )
    try:
        number = float(text)
    except ValueError:
        raise problem from None
    if not math.isfinite(number):
        raise problem
    return number


def _record(value: dict[str, Any]) -> dict[str, Any]:
    """The frame's record of a line's object (:func:`_json_scalar` of each value).

    Raises:
        _NotANumber: a nested value holds a number JSON text cannot hold, by key.
    """
    out = {}
    for key, item in value.items():
        try:
            out[key] = _json_scalar(item)
        except _NotANumber as exc:
            raise _NotANumber(exc.message, str(key)) from None
    return out


def _same_name(spelled: dict[str, str], record: dict[str, Any]) -> Problem | None:
    """The problem of a key that names the same column as another (``"Text"`` beside
    ``"text"``, in this record or an earlier one): names are compared as a CSV header's
    are (case and surrounding spaces ignored), where such a pair is refused. Without it one
    of the two was silently dropped (``{"text": "a", "TEXT": "b"}`` stored "a"), or a line
    holding only ``"Text"`` was refused as "empty text". ``spelled`` learns the new keys."""
    for key in record:
        folded = str(key).strip().lower()
        first = spelled.setdefault(folded, str(key))
        if first != key:
            return Problem(
                f"the key names the same column as {first!r} (column names are compared "
                "without case and surrounding spaces): use one spelling",
                column=str(key),
            )
    return None


def _new_keys_over(keys: set[str], record: dict[str, Any], max_columns: int) -> bool:
    """Add the keys of ``record`` to ``keys``; whether they are now over ``max_columns``
    (``keys`` then holds just one more than the limit, not every key of the record)."""
    for key in record:
        if key not in keys:
            keys.add(key)
            if len(keys) > max_columns:
                return True
    return False


def _lone_surrogate(line: str, value: dict[str, Any]) -> Problem | None:
    """The problem of a record holding a lone surrogate (a ``\\ud800`` escape is valid JSON
    but no character: UTF-8 cannot hold it), or None."""
    if "\\ud" not in line.lower():  # every surrogate is \\ud800–\\udfff
        return None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return Problem(
            "holds a \\u escape of a lone surrogate (\\ud800–\\udfff), which is "
            "not a character; save the file as UTF-8 without it"
        )
    return None


def _records_frame(records: list[dict[str, Any]], numbers: list[int]) -> pd.DataFrame:
    """A chunk of JSON records; ``attrs["rows"]`` holds their line numbers."""
    frame = pd.DataFrame.from_records(records)
    frame.attrs["rows"] = numbers
    return frame


def _json_scalar(value: Any) -> Any:
    """A top-level value as the frame holds it: text as it is; a number as the text
    written in the file (``1.10``, ``1e309``: what a CSV cell would give; the column's own
    check then refuses a number that is not one, as for a CSV file); true/false as text; a
    nested value as JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(_plain_numbers(value), ensure_ascii=False)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, _NumberText):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return value
