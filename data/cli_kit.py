"""What the command lines ``python -m data`` and ``python -m analytics`` share: the exit
statuses, the parser that fails with one line and exit 2 (:data:`OneLineParser`), and text
made safe to print (:func:`terminal_text`, :func:`shown_name`), since file names, entity
names and alert values come from files and tickets that others wrote.

It imports no DuckDB or pandas: a command line's own module decides what else it loads.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_OK",
    "LINE_BREAKS",
    "TERMINAL_CONTROLS",
    "OneLineParser",
    "shown_name",
    "terminal_text",
]

EXIT_OK = 0
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse with exit status 2 and a one-line reason (as argparse does) everywhere."""

    def error(self, message: str) -> Any:  # pragma: no cover - argparse's own path
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


#: The parser every command line of the project uses (``python -m analytics`` too).
OneLineParser = _Parser


#: Characters a terminal acts on instead of showing: C0 and C1 controls (ESC starts the
#: sequences that retitle the window, clear the screen, hide text or write the clipboard)
#: and the bidirectional overrides and isolates that reorder a line.
TERMINAL_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def terminal_text(text: str) -> str:
    r"""``text`` safe to print: every control character (line breaks and tabs aside) and
    bidirectional control shown as its escape (``\x1b``, ``\u202e``), never acted on.

    File names, entity names and alert values come from files and tickets that others
    wrote.

    Example:
        >>> terminal_text("Deep\x1b]0;pwned\x07Seek\n")
        'Deep\\x1b]0;pwned\\x07Seek\n'
    """
    return TERMINAL_CONTROLS.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


#: Characters that end or break a line on a terminal or in a log viewer, beside the controls
#: above: line feed, carriage return, tab, and the Unicode line and paragraph separators.
LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")


def shown_name(name: object) -> str:
    r"""A file name (or any one-line value) as printed: :func:`terminal_text`, and line
    breaks and tabs as their escapes too, so a name cannot start a line of its own that
    reads like another message.

    Example:
        >>> print(shown_name("ok\nfake: 999 rows.csv"))
        ok\nfake: 999 rows.csv
    """
    escapes = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
    return terminal_text(
        LINE_BREAKS.sub(lambda m: escapes.get(m.group(), f"\\u{ord(m.group()):04x}"), str(name))
    )
