"""What a page address's ``embed`` options do to the page a user sees (round 20 of #12).

Streamlit's page in the browser reads ``embed`` and ``embed_options`` from the address
itself (a fixed list of options, any case); the server's ``st.query_params`` never shows
them. Most only change the frame (toolbar, padding, theme, loading screen); one hides
content: ``embed_options=disable_scrolling`` turns the main area's scrolling off, so
whatever lies below the window (a page's lower half, its notes included) cannot be reached,
and a shared link could do that to whoever opens it. ``app.py`` says so at the top of the
page (:data:`NO_SCROLL_NOTE`).
"""

from __future__ import annotations

from urllib.parse import unquote_plus

#: Shown at the top of a page whose address turns scrolling off.
NO_SCROLL_NOTE = (
    "This page address turns scrolling off (`embed_options=disable_scrolling`): what lies "
    "below the window, notes included, cannot be scrolled to. Open the page without it to "
    "see all of it."
)


def scrolling_turned_off(query_string: str) -> bool:
    """Whether the page address's ``query_string`` (as the browser sent it, ``embed``
    options included) asks the browser to turn scrolling off; one linear pass, whatever its
    size.

    Example:
        >>> scrolling_turned_off("embed=true&embed_options=DISABLE%5Fscrolling")
        True
        >>> scrolling_turned_off("embed=true&embed_options=show_toolbar&segment=smb")
        False
    """
    return "embed_options=disable_scrolling" in unquote_plus(query_string or "").lower()


def current_query_string() -> str:
    """This run's page address query string (``embed`` options included), or ""."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    return str(getattr(ctx, "query_string", "") or "")
