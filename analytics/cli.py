"""Command line of the analytics layer: ``python -m analytics report``.

Exit status: 0 on success, 2 with a one-line reason on bad input (a missing, locked or
unreadable database, an unknown segment, a database without usage).

Examples:
    python -m analytics report --db var/pricewar.duckdb
    python -m analytics report --db var/pricewar.duckdb --segment smb --json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

from analytics.errors import AnalyticsError
from data.cli import EXIT_BAD_INPUT, EXIT_OK, OneLineParser
from data.errors import DataError, StoreLockedError
from data.paths import default_db_path

__all__ = ["build_parser", "main"]

def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m analytics``."""
    parser = OneLineParser(prog="python -m analytics",
                     description="Price War Room analytics: the pricing report.")
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=OneLineParser)
    report = sub.add_parser(
        "report", help="print the numbers the Pricing and Price war pages show",
        description="Print, per segment and for all customers, the price elasticity, unit "
                    "cost, optimal price within its range (with its range under the "
                    "elasticity's uncertainty), profit today and at the optimum, break-even "
                    "prices, and today's price-war market. Markdown by default; --json for "
                    "the JSON contract. Prices USD per 1M tokens, volumes M tokens per month, "
                    "money USD per month.")
    report.add_argument("--db", type=Path, default=None,
                        help=f"database file (default: $PRICEWAR_DB or {default_db_path()})")
    report.add_argument("--segment", default=None, help="report one segment (and all customers)")
    report.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    return parser


def _report(args: argparse.Namespace) -> int:
    from analytics.report import pricing_report, render_markdown
    from data.store import Store

    path = args.db if args.db is not None else default_db_path()
    if not Path(path).is_file():
        print(f"python -m analytics report: no database at {path}", file=sys.stderr)
        return EXIT_BAD_INPUT
    with Store.open(path, read_only=True) as store:
        report = pricing_report(store, args.segment)
    if args.json:
        print(json.dumps(report, indent=2, allow_nan=False))
    else:
        print(render_markdown(report), end="")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    prog = f"python -m analytics {args.verb}"
    try:
        return _report(args)
    except StoreLockedError as exc:
        print(f"{prog}: {exc} — the running dashboard holds it; stop it, or run the report "
              "on a copy of the file", file=sys.stderr)
    except (AnalyticsError, DataError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
    except duckdb.Error as exc:
        print(f"{prog}: the database could not be read: {str(exc).splitlines()[0]}",
              file=sys.stderr)
    return EXIT_BAD_INPUT
