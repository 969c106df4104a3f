"""Command line of the data layer: ``python -m data demo|ingest|stats|rollups``.

Exit status: 0 on success, 2 with a one-line reason on bad input (a rejected file, a locked
or unreadable database, a bad argument). Never a traceback for an expected failure.

Examples:
    python -m data demo --db var/pricewar.duckdb --tickets 3000 --seed 7
    python -m data ingest --db var/pricewar.duckdb tickets.csv more.jsonl.gz
    python -m data ingest --db var/pricewar.duckdb var/entity-shards   # Ray tagging output
    python -m data stats --db var/pricewar.duckdb --json
    python -m data rollups --db var/pricewar.duckdb      # rebuild the roll-up tables
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from data.cli_kit import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    LINE_BREAKS,
    OneLineParser,
    shown_name,
    terminal_text,
)
from data.db_file import check_db_file, file_kind
from data.errors import DataError, IngestError, StoreLockedError
from data.paths import default_db_label, default_db_path

__all__ = ["build_parser", "main"]

T = TypeVar("T")


def _names_shown(message: str, paths: Sequence[Path]) -> str:
    """``message`` safe to print, with every given path (or its file name) that holds a
    line break shown by :func:`shown_name`; the message's own line breaks stay."""
    for path in paths:
        for raw in (str(path), path.name):
            if raw and LINE_BREAKS.search(raw) and raw in message:
                message = message.replace(raw, shown_name(raw))
    return terminal_text(message)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return value


#: Most tickets ``data demo`` generates (as ``PRICEWAR_DEMO_TICKETS`` for the app): 10**12
#: asked numpy for 5.8 TiB and ended in a MemoryError traceback.
MAX_DEMO_TICKETS = 10_000_000
#: Largest demo seed (numpy takes any whole number from 0; a negative one raised ValueError).
MAX_SEED = 2**63 - 1


def _demo_tickets(text: str) -> int:
    value = _positive(text)
    if value > MAX_DEMO_TICKETS:
        raise argparse.ArgumentTypeError(f"at most {MAX_DEMO_TICKETS:,}: {value:,}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be from 0 to {MAX_SEED:,}: {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m data``."""
    parser = OneLineParser(
        prog="python -m data",
        description="Price War Room data: demo database, uploads, statistics.",
    )
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=OneLineParser)

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--db",
            type=Path,
            default=None,
            help=f"database file (default: $PRICEWAR_DB or {default_db_label()})",
        )

    demo = sub.add_parser(
        "demo",
        help="(re)generate the demo data",
        description="Replace the demo data in the database with generated "
        "customers, usage, prices and tickets (uploads are kept).",
    )
    db_option(demo)
    demo.add_argument(
        "--tickets",
        type=_demo_tickets,
        default=3000,
        help=f"tickets (0 to {MAX_DEMO_TICKETS:,}; default 3000)",
    )
    demo.add_argument(
        "--seed", type=_seed, default=7, help=f"random seed (0 to {MAX_SEED:,}; default 7)"
    )
    demo.add_argument("--quiet", action="store_true", help="no progress output")

    ingest = sub.add_parser(
        "ingest",
        help="validate and import ticket files",
        description="Import CSV, TSV, JSONL or Parquet files (optionally gzipped), each all or "
        "nothing. A 'text' column (or body, description, message, ...) is "
        "required. If the running dashboard holds the database, validated files "
        "are handed to it through its inbox folder. A FOLDER written by 'python -m "
        "model tag --engine ray' (entity shards) is loaded into the entities, "
        "after the files.",
    )
    db_option(ingest)
    ingest.add_argument("files", nargs="+", type=Path, metavar="FILE|FOLDER")
    ingest.add_argument(
        "--max-rows",
        type=_positive,
        default=None,
        help="row limit per file (default: $PRICEWAR_MAX_UPLOAD_ROWS or 2,000,000)",
    )
    ingest.add_argument(
        "--max-bytes",
        type=_positive,
        default=None,
        help="size limit per file, after decompression (default: "
        "$PRICEWAR_MAX_UPLOAD_BYTES or 1 GiB)",
    )

    stats = sub.add_parser(
        "stats", help="row count of each table", description="Print the row count of each table."
    )
    db_option(stats)
    stats.add_argument("--json", action="store_true", help="one JSON object")

    rollups = sub.add_parser(
        "rollups",
        help="rebuild the roll-up tables",
        description="Recompute every roll-up table the pages read (data.rollups) from the "
        "tickets, usage and tags, in one transaction. Writers keep them in step "
        "by themselves; this repairs them after a write that bypassed them.",
    )
    db_option(rollups)
    return parser


#: The name a failure is reported under: ``python -m data <verb>`` once the verb is known.
_prog = "python -m data"


def _fail(message: str) -> int:
    print(terminal_text(f"{_prog}: error: {' '.join(str(message).split())}"), file=sys.stderr)
    return EXIT_BAD_INPUT


