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
from dataclasses import dataclass
from pathlib import Path

from model.labels import map_type, repair_iob2, split_tag, tags_to_spans

Span = tuple[int, int, str]
_WORD = re.compile(r"[^\W_]+|[^\w\s]|_")


class DatasetError(ValueError):
    """A training or evaluation file is malformed (the message names file and line)."""


@dataclass(frozen=True)
class Example:
    """One text with its gold entities (character spans) and evaluation words."""

    text: str
    spans: tuple[Span, ...]
    words: tuple[tuple[int, int], ...]

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


def read_conll(path: Path | str, label_map: Mapping[str, str | None] | None = None) -> list[Example]:
    """Read ``token<TAB or space>tag`` lines; a blank or lone-tab line ends a sentence.

    ``-DOCSTART-`` lines are ignored. Raises :class:`DatasetError` on a malformed line.
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


def read_jsonl(path: Path | str, label_map: Mapping[str, str | None] | None = None) -> list[Example]:
    """Read ``{"text": …, "spans": [[start, end, label], …]}`` lines.

    ``"entities": [{"start", "end", "label"}]`` is accepted instead of ``spans``.
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
                examples.append(example_from_spans(text, spans, label_map))
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
        raise DatasetError(f"{path}: no such file")
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
    """Examples from ``data.demo.GoldTicket`` objects (``.text`` and ``.spans``)."""
    return [example_from_spans(t.text, t.spans) for t in tickets]  # type: ignore[attr-defined]
