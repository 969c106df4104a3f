"""``python -m model tag --db``: tag the store's tickets between audit rows.

A database held by another process is waited for (``--wait``), then the tagging is left as a
request in its inbox for the dashboard (``data.tag_requests``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model import cli
from model.cli import UsageError


def _open_store(path: Path, wait: float):
    """The store at ``path``, waiting up to ``wait`` s while another process holds it; the
    ``StoreLockedError`` if it is still held then."""
    import time

    from data.errors import StoreLockedError
    from data.store import Store, lock_pid

    deadline = time.monotonic() + wait
    announced = False
    while True:
        try:
            return Store.open(path)
        except StoreLockedError as exc:
            if time.monotonic() >= deadline:
                return exc
            if not announced:
                pid = lock_pid(exc)
                print(
                    f"{path} is in use by another process"
                    f"{f' (PID {pid})' if pid is not None else ''}; waiting up to "
                    f"{wait:.0f}s for it to close",
                    file=sys.stderr,
                )
                announced = True
            time.sleep(1.0)


def tag_db(args: argparse.Namespace) -> int:
    """``--db PATH``: tag the store's untagged tickets, or hand the run to the app holding it."""
    from tqdm.auto import tqdm

    from data.db_file import check_db_file
    from data.errors import DataError, StoreLockedError

    try:
        check_db_file(args.db)  # a CSV file opened as an empty database in memory
    except DataError as exc:
        raise UsageError(str(exc)) from None
    if not args.db.is_file():
        raise UsageError(f"{args.db}: no such database file")
    cli.limit_threads()
    tagger = cli.load_tagger(args.model, args.device, args.precision)
    try:
        store = _open_store(args.db, args.wait)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    if isinstance(store, StoreLockedError):
        return _hand_to_app(args, store)
    with (
        store,
        tqdm(
            unit="ticket",
            desc=f"tagging ({tagger.device}, {tagger.precision})",
            dynamic_ncols=True,
            mininterval=1.0,
        ) as bar,
    ):

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        def status(s) -> None:  # the precision can change part-way (int8 compiled)
            where = ", ".join(v for v in (tagger.device, s.precision) if v)
            extra = "; int8 compiling" if s.compiling else ""
            bar.set_description(f"tagging ({where}{extra})", refresh=False)

        summary = _tag_store_audited(store, tagger, args, progress, status)
    print(
        f"tagged {summary.tickets} tickets, {summary.entities} entities with "
        f"{summary.model_id} on {summary.device} ({tagger.precision}) in {summary.seconds:.1f}s "
        f"(run {summary.run_id}, {summary.status})"
    )
    return 0


def _tag_store_audited(store, tagger, args: argparse.Namespace, progress, status=None):
    """``tag_store`` between audit rows (actor: the OS user): ``tagging_start`` first, then
    ``tagging_end`` (``tagging_stop`` when interrupted).

    The start is recorded before any ticket is tagged, so a store that cannot record it
    (disk full) tags nothing. The batches commit one by one, so a failure to record the end
    cannot undo them: it is reported (exit 2) with what was tagged.
    """
    from data import audit
    from data.errors import DataError
    from model.jobs import tag_store

    actor = audit.os_actor()
    model_dir = str(args.model) if args.model else "built-in"
    where = f"model dir {model_dir}, {tagger.device} ({tagger.precision})"

    def end(action: str, detail: str) -> None:
        audit.record(
            store,
            actor=actor,
            action=action,
            target=tagger.model_id,
            detail=f"{detail}; {where}",
            source="cli",
        )

    audit.record(
        store,
        actor=actor,
        action=audit.TAG_START,
        target=tagger.model_id,
        detail=f"{where}, batch size {args.batch_size}",
        source="cli",
    )
    try:
        summary = tag_store(
            store, tagger, batch_size=args.batch_size, progress=progress, status=status
        )
    except BaseException as exc:
        stopped = isinstance(exc, KeyboardInterrupt | SystemExit)
        try:
            end(
                audit.TAG_STOP if stopped else audit.TAG_END,
                "interrupted by the user"
                if stopped
                else f"failed: {type(exc).__name__}: {' '.join(str(exc).split())}",
            )
        except Exception as audit_exc:  # the run's own failure is what the user must see
            print(
                f"the audit trail could not record the end of the run: {audit_exc}", file=sys.stderr
            )
        raise
    try:
        end(
            audit.TAG_END if summary.status == "done" else audit.TAG_STOP,
            f"{summary.status}: {summary.tickets} tickets tagged, {summary.entities} entities, "
            f"run {summary.run_id}",
        )
    except DataError as exc:
        raise UsageError(
            f"tagged {summary.tickets} tickets (run {summary.run_id}, "
            f"{summary.status}), but the audit trail could not record the end: "
            f"{exc}"
        ) from None
    return summary


def _hand_to_app(args: argparse.Namespace, locked) -> int:
    """The database is held by another process: leave the tagging as a request in its inbox
    and say honestly who will run it: the dashboard holding the database when its heartbeat
    is fresh (``data.heartbeat.running_dashboard``), else nobody until a dashboard starts."""
    from data.heartbeat import running_dashboard
    from data.store import lock_pid
    from data.tag_requests import request_tagging

    request = request_tagging(args.db, model_dir=args.model or None, batch_size=args.batch_size)
    holder = lock_pid(locked)
    app = running_dashboard(args.db, holder)
    if app is not None:
        print(
            f"{args.db} is held by the running dashboard (PID {app}): tagging handed to it "
            f"through its inbox ({request}); it starts within seconds and its progress "
            f"shows on the Batch tagging page."
        )
    else:
        who = f"another process (PID {holder})" if holder is not None else "another process"
        print(
            f"{args.db} is in use by {who}, which is not a dashboard polling its inbox: "
            f"tagging request left in the inbox ({request}). Nothing is tagged until a "
            f"dashboard runs on this database (it takes the request within seconds of "
            f"starting), or run this command again once the database is free."
        )
    return 0
