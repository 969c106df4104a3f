"""Command line of the analytics layer: ``python -m analytics report|signals``.

Exit status: 0 on success, 2 with a one-line reason on bad input (a missing, locked or
unreadable database, an unknown segment, a database without usage, tickets or sentiment).

The signals verb and the dashboard's Signals page read the same sources
(:func:`analytics.alerts.signal_source`) and say the same things about the risk score and
the offer (:data:`analytics.risk.RISK_NOTE`, :func:`analytics.risk.offer_assumptions_text`).

Examples:
    python -m analytics report --db var/pricewar.duckdb
    python -m analytics report --db var/pricewar.duckdb --segment smb --json
    python -m analytics signals --db var/pricewar.duckdb --top 5 --json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from analytics.alerts import ALERT_COLUMNS, signal_source
from analytics.errors import AnalyticsError
from analytics.risk import RISK_COLUMNS, RISK_NOTE, offer_assumptions_text
from data.cli_kit import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    TERMINAL_CONTROLS,
    OneLineParser,
    shown_name,
    terminal_text,
)
from data.db_file import check_db_file
from data.errors import DataError, StoreLockedError
from data.paths import default_db_label, default_db_path

__all__ = ["build_parser", "main"]

#: Most customers at risk ``signals`` prints (``--top``).
MAX_TOP = 1000


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m analytics``."""
    parser = OneLineParser(
        prog="python -m analytics",
        description="Price War Room analytics: the pricing report and "
        "the signals (surge alerts, customers at risk).",
    )
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=OneLineParser)
    report = sub.add_parser(
        "report",
        help="print the numbers the Pricing and Price war pages show",
        description="Print, per segment and for all customers, the price elasticity, unit "
        "cost, optimal price within its range (with its range under the "
        "elasticity's uncertainty), profit today and at the optimum, break-even "
        "prices, and today's price-war market. Markdown by default; --json for "
        "the JSON contract. Prices USD per 1M tokens, volumes M tokens per month, "
        "money USD per month.",
    )
    _add_db(report)
    report.add_argument("--segment", default=None, help="report one segment (and all customers)")
    report.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    signals = sub.add_parser(
        "signals",
        help="print the open surge alerts and the top customers at risk",
        description="Print the surge alerts of negative tickets still open on the last day "
        "with tickets, and the customers at risk, riskiest first, with the "
        "recommended action and its expected monthly profit effect (USD). The "
        "sentiment is the tagger's once it has labelled as many tickets as the "
        "demo's ground truth covers, else the ground truth; the output says "
        "which. Text by default; --json for JSON.",
    )
    _add_db(signals)
    signals.add_argument(
        "--top",
        type=_top,
        default=10,
        help=f"customers at risk to print (1 to {MAX_TOP}; default 10)",
    )
    signals.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help=f"database file (default: $PRICEWAR_DB or {default_db_label()})",
    )


