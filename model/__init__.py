"""The entity tagger: a BERT token classifier for PER, ORG, PRODUCT and LOC in tickets.

Public API (see CONTRIBUTING.md):

- :data:`DEFAULT_MODEL_DIR`: the committed default tagger.
- :class:`Tagger`: ``Tagger.load(model_dir=None, device="auto")``, ``.model_id``, ``.device``,
  ``.tag(texts, batch_size=64) -> list[list[Entity]]``.
- :class:`Entity`: ``(start, end, label, text, score)`` with ``text == input[start:end]``.
- ``Tagger.tag_with_sentiment(texts)``: the entities and, for a tagger with a sentiment head,
  one :class:`Sentiment` ``(label, score)`` per text, from the same forward pass.
- :func:`tag_store`: resumable batch tagging of the store's tickets.

Nothing is ever downloaded: ``HF_HUB_OFFLINE=1`` is set on import unless already set.
Names are loaded on first use (PEP 562), as in ``data``: ``import model`` and the result
types (model/results.py) do not import torch; :class:`Tagger` and :data:`DEFAULT_MODEL_DIR`
do.

Example:
    >>> from model import Tagger
    >>> tagger = Tagger.load()                                       # doctest: +SKIP
    >>> [e.text for e in tagger.tag(["Jane at Acme moved to Azure"])[0]]  # doctest: +SKIP
    ['Jane', 'Acme', 'Azure']
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from importlib import import_module
from typing import TYPE_CHECKING, Any

from model.results import Entity, Sentiment

if TYPE_CHECKING:
    from model.artefact import DEFAULT_MODEL_DIR
    from model.jobs import TagRunSummary, tag_store
    from model.tagger import Tagger

__all__ = ["DEFAULT_MODEL_DIR", "Entity", "Sentiment", "TagRunSummary", "Tagger", "tag_store"]

_LAZY = {
    "DEFAULT_MODEL_DIR": "model.artefact",
    "Tagger": "model.tagger",
    "TagRunSummary": "model.jobs",
    "tag_store": "model.jobs",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (keeps torch out of ``import model``)."""
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'model' has no attribute {name!r}")
