"""What the tagger returns: :class:`Entity` and :class:`Sentiment` (no torch import, so a
process that only receives results, such as the app beside its tagging process
(model/worker.py), never loads torch)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Entity", "Sentiment"]


@dataclass(frozen=True)
class Entity:
    """An entity found in a text: ``text == input[start:end]``; ``score`` in 0..1."""

    start: int
    end: int
    label: str
    text: str
    score: float

    def as_dict(self) -> dict:
        """The entity as a JSON-ready dict."""
        return {
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "text": self.text,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class Sentiment:
    """The sentiment of a text: ``label`` (e.g. ``negative``) and its probability ``score``;
    ``probabilities`` holds every class's probability in head order (not in :meth:`as_dict`)."""

    label: str
    score: float
    probabilities: tuple[float, ...] = field(default=(), compare=False, repr=False)

    def as_dict(self) -> dict:
        """The sentiment as a JSON-ready dict."""
        return {"label": self.label, "score": round(self.score, 6)}
