"""Training and evaluation data: CoNLL files, JSONL with character spans, generated tickets.

Every source becomes a list of :class:`Example`: the text, its gold entities as character
spans, and the *evaluation words* (character ranges) on which entity-level scores are taken.
For CoNLL the words are the file's tokens (joined by one space); for JSONL they are found by
:func:`split_words`, which splits like BERT's basic tokenizer (whitespace and punctuation).

Example:
    >>> ex = examples_from_tokens(["Ask", "Jane", "Doe"], ["O", "B-person", "I-person"])
    >>> ex.text, ex.spans
    ('Ask Jane Doe', ((4, 12, 'person'),))
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from model.errors import DatasetError
from model.labels import map_type, repair_iob2, split_tag, tags_to_spans

Span = tuple[int, int, str]
_WORD = re.compile(r"[^\W_]+|[^\w\s]|_")


@dataclass(frozen=True)
class Example:
    """One text with its gold entities (character spans) and evaluation words.

    ``sentiment`` is its gold sentiment label when it has one (``negative``, ``neutral``,
    ``positive``); ``annotated`` is false for a text without entity annotation (e.g.
    GoEmotions): its words then train no entity label, only the sentiment head.
    """

    text: str
    spans: tuple[Span, ...]
    words: tuple[tuple[int, int], ...]
    sentiment: str | None = None
    annotated: bool = True

    def gold_tags(self) -> list[str]:
        """IOB2 tags of the evaluation words for the gold spans."""
        return project_spans(self.words, self.spans)

    @property
    def types(self) -> set[str]:
        """Entity types present in this example."""
        return {label for _, _, label in self.spans}


def split_words(text: str) -> tuple[tuple[int, int], ...]:
    """Character ranges of the words of ``text`` (runs of letters/digits, single symbols)."""
    return tuple(m.span() for m in _WORD.finditer(text))


def project_spans(words: Sequence[tuple[int, int]], spans: Iterable[Span]) -> list[str]:
    """IOB2 tags of ``words`` for character ``spans``: B- on the first word a span overlaps."""
    tags = ["O"] * len(words)
    starts = [w[0] for w in words]
    for start, end, label in sorted(spans):
        first = True
        # words are sorted and disjoint: walk from the first word that may overlap
        lo, hi = 0, len(words)
        while lo < hi:
            mid = (lo + hi) // 2
            if words[mid][1] <= start:
                lo = mid + 1
            else:
                hi = mid
        for i in range(lo, len(words)):
            if starts[i] >= end:
                break
            if tags[i] == "O":
                tags[i] = f"{'B' if first else 'I'}-{label}"
                first = False
    return repair_iob2(tags)


def examples_from_tokens(
    tokens: Sequence[str], tags: Sequence[str], label_map: Mapping[str, str | None] | None = None
) -> Example:
    """Join CoNLL ``tokens`` with single spaces and turn their IOB2 ``tags`` into spans."""
    words: list[tuple[int, int]] = []
    pos = 0
    for token in tokens:
        words.append((pos, pos + len(token)))
        pos += len(token) + 1
    text = " ".join(tokens)
    spans: list[Span] = []
    for first, last, entity_type in tags_to_spans(tags):
        new = map_type(entity_type, label_map)
        if new is not None:
            spans.append((words[first][0], words[last - 1][1], new))
    return Example(text, tuple(spans), tuple(words))


def _not_a_file(path: Path) -> DatasetError:
    """Why ``path`` cannot be read as a data file: missing, or what it is instead (a folder,
    a named pipe, a device: never opened, a pipe may never end)."""
    from data.db_file import file_kind

    if path.exists():
        return DatasetError(f"{path}: is {file_kind(path.stat().st_mode)}, not a data file")
    return DatasetError(f"{path}: no such file")


def read_conll(
    path: Path | str,
    label_map: Mapping[str, str | None] | None = None,
    *,
    skip_empty_tokens: bool = False,
) -> list[Example]:
    """Read ``token<TAB or space>tag`` lines; a blank or lone-tab line ends a sentence.

    ``-DOCSTART-`` lines are ignored. Raises :class:`DatasetError` on a malformed line.
    With ``skip_empty_tokens`` a ``<TAB>tag`` line whose token is empty or whitespace (BTC has
    a few) is skipped instead.
    """
    path = Path(path)
    examples: list[Example] = []
    tokens: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if tokens:
            examples.append(examples_from_tokens(tokens, tags, label_map))
            tokens.clear()
            tags.clear()

    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                flush()
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            if skip_empty_tokens and len(parts) >= 2 and not "".join(parts[:-1]).strip():
                continue
            parts = [p for p in parts if p != ""]
            if parts[0] == "-DOCSTART-":
                flush()
                continue
            if len(parts) < 2:
                raise DatasetError(f"{path}:{number}: expected 'token<TAB>tag', got {line!r}")
            token, tag = parts[0], parts[-1]
            try:
                split_tag(tag)
            except ValueError:
                raise DatasetError(f"{path}:{number}: bad tag {tag!r}") from None
            tokens.append(token)
            tags.append(tag)
    flush()
    return examples


def example_from_spans(
    text: str, spans: Iterable[Sequence], label_map: Mapping[str, str | None] | None = None
) -> Example:
    """An example from a text and ``(start, end, label)`` spans, checked and label-mapped.

    Raises:
        ValueError: a span is out of range, empty or overlaps another.
    """
    checked: list[Span] = []
    for span in spans:
        start, end, label = int(span[0]), int(span[1]), str(span[2])
        if not 0 <= start < end <= len(text):
            raise ValueError(f"span ({start}, {end}) outside the text of length {len(text)}")
        new = map_type(label, label_map)
        if new is not None:
            checked.append((start, end, new))
    checked.sort()
    for (_, end_a, _), (start_b, _, _) in zip(checked, checked[1:], strict=False):
        if start_b < end_a:
            raise ValueError("overlapping spans")
    return Example(text, tuple(checked), split_words(text))


def read_jsonl(
    path: Path | str, label_map: Mapping[str, str | None] | None = None
) -> list[Example]:
    """Read ``{"text": …, "spans": [[start, end, label], …]}`` lines.

    ``"entities": [{"start", "end", "label"}]`` is accepted instead of ``spans``; an optional
    ``"sentiment"`` (``negative``/``neutral``/``positive``) becomes ``Example.sentiment``.
    Raises :class:`DatasetError` naming the line of the first bad record.
    """
    path = Path(path)
    examples: list[Example] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text = record["text"]
                if not isinstance(text, str):
                    raise ValueError("'text' is not a string")
                if "spans" in record:
                    spans = record["spans"]
                else:
                    spans = [(e["start"], e["end"], e["label"]) for e in record.get("entities", [])]
                example = example_from_spans(text, spans, label_map)
                sentiment = record.get("sentiment")
                if sentiment is not None:
                    if sentiment not in SENTIMENT_CLASSES:
                        raise ValueError(
                            f"'sentiment' must be one of "
                            f"{', '.join(SENTIMENT_CLASSES)}, not {sentiment!r}"
                        )
                    example = replace(example, sentiment=sentiment)
                examples.append(example)
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                raise DatasetError(f"{path}:{number}: {exc}") from None
    return examples


def read_examples(
    path: Path | str, label_map: Mapping[str, str | None] | None = None
) -> list[Example]:
    """Read a CoNLL or JSONL file (JSONL when the name ends in .jsonl/.json or a line is JSON).

    Raises:
        DatasetError: the file is missing, empty or malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise _not_a_file(path)
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = next((line for line in handle if line.strip()), "")
    if not first:
        raise DatasetError(f"{path}: the file is empty")
    if path.suffix.lower() in (".jsonl", ".json") or first.lstrip().startswith("{"):
        examples = read_jsonl(path, label_map)
    else:
        examples = read_conll(path, label_map)
    if not examples:
        raise DatasetError(f"{path}: no examples")
    return examples


