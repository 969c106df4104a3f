"""Where the store lives by default, and the inbox beside it."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DB_ENV_VAR = "PRICEWAR_DB"


def default_db_path() -> Path:
    """The database path: ``$PRICEWAR_DB`` if set, else ``var/pricewar.duckdb`` in the repo."""
    env = os.environ.get(DB_ENV_VAR)
    return Path(env).expanduser() if env else REPO_ROOT / "var" / "pricewar.duckdb"


def inbox_dir(db_path: Path) -> Path:
    """Folder where command-line jobs drop work for a running app that holds ``db_path``."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".inbox")
