"""File mode: tag a CSV/TSV/JSONL/Parquet table into JSONL, one object per input row.

Each output line is ``{"id": …, "entities": [{"start", "end", "label", "text", "score"}]}``
with ``text == input_text[start:end]``; with a two-head tagger (model/sentiment.py) every
line also has ``"sentiment": {"label": "negative"|"neutral"|"positive", "score": float}``
from the same forward pass (``null`` on a line with ``"error"``). A row whose text is missing, empty or not a string
is not dropped: its line carries ``"error"`` and no entities, and it is reported through
``warn``. The output is written to a temporary file and renamed at the end, so a failed run
never leaves a half-written result; an output that is the input file (or a link to it), a
folder, or below a file is refused before anything is read.

Example:
    >>> report = tag_file(tagger, Path("tickets.csv"), Path("out.jsonl"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data.db_file import file_kind
from data.keyed_tickets import text_problem
from model.errors import FileModeError


@dataclass(frozen=True)
class FileReport:
    """Counts of a file-mode run."""

    rows: int
    entities: int
    bad_rows: int


def _plain(value: Any) -> Any:
    """A JSON-ready id: numpy scalars to Python, missing values to ``None``."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def tag_file(
    tagger: Any,
    source: Path,
    output: Path,
    *,
    text_column: str = "text",
    id_column: str | None = None,
    batch_size: int = 64,
    chunksize: int = 5000,
    warn: Callable[[str], None] | None = None,
) -> FileReport:
    """Tag ``source`` (a table file) into ``output`` (JSONL).

    Args:
        tagger: a :class:`model.Tagger`.
        source: CSV, TSV, JSONL or Parquet file (optionally gzipped).
        output: JSONL file to write (replaced only when the run succeeds).
        text_column: the column holding the text.
        id_column: the column holding row ids; default ``id`` when present, else the 1-based
            row number.
        batch_size: windows per forward pass.
        chunksize: rows read at a time.
        warn: called with one line per bad row (at most 20, then a count).

    Raises:
        FileModeError: the file is unreadable or lacks a named column.
    """
    from data.errors import IngestError
    from data.readers import read_table_chunks

    rows = entities = bad = 0
    output = Path(output)
    check_output(Path(source), output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        # a fresh file of our own (O_CREAT | O_EXCL: never an existing file, nor a link
        # someone placed at a guessable name in a shared folder), renamed over the output
        fd, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    except OSError as exc:
        raise FileModeError(
            f"--output {output}: cannot write there ({exc.strerror or exc})"
        ) from None
    tmp = Path(name)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            for chunk in read_table_chunks(source, name=Path(source).name, chunksize=chunksize):
                columns = [str(c) for c in chunk.columns]
                if text_column not in columns:
                    raise FileModeError(
                        f"{source}: no column {text_column!r} "
                        f"(columns: {', '.join(columns)}); use --text-column"
                    )
                if id_column is not None and id_column not in columns:
                    raise FileModeError(
                        f"{source}: no id column {id_column!r} (columns: {', '.join(columns)})"
                    )
                ids_from = id_column or ("id" if "id" in columns else None)
                texts = chunk[text_column].tolist()
                ids = (
                    chunk[ids_from].tolist()
                    if ids_from
                    else list(range(rows + 1, rows + len(texts) + 1))
                )
                problems = [text_problem(t) for t in texts]
                good = [i for i, p in enumerate(problems) if p is None]
                with_sentiment = bool(getattr(tagger, "has_sentiment", False))
                if with_sentiment:
                    found, moods = tagger.tag_with_sentiment(
                        [texts[i] for i in good], batch_size=batch_size
                    )
                else:
                    found = tagger.tag([texts[i] for i in good], batch_size=batch_size)
                    moods = [None] * len(found)
                by_row = dict(zip(good, found, strict=True))
                mood_of = dict(zip(good, moods, strict=True))
                for i, (row_id, problem) in enumerate(zip(ids, problems, strict=True)):
                    record: dict[str, Any] = {"id": _plain(row_id)}
                    if problem is not None:
                        bad += 1
                        record["entities"] = []
                        if with_sentiment:
                            record["sentiment"] = None
                        record["error"] = problem
                        if warn is not None and bad <= 20:
                            warn(f"row {rows + i + 1} (id {record['id']}): {problem}")
                    else:
                        record["entities"] = [e.as_dict() for e in by_row[i]]
                        entities += len(by_row[i])
                        if with_sentiment:
                            mood = mood_of[i]
                            record["sentiment"] = mood.as_dict() if mood is not None else None
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                rows += len(texts)
        if warn is not None and bad > 20:
            warn(f"… {bad - 20} more bad rows (see 'error' in the output)")
        try:
            check_output(Path(source), output)  # a pipe put there while the file was tagged
            os.replace(tmp, output)
        except OSError as exc:  # e.g. a folder created there while the file was tagged
            raise FileModeError(
                f"--output {output}: cannot write there ({exc.strerror or exc})"
            ) from None
    except IngestError as exc:
        raise FileModeError(str(exc)) from None
    finally:
        tmp.unlink(missing_ok=True)
    return FileReport(rows, entities, bad)


def _umask() -> int:
    """The process's umask (read from /proc where it can be, so no thread sees it changed)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output(source: Path, output: Path) -> None:
    """Refuse an output that would destroy the input or cannot be a file, before any work.

    File mode writes a temporary file and renames it over ``output``: that replaced named
    pipes, and ``/dev/null`` or ``/dev/full`` for a root user, with a plain file (and a
    link to nothing with a file of its own), so only a regular file or a new path is taken.
    :func:`tag_file` checks again just before the rename.

    Raises:
        FileModeError: ``output`` is the input file (the same path, a link to it or a hard
            link of it), a folder, a named pipe, device or socket (through links), a link
            to nothing, or lies below a file.
    """
    import stat

    source, output = Path(source), Path(output)
    try:
        mode: int | None = os.stat(output).st_mode
    except FileNotFoundError:
        mode = None
        if os.path.lexists(output):
            raise FileModeError(
                f"--output {output} is a link to a missing file; name a file to write"
            ) from None
    except OSError as exc:
        raise FileModeError(f"--output {output}: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise FileModeError(
            f"--output {output} is {file_kind(mode)}, not a file: name the JSONL file to write"
        )
    if output.is_dir():
        raise FileModeError(
            f"--output {output} is a folder: name the JSONL file to write "
            f"(e.g. {output / 'entities.jsonl'})"
        )
    try:
        same = output.exists() and os.path.samefile(source, output)
    except OSError:
        same = False
    if same or output.resolve() == source.resolve():
        raise FileModeError(
            f"--output {output} is the input file: tagging would replace "
            "the tickets with their entities; name another file"
        )
    parent = next((p for p in output.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise FileModeError(f"--output {output}: {parent} is a file, not a folder")
