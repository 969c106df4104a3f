"""What the what-if pages ask for: each input's scenario field, widget key, label, bounds,
step, format and help, and the column labels of their tables (data only: the pages draw).

Every ``field`` is a field of ``analytics.scenario.Scenario`` (a table's columns: of
``DemandSegment`` or ``Competitor``). The labels are what the browser tests find the
widgets by: change one and the tests that click it change with it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from dashboard.scenario_links import MAX_LINK_MC_WORK


@dataclass(frozen=True)
class InputSpec:
    """One number input: the scenario ``field`` it sets, its widget ``key`` stem (the page
    appends the scenario's revision), ``label``, bounds (``None``: open), ``step``, printf
    ``format`` (``None``: Streamlit's) and ``help`` (``""``: none). Whole-number bounds and
    step (``MC_DRAWS``, ``MC_SEED``) make a whole-number widget."""

    field: str
    key: str
    label: str
    min_value: float | None
    max_value: float | None
    step: float
    format: str | None = None
    help: str = ""

    def widget_args(self) -> dict[str, Any]:
        """The widget's label, bounds, step, format and help, as Streamlit's keywords."""
        return {
            "label": self.label,
            "min_value": self.min_value,
            "max_value": self.max_value,
            "step": self.step,
            "format": self.format,
            "help": self.help or None,
        }

    def clamp(self, value: float) -> float:
        """``value`` at the nearest value the input takes (its bounds)."""
        if self.min_value is not None:
            value = max(value, self.min_value)
        if self.max_value is not None:
            value = min(value, self.max_value)
        return value


def outside_inputs(scenario: Any, specs: tuple[InputSpec, ...]) -> list[str]:
    """Each input whose value in ``scenario`` lies outside its bounds, as "label value
    (it takes lo to hi)": a scenario may hold such values (saved by another program, the
    Python API or an older version: the scenario's own ranges are wider than the inputs'),
    and a widget given one fails the whole page (Streamlit's ``StreamlitValueAboveMaxError``).

    Example:
        >>> from analytics.scenario import Scenario
        >>> outside_inputs(Scenario(niche_alpha_factor=20.0), STRATEGY_INPUTS)
        ['Niche: price sensitivity × 20 (it takes 0.01 to 10)']
    """
    found = []
    for spec in specs:
        value = getattr(scenario, spec.field)
        if spec.clamp(value) != value:
            lo, hi = spec.min_value, spec.max_value
            takes = (
                f"{_number(lo)} to {_number(hi)}"
                if lo is not None and hi is not None
                else f"at least {_number(lo)}"
                if lo is not None
                else f"at most {_number(hi)}"
            )
            found.append(f"{spec.label.strip()} {_number(value)} (it takes {takes})")
    return found


def _number(value: float | None) -> str:
    """A bound or value in words: whole numbers in full up to 10**18, others as ``%g``."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if whole and abs(value) < 10**18:
        return f"{int(value):,}"
    return f"{value:,g}"


def outside_note(found: list[str], elsewhere: list[str] | None = None, page: str = "") -> str:
    """The note for :func:`outside_inputs`: what was moved, and that nothing saved was.
    ``elsewhere``: the values moved for the other what-if ``page``'s inputs (this page's
    address carries them, and a link holds only values the inputs take: :func:`clamped`).

    Example:
        >>> outside_note([], ["Monte Carlo draws 500 (it takes 1,000 to 1,000,000)"], "Pricing")[:69]
        "This what-if holds values the Pricing page's inputs do not take: Mont"
    """
    parts = []
    if found:
        parts.append(
            "This what-if holds values the inputs below do not take: " + "; ".join(found) + "."
        )
    if elsewhere:
        opening = "It also holds" if found else "This what-if holds"
        parts.append(
            f"{opening} values the {page} page's inputs do not take: " + "; ".join(elsewhere) + "."
        )
    return (
        " ".join(parts) + " They start at the nearest value they take; a saved scenario is not "
        "changed (save the inputs again to keep the new values)."
    )


def clamped(scenario: Any, specs: tuple[InputSpec, ...]) -> dict[str, float]:
    """The fields of ``specs`` whose value in ``scenario`` lies outside their bounds, each
    at the nearest value its input takes (for ``scenario.replace``): a page writes the
    whole scenario into its address, and a link holding a value outside an input's bounds
    is refused (``scenario_links.LINK_RANGES``), so the other page's inputs are moved too."""
    out = {}
    for spec in specs:
        value = getattr(scenario, spec.field)
        if spec.clamp(value) != value:
            out[spec.field] = spec.clamp(value)
    return out


# -- Pricing what-if (dashboard/views/pricing.py) ----------------------------------------

#: Prices, the price range and the main costs, in a row above the demand table.
MAIN_INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "price_per_m",
        "wi_price_per_m",
        "Our price, USD per 1M tokens",
        0.001,
        1e6,
        0.05,
        "%.3f",
        "One blended price for every segment in the view (input and output tokens at the "
        "token mix).",
    ),
    InputSpec(
        "price_floor",
        "wi_price_floor",
        "Price floor, USD per 1M",
        0.001,
        1e6,
        0.05,
        "%.3f",
        "The lowest price the optimum may take. Default: below our lowest observed price and "
        "the cheapest rival we compare with.",
    ),
    InputSpec(
        "price_ceiling",
        "wi_price_ceiling",
        "Price ceiling, USD per 1M",
        0.002,
        1e6,
        0.05,
        "%.3f",
        "The highest price the optimum may take. Default: above our highest observed price "
        "and the dearest rival we compare with.",
    ),
    InputSpec(
        "gpu_cost_per_hour",
        "wi_gpu_cost_per_hour",
        "GPU cost, USD per GPU-hour",
        0.0,
        1e4,
        0.1,
        "%.2f",
        "Rental or amortised cost of one GPU (anchor: about $2).",
    ),
    InputSpec(
        "utilisation",
        "wi_utilisation",
        "GPU utilisation (0–1)",
        0.001,
        1.0,
        0.05,
        "%.2f",
        "Share of paid GPU time that serves traffic (30–60 % is typical).",
    ),
    InputSpec(
        "fixed_cost_per_month",
        "wi_fixed_cost_per_month",
        "Fixed costs, USD per month",
        0.0,
        1e9,
        1000.0,
        "%.0f",
        "Staff, offices, platform and tools. Not GPUs: serving capacity is paid through the "
        "GPU cost per token (utilisation). A segment's view starts at 0: fixed costs are "
        "company-wide.",
    ),
)

