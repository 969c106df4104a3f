"""The pages' error guard: any exception shown as a plain message saying what to do,
never a traceback (logged with it)."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import streamlit as st

from analytics.errors import ScenarioError
from dashboard.access import AccessDenied, current_user
from dashboard.untrusted_text import md_text
from data.errors import DataError, StoreCorruptError, StoreLockedError

log = logging.getLogger("dashboard")
F = TypeVar("F", bound=Callable[..., Any])


def friendly_message(exc: BaseException) -> str:
    """A plain-language message for ``exc`` saying what to do; never a traceback."""
    if isinstance(exc, AccessDenied):
        return str(exc)
    if isinstance(exc, StoreLockedError):
        return (
            f"The database is in use by another program ({exc.path.name}). Close the other "
            "program (for example a running `python -m data` command) or set PRICEWAR_DB "
            "to another file, then reload this page."
        )
    if isinstance(exc, StoreCorruptError):
        return (
            f"The database file {exc.path.name} cannot be read. Move it aside and restart "
            "the dashboard: it creates a fresh demo database."
        )
    if isinstance(exc, DataError):
        return f"{exc}"
    if isinstance(exc, ScenarioError):
        return (
            f"These inputs cannot be evaluated: {md_text(exc)}. Change the value named "
            "(or reload the page for the measured defaults)."
        )
    if isinstance(exc, ModuleNotFoundError):
        return (
            f"A part of the application is missing ({exc.name}). Install the requirements "
            "with `pip install -r requirements.txt` and restart."
        )
    return (
        "Something went wrong while preparing this page. Try changing the inputs or "
        "reloading the page; if it persists, the details are in the server log."
    )


@contextlib.contextmanager
def page_guard(what: str = "this page") -> Iterator[None]:
    """Show any exception raised inside as a plain ``st.error`` (logged with traceback).

    A refused action (:class:`dashboard.access.AccessDenied`, already logged and audited)
    is shown as its short message.
    """
    try:
        yield
    except AccessDenied as exc:
        st.error(str(exc), icon=":material/lock:")
    except Exception as exc:  # the user never sees a traceback; the log keeps it
        log.exception("error on %s", what)
        shown = friendly_message(exc)
        if isinstance(exc, DataError) and not isinstance(exc, StoreLockedError | StoreCorruptError):
            shown = md_text(shown)  # its message may quote a file name or a value as text
        st.error(shown, icon=":material/error:")


#: What a fragment shows instead of its content once its user is no longer let in.
ACCESS_GONE_NOTE = (
    "You are no longer let in with this sign-in (the access list or the sign-in changed): "
    "reload the page."
)


def guarded(what: str) -> Callable[[F], F]:
    """Decorator form of :func:`page_guard` for fragments, which rerun outside the page's
    guard and outside ``app.py``'s gate: each run first asks whether the user is still let
    in (the access file is read again when it changes; a sign-out in another tab counts),
    and draws only :data:`ACCESS_GONE_NOTE` when not (round 18: a user taken off the list
    kept getting the what-if through fragment reruns)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with page_guard(what):
                if not current_user().allowed:
                    st.warning(ACCESS_GONE_NOTE, icon=":material/lock:")
                    return None
                return fn(*args, **kwargs)
            return None

        return inner  # type: ignore[return-value]

    return wrap
