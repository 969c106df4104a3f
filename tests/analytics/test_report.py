"""Tests of ``python -m analytics report``: the JSON contract, its numbers recomputed from
the entries themselves, the Markdown rendering and the exit statuses.

The demo database knows the truth (``data.demo.TRUE_ELASTICITY``); the "all" entry must be
the sum of the segment curves the report shows, so it is recomputed here from them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analytics.cli import main
from data.demo import SEGMENTS, TRUE_ELASTICITY

ROOT = Path(__file__).resolve().parents[2]
ENTRY_KEYS = {
    "elasticity",
    "elasticity_ci",
    "reference_price",
    "reference_volume_m",
    "unit_cost",
    "fixed_cost",
    "price_now",
    "price_floor",
    "price_ceiling",
    "optimal_price",
    "optimal_price_range",
    "at_bound",
    "profit_now",
    "profit_at_optimum",
    "break_even_prices",
}
PAIRS = ("elasticity_ci", "optimal_price_range", "break_even_prices")


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "analytics", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def db_copy(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "demo-copy.duckdb"
    shutil.copy(demo_db_path, path)
    return path


@pytest.fixture(scope="module")
def report(db_copy: Path) -> dict[str, Any]:
    proc = run_cli("report", "--db", str(db_copy), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return _strict_json(proc.stdout)


@pytest.fixture
def in_process(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    def call(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield call


def segment_entries(rep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in rep["segments"].items() if k != "all"}


def summed_profit(rep: dict[str, Any], p: np.ndarray | float) -> np.ndarray:
    """Σ_s (p − c_s)·V0_s·(p/p0_s)^ε_s − F from the segment entries and all's fixed cost."""
    p = np.asarray(p, float)
    total = np.zeros_like(p)
    for e in segment_entries(rep).values():
        total = (
            total
            + (p - e["unit_cost"])
            * e["reference_volume_m"]
            * (p / e["reference_price"]) ** e["elasticity"]
        )
    return total - rep["segments"]["all"]["fixed_cost"]


def summed_volume(rep: dict[str, Any], p: float) -> float:
    return sum(
        e["reference_volume_m"] * (p / e["reference_price"]) ** e["elasticity"]
        for e in segment_entries(rep).values()
    )


# -- the contract ----------------------------------------------------------------------


def test_top_level_and_segment_keys(report: dict[str, Any]) -> None:
    assert set(report) == {"segments", "price_war"}
    assert set(report["segments"]) == {*SEGMENTS, "all"}
    for name, entry in report["segments"].items():
        assert set(entry) == ENTRY_KEYS, name
        for key in PAIRS:
            assert isinstance(entry[key], list) and len(entry[key]) == 2, (name, key)
        assert isinstance(entry["at_bound"], bool), name
        for key in ENTRY_KEYS - {*PAIRS, "at_bound"}:
            assert isinstance(entry[key], int | float) and not isinstance(entry[key], bool), (
                name,
                key,
            )


def test_numbers_are_coherent(report: dict[str, Any]) -> None:
    for name, e in report["segments"].items():
        lo, hi = e["elasticity_ci"]
        assert lo <= e["elasticity"] <= hi, name
        assert 0 < e["price_floor"] < e["price_ceiling"], name
        assert e["price_floor"] <= e["optimal_price"] <= e["price_ceiling"], name
        low, high = e["optimal_price_range"]
        assert e["price_floor"] <= low <= high <= e["price_ceiling"], name
        on_bound = (
            min(
                abs(e["optimal_price"] / e["price_floor"] - 1),
                abs(e["optimal_price"] / e["price_ceiling"] - 1),
            )
            < 1e-9
        )
        assert e["at_bound"] is on_bound, name
        assert (
            e["profit_at_optimum"] >= e["profit_now"] - 1e-6 * abs(e["profit_now"])
            or not e["price_floor"] <= e["price_now"] <= e["price_ceiling"]
        ), name
        assert e["reference_price"] == e["price_now"], name


