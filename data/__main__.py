"""``python -m data``: see :mod:`data.cli`."""

from __future__ import annotations

import sys

from data.cli import main

if __name__ == "__main__":
    sys.exit(main())
