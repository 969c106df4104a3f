"""``python -m model tag``: its flags, and tagging a file here or files on Ray.

``--db`` (the store, its audit rows and the hand-over to a dashboard) is in
``model/cli_tag_db.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model import cli
from model.cli import PRECISION_HELP, UsageError, check_batch_size
from model.cli_tag_db import tag_db


def add_tag(sub: argparse._SubParsersAction) -> None:
    """The ``tag`` verb and its flags."""
    p = sub.add_parser(
        "tag",
        help="tag the store's tickets (--db) or a file (--input/--output)",
        description="Tag every ticket of the database that has no entities for this model "
        "(resumable: stop it any time and run it again), or tag a CSV/TSV/JSONL/"
        "Parquet file into a JSONL file (one object per input row).",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, metavar="PATH", help="DuckDB store to tag")
    where.add_argument(
        "--input",
        type=Path,
        metavar="FILE",
        help="CSV, TSV, JSONL or Parquet file (--engine ray: a folder or glob "
        "of them, DIR_OR_GLOB)",
    )
    p.add_argument(
        "--output",
        type=Path,
        metavar="FILE.jsonl",
        help="JSONL output of file mode (--engine ray: the folder of entity shards)",
    )
    p.add_argument(
        "--text-column",
        default=None,
        metavar="C",
        help="file mode: text column (default: text; --engine ray: as ingest finds it)",
    )
    p.add_argument(
        "--engine",
        default="local",
        choices=["local", "ray"],
        help="local (this process) or ray: tag files on Ray Data, one actor and "
        "model per worker, into Parquet entity shards (model/ray_engine.py)",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="--engine ray: a running Ray cluster (auto, host:6379, "
        "ray://host:10001); default: a local Ray on this machine",
    )
    p.add_argument(
        "--num-gpus-per-worker",
        type=float,
        metavar="N",
        help="--engine ray: GPUs per tagging actor (default 1 when the cluster has "
        "GPUs, else 0; 0.5 puts two actors on a GPU)",
    )
    p.add_argument(
        "--num-workers",
        type=int,
        metavar="N",
        help="--engine ray: tagging actors (default: one per GPU, else per CPU)",
    )
    p.add_argument(
        "--id-column",
        metavar="C",
        help="file mode: id column (default: 'id' if present, else the row number)",
    )
    p.add_argument("--model", type=Path, metavar="DIR", help="artefact folder (default: built-in)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=64, metavar="N")
    p.add_argument(
        "--precision", default=None, choices=["auto", "fp32", "bf16", "int8"], help=PRECISION_HELP
    )
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="--db: wait this long for a database held by another process, then "
        "leave the tagging as a request in its inbox, for the dashboard "
        "(default: at once)",
    )
    p.set_defaults(func=_cmd_tag)


#: Longest ``--wait`` (a day): a held database is handed to the app after it.
MAX_WAIT_SECONDS = 86_400


def _check_wait(seconds: float) -> None:
    """Refuse a ``--wait`` that is negative, not a number, or longer than a day."""
    import math

    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_WAIT_SECONDS):
        raise UsageError(
            f"--wait must be between 0 and {MAX_WAIT_SECONDS:,} seconds, got {seconds!r}"
        )


def _cmd_tag(args: argparse.Namespace) -> int:
    """Check the flags that belong together, then tag the store, a file or files on Ray."""
    check_batch_size(args.batch_size)
    _check_wait(args.wait)
    if args.engine == "ray":
        return _tag_ray(args)
    for flag, value in (
        ("--address", args.address),
        ("--num-gpus-per-worker", args.num_gpus_per_worker),
        ("--num-workers", args.num_workers),
    ):
        if value is not None:
            raise UsageError(f"{flag} belongs to --engine ray")
    if args.db is not None:
        if args.output is not None:
            raise UsageError("--output belongs to file mode (--input); --db writes to the store")
        return tag_db(args)
    if args.output is None:
        raise UsageError("file mode needs --output FILE.jsonl")
    return _tag_file(args)


def _tag_file(args: argparse.Namespace) -> int:
    """``--input FILE --output FILE.jsonl``: tag one ticket file in this process."""
    from model.filemode import FileModeError, check_output, tag_file

    if args.input.is_dir():
        raise UsageError(
            f"{args.input}: is a folder; give one ticket file (a folder of files is tagged "
            "with --engine ray)"
        )
    if not args.input.is_file():
        from data.db_file import file_kind

        if args.input.exists():  # a named pipe or a device: never read (it may never end)
            kind = file_kind(args.input.stat().st_mode)
            raise UsageError(f"{args.input}: is {kind}, not a ticket file; give a regular file")
        raise UsageError(f"{args.input}: no such file")
    try:
        # before the model load: a bad --output (a pipe, a device, the input) is quick
        check_output(args.input, args.output)
    except FileModeError as exc:
        raise UsageError(str(exc)) from None
    cli.limit_threads()
    tagger = cli.load_tagger(args.model, args.device, args.precision)
    try:
        report = tag_file(
            tagger,
            args.input,
            args.output,
            text_column=args.text_column or "text",
            id_column=args.id_column,
            batch_size=args.batch_size,
            warn=lambda m: print(m, file=sys.stderr),
        )
    except FileModeError as exc:
        raise UsageError(str(exc)) from None
    print(
        f"{report.rows} rows, {report.entities} entities, {report.bad_rows} bad rows "
        f"→ {args.output}"
    )
    return 0


def _tag_ray(args: argparse.Namespace) -> int:
    """``--engine ray``: tag files on Ray Data into a folder of entity shards."""
    from data.entity_shards import EntityShardError
    from model.errors import ModelNotFoundError, RayMissingError, RayTagError
    from model.ray_engine import tag_on_ray

    if args.db is not None or args.output is None:
        raise UsageError(
            "--engine ray tags files: give --input DIR_OR_GLOB --output DIR (the "
            "store is tagged by the local engine, or load the shards with "
            "python -m data ingest DIR)"
        )
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"--output {args.output} is a file; --engine ray writes a folder")
    from tqdm.auto import tqdm

    with tqdm(unit="ticket", desc="tagging on ray", dynamic_ncols=True, mininterval=1.0) as bar:

        def progress(done: int, shards_done: int, shards_total: int) -> None:
            bar.n = done
            bar.set_postfix_str(f"shards {shards_done}/{shards_total}", refresh=True)

        try:
            report = tag_on_ray(
                str(args.input),
                args.output,
                model_dir=args.model,
                address=args.address,
                device=args.device,
                num_gpus_per_worker=args.num_gpus_per_worker,
                num_workers=args.num_workers,
                batch_size=args.batch_size,
                precision=args.precision,
                text_column=args.text_column,
                id_column=args.id_column,
                progress=progress,
                warn=lambda m: tqdm.write(m, file=sys.stderr),
            )
        except (RayMissingError, RayTagError, ModelNotFoundError, EntityShardError) as exc:
            raise UsageError(str(exc)) from None
    print(
        f"{report.rows} rows, {report.entities} entities, {report.bad_rows} bad rows in "
        f"{len(report.shards) - report.skipped} shards ({report.skipped} complete already) "
        f"with {report.model_id} on {report.workers} {report.device} workers in "
        f"{report.seconds:.1f}s → {args.output}"
    )
    if report.failed:
        for path, reason in report.failed:
            print(f"{path}: not tagged: {' '.join(reason.split())}", file=sys.stderr)
        raise UsageError(
            f"{len(report.failed)} input file(s) could not be tagged (first: "
            f"{report.failed[0][0]}); the other shards are complete"
        )
    print(f"load them into the store with: python -m data ingest --db PATH {args.output}")
    return 0