@pytest.mark.parametrize("segment", SEGMENTS)
def test_segment_entry_is_its_own_curve(report: dict[str, Any], segment: str) -> None:
    e = report["segments"][segment]
    p0, v0, eps, c = (
        e["reference_price"],
        e["reference_volume_m"],
        e["elasticity"],
        e["unit_cost"],
    )
    assert e["fixed_cost"] == 0.0  # fixed costs are company-wide
    assert v0 * (e["price_now"] / p0) ** eps == pytest.approx(v0, rel=1e-12)
    assert e["profit_now"] == pytest.approx((e["price_now"] - c) * v0, rel=1e-9)
    # the optimum of one segment is c·ε/(1+ε) clipped to the range (ceiling when |ε| ≤ 1)
    free = c * eps / (1 + eps) if eps < -1 else np.inf
    assert e["optimal_price"] == pytest.approx(
        min(max(free, e["price_floor"]), e["price_ceiling"]), rel=1e-9
    )
    p = e["optimal_price"]
    assert e["profit_at_optimum"] == pytest.approx((p - c) * v0 * (p / p0) ** eps, rel=1e-9)
    # with no fixed cost, profit (p − c)·V(p) is positive for every p > c: the lower
    # break-even price is the unit cost and there is no upper one
    assert e["break_even_prices"][0] == pytest.approx(c, rel=1e-9)
    assert e["break_even_prices"][1] is None


@pytest.mark.parametrize("segment", SEGMENTS)
def test_segment_interval_holds_the_true_elasticity(report: dict[str, Any], segment: str) -> None:
    lo, hi = report["segments"][segment]["elasticity_ci"]
    assert lo <= TRUE_ELASTICITY[segment] <= hi


def test_all_is_the_sum_of_the_segment_curves_in_volume_and_elasticity(
    report: dict[str, Any],
) -> None:
    a = report["segments"]["all"]
    p = a["price_now"]
    assert a["reference_price"] == p
    vols = {
        n: e["reference_volume_m"] * (p / e["reference_price"]) ** e["elasticity"]
        for n, e in segment_entries(report).items()
    }
    assert a["reference_volume_m"] == pytest.approx(sum(vols.values()), rel=1e-9)
    implied = sum(segment_entries(report)[n]["elasticity"] * v for n, v in vols.items()) / sum(
        vols.values()
    )
    assert a["elasticity"] == pytest.approx(implied, rel=1e-9)
    # today's blended price: Σ p0·V0 / Σ V0
    ents = segment_entries(report).values()
    blended = sum(e["reference_price"] * e["reference_volume_m"] for e in ents) / sum(
        e["reference_volume_m"] for e in ents
    )
    assert p == pytest.approx(blended, rel=1e-9)
    assert a["fixed_cost"] > 0


def test_all_profit_and_unit_cost_are_the_sum_of_the_segment_entries(
    report: dict[str, Any],
) -> None:
    a = report["segments"]["all"]
    p = a["price_now"]
    assert a["profit_now"] == pytest.approx(float(summed_profit(report, p)), rel=1e-9)
    cost = sum(
        e["unit_cost"] * e["reference_volume_m"] * (p / e["reference_price"]) ** e["elasticity"]
        for e in segment_entries(report).values()
    )
    assert a["unit_cost"] == pytest.approx(cost / summed_volume(report, p), rel=1e-9)
    assert a["profit_at_optimum"] == pytest.approx(
        float(summed_profit(report, a["optimal_price"])), rel=1e-9
    )


def test_all_optimum_maximises_the_summed_profit(report: dict[str, Any]) -> None:
    a = report["segments"]["all"]
    grid = np.linspace(a["price_floor"], a["price_ceiling"], 200_000)
    best = float(summed_profit(report, grid).max())
    at_opt = float(summed_profit(report, a["optimal_price"]))
    assert at_opt >= best - 1e-6 * abs(best)


def test_price_war_baseline_is_todays_market(report: dict[str, Any]) -> None:
    war = report["price_war"]
    assert set(war) == {"firms", "our_price_now", "our_baseline_price"}
    assert war["firms"], "the demo has competitors"
    names = [f["name"] for f in war["firms"]]
    assert len(set(names)) == len(names)
    for f in war["firms"]:
        assert set(f) == {"name", "list_price", "baseline_price"}
        assert isinstance(f["name"], str) and f["name"]
        assert f["list_price"] > 0
        assert f["baseline_price"] == pytest.approx(f["list_price"], rel=0.01), f
    assert war["our_price_now"] == pytest.approx(report["segments"]["all"]["price_now"], rel=1e-9)
    assert war["our_baseline_price"] == pytest.approx(war["our_price_now"], rel=0.01)


