"""The names the surge alerts share: sources, scopes (dimensions) and period lengths."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["DIMENSIONS", "ENTITY_DIMS", "FREQS", "GOLD", "NAMED", "check_dimensions", "check_freq"]

GOLD = "gold"  # the sentiment (and entity) source of the generator's ground truth
#: Scopes a surge is looked for in ("all" = every ticket).
DIMENSIONS: tuple[str, ...] = ("all", "segment", "region", "plan", "product", "competitor")
#: The dimensions counted from the tickets' entities (the others from the customer).
ENTITY_DIMS = ("product", "competitor")
#: ``dim`` of :attr:`SignalCounts.mentions` rows counting tickets that name any competitor.
NAMED = "named"
FREQS = ("day", "week")


def check_freq(freq: str) -> str:
    """``freq`` when it is one of :data:`FREQS`.

    Raises:
        ValueError: any other value.
    """
    if freq not in FREQS:
        raise ValueError(f"freq must be one of {', '.join(FREQS)}; got {freq!r}")
    return freq


def check_dimensions(dimensions: Sequence[str] | str) -> tuple[str, ...]:
    """``dimensions`` (one or several) as a tuple when each is one of :data:`DIMENSIONS`.

    Raises:
        ValueError: an unknown dimension, or none.
    """
    dims = (dimensions,) if isinstance(dimensions, str) else tuple(dimensions)
    bad = [d for d in dims if d not in DIMENSIONS]
    if bad or not dims:
        raise ValueError(f"dimensions must be among {', '.join(DIMENSIONS)}; got {bad or dims}")
    return dims