def _limits(args: argparse.Namespace) -> Any:
    from dataclasses import replace

    from data.limits import limits_from_env

    limits = limits_from_env()
    if args.max_rows is not None:
        limits = replace(limits, max_rows=args.max_rows)
    if args.max_bytes is not None:
        limits = replace(limits, max_bytes=args.max_bytes)
    return limits


def _audited(
    store: Any, work: Callable[[], T], action: str, describe: Callable[[T], tuple[str | None, str]]
) -> T:
    """``work()`` and its audit row (``describe(result)`` gives target and detail) in one
    transaction on the store's writer thread: both are written or neither.

    The writer runs a nested write inside the current transaction, so the writes ``work``
    makes through the store join this one. Interrupted (Ctrl-C), the transaction is rolled
    back when ``work`` returns, before anything commits.
    """
    from data import audit

    actor = audit.os_actor()
    interrupted = threading.Event()

    def run(conn: Any) -> T:
        result = work()
        if interrupted.is_set():
            raise KeyboardInterrupt  # rolls the transaction back
        target, detail = describe(result)
        audit.record(store, actor=actor, action=action, target=target, detail=detail, source="cli")
        return result

    future = store.submit(run)
    try:
        return future.result()
    except KeyboardInterrupt:
        interrupted.set()
        raise


def _cmd_demo(args: argparse.Namespace, db: Path) -> int:
    from data import audit
    from data.demo import generate_demo
    from data.store import Store

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"\rtickets {done:,}/{total:,}", end="", file=sys.stderr, flush=True)

    with Store.open(db) as store:
        summary = _audited(
            store,
            lambda: generate_demo(store, tickets=args.tickets, seed=args.seed, progress=progress),
            audit.DEMO,
            lambda s: (
                db.name,
                f"seed {s.seed}: {s.customers} customers, {s.tickets} tickets, "
                f"{s.gold_entities} gold entities, {s.competitor_prices} "
                "competitor prices",
            ),
        )
    if not args.quiet:
        print(file=sys.stderr)
    print(
        f"{db}: demo data (seed {summary.seed}): {summary.customers} customers, "
        f"{summary.usage_rows} usage rows, {summary.tickets} tickets, "
        f"{summary.gold_entities} gold entities, {summary.competitor_prices} competitor prices"
    )
    return EXIT_OK


def _cmd_ingest(args: argparse.Namespace, db: Path) -> int:
    from data import audit
    from data.entity_shards import EntityShardError, is_shard_folder
    from data.inbox import hand_shards_to_inbox, hand_to_inbox, import_inbox
    from data.ingest import ingest_one
    from data.shard_loading import load_entity_shards
    from data.store import Store

    folders = [f for f in args.files if f.is_dir()]
    files = [f for f in args.files if not f.is_dir()]
    missing = [shown_name(f) for f in files if not f.exists()]
    if missing:
        return _fail(f"no such file: {', '.join(missing)}")
    odd = [f"{shown_name(f)} is {file_kind(f.stat().st_mode)}" for f in files if not f.is_file()]
    if odd:
        return _fail(f"{'; '.join(odd)}: give regular files")
    not_shards = [shown_name(f) for f in folders if not is_shard_folder(f)]
    if not_shards:
        return _fail(
            f"{', '.join(not_shards)}: a folder must be an entity-shard folder (written "
            "by python -m model tag --engine ray); give ticket files one by one"
        )
    limits = _limits(args)
    try:
        store = Store.open(db)
    except StoreLockedError as exc:
        try:
            handed = hand_to_inbox(db, files, limits=limits) if files else []
            requests = hand_shards_to_inbox(db, folders) if folders else []
        except (IngestError, EntityShardError) as error:
            print(_names_shown(str(error), args.files), file=sys.stderr)
            return EXIT_BAD_INPUT
        rows = sum(h.rows for h in handed)
        what = []
        if files:
            what.append(f"the files are valid ({rows:,} row{'' if rows == 1 else 's'})")
        if folders:
            what.append(
                f"{len(requests)} entity-shard folder{'' if len(requests) == 1 else 's'} checked"
            )
        inbox = (handed[0].path if handed else requests[0]).parent
        summary = "; ".join(what)
        print(
            _names_shown(
                f"{_holder(exc)}. {summary[0].upper()}{summary[1:]}: {_handed_to(db, exc, inbox)}",
                [db, inbox],
            )
        )
        return EXIT_OK
    with store:
        for message in import_inbox(store):
            print(terminal_text(f"inbox: {message}"))
        status = EXIT_OK
        for path in files:  # each file with its audit row, in one transaction
            report = _audited(
                store,
                lambda p=path: ingest_one(store, p, limits=limits),
                audit.INGEST,
                lambda r: (r.file, _ingest_outcome(r)),
            )
            if report.accepted:
                print(_names_shown(report.message, [path]))
            else:
                print(_names_shown(report.message, [path]), file=sys.stderr)
                status = EXIT_BAD_INPUT
        for folder in folders:  # after the files: their tickets are what the entities join
            loaded = _audited(
                store,
                lambda f=folder: load_entity_shards(store, f),
                audit.SHARD_LOAD,
                lambda r: (r.folder, r.message),
            )
            print(_names_shown(loaded.message, [folder]))
    return status