# -- one segment, Markdown, errors -----------------------------------------------------


def test_one_segment_json(in_process: Any, db_copy: Path, report: dict[str, Any]) -> None:
    code, out, err = in_process("report", "--db", str(db_copy), "--segment", "smb", "--json")
    assert code == 0, err
    one = _strict_json(out)
    assert set(one) == {"segments", "price_war"}
    assert set(one["segments"]) == {"smb", "all"}
    for name in ("smb", "all"):
        assert set(one["segments"][name]) == ENTRY_KEYS
        for key in ENTRY_KEYS:
            assert one["segments"][name][key] == pytest.approx(
                report["segments"][name][key], rel=1e-9
            ), (name, key)
    assert one["price_war"]["our_price_now"] == pytest.approx(
        report["segments"]["smb"]["price_now"], rel=1e-9
    )


def test_markdown_has_a_row_per_metric_and_no_nan(
    in_process: Any, db_copy: Path, report: dict[str, Any]
) -> None:
    code, out, err = in_process("report", "--db", str(db_copy))
    assert code == 0, err
    assert not re.search(r"\b(nan|inf)\b", out, re.IGNORECASE)
    lines = out.splitlines()
    columns = list(report["segments"])
    header = [
        c.strip()
        for c in lines[[i for i, ln in enumerate(lines) if ln.startswith("| |")][0]]
        .strip("|")
        .split("|")
    ]
    assert header[1:] == columns
    start = lines.index(next(ln for ln in lines if ln.startswith("| |")))
    rows = []
    for ln in lines[start + 2 :]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip("|").split("|")])
    labels = [r[0] for r in rows]
    # one row per metric of the contract (reference_price is price_now, shown once)
    assert len(rows) == len(ENTRY_KEYS) - 1
    assert len(set(labels)) == len(labels) and all(labels)
    assert all(len(r) == 1 + len(columns) for r in rows)
    for j, name in enumerate(columns, start=1):
        cells = {r[j] for r in rows}
        e = report["segments"][name]
        for key in ("price_now", "optimal_price", "price_floor", "price_ceiling"):
            assert f"${e[key]:,.3f}" in cells, (name, key)
        assert f"${e['profit_now']:,.0f}" in cells, name
    for firm in report["price_war"]["firms"]:
        assert any(firm["name"].replace("|", "/") in ln for ln in lines[start:])


@pytest.mark.slow
def test_markdown_same_by_subprocess(db_copy: Path, in_process: Any) -> None:
    proc = run_cli("report", "--db", str(db_copy))
    assert proc.returncode == 0, proc.stderr
    _, out, _ = in_process("report", "--db", str(db_copy))
    assert proc.stdout == out


@pytest.mark.parametrize("case", ["missing-db", "unknown-segment"])
def test_bad_input_exits_2_with_one_line(db_copy: Path, tmp_path: Path, case: str) -> None:
    args = (
        ["report", "--db", str(tmp_path / "nope.duckdb"), "--json"]
        if case == "missing-db"
        else ["report", "--db", str(db_copy), "--segment", "nosuch", "--json"]
    )
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert ("nope.duckdb" if case == "missing-db" else "nosuch") in lines[0]
    assert not (tmp_path / "nope.duckdb").exists()


def test_unknown_segment_in_process(in_process: Any, db_copy: Path) -> None:
    code, out, err = in_process("report", "--db", str(db_copy), "--segment", "nosuch")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "nosuch" in err
    for seg in SEGMENTS:  # the reason lists the segments there are
        assert seg in err


def test_empty_database_exits_2(in_process: Any, tmp_path: Path) -> None:
    from data.store import Store

    path = tmp_path / "empty.duckdb"
    Store.open(path).close()
    code, out, err = in_process("report", "--db", str(path), "--json")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
