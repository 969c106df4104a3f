"""Tests of ``python -m analytics signals``: the text and JSON outputs on the demo database
(open alerts on a copy cut during the Europe outage, the customers at risk with their
action), the sentiment source it names, and bad input (exit 2, one line naming it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics.cli import ALERT_FIELDS, CUSTOMER_FIELDS, main
from analytics.risk import ACTIONS, RISK_NOTE

ROOT = Path(__file__).resolve().parents[2]


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    def call(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    yield call


@pytest.fixture(scope="module")
def cut_db(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo cut after the second day of its Europe outage (2025-06-10 to 06-12)."""
    from data.store import Store

    path = tmp_path_factory.mktemp("signals-cli") / "cut.duckdb"
    shutil.copy(demo_db_path, path)
    with Store.open(path) as store:
        store.execute_write("DELETE FROM tickets WHERE created_at >= DATE '2025-06-12'")
    return path


def test_text_names_the_source_the_alerts_and_the_offers(cli: Any, cut_db: Path) -> None:
    code, out, err = cli("signals", "--db", str(cut_db), "--top", "3")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Sentiment: demo ground truth; entities: demo ground truth."
    assert "Open alerts on 2025-06-11: " in out
    assert any(
        line.startswith("  negative surge: region Europe since 2025-06-10") for line in lines
    )
    offers = [line for line in lines if line.startswith("  C") and " -> " in line]
    assert len(offers) == 3 and all("per month" in line for line in offers)
    assert RISK_NOTE in out and "removes 50% of the risk" in out


def test_json_schema(cli: Any, cut_db: Path) -> None:
    code, out, err = cli("signals", "--db", str(cut_db), "--json", "--top", "5")
    assert code == 0, err
    data = _strict_json(out)
    assert set(data) == {
        "sentiment_source",
        "sentiment",
        "entities_source",
        "entities",
        "as_of",
        "rule",
        "open_alerts",
        "customers_at_risk",
    }
    assert (data["sentiment_source"], data["sentiment"]) == ("demo ground truth", "gold")
    assert data["as_of"] == "2025-06-11" and "beta-binomial" in data["rule"]
    alerts = data["open_alerts"]
    assert alerts and all(set(a) == set(ALERT_FIELDS) for a in alerts)
    europe = next(a for a in alerts if (a["dimension"], a["value"]) == ("region", "Europe"))
    assert europe["since"] == "2025-06-10" and europe["p_value"] <= 0.001
    assert len(europe["ticket_keys"]) == europe["negative"] >= 3
    risk = data["customers_at_risk"]
    assert set(risk) == {"count", "shown", "note", "assumptions", "error", "top"}
    assert risk["error"] is None and risk["count"] >= 1
    assert risk["shown"] == len(risk["top"]) == min(5, risk["count"])
    for c in risk["top"]:
        assert set(c) == set(CUSTOMER_FIELDS)
        assert c["action"] in ACTIONS and 0 <= c["risk"] <= 1 and c["lift"] >= 2
        assert c["profit_effect"] >= 0
    assert [c["risk"] for c in risk["top"]] == sorted(
        (c["risk"] for c in risk["top"]), reverse=True
    )


def test_the_model_sentiment_is_preferred(cli: Any, demo_db_path: Path, tmp_path: Path) -> None:
    from data.store import Store

    path = tmp_path / "model.duckdb"
    shutil.copy(demo_db_path, path)

    def tag(conn: Any) -> None:
        conn.execute(
            "INSERT INTO tagged_tickets (ticket_key, model_id, run_id)"
            " SELECT ticket_key, 'm1', 'r' FROM tickets"
        )
        conn.execute(
            "INSERT INTO ticket_sentiment SELECT ticket_key, 'm1', label, 0.9 FROM gold_sentiment"
        )

    with Store.open(path) as store:
        store.write(tag)
    code, out, err = cli("signals", "--db", str(path), "--json", "--top", "1")
    assert code == 0, err
    data = _strict_json(out)
    assert (data["sentiment_source"], data["sentiment"], data["entities"]) == (
        "model m1",
        "m1",
        "m1",
    )


def test_a_subprocess_run_reads_without_writing(demo_db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    shutil.copy(demo_db_path, path)
    before = (path.stat().st_mtime_ns, path.read_bytes())
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "analytics", "signals", "--db", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Customers at risk: " in proc.stdout and "Traceback" not in proc.stderr
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before
    assert not list(tmp_path.glob("ro.duckdb.wal"))


def _no_sentiment(path: Path) -> None:
    from data.store import Store

    with Store.open(path) as store:
        store.execute_write("DELETE FROM gold_sentiment")


@pytest.mark.parametrize(
    ("case", "named"),
    [
        ("missing", "no database at"),
        ("not-duckdb", "not a readable DuckDB database"),
        ("empty", "no tickets"),
        ("no-sentiment", "no ticket has a sentiment label"),
        ("top-zero", "--top must be between 1 and"),
        ("top-word", "--top must be a whole number"),
        ("unknown-flag", "unrecognized arguments: --since"),
    ],
)
def test_bad_input_exits_2_naming_it(
    cli: Any, demo_db_path: Path, tmp_path: Path, case: str, named: str
) -> None:
    from data.store import Store

    path = tmp_path / "db.duckdb"
    extra: list[str] = []
    if case == "not-duckdb":
        path.write_text("not a database\n", encoding="utf-8")
    elif case == "empty":
        Store.open(path).close()
    elif case != "missing":
        shutil.copy(demo_db_path, path)
        if case == "no-sentiment":
            _no_sentiment(path)
        extra = {
            "top-zero": ["--top", "0"],
            "top-word": ["--top", "many"],
            "unknown-flag": ["--since", "2025-01-01"],
        }.get(case, [])
    code, out, err = cli("signals", "--db", str(path), *extra)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert "Traceback" not in err and named in lines[-1], err
    if extra:  # the project's parser: its usage line, then the error
        assert len(lines) == 2 and lines[0].startswith("usage: python -m analytics")
    else:
        assert len(lines) == 1
    if case == "missing":
        assert str(path) in lines[0] and not path.exists()


def test_text_keeps_every_value_from_the_store_on_its_own_line() -> None:
    """An alert value or entity name holding a line break (a shard's entity text is stored
    as given) is printed with the break escaped, so it cannot start a line that reads like
    the command's own output (round 14)."""
    from analytics.cli import render_signals

    alert = {
        "alert": "negative surge: product line\n# Heading",
        "since": "2026-08-30",
        "last": "2026-08-31",
        "negative": 40,
        "tickets": 41,
        "customers": 40,
        "rate": 0.9,
        "baseline_rate": 0.1,
        "p_value": 1e-9,
        "entities": "a\nOpen alerts on 2026-08-31: none ×40",
    }
    text = render_signals(
        {
            "sentiment_source": "gold",
            "entities_source": "gold",
            "rule": "r",
            "as_of": "2026-08-31",
            "open_alerts": [alert],
            "customers_at_risk": {"error": "no usage"},
        }
    )
    lines = text.splitlines()
    assert sum(line.startswith("Open alerts on") for line in lines) == 1
    assert not any(line.startswith("# Heading") for line in lines)
    assert "line\\n# Heading" in text and "a\\nOpen alerts" in text
