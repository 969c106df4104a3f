"""JSONL rows, line by line: broken lines, lone surrogates and too many keys located by line."""


from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pandas as pd

from data.errors import Problem
from data.readers.opening import MAX_PROBLEMS, Opened, Reject, too_many_columns


def jsonl_chunks(opened: Opened, chunksize: int) -> Iterator[pd.DataFrame]:
    if opened.encoding == "utf-16":
        lines: Iterator[bytes] = (
            line.encode("utf-8") for line in io.TextIOWrapper(
                opened.stream, encoding="utf-16", errors="strict", newline=None))
    else:
        lines = iter(opened.stream)
    problems: list[Problem] = []
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    pending_bytes = 0
    total = 0
    number = 0
    keys: set[str] = set()  # every key so far: the columns the frames will have
    while True:
        try:
            raw = next(lines)
        except StopIteration:
            break
        except UnicodeDecodeError as exc:
            problems.append(Problem(f"the text cannot be decoded as UTF-16 ({exc.reason})",
                                    row=number + 1))
            break
        number += 1
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
                row=number))
        else:
            problem = None
            if "\x00" in line:
                problem = Problem("contains a NUL byte (binary content?)", row=number)
            else:
                try:
                    value = json.loads(line)
                except (ValueError, RecursionError) as exc:
                    # ValueError: also a number of over 4,300 digits (not a JSONDecodeError)
                    msg = (exc.msg if isinstance(exc, json.JSONDecodeError)
                           else "nested too deep" if isinstance(exc, RecursionError)
                           else str(exc).splitlines()[0][:200] if str(exc) else "a bad value")
                    problem = Problem(f"not valid JSON ({msg})", row=number)
                else:
                    if not isinstance(value, dict):
                        problem = Problem(
                            f"each line must be a JSON object, found {type(value).__name__}",
                            row=number)
                    elif (wide := too_many_columns(len(value), opened.max_columns)) is not None:
                        problem = replace(wide, row=number)
                    elif (lone := _lone_surrogate(line, value)) is not None:
                        problem = replace(lone, row=number)
                    elif opened.max_columns is not None and _new_keys_over(
                            keys, value, opened.max_columns):
                        # The records *together* are over the limit: refuse before any
                        # frame of that many columns is built.
                        wide = too_many_columns(len(keys), opened.max_columns, at_least=True)
                        assert wide is not None
                        raise Reject(Problem(
                            f"the records together have {wide.message}", row=number))
                    elif not problems:
                        records.append({k: _json_scalar(v) for k, v in value.items()})
                        numbers.append(number)
                        pending_bytes += len(raw)
            if problem is not None:
                problems.append(problem)
        if len(problems) >= MAX_PROBLEMS:
            break
        if records and not problems and (len(records) >= chunksize
                                         or pending_bytes >= opened.chunk_bytes):
            total += len(records)
            yield _records_frame(records, numbers)
            records, numbers, pending_bytes = [], [], 0
    if problems:
        raise Reject(*problems)
    if total + len(records) == 0:
        raise Reject(Problem("the file has no JSON records"))
    if records:
        yield _records_frame(records, numbers)


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
        return Problem("holds a \\u escape of a lone surrogate (\\ud800–\\udfff), which is "
                       "not a character; save the file as UTF-8 without it")
    return None


def _records_frame(records: list[dict[str, Any]], numbers: list[int]) -> pd.DataFrame:
    """A chunk of JSON records; ``attrs["rows"]`` holds their line numbers."""
    frame = pd.DataFrame.from_records(records)
    frame.attrs["rows"] = numbers
    return frame


def _json_scalar(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return value
