"""The analysts' pricing report: the numbers the Pricing and Price war pages show.

``python -m analytics report --db PATH [--segment S] [--json]`` prints, for every segment
(or one) and for all customers, the demand model, the optimum within its price range with
its range under uncertainty, break-even prices, and today's price-war market. Markdown by
default (for a weekly pricing memo), JSON with ``--json``; prices are USD per 1M tokens,
volumes millions of tokens per month, money USD per month. ``null`` (JSON) or "—"
(Markdown) where a value does not exist.

Example:
    >>> from data.store import Store                                   # doctest: +SKIP
    >>> pricing_report(Store.open("var/pricewar.duckdb"))["segments"]["all"]["optimal_price"]
    ...                                                                # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any

from analytics.defaults import default_scenario
from analytics.errors import EquilibriumNotConvergedError, ScenarioError
from analytics.evaluate import ScenarioResult, evaluate_scenario
from analytics.inputs import segments as store_segments
from analytics.scenario import Scenario
from analytics.war import US, evaluate_price_war

__all__ = ["SEGMENT_KEYS", "pricing_report", "render_markdown", "scenario_entry", "war_entry"]

#: Keys of every segment entry, in order (the JSON contract).
SEGMENT_KEYS = (
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
)


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def scenario_entry(r: ScenarioResult) -> dict[str, Any]:
    """One entry of the report from an evaluated scenario.

    For one segment: ``reference_price``/``reference_volume_m`` are its curve's point and
    ``unit_cost`` its unit cost. For several ("all"): the reference point is today's blended
    price and total volume, ``unit_cost`` the volume-weighted unit cost today, and
    ``elasticity`` the implied aggregate one at today's price. Profits are monthly after
    ``fixed_cost``.
    """
    s, m = r.scenario, r.model
    now = r.price_now
    return {
        "elasticity": _num(r.elasticity_now),
        "elasticity_ci": [_num(r.elasticity_now_ci[0]), _num(r.elasticity_now_ci[1])],
        "reference_price": _num(now),
        "reference_volume_m": _num(float(m.volume(now))),
        "unit_cost": _num(float(m.unit_cost(now))),
        "fixed_cost": _num(m.fixed_cost),
        "price_now": _num(now),
        "price_floor": _num(s.price_floor),
        "price_ceiling": _num(s.price_ceiling),
        "optimal_price": _num(r.optimum.price),
        "optimal_price_range": [_num(r.spread.low), _num(r.spread.high)],
        "at_bound": r.optimum.at_bound is not None,
        "profit_now": _num(r.profit_now),
        "profit_at_optimum": _num(r.optimum.profit),
        "break_even_prices": [_num(r.break_even_low), _num(r.break_even_high)],
    }


def war_entry(s: Scenario) -> dict[str, Any]:
    """The price-war part of the report: every firm's list price and its price in today's
    calibrated market (``baseline_price``), and ours."""
    war = evaluate_price_war(s)
    names = list(war.market.names)
    firms = [
        {
            "name": n,
            "list_price": _num(float(war.market.prices[i])),
            "baseline_price": _num(float(war.before.prices[i])),
        }
        for i, n in enumerate(names)
        if n != US
    ]
    i = names.index(US)
    return {
        "firms": firms,
        "our_price_now": _num(float(war.market.prices[i])),
        "our_baseline_price": _num(float(war.before.prices[i])),
    }


def pricing_report(store: Any, segment: str | None = None) -> dict[str, Any]:
    """The report as a JSON-able dict (see module).

    Args:
        store: the store.
        segment: report this segment only (and all customers); None: every segment.

    Raises:
        AnalyticsError: an unknown segment, or no usage to build a demand model from.
    """
    known = store_segments(store)
    if segment is not None and segment not in known:
        raise ScenarioError(f"unknown segment {segment!r}; segments: {', '.join(known) or 'none'}")
    everyone = default_scenario(store, None)
    if everyone.segments[0].name == Scenario().segments[0].name:
        raise ScenarioError("the database has no usage to build a demand model from")
    out: dict[str, Any] = {"segments": {}}
    for name in known if segment is None else [segment]:
        out["segments"][name] = scenario_entry(evaluate_scenario(default_scenario(store, name)))
    out["segments"]["all"] = scenario_entry(evaluate_scenario(everyone))
    scope = everyone if segment is None else default_scenario(store, segment)
    try:
        out["price_war"] = war_entry(scope)
    except (ScenarioError, EquilibriumNotConvergedError) as exc:
        out["price_war"] = {
            "firms": [],
            "our_price_now": None,
            "our_baseline_price": None,
            "note": str(exc),
        }
    return out


#: Decimals of each kind of number in the Markdown report, and the amount under which a
#: non-zero value keeps two significant digits instead of reading as zero.
_DECIMALS = {"price": 3, "money": 0, "volume": 0, "e": 2}


def _fmt(v: Any, kind: str = "price") -> str:
    """One cell of the Markdown report: "—" for a missing or non-finite value; never a
    negative zero; a non-zero value that would round to zero keeps two significant digits
    ("$0.00021", not "$0.000"); the minus sign before the dollar ("-$1,234").

    Example:
        >>> _fmt(0.00021), _fmt(-0.0), _fmt(-1234.4, "money"), _fmt(0.3, "money")
        ('$0.00021', '$0.000', '-$1,234', '$0.30')
    """
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return " – ".join(_fmt(x, kind) for x in v)
    try:
        value = float(v)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(value):
        return "—"
    places = _DECIMALS.get(kind, 2)
    text = f"{abs(value):,.{places}f}"
    if value != 0 and not any(c in "123456789" for c in text):
        text = f"{abs(value):.2g}" if kind != "money" else f"{abs(value):.2f}"
        if not any(c in "123456789" for c in text):  # under half a cent
            text = f"{abs(value):.2g}"
    sign = "-" if value < 0 and any(c in "123456789" for c in text) else ""
    return f"{sign}${text}" if kind in ("price", "money") else f"{sign}{text}"


_ROWS = (
    ("elasticity", "Price elasticity (at today's price)", "e"),
    ("elasticity_ci", "Elasticity, 95 % interval", "e"),
    ("price_now", "Price today, USD per 1M tokens", "price"),
    ("reference_volume_m", "Volume today, M tokens/month", "volume"),
    ("unit_cost", "Unit cost, USD per 1M tokens", "price"),
    ("fixed_cost", "Fixed costs, USD/month", "money"),
    ("price_floor", "Price floor", "price"),
    ("price_ceiling", "Price ceiling", "price"),
    ("optimal_price", "Optimal price in that range", "price"),
    ("optimal_price_range", "Optimal price across the elasticity interval", "price"),
    ("at_bound", "Optimum on a bound of the range", "e"),
    ("profit_now", "Profit today, USD/month", "money"),
    ("profit_at_optimum", "Profit at the optimum, USD/month", "money"),
    ("break_even_prices", "Break-even prices (lower – upper)", "price"),
)


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: one table, a column per segment and "all", then the market."""
    names = list(report["segments"])
    lines = [
        "# Pricing report",
        "",
        "Prices USD per 1M tokens, volumes M tokens per month, money USD per month. "
        '"all" is the sum of the segment curves at one price, after company fixed '
        "costs; a segment's profit is its contribution (fixed costs are company-wide).",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key, label, kind in _ROWS:
        lines.append(
            f"| {label} | "
            + " | ".join(_fmt(report["segments"][n][key], kind) for n in names)
            + " |"
        )
    war = report.get("price_war", {})
    lines += ["", "## Today's market (price-war baseline)", ""]
    if war.get("note"):
        lines.append(f"Not modelled: {war['note']}")
    else:
        lines += [
            f"Our price today {_fmt(war['our_price_now'])}; in the calibrated market "
            f"{_fmt(war['our_baseline_price'])}.",
            "",
            "| competitor | list price | baseline price |",
            "|---|---|---|",
        ]
        lines += [
            f"| {f['name'].replace('|', '/')} | {_fmt(f['list_price'])} | "
            f"{_fmt(f['baseline_price'])} |"
            for f in war["firms"]
        ]
    return "\n".join(lines) + "\n"