def examples_from_gold(tickets: Iterable[object]) -> list[Example]:
    """Examples from ``data.demo.GoldTicket`` objects (``.text``, ``.spans`` and, when set,
    ``.sentiment``)."""
    out = []
    for t in tickets:
        ex = example_from_spans(t.text, t.spans)  # type: ignore[attr-defined]
        sentiment = getattr(t, "sentiment", None)
        out.append(replace(ex, sentiment=sentiment) if sentiment else ex)
    return out


# -- more sources: BTC, WikiGold, GoEmotions --------------------------------------------------

IGNORE_TYPE = "_IGNORE_"
"""An entity type whose words train no label at all (neither the type nor ``O``): WikiGold's
``MISC`` (nationalities, events, works, and also products) is neither one of our types nor
safely ``O``, so its words are left out of the loss. Never a label of a tagger."""

WIKIGOLD_LABEL_MAP: dict[str, str | None] = {"MISC": IGNORE_TYPE}

SENTIMENT_CLASSES = ("negative", "neutral", "positive")
GOEMOTIONS_GROUPS = ("ambiguous", "negative", "neutral", "positive")
"""The group ids of GoEmotions' ``group_*.tsv`` (``group_labels.txt``, in this order)."""
GOEMOTIONS_TO_SENTIMENT = {
    "ambiguous": "neutral",
    "negative": "negative",
    "neutral": "neutral",
    "positive": "positive",
}
"""``ambiguous`` (surprise, confusion, curiosity, realization) carries no clear polarity: it
becomes ``neutral``, as the issue suggests."""


