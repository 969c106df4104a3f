"""The inbox poller: imports what command-line jobs hand to the running app.

One :class:`InboxPoller` lives in the process-wide ``dashboard.app_state.AppState``; it
checks the inbox every ``PRICEWAR_INBOX_SECONDS`` (``dashboard.job_settings``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from dashboard.job_settings import inbox_seconds_from_env
from data.store import Store

log = logging.getLogger("dashboard.jobs")  # the name the log has always used


class InboxPoller:
    """Imports what command-line jobs drop into the inbox, every few seconds.

    Every entry is handled on its own (``data.inbox``, ``data.tag_requests``): a refused
    entry is moved aside and reported in :attr:`last_message`, and a failing step or
    callback is logged; the poller always goes on to the next entry and the next poll.
    While it polls it keeps a heartbeat in the inbox, so the command lines can say whether
    a dashboard is there to take their work.
    """

    def __init__(
        self,
        store: Store,
        on_new: Callable[[], Any] | None = None,
        every: float | None = None,
        on_tag_request: Callable[[Any], Any] | None = None,
    ) -> None:
        self.store = store
        self.on_new = on_new
        self.on_tag_request = on_tag_request
        from data.heartbeat import MAX_POLL_SECONDS

        every = float(every if every is not None else inbox_seconds_from_env())
        # capped: a heartbeat with a longer interval is not believed by the command lines
        self.every = min(every, MAX_POLL_SECONDS)
        self.last_message = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling (no-op when disabled or already started)."""
        if self.every <= 0 or self._thread is not None:
            return
        from data.heartbeat import write_heartbeat

        write_heartbeat(self.store.path, self.every)
        self._thread = threading.Thread(target=self._loop, name="pricewar-inbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (and remove the heartbeat)."""
        self._stop.set()
        if self._thread is not None:
            from data.heartbeat import clear_heartbeat

            clear_heartbeat(self.store.path)

    def poll_once(self) -> list[str]:
        """Import the inbox now, then take the tagging requests; return the import messages
        (``data.inbox.import_inbox``). Never raises for a bad entry or a failing callback."""
        from data.inbox import import_inbox
        from data.tag_requests import take_tagging_requests

        notes: list[str] = []
        result: list[str] = []
        try:
            result = import_inbox(self.store)
        except Exception as exc:  # e.g. the inbox folder unreadable: try again next poll
            log.exception("inbox import failed")
            notes.append(f"The inbox could not be read ({exc})")
        if result:
            notes.extend(str(m) for m in result)
            self._call(self.on_new, notes)
        refused: list[str] = []
        try:
            requests = take_tagging_requests(self.store.path, refused=refused)
        except Exception as exc:
            log.exception("tagging requests could not be taken")
            requests, refused = [], [f"Tagging requests could not be read ({exc})"]
        notes.extend(refused)
        for request in requests:
            if self._call(self.on_tag_request, notes, request):
                notes.append("Tagging requested from the command line")
        if notes:
            self.last_message = "; ".join(notes)
        return result

    @staticmethod
    def _call(callback: Callable[..., Any] | None, notes: list[str], *args: Any) -> bool:
        """Run ``callback(*args)``; a failure is logged and noted, never raised."""
        if callback is None:
            return True
        try:
            callback(*args)
            return True
        except Exception as exc:
            log.warning("inbox callback failed: %s", exc, exc_info=True)
            what = "Tagging request refused" if args else "Could not start tagging"
            notes.append(f"{what}: {' '.join(str(exc).split())[:300]}")
            return False

    def _loop(self) -> None:
        from data.heartbeat import write_heartbeat

        while not self._stop.wait(self.every):
            write_heartbeat(self.store.path, self.every)
            try:
                self.poll_once()
            except ModuleNotFoundError:
                return
            except Exception:  # keep polling; the log has the details
                log.exception("inbox import failed")
