"""Timings of the economics engine (figures for bench/RESULTS.md, section "Economics").

Run: ``python bench/economics.py [--db PATH]``. Without ``--db`` a 2,000-ticket demo database
(seed 7) is generated in a temporary folder. Prints the best of several repeats per step.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def best_of(fn: Callable[[], object], repeat: int = 7) -> float:
    """Best wall time of ``repeat`` calls, seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, help="demo database to read (default: generate one)")
    args = parser.parse_args()

    from analytics import (
        Scenario,
        default_scenario,
        estimate_elasticities,
        evaluate_price_war,
        evaluate_scenario,
        logit_nash_equilibrium,
        scenario_tornado,
        simulate_profit,
    )
    from analytics.elasticity import estimate_mention_interaction
    from analytics.goalseek import goal_seek
    from analytics.scenario_sensitivity import data_table, scenario_monte_carlo, tornado_price
    from analytics.scenario_tables import segment_table
    from data.store import Store

    rows: list[tuple[str, float]] = []
    kw = dict(
        price=0.7,
        reference_price=0.6,
        reference_volume=280_000.0,
        elasticity=-1.5,
        elasticity_ci=(-1.67, -1.4),
        gpu_cost=0.30,
        other_unit_cost=0.003,
        fixed_cost=50_000.0,
        seed=0,
    )
    for n in (100_000, 1_000_000):
        rows.append(
            (f"Monte Carlo, {n:,} draws", best_of(lambda n=n: simulate_profit(**kw, draws=n)))
        )
    s = Scenario()
    rows.append(("evaluate_scenario, 1 segment", best_of(lambda: evaluate_scenario(s))))
    rows.append(
        (
            "logit equilibrium, 6 firms",
            best_of(
                lambda: logit_nash_equilibrium(
                    [0.3, 0.31, 0.21, 0.22, 0.25, 0.29], [0.5, 1.5, 0.2, 0.1, 0.0, -0.2], 2.5
                )
            ),
        )
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db
        if path is None:
            from data.demo import generate_demo

            path = Path(tmp) / "demo.duckdb"
            with Store.open(path) as store:
                generate_demo(store, tickets=2000, seed=7)
        with Store.open(path, read_only=True) as store:
            rows.append(
                (
                    "estimate_elasticities (4 segments + pooled)",
                    best_of(lambda: estimate_elasticities(store, pooled=True), 3),
                )
            )
            rows.append(
                (
                    "estimate_mention_interaction (gold spans)",
                    best_of(lambda: estimate_mention_interaction(store, model_id="gold"), 3),
                )
            )
            d = default_scenario(store, model_id="gold")
            rows.append(
                (
                    "default_scenario (all customers)",
                    best_of(lambda: default_scenario(store, model_id="gold"), 3),
                )
            )
            rows.append(
                (
                    "evaluate_price_war (6 firms, cut, 5 strategies)",
                    best_of(lambda: evaluate_price_war(d)),
                )
            )

            def redraw() -> None:
                """What the Pricing page computes on every input change (no store access)."""
                evaluate_scenario(d)
                scenario_monte_carlo(d)
                scenario_tornado(d, tornado_price(d))
                segment_table(d)
                data_table(
                    d,
                    "elasticity_shift",
                    [-0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6],
                    "price",
                    [
                        d.price_floor * (d.price_ceiling / d.price_floor) ** (i / 8)
                        for i in range(9)
                    ],
                )
                goal_seek(d, "utilisation", 0.55, metric="margin")

            for name, fn in (
                ("evaluate_scenario, 4 segments", lambda: evaluate_scenario(d)),
                ("scenario_monte_carlo, 100,000 draws", lambda: scenario_monte_carlo(d)),
                ("scenario_tornado at the optimum", lambda: scenario_tornado(d, tornado_price(d))),
                (
                    "goal_seek (utilisation for a 55 % margin)",
                    lambda: goal_seek(d, "utilisation", 0.55, metric="margin"),
                ),
                ("what-if redraw (all of the above + segment and data tables)", redraw),
            ):
                rows.append((name, best_of(fn)))
            from data.demo import TRUE_ELASTICITY

            fits = estimate_elasticities(store).set_index("segment")
    print("Elasticity recovery (demo, 2,000 tickets, seed 7):")
    for seg, truth in TRUE_ELASTICITY.items():
        f = fits.loc[seg]
        inside = "inside" if f["ci_low"] <= truth <= f["ci_high"] else "OUTSIDE"
        print(
            f"  {seg:<11} true {truth:5.2f}  fitted {f['elasticity']:6.3f}"
            f"  95 % CI [{f['ci_low']:6.3f}, {f['ci_high']:6.3f}]  n={int(f['n_obs'])}  {inside}"
        )
    width = max(len(name) for name, _ in rows)
    for name, secs in rows:
        print(f"{name:<{width}}  {secs * 1000:9.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
