"""data.limits.limits_from_env and data.store.translate_error: configurable limits, clear
errors for a full disk and a damaged file."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pytest

from data.errors import ConfigError, DataError, StoreCorruptError, StoreWriteError
from data.ingest import ingest_files
from data.limits import DEFAULT_LIMITS, LIMIT_ENV_VARS, limits_from_env
from data.store import translate_error


def test_limits_come_from_the_environment() -> None:
    limits = limits_from_env(
        environ={"PRICEWAR_MAX_UPLOAD_ROWS": "1_000", "PRICEWAR_MAX_UPLOAD_BYTES": "2048"}
    )
    assert limits.max_rows == 1000 and limits.max_bytes == 2048
    assert limits.max_text_chars == DEFAULT_LIMITS.max_text_chars
    assert limits_from_env(environ={}) == DEFAULT_LIMITS
    assert set(LIMIT_ENV_VARS) <= set(DEFAULT_LIMITS.__dataclass_fields__)


@pytest.mark.parametrize("value", ["lots", "-5", "0", "1.5"])
def test_a_bad_limit_names_its_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="PRICEWAR_MAX_UPLOAD_ROWS"):
        limits_from_env(environ={"PRICEWAR_MAX_UPLOAD_ROWS": value})
    assert issubclass(ConfigError, DataError) and issubclass(ConfigError, ValueError)


def test_ingest_uses_the_environment_and_names_the_variable(tmp_store, monkeypatch) -> None:
    monkeypatch.setenv("PRICEWAR_MAX_UPLOAD_ROWS", "2")
    data = b"text\na\nb\nc\n"
    [report] = ingest_files(tmp_store, [("three.csv", io.BytesIO(data))])
    assert report.status == "rejected"
    assert "more than 2 rows" in report.message
    assert "PRICEWAR_MAX_UPLOAD_ROWS" in report.message
    assert tmp_store.scalar("SELECT count(*) FROM tickets") == 0
    monkeypatch.setenv("PRICEWAR_MAX_UPLOAD_ROWS", "3")
    [report] = ingest_files(tmp_store, [("three.csv", io.BytesIO(data))])
    assert report.new_tickets == 3


@pytest.mark.parametrize(
    "exc, expected",
    [
        (
            duckdb.IOException('Could not write file "x.duckdb": No space left on device'),
            StoreWriteError,
        ),
        (duckdb.IOException('Could not write file "x.duckdb": File too large'), StoreWriteError),
        (
            duckdb.TransactionException(
                'Failed to commit: Could not write file "x.wal": No space left on device'
            ),
            StoreWriteError,
        ),
        (
            duckdb.IOException(
                'Could not read enough bytes from file "x.duckdb": attempted to read 262144 bytes'
            ),
            StoreCorruptError,
        ),
        (
            duckdb.IOException("Corrupt database file: computed checksum does not match"),
            StoreCorruptError,
        ),
        (duckdb.CatalogException("Table with name nope does not exist!"), duckdb.CatalogException),
        (ValueError("unrelated"), ValueError),
    ],
)
def test_file_failures_become_data_errors(exc: BaseException, expected: type) -> None:
    out = translate_error(Path("x.duckdb"), exc)
    assert isinstance(out, expected)
    if out is not exc:
        assert out.__cause__ is exc
        assert "x.duckdb" in str(out)


def test_a_write_error_says_nothing_was_written_and_what_to_do() -> None:
    err = StoreWriteError(Path("var/db.duckdb"), "No space left on device")
    assert "Nothing of the unfinished step was written" in str(err)
    assert "free space" in str(err)