def _top(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--top must be a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_TOP:
        raise argparse.ArgumentTypeError(f"--top must be between 1 and {MAX_TOP}, got {value}")
    return value


def _json_text(value: Any) -> str:
    """JSON for a terminal: the same values, with the controls JSON leaves raw (C1,
    bidirectional) written as ``\\u`` escapes (they occur inside strings only)."""
    text = json.dumps(value, indent=2, allow_nan=False, ensure_ascii=False)
    return TERMINAL_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _db_path(args: argparse.Namespace) -> Path | None:
    """The database file of ``--db`` (or the default); None, said on stderr, when missing."""
    path = Path(args.db if args.db is not None else default_db_path())
    check_db_file(path)  # a named pipe waited for a writer for good
    if not path.is_file():
        print(
            terminal_text(f"python -m analytics {args.verb}: error: no database at {path}"),
            file=sys.stderr,
        )
        return None
    return path


def _report(args: argparse.Namespace) -> int:
    from analytics.report import pricing_report, render_markdown
    from data.store import Store

    path = _db_path(args)
    if path is None:
        return EXIT_BAD_INPUT
    with Store.open(path, read_only=True) as store:
        report = pricing_report(store, args.segment)
    if args.json:
        print(_json_text(report))
    else:
        print(terminal_text(render_markdown(report)), end="")
    return EXIT_OK


# -- signals ---------------------------------------------------------------------------------

#: Alert fields of ``signals --json`` (``analytics.alerts.ALERT_COLUMNS`` but the rule and
#: ``open``: every alert printed is open, and the rule is said once).
ALERT_FIELDS = tuple(c for c in ALERT_COLUMNS if c not in ("open", "rule"))
#: Customer fields of ``signals --json``: the risk table's columns less the model inputs
#: behind the offer (unit cost, elasticity), in the same order.
CUSTOMER_FIELDS = tuple(c for c in RISK_COLUMNS if c not in ("unit_cost", "elasticity"))


def _plain(value: Any) -> Any:
    """A cell as JSON: dates as ISO text, tuples as lists, NaN and NA as null."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _records(frame: Any, fields: Sequence[str]) -> list[dict[str, Any]]:
    return [{f: _plain(row[f]) for f in fields} for _, row in frame.iterrows()]


def signals_summary(store: Any, *, top: int = 10) -> dict[str, Any]:
    """The content of ``python -m analytics signals --json``.

    Raises:
        InsufficientDataError: no tickets, or no sentiment labels (model or demo).
    """
    from analytics.alerts import SurgeRule, surge_alerts, ticket_signals
    from analytics.errors import InsufficientDataError
    from analytics.explore.metadata import has_tickets
    from analytics.risk import OfferAssumptions, customers_at_risk

    if not has_tickets(store):
        raise InsufficientDataError("the database has no tickets: nothing to watch")
    source = signal_source(store)
    if source is None:
        raise InsufficientDataError(
            "no ticket has a sentiment label: neither a tagger with a sentiment head "
            "(ticket_sentiment) nor demo ground truth (gold_sentiment)"
        )
    signals = ticket_signals(store, sentiment=source.sentiment, entities=source.entities)
    alerts = surge_alerts(
        store, sentiment=source.sentiment, entities=source.entities, signals=signals
    )
    as_of = max(signals["day"]) if len(signals) else None
    assumptions = OfferAssumptions()
    risk_error = None
    try:
        risk = customers_at_risk(
            store,
            sentiment=source.sentiment,
            entities=source.entities,
            signals=signals,
            assumptions=assumptions,
        )
    except InsufficientDataError as exc:
        risk, risk_error = None, str(exc)
    return {
        "sentiment_source": source.label,
        "sentiment": source.sentiment,
        "entities_source": source.entities_label,
        "entities": source.entities,
        "as_of": _plain(as_of),
        "rule": SurgeRule().describe("day"),
        "open_alerts": _records(alerts, ALERT_FIELDS),
        "customers_at_risk": {
            "count": 0 if risk is None else len(risk),
            "shown": 0 if risk is None else min(top, len(risk)),
            "note": RISK_NOTE,
            "assumptions": offer_assumptions_text(assumptions),
            "error": risk_error,
            "top": [] if risk is None else _records(risk.head(top), CUSTOMER_FIELDS),
        },
    }


def _money(value: float | None) -> str:
    return "—" if value is None else f"{'+' if value >= 0 else '-'}${abs(value):,.2f}"


def render_signals(summary: dict[str, Any]) -> str:
    """``signals_summary`` as text for a terminal: every value from the store (alert, entity,
    customer and competitor names) on one line (:func:`data.cli_kit.shown_name`)."""
    lines = [
        f"Sentiment: {summary['sentiment_source']}; entities: {summary['entities_source']}.",
        f"Surge rule: {summary['rule']}.",
        "",
    ]
    alerts = summary["open_alerts"]
    lines.append(f"Open alerts on {summary['as_of']}: {len(alerts) or 'none'}")
    for a in alerts:
        lines.append(
            f"  {shown_name(a['alert'])} since {a['since']} (last {a['last']}): "
            f"{a['negative']} negative of {a['tickets']} tickets, "
            f"{a['customers']} customers; rate {a['rate']:.1%} against "
            f"{a['baseline_rate']:.1%} before; p = {a['p_value']:.2g}"
        )
        if a["entities"]:
            lines.append(f"    entities: {shown_name(a['entities'])}")
    risk = summary["customers_at_risk"]
    lines.append("")
    if risk["error"]:
        lines.append(f"Customers at risk: not scored ({risk['error']}).")
        return "\n".join(lines) + "\n"
    lines.append(
        f"Customers at risk: {risk['count']}"
        + (f"; the {risk['shown']} riskiest:" if risk["shown"] else ".")
    )
    for c in risk["top"]:
        action = (
            c["action"]
            + (f" {c['discount']:.1%}" if c["action"] == "discount" else "")
            + (f" to {c['new_plan']}" if c["action"] == "plan change" else "")
        )
        named = f", names {shown_name(c['top_competitor'])}" if c["top_competitor"] else ""
        lines.append(
            f"  {shown_name(c['customer_id'])} {shown_name(c['name'])} ({c['segment']}, {c['plan']}): "
            f"risk {c['risk']:.1%} ({c['lift']:.1f}× average), "
            f"{c['negative_tickets']:.0f} negative tickets{named} -> {action}, "
            f"{_money(c['profit_effect'])} per month"
        )
    lines += ["", risk["note"], risk["assumptions"]]
    return "\n".join(lines) + "\n"


def _signals(args: argparse.Namespace) -> int:
    from data.store import Store

    path = _db_path(args)
    if path is None:
        return EXIT_BAD_INPUT
    with Store.open(path, read_only=True) as store:
        summary = signals_summary(store, top=args.top)
    if args.json:
        print(_json_text(summary))
    else:
        print(terminal_text(render_signals(summary)), end="")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    prog = f"python -m analytics {args.verb}"
    try:
        return _signals(args) if args.verb == "signals" else _report(args)
    except StoreLockedError as exc:
        _fail(
            prog,
            f"{exc} — the running dashboard holds it; stop it, or run the report on a "
            "copy of the file",
        )
    except (AnalyticsError, DataError) as exc:
        _fail(prog, str(exc))
    except duckdb.Error as exc:
        _fail(prog, f"the database could not be read: {str(exc).splitlines()[0]}")
    except OSError as exc:  # a database file that vanished or cannot be read
        _fail(prog, f"{exc.strerror or exc}: {exc.filename or args.db}")
    return EXIT_BAD_INPUT


def _fail(prog: str, message: str) -> None:
    """One line on stderr: ``python -m analytics <verb>: error: <message>``."""
    print(terminal_text(f"{prog}: error: {' '.join(message.split())}"), file=sys.stderr)