def read_btc(paths: Iterable[Path | str]) -> list[Example]:
    """Broad Twitter Corpus sections (CoNLL, ``PER``/``ORG``/``LOC`` in IOB2), in order."""
    out: list[Example] = []
    for path in paths:
        if not Path(path).is_file():
            raise _not_a_file(Path(path))
        out += read_conll(path, skip_empty_tokens=True)
    return out


def read_wikigold(path: Path | str) -> list[Example]:
    """WikiGold (CoNLL with space-separated IO tags ``PER``/``ORG``/``LOC``/``MISC``).

    ``I-X`` runs become entities (adjacent same-type entities, rare in IO data, merge);
    ``MISC`` becomes :data:`IGNORE_TYPE` (see there).
    """
    return read_examples(path, WIKIGOLD_LABEL_MAP)


def read_goemotions(
    path: Path | str, *, single_group: bool = False, labels_file: Path | str | None = None
) -> list[Example]:
    """GoEmotions ``group_*.tsv`` (``text<TAB>group ids, comma-separated<TAB>comment id``)
    as sentiment-only examples (``annotated=False``).

    Groups map to three classes by :data:`GOEMOTIONS_TO_SENTIMENT`. With ``single_group``
    only rows with exactly one group id are kept (the evaluation set); otherwise a row is
    kept when its groups map to one class (``ambiguous,neutral`` is ``neutral``) and dropped
    when they disagree (``negative,positive``). ``labels_file`` (default:
    ``group_labels.txt`` beside ``path`` when present) names the groups in id order.

    Raises:
        DatasetError: a missing file, a malformed line or an unknown group id.
    """
    path = Path(path)
    if not path.is_file():
        raise _not_a_file(path)
    groups = list(GOEMOTIONS_GROUPS)
    names = Path(labels_file) if labels_file else path.with_name("group_labels.txt")
    if names.is_file():
        groups = [g.strip() for g in names.read_text(encoding="utf-8").splitlines() if g.strip()]
        unknown = [g for g in groups if g not in GOEMOTIONS_TO_SENTIMENT]
        if unknown:
            raise DatasetError(f"{names}: unknown group {unknown[0]!r}")
    out: list[Example] = []
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 2:
                raise DatasetError(f"{path}:{number}: expected 'text<TAB>group ids'")
            text, ids = parts[0], parts[1]
            try:
                classes = [GOEMOTIONS_TO_SENTIMENT[groups[int(i)]] for i in ids.split(",")]
            except (ValueError, IndexError):
                raise DatasetError(f"{path}:{number}: bad group ids {ids!r}") from None
            if single_group and len(classes) != 1:
                continue
            if len(set(classes)) != 1 or not text.strip():
                continue
            out.append(Example(text, (), split_words(text), sentiment=classes[0], annotated=False))
    if not out:
        raise DatasetError(f"{path}: no examples")
    return out


def split_off(
    examples: Sequence[Example], share: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """``(kept, held)``: a seeded random ``share`` of ``examples`` held out (order kept)."""
    import random

    rng = random.Random(seed)
    n_held = round(len(examples) * share)
    held = set(rng.sample(range(len(examples)), n_held))
    return (
        [ex for i, ex in enumerate(examples) if i not in held],
        [ex for i, ex in enumerate(examples) if i in held],
    )