#: The cost model: throughput, cache and support (an expander).
COST_INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "input_tokens_per_second",
        "wi_input_tokens_per_second",
        "Input tokens/s per GPU",
        1.0,
        1e7,
        100.0,
        "%.0f",
        "Prefill throughput of one busy GPU (anchor: DeepSeek, about 9,200).",
    ),
    InputSpec(
        "output_tokens_per_second",
        "wi_output_tokens_per_second",
        "Output tokens/s per GPU",
        1.0,
        1e7,
        50.0,
        "%.0f",
        "Decode throughput of one busy GPU (anchor: DeepSeek, about 1,850).",
    ),
    InputSpec(
        "cache_hit_rate",
        "wi_cache_hit_rate",
        "Cache-hit rate of input tokens (0–1)",
        0.0,
        1.0,
        0.05,
        "%.2f",
        "Share of input tokens served from the context cache (output is never cached).",
    ),
    InputSpec(
        "cached_token_cost_factor",
        "wi_cached_token_cost_factor",
        "Cost of a cached input token (0–1)",
        0.0,
        1.0,
        0.05,
        "%.2f",
        "Relative to a fresh input token.",
    ),
    InputSpec(
        "human_ticket_cost",
        "wi_human_ticket_cost",
        "Support: human ticket, USD",
        0.0,
        1e4,
        0.5,
        "%.2f",
        "Cost of a ticket handled by a person (Gartner 2024: $13.50).",
    ),
    InputSpec(
        "ai_ticket_cost",
        "wi_ai_ticket_cost",
        "Support: AI-resolved ticket, USD",
        0.0,
        1e4,
        0.1,
        "%.2f",
        "Cost of a ticket the AI agent resolves (Gartner 2024: $1.84).",
    ),
)

