"""Entry point of ``python -m model``."""

from model.cli import main

raise SystemExit(main())