def _ingest_outcome(report: Any) -> str:
    """The audit detail of one ingested file: added, unchanged or rejected, with counts."""
    if report.status == "rejected":
        problems = "; ".join(" ".join(str(p).split()) for p in report.problems[:3])
        more = len(report.problems) - 3
        return f"rejected: {problems or 'invalid file'}" + (
            f" (+{more:,} more)" if more > 0 else ""
        )
    if report.already_ingested:
        return "unchanged: this file was ingested before"
    return (
        f"{report.status}: {report.rows:,} rows, {report.new_tickets:,} new tickets, "
        f"{report.duplicates:,} already present or repeated"
    )


def _locked_advice(db: Path, exc: StoreLockedError) -> str:
    """What to do about a held database, naming the holder honestly: the dashboard only
    when one is seen polling its inbox from the process that holds the lock (another
    command, a notebook or a second ``data demo`` were called "the dashboard" before)."""
    from data.heartbeat import running_dashboard
    from data.store import lock_pid

    pid = lock_pid(exc)
    app = running_dashboard(db, pid)
    if app is not None:
        return (
            f"{_holder(exc)}: the running dashboard (PID {app}). Stop it first, or use "
            "its pages (uploads go through 'Batch tagging'); 'python -m data ingest' "
            "hands files to it by itself."
        )
    return (
        f"{_holder(exc)}, which is not a dashboard polling its inbox (another command, "
        "perhaps): wait for it to finish, then run this again."
    )


def _holder(exc: StoreLockedError) -> str:
    """Who holds the database, without guessing: its path and the holder's process id."""
    from data.store import lock_pid

    pid = lock_pid(exc)
    return f"the database {exc.path} is in use by another process" + (
        f" (PID {pid})" if pid is not None else ""
    )


def _handed_to(db: Path, exc: StoreLockedError, inbox: Path) -> str:
    """Where the work went, honestly: to a dashboard seen polling the inbox (its heartbeat
    is recent and its process holds the database), or only into the inbox."""
    from data.heartbeat import running_dashboard
    from data.store import lock_pid

    app = running_dashboard(db, lock_pid(exc))
    if app is not None:
        return (
            f"handed to the running dashboard (PID {app}) through its inbox ({inbox}); "
            "it imports them within seconds."
        )
    return (
        f"handed to the inbox ({inbox}). No dashboard is polling it now (the process "
        "holding the database is not one); the dashboard imports them when it runs on "
        "this database."
    )


def _cmd_stats(args: argparse.Namespace, db: Path) -> int:
    from data.store import Store

    if not db.exists():
        return _fail(f"no database at {db} (create one with: python -m data demo --db {db})")
    with Store.open(db, read_only=True) as store:
        counts = store.table_counts()
    if args.json:
        print(json.dumps(counts, sort_keys=True))
    else:
        width = max(map(len, counts), default=0)
        for name, n in counts.items():
            print(f"{name:<{width}}  {n:>12,}")
    return EXIT_OK


def _cmd_rollups(args: argparse.Namespace, db: Path) -> int:
    from data.rollups import rebuild_rollups
    from data.store import Store

    if not db.is_file():
        return _fail(f"no database at {db} (create one with: python -m data demo --db {db})")
    with Store.open(db) as store:
        counts = rebuild_rollups(store)
    rows = ", ".join(f"{name} {n:,}" for name, n in counts.items())
    print(terminal_text(f"{db}: roll-ups rebuilt ({rows})"))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    global _prog
    args = build_parser().parse_args(argv)
    _prog = f"python -m data {args.verb}"
    try:
        db = Path(args.db) if args.db is not None else default_db_path()
        check_db_file(db)
    except DataError as exc:  # a bad $PRICEWAR_DB, a FIFO or a device
        return _fail(str(exc))
    handlers = {
        "demo": _cmd_demo,
        "ingest": _cmd_ingest,
        "stats": _cmd_stats,
        "rollups": _cmd_rollups,
    }
    try:
        return handlers[args.verb](args, db)
    except StoreLockedError as exc:
        return _fail(_locked_advice(db, exc))
    except DataError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename or db}")
    except duckdb.Error as exc:  # an unforeseen database failure: one line, not a traceback
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _fail(
            f"the database {db} failed: {first}. Nothing of the unfinished step was "
            f"written; check the file with 'python -m data stats --db {db}'"
        )
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was written by the unfinished step")
