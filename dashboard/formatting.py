"""Numbers, money, prices and deltas as the pages show them (never a negative zero)."""

from __future__ import annotations

import math


def fmt_number(value: float, *, money: bool = False, pct: bool = False) -> str:
    """Short human formatting: 1.2 k, 3.4 M, $5.6 B, 12.3 %; '—' for NaN, infinity or None.

    Never a negative zero ("-0", "-$0.00", "-0.0 %"), and a positive or negative amount of
    money under half a cent keeps two significant digits ("$0.0043", "$1e-09") instead of
    reading "$0.00".
    """
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(value):
        return "—"
    v = abs(value)
    if pct:
        text, suffix = f"{v * 100:,.1f}", " %"
    else:
        suffix = ""
        for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
            if round(v / size, 1) >= 1.0:  # 999,950 is "1.0 M", not "1000.0 k"
                text = f"{v / size:,.1f} {unit}"
                break
        else:
            if money and 0 < v < 0.005:
                text = f"{v:.2g}"
            else:
                text = f"{v:,.2f}" if money and v < 100 else f"{v:,.0f}"
    sign = "-" if value < 0 and any(c in "123456789" for c in text) else ""
    return f"{sign}${text}" if money else f"{sign}{text}{suffix}"


def fmt_price(value: float | None) -> str:
    """A price or unit cost in USD per 1M tokens to three decimals; '—' when missing or not
    finite. A positive (or negative) one under $0.0005 keeps two significant digits
    ("$0.00021") instead of reading "$0.000"; no negative zero."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(v):
        return "—"
    text = f"{abs(v):.2g}" if 0 < abs(v) < 0.0005 else f"{abs(v):,.3f}"
    sign = "-" if v < 0 and any(c in "123456789" for c in text) else ""
    return f"{sign}${text}"


#: The sign of a delta that rounds to zero (neither up nor down).
ZERO_DELTA_SIGN = "±"


def fmt_delta(change: float, *, points: bool = False) -> str | None:
    """Delta text for ``st.metric``: relative change in % or margin points; None if missing,
    NaN or infinite. A change that rounds to zero reads "±0.0 %", never "-0.0 %" (which
    ``st.metric`` would draw as a fall); pass :func:`delta_arrow` of the text as the metric's
    ``delta_arrow`` to draw no arrow for it.

    Example:
        >>> fmt_delta(0.1), fmt_delta(-0.0004), fmt_delta(-0.02, points=True)
        ('+10.0 %', '±0.0 %', '-2.0 pts')
    """
    try:
        value = float(change)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value * 100):
        return None
    text = f"{abs(value) * 100:,.1f}"
    sign = ZERO_DELTA_SIGN if not any(c in "123456789" for c in text) else "+" if value > 0 else "-"
    return f"{sign}{text} {'pts' if points else '%'}"


def delta_arrow(delta: str | None) -> str:
    """``st.metric``'s ``delta_arrow`` for a :func:`fmt_delta` text: "off" for a change
    that rounds to zero (or none), else "auto"."""
    return "off" if not delta or delta.startswith(ZERO_DELTA_SIGN) else "auto"
