"""Where the signals' sentiment and entities come from: the tagger's once it has labelled
as many tickets as the demo's ground truth covers, else the ground truth (the Signals page
and ``python -m analytics signals``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analytics.alerts.reading import rollup_source
from analytics.alerts.scopes import GOLD

__all__ = ["SignalSource", "current_tagger", "signal_source"]


@dataclass(frozen=True)
class SignalSource:
    """Where the sentiment and the entities of the signals come from.

    Attributes:
        sentiment: ``"gold"`` (the demo's ground truth) or the model id whose
            ``ticket_sentiment`` labels count.
        entities: ``"gold"`` (gold spans) or the model id whose entities count.
        label: the sentiment source in words: ``"demo ground truth"`` or ``"model <id>"``.
        entities_label: the entities' source in words.
        model: the tagger whose results the pages show (None before any tagging).
        model_labelled: tickets in the store with a sentiment label of ``model``.
        gold_labelled: tickets in the store with a demo ground-truth label.
        tickets: tickets in the store.
    """

    sentiment: str
    entities: str
    label: str
    entities_label: str
    model: str | None = None
    model_labelled: int = 0
    gold_labelled: int = 0
    tickets: int = 0

    @property
    def partial(self) -> bool:
        """The signals read the tagger's sentiment although it has not labelled every
        ticket yet (there is no ground truth to use instead)."""
        return self.sentiment != GOLD and self.model_labelled < self.tickets


def current_tagger(store: Any) -> str | None:
    """``analytics.explore.current_model_id`` (the tagger of the most tickets; ties: the
    latest to tag), from the base tables when this package's ``USE_ROLLUPS`` is off."""
    from analytics.alerts.reading import use_rollups
    from analytics.explore import current_model_id
    from analytics.explore.filters import base_tables

    if use_rollups():
        return current_model_id(store)
    with base_tables():
        return current_model_id(store)


def signal_source(store: Any, model_id: str | None = None) -> SignalSource | None:
    """The sentiment the signals use: the model's (``ticket_sentiment`` rows of ``model_id``,
    default the tagger that tagged the most tickets) once it has labelled at least as many
    tickets as the demo's gold sentiment covers (or whenever there is no gold sentiment),
    else the gold sentiment; None when neither exists.

    The entities are the model's when it has tagged at least as many tickets as the gold
    sentiment covers (or there is none), else the gold spans. So the first batches of a
    tagging run (shortest tickets first) never replace the ground truth of the whole store
    on the Signals page: with 128 of 3,000 tickets labelled, every alert had vanished.

    Example:
        >>> signal_source(Store.open("demo.duckdb"))                   # doctest: +SKIP
        SignalSource(sentiment='gold', entities='gold', label='demo ground truth', ...)
    """
    model = model_id if model_id is not None else current_tagger(store)
    tickets = int(store.scalar("SELECT count(*) FROM tickets") or 0)
    labelled = tagged = 0
    if rollup_source(store, GOLD):  # the same counts from the roll-ups
        gold, labelled, tagged = (
            int(v or 0)
            for v in store.fetchall(
                "SELECT (SELECT sum(tickets) FROM rollup_signal_days WHERE model_id = ?),"
                " (SELECT sum(tickets) FROM rollup_signal_days WHERE model_id = ?),"
                " (SELECT sum(tagged) FROM rollup_tagged_days WHERE model_id = ?)",
                [GOLD, model, model],
            )[0]
        )
    else:
        gold = int(
            store.scalar(
                "SELECT count(*) FROM gold_sentiment g SEMI JOIN tickets t"
                " ON t.ticket_key = g.ticket_key"
            )
            or 0
        )
        if model is not None:
            labelled = int(
                store.scalar(
                    "SELECT count(*) FROM ticket_sentiment s SEMI JOIN tickets t"
                    " ON t.ticket_key = s.ticket_key WHERE s.model_id = ?",
                    [model],
                )
                or 0
            )
            tagged = int(
                store.scalar(
                    "SELECT count(*) FROM tagged_tickets g SEMI JOIN tickets t"
                    " ON t.ticket_key = g.ticket_key WHERE g.model_id = ?",
                    [model],
                )
                or 0
            )
    counts = {"model": model, "model_labelled": labelled, "gold_labelled": gold, "tickets": tickets}
    if model is not None and labelled and labelled >= gold:
        return SignalSource(model, model, f"model {model}", f"model {model}", **counts)
    if gold:
        if model is None or tagged < gold:
            return SignalSource(GOLD, GOLD, "demo ground truth", "demo ground truth", **counts)
        return SignalSource(GOLD, model, "demo ground truth", f"model {model}", **counts)
    return None
