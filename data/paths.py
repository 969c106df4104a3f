"""Where the store lives by default, and the inbox and staging folders beside it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DB_ENV_VAR = "PRICEWAR_DB"
#: Staging Parquet files are named ``ingest-<pid>-<random>.parquet``.
STAGING_PREFIX = "ingest-"


DEFAULT_DB_PATH = REPO_ROOT / "var" / "pricewar.duckdb"


def default_db_path() -> Path:
    """The database path: ``$PRICEWAR_DB`` if set, else ``var/pricewar.duckdb`` in the repo.

    Raises:
        data.errors.ConfigError: ``$PRICEWAR_DB`` is only white space, or starts with a
            ``~user`` that has no home folder (the message names the variable).
    """
    env = os.environ.get(DB_ENV_VAR)
    if not env:
        return DEFAULT_DB_PATH
    from data.errors import ConfigError

    shown = env if len(env) <= 80 else env[:79] + "…"
    if not env.strip():
        # a file named by blanks in whatever folder the app was started from: a slip
        raise ConfigError(
            f"{DB_ENV_VAR} is set but blank ({shown!r}): set it to a database "
            "file, or unset it for the default"
        )
    try:
        return Path(env).expanduser()
    except RuntimeError:  # "~nosuchuser/…": Python cannot find that user's home folder
        raise ConfigError(
            f"{DB_ENV_VAR}={shown!r}: no home folder for "
            f"{env.split('/', 1)[0]!r}; set it to a full path"
        ) from None


def default_db_label() -> str:
    """What ``--help`` says the default database is (never raises: a bad ``$PRICEWAR_DB``
    is reported when a command runs)."""
    try:
        return str(default_db_path())
    except Exception:  # ConfigError: the command reports it when it runs
        return str(DEFAULT_DB_PATH)


def inbox_dir(db_path: Path) -> Path:
    """Folder where command-line jobs drop work for a running app that holds ``db_path``."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".inbox")


def staging_dir_of(db_path: Path) -> Path:
    """Folder where ingest stages validated files before committing them to ``db_path``.

    It sits beside the database (not in the system temp folder), so that what a killed
    ingest leaves behind is found and removed when the store is next opened for writing
    (:func:`sweep_staging`).
    """
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".staging")


def sweep_staging(db_path: Path) -> list[Path]:
    """Remove the staging files of ``db_path`` that no live process is writing; return them.

    A file's writer is the process id in its name (``ingest-<pid>-…``); a file of a process
    that no longer exists (killed mid-ingest) is a leftover. Files without an id are
    leftovers too.
    """
    folder = staging_dir_of(db_path)
    removed: list[Path] = []
    try:
        # A link in place of the folder is not followed: its target is not ours to sweep.
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return removed
        entries = [
            Path(e.path)
            for e in os.scandir(folder)
            if e.name.startswith(STAGING_PREFIX)
            and e.name.endswith(".parquet")
            and e.is_file(follow_symlinks=False)
        ]
    except OSError:
        return removed
    for entry in entries:
        pid_text = entry.name[len(STAGING_PREFIX) :].split("-", 1)[0]
        # ASCII digits only: str.isdigit() is also true for "²", which int() refuses.
        if pid_text.isascii() and pid_text.isdigit() and process_alive(int(pid_text)):
            continue
        try:
            entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
