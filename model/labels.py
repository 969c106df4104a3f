"""Label sets in IOB2: building them, renaming them (``--label-map``) and repairing them.

Example:
    >>> iob2_labels(["PER", "ORG"])
    ['O', 'B-ORG', 'I-ORG', 'B-PER', 'I-PER']
    >>> repair_iob2(["O", "I-ORG", "I-ORG", "B-PER", "I-LOC"])
    ['O', 'B-ORG', 'I-ORG', 'B-PER', 'B-LOC']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

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