#: The analyses' settings: goal seek targets, tornado, Monte Carlo (an expander).
MORE_INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "target_margin",
        "wi_target_margin",
        "Goal seek: target margin (0–1)",
        -1.0,
        0.99,
        0.05,
        "%.2f",
        "Contribution margin (p − c)/p.",
    ),
    InputSpec(
        "target_profit",
        "wi_target_profit",
        "Goal seek: target profit, USD/month",
        -1e9,
        1e9,
        1000.0,
        "%.0f",
        "After fixed costs.",
    ),
    InputSpec(
        "sensitivity_pct", "wi_sensitivity_pct", "Tornado: ± change, %", 0.0, 99.0, 5.0, "%.0f"
    ),
    InputSpec(
        "tornado_price",
        "wi_tornado_price",
        "Tornado at price (0 = at the optimum)",
        0.0,
        1e6,
        0.05,
        "%.3f",
    ),
    InputSpec(
        "gpu_cost_sd",
        "wi_gpu_cost_sd",
        "Monte Carlo: GPU cost uncertainty (log sd)",
        0.0,
        2.0,
        0.05,
        "%.2f",
    ),
    InputSpec(
        "volume_sd",
        "wi_volume_sd",
        "Monte Carlo: volume uncertainty (log sd)",
        0.0,
        2.0,
        0.05,
        "%.2f",
    ),
)

#: Monte Carlo draws and seed: whole numbers, after ``MORE_INPUTS``.
MC_DRAWS = InputSpec("mc_draws", "wi_mc_draws", "Monte Carlo draws", 1000, 1_000_000, 10_000)
#: The seed's top is Streamlit's: a whole-number widget takes at most 2**53 - 1 (a
#: JavaScript number), as a what-if link does (``scenario_links.LINK_RANGES``).
MC_SEED = InputSpec("mc_seed", "wi_mc_seed", "Monte Carlo seed", 0, 2**53 - 1, 1)

#: The demand table's columns (``DemandSegment`` fields) and their headers.
SEGMENT_COLUMNS: dict[str, str] = {
    "name": "Segment",
    "reference_price": "Price today, USD per 1M",
    "reference_volume_m": "Volume today, M tokens/month",
    "elasticity": "Elasticity (fitted)",
    "elasticity_ci_low": "95 % low",
    "elasticity_ci_high": "95 % high",
    "tickets_per_million": "Tickets per 1M tokens",
    "output_share": "Output share of tokens",
    "ai_resolution_share": "AI resolution share",
}


# -- Price war & positioning (dashboard/views/price_war.py) ------------------------------

#: The competitor's cut (a slider).
CUT_PCT = InputSpec("cut_pct", "pw_cut", "Its cut, % of its list price", 0.0, 90.0, 1.0)
#: Our market share, which calibrates the market.
OUR_SHARE = InputSpec(
    "our_share",
    "pw_share",
    "Our market share today (0–1)",
    0.001,
    0.99,
    0.01,
    "%.3f",
    "Recalibrates the market: the model's share for us is exactly this at today's prices.",
)
#: The strategy settings, differentiate and niche (an expander, one column each).
STRATEGY_INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        "quality_step",
        "pw_qstep",
        "Quality step (utility)",
        0.0,
        10.0,
        0.1,
        None,
        "How much better our model gets, in logit utility; divided by the price "
        "sensitivity it is what customers would pay for it per 1M tokens.",
    ),
    InputSpec(
        "quality_cost",
        "pw_qcost",
        "Its extra unit cost, USD per 1M",
        0.0,
        1e4,
        0.01,
        "%.3f",
        "Default: half our GPU cost per 1M tokens (a better model takes more GPU time per token).",
    ),
    InputSpec("niche_market_share", "pw_nshare", "Niche: share of the market", 0.01, 1.0, 0.05),
    InputSpec(
        "niche_alpha_factor",
        "pw_nalpha",
        "Niche: price sensitivity × ",
        0.01,
        10.0,
        0.05,
        None,
        "1 = as price sensitive as the whole market; 0.5 = half as sensitive.",
    ),
)

