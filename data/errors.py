"""Exceptions raised by the data layer.

DataError
 ├── StoreLockedError      another process holds the DuckDB file for writing
 ├── StoreCorruptError     the file is not a readable DuckDB database (or is damaged)
 ├── StoreWriteError       the file could not be written (disk full, size limit)
 ├── ConfigError           a setting (environment variable) has an unusable value
 └── IngestError           an uploaded file was rejected (carries the problems found)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class DataError(Exception):
    """Base class of every error the data layer raises on purpose."""


class StoreLockedError(DataError):
    """The database file is held for writing by another process."""

    def __init__(self, path: Path, detail: str = "") -> None:
        self.path = Path(path)
        self.detail = detail
        super().__init__(
            f"the database {self.path} is in use by another process"
            f"{': ' + detail if detail else ''}"
        )


class StoreCorruptError(DataError):
    """The database file cannot be opened as a DuckDB database."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = Path(path)
        super().__init__(
            f"{self.path} is not a readable DuckDB database ({detail}); "
            f"move it aside and the dashboard will create a fresh demo database"
        )


class StoreWriteError(DataError):
    """Writing to the database file failed (disk full, file size limit); nothing was written."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path = Path(path)
        self.detail = detail
        super().__init__(
            f"could not write to the database {self.path} ({detail}): the disk is full or "
            f"the file is over a size limit. Nothing of the unfinished step was written; free "
            f"space next to the database and try again"
        )


class ConfigError(DataError, ValueError):
    """A setting, such as an upload limit given in the environment, is unusable."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an uploaded file, located as precisely as known."""

    message: str
    row: int | None = None  # 1-based data row (header excluded); None = whole file
    column: str | None = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass
class IngestError(DataError):
    """A file was rejected; nothing of it was written."""

    file: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        shown = self.problems[:20]
        more = len(self.problems) - len(shown)
        lines = [f"{self.file}: rejected ({len(self.problems)} problem(s))"]
        lines += [f"  {p}" for p in shown]
        if more > 0:
            lines.append(f"  … and {more} more")
        return "\n".join(lines)
