"""Label sets in IOB2: building them, renaming them (``--label-map``), repairing them, and the
most probable valid label sequence (:func:`best_iob2_path`).

Example:
    >>> iob2_labels(["PER", "ORG"])
    ['O', 'B-ORG', 'I-ORG', 'B-PER', 'I-PER']
    >>> repair_iob2(["O", "I-ORG", "I-ORG", "B-PER", "I-LOC"])
    ['O', 'B-ORG', 'I-ORG', 'B-PER', 'B-LOC']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from model.errors import LabelMapError

ENTITY_TYPES: tuple[str, ...] = ("PER", "ORG", "PRODUCT", "LOC")
"""The entity types of the project's tagger (see CONTRIBUTING.md)."""

WNUT17_TO_OURS: dict[str, str | None] = {
    "person": "PER",
    "location": "LOC",
    "corporation": "ORG",
    "group": "ORG",
    "product": "PRODUCT",
    "creative-work": None,
}
"""WNUT-17's six types mapped to ours; ``None`` drops the type (its words become ``O``)."""

PRESETS: dict[str, dict[str, str | None]] = {"wnut17": WNUT17_TO_OURS}
"""Named label maps accepted by :func:`parse_label_map`."""

ARGMAX = "argmax"
"""Decoding of artefacts without a ``"decoding"`` setting: each word's most probable label,
an ``I-`` that continues nothing starting an entity of its own (:func:`repair_iob2`)."""
VITERBI = "iob2-viterbi"
"""Decoding of artefacts trained since 2026-12-05: each text's most probable valid IOB2 label
sequence (:func:`best_iob2_path`)."""
DECODINGS = (VITERBI, ARGMAX)


def iob2_labels(types: Iterable[str]) -> list[str]:
    """``O`` followed by ``B-T``/``I-T`` for every type ``T``, types sorted for stability."""
    labels = ["O"]
    for entity_type in sorted(set(types)):
        labels += [f"B-{entity_type}", f"I-{entity_type}"]
    return labels


def split_tag(tag: str) -> tuple[str, str | None]:
    """``"B-ORG"`` → ``("B", "ORG")``; ``"O"`` → ``("O", None)``.

    Raises:
        ValueError: the tag is neither ``O`` nor ``B-``/``I-`` prefixed.
    """
    if tag == "O":
        return "O", None
    if len(tag) > 2 and tag[0] in "BI" and tag[1] == "-":
        return tag[0], tag[2:]
    raise ValueError(f"not an IOB2 tag: {tag!r}")


def check_decoding(name: str | None) -> str:
    """The decoding ``name`` stands for (``None``: :data:`ARGMAX`, an older artefact).

    Raises:
        ValueError: an unknown name.
    """
    if name is None:
        return ARGMAX
    if name not in DECODINGS:
        raise ValueError(f"unknown decoding {name!r} ({', '.join(DECODINGS)})")
    return name


def parse_label_map(spec: str) -> dict[str, str | None]:
    """Parse ``"old=NEW,other=O,gone="`` (or a preset name such as ``wnut17``).

    ``=O`` or an empty right-hand side drops the type. Types not named keep their name.

    Raises:
        LabelMapError: an item is not ``old=new`` or a name is repeated.
    """
    spec = spec.strip()
    if spec in PRESETS:
        return dict(PRESETS[spec])
    mapping: dict[str, str | None] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        old, sep, new = item.partition("=")
        old, new = old.strip(), new.strip()
        if not sep or not old:
            raise LabelMapError(f"label map item {item!r} is not of the form old=new")
        if old in mapping:
            raise LabelMapError(f"label {old!r} is mapped twice")
        if new and (new.startswith(("B-", "I-")) or any(c in new for c in " \t,=")):
            raise LabelMapError(f"bad target label {new!r} (give a bare type such as ORG)")
        mapping[old] = None if new in ("", "O") else new
    if not mapping:
        raise LabelMapError(f"empty label map {spec!r}")
    return mapping


def map_type(entity_type: str, mapping: Mapping[str, str | None] | None) -> str | None:
    """The new name of ``entity_type`` under ``mapping`` (``None``: dropped)."""
    if mapping is None or entity_type not in mapping:
        return entity_type
    return mapping[entity_type]


def repair_iob2(tags: Sequence[str]) -> list[str]:
    """Turn every ``I-T`` that does not continue a ``T`` entity into ``B-T``."""
    out: list[str] = []
    previous: str | None = None
    for tag in tags:
        prefix, entity_type = split_tag(tag)
        if prefix == "I" and previous != entity_type:
            tag = f"B-{entity_type}"
        out.append(tag)
        previous = entity_type
    return out


def tags_to_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Entities of an IOB2 sequence as ``(first, last_exclusive, type)`` item ranges.

    ``I-`` without a matching ``B-`` is repaired first, so every tag ends up in an entity.
    """
    spans: list[tuple[int, int, str]] = []
    start, current = 0, None
    for i, tag in enumerate([*repair_iob2(tags), "O"]):
        prefix, entity_type = split_tag(tag)
        if current is not None and prefix != "I":
            spans.append((start, i, current))
            current = None
        if prefix == "B":
            start, current = i, entity_type
    return spans


def iob2_constraints(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which label may follow which in IOB2: ``(follows, may_start)``.

    ``follows[i, j]``: label ``j`` may come right after label ``i`` (``I-T`` only after
    ``B-T`` or ``I-T``; anything else after anything). ``may_start[j]``: label ``j`` may be
    the first of a sequence (not an ``I-``).
    """
    parts = [split_tag(label) for label in labels]
    follows = np.ones((len(labels), len(labels)), dtype=bool)
    may_start = np.ones(len(labels), dtype=bool)
    for j, (prefix, entity_type) in enumerate(parts):
        if prefix == "I":
            may_start[j] = False
            follows[:, j] = [t == entity_type and p != "O" for p, t in parts]
    return follows, may_start


def best_iob2_path(probs: np.ndarray, follows: np.ndarray, may_start: np.ndarray) -> np.ndarray:
    """The label ids of the most probable sequence that is valid IOB2 (constrained Viterbi).

    Args:
        probs: ``(items, labels)`` probabilities of each item's labels (rows of a softmax).
        follows, may_start: from :func:`iob2_constraints`.

    Where the per-item arg-max is already valid (most texts) it is the answer and is
    returned as it is; otherwise ``B-ORG I-PRODUCT`` becomes whichever single entity (or
    two) is more probable as a whole, instead of two half-typed ones.
    """
    best = probs.argmax(axis=1)
    n = len(best)
    if n == 0 or (may_start[best[0]] and follows[best[:-1], best[1:]].all()):
        return best
    logp = np.log(np.maximum(probs.astype(np.float64), 1e-30))
    barred = np.where(follows, 0.0, -np.inf)
    score = np.where(may_start, logp[0], -np.inf)
    back = np.zeros((n, probs.shape[1]), dtype=np.int64)
    for i in range(1, n):
        candidates = score[:, None] + barred  # (previous, current)
        back[i] = candidates.argmax(axis=0)
        score = candidates[back[i], np.arange(probs.shape[1])] + logp[i]
    path = np.empty(n, dtype=np.int64)
    path[-1] = score.argmax()
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path