#: The competitor table's columns (``Competitor`` fields) and their headers.
COMPETITOR_COLUMNS: dict[str, str] = {
    "name": "Competitor",
    "price": "List price today, USD per 1M",
    "share": "Market share today (0–1)",
}
#: The help of the competitor table's share column.
COMPETITOR_SHARE_HELP = (
    "An assumption unless you know it: by default the rivals "
    "split 50 % of the market in proportion to how often customers mention them."
)
#: The calibrated market's columns (``analytics.war`` market frame) and their headers.
MARKET_COLUMNS: dict[str, str] = {
    "firm": "Firm",
    "price": "List price today, USD per 1M",
    "share": "Share today",
    "quality": "Quality (utility)",
    "cost": "Unit cost (ours) / implied, USD per 1M",
    "holds": "Keeps its price",
    "note": "Why",
}
#: Headers of the cut table's columns beyond ``analytics.competition.CUT_TABLE_LABELS``.
CUT_TABLE_EXTRA_LABELS: dict[str, str] = {
    "list_price": "List price today, USD per 1M tokens",
    "holds_price": "Keeps its price",
}
#: The competitor-pressure table's columns and their headers.
PRESSURE_COLUMNS: dict[str, str] = {
    "segment": "Segment",
    "rate": "Mention rate, whole period",
    "recent_rate": "Last 3 months",
    "previous_rate": "3 months before",
    "trend": "Change, points",
    "index": "Pressure index (1 = average)",
    "tickets": "Tagged tickets",
    "recent_tickets": "Tagged, last 3 months",
}


#: Every input of the Pricing what-if page, in the order it draws them.
PRICING_INPUTS: tuple[InputSpec, ...] = (
    *MAIN_INPUTS,
    *COST_INPUTS,
    *MORE_INPUTS,
    MC_DRAWS,
    MC_SEED,
)


def mc_draws_input(segments: int) -> InputSpec:
    """``MC_DRAWS`` for a what-if of ``segments`` segments: its top lowered so that a page
    run draws at most what a what-if link may ask for, ``segments`` × draws ≤
    ``scenario_links.MAX_LINK_MC_WORK`` (a saved scenario of 50 segments at 1,000,000
    draws took 2.9–4.1 s and 0.93 GB a run: GAPS 20), and its address can hold it.

    Example:
        >>> mc_draws_input(11).max_value, mc_draws_input(10) is MC_DRAWS
        (909090, True)
    """
    top = MAX_LINK_MC_WORK // max(segments, 1)
    if top >= MC_DRAWS.max_value:
        return MC_DRAWS
    return replace(MC_DRAWS, max_value=max(int(MC_DRAWS.min_value), top))


def pricing_inputs(segments: int) -> tuple[InputSpec, ...]:
    """Every input of the Pricing what-if for a what-if of ``segments`` segments, in the
    order it draws them (``PRICING_INPUTS`` with :func:`mc_draws_input`'s draws)."""
    return (*MAIN_INPUTS, *COST_INPUTS, *MORE_INPUTS, mc_draws_input(segments), MC_SEED)


#: Every number input of the Price war page.
PRICE_WAR_INPUTS: tuple[InputSpec, ...] = (CUT_PCT, OUR_SHARE, *STRATEGY_INPUTS)
