"""Entity labels for unannotated text by a vote of trained taggers (self-training data).

WNUT-17 dev is Reddit, YouTube and StackExchange text; the entity training data is tweets,
Wikipedia and generated tickets. GoEmotions train is 43 k Reddit comments with sentiment
only. ``python -m model.train pseudo-label`` tags such texts with several artefacts trained
on the same selection splits (the *teachers*) and keeps a text only where they agree:

- a span (start, end, label) found by at least ``min_votes`` teachers is kept; ``min_votes``
  must be a majority, so kept spans never overlap (each teacher's own spans do not);
- a text with a *disputed* span (found by some teachers, fewer than ``min_votes``) or with
  no kept span is left out: its words are not taught as ``O``.

The file is JSON lines: a header object (``"pseudo_entities": 1``, the teachers' model ids,
``min_votes``, the source file and the command), then one ``{"text": ..., "entities":
[[start, end, label], ...]}`` per kept text. The recipe's ``--pseudo-entities FILE``
(model/train_recipe.py) gives these entities to the GoEmotions *training* texts with the same
text (they then train both heads); selection and reported sets are untouched.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

from model.datasets import Example
from model.errors import DatasetError

FORMAT_VERSION = 1
Span = tuple[int, int, str]


def vote(predictions: Sequence[Iterable], min_votes: int) -> tuple[list[Span], bool]:
    """``(kept spans sorted by start, disputed)`` of one text from each teacher's entities
    (objects with ``start``, ``end``, ``label``): kept when at least ``min_votes`` teachers
    found the same span; disputed when some span was found by fewer (but at least one)."""
    votes = Counter(
        span for found in predictions for span in {(e.start, e.end, e.label) for e in found}
    )
    kept = sorted(span for span, n in votes.items() if n >= min_votes)
    disputed = any(n < min_votes for n in votes.values())
    return kept, disputed


def check_min_votes(min_votes: int, teachers: int) -> None:
    """Refuse a ``min_votes`` that is no strict majority of ``teachers`` (or above it).

    Raises:
        ValueError: ``min_votes`` is at most half of ``teachers`` or more than ``teachers``.
    """
    if not teachers / 2 < min_votes <= teachers:
        raise ValueError(
            f"--min-votes {min_votes} must be a majority of the {teachers} teachers "
            f"(more than {teachers / 2:g}, at most {teachers})"
        )


def agreed_texts(
    texts: Sequence[str], predictions: Sequence[Sequence[Iterable]], min_votes: int
) -> list[tuple[str, list[Span]]]:
    """The texts the teachers agree on, with their kept spans (see the module docstring).

    ``predictions[t][i]`` holds teacher ``t``'s entities of ``texts[i]``; a text that occurs
    twice is kept once.
    """
    check_min_votes(min_votes, len(predictions))
    rows: list[tuple[str, list[Span]]] = []
    seen: set[str] = set()
    for i, text in enumerate(texts):
        kept, disputed = vote([found[i] for found in predictions], min_votes)
        if kept and not disputed and text not in seen:
            seen.add(text)
            rows.append((text, kept))
    return rows


def write_pseudo_entities(path: Path, header: dict, rows: Sequence[tuple[str, list[Span]]]) -> None:
    """Write the header and ``rows`` as JSON lines to ``path`` (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({"pseudo_entities": FORMAT_VERSION, **header}) + "\n")
        for text, spans in rows:
            entities = [[start, end, label] for start, end, label in spans]
            handle.write(json.dumps({"text": text, "entities": entities}) + "\n")
    os.replace(tmp, path)


def read_pseudo_entities(path: Path | str, labels: Iterable[str]) -> tuple[dict, dict[str, tuple]]:
    """``(header, {text: spans})`` of a file written by :func:`write_pseudo_entities`.

    ``labels`` are the entity types allowed (e.g. ``PER``, ``ORG``, ``LOC``, ``PRODUCT``).

    Raises:
        DatasetError: a missing file, a bad header, or a line that is no JSON object with a
            text and spans inside it of an allowed type (the message names file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file (pseudo-entity labels)")
    allowed = set(labels)
    header: dict | None = None
    spans_of: dict[str, tuple] = {}
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: not JSON ({exc.msg})") from None
            if header is None:
                if not isinstance(row, dict) or row.get("pseudo_entities") != FORMAT_VERSION:
                    raise DatasetError(
                        f'{where}: expected a header with "pseudo_entities": {FORMAT_VERSION}'
                    )
                header = row
                continue
            text, spans = _row(row, allowed, where)
            spans_of[text] = spans
    if header is None:
        raise DatasetError(f"{path}: empty file (expected a header line)")
    return header, spans_of


def _row(row: object, allowed: set[str], where: str) -> tuple[str, tuple]:
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise DatasetError(f'{where}: expected an object with a string "text"')
    text, entities = row["text"], row.get("entities")
    if not isinstance(entities, list) or not entities:
        raise DatasetError(f'{where}: "entities" must be a non-empty list')
    spans = []
    for entity in entities:
        ok = (
            isinstance(entity, list)
            and len(entity) == 3
            and all(type(x) is int for x in entity[:2])
            and 0 <= entity[0] < entity[1] <= len(text)
        )
        if not ok:
            raise DatasetError(f"{where}: bad span {entity!r} (expected [start, end, label])")
        if entity[2] not in allowed:
            raise DatasetError(f"{where}: label {entity[2]!r} is none of {sorted(allowed)}")
        spans.append((entity[0], entity[1], entity[2]))
    spans.sort()
    if any(a[1] > b[0] for a, b in pairwise(spans)):
        raise DatasetError(f"{where}: overlapping spans")
    return text, tuple(spans)


def with_pseudo_entities(
    examples: Sequence[Example], spans_of: dict[str, tuple]
) -> tuple[list[Example], int]:
    """``(examples, how many were given entities)``: each example whose text has labels in
    ``spans_of`` becomes annotated with those spans (its sentiment kept)."""
    out, given = [], 0
    for ex in examples:
        spans = spans_of.get(ex.text)
        if spans is None:
            out.append(ex)
        else:
            out.append(replace(ex, spans=spans, annotated=True))
            given += 1
    return out, given


def add_pseudo_label(sub: argparse._SubParsersAction) -> None:
    """The ``pseudo-label`` verb and its flags."""
    p = sub.add_parser(
        "pseudo-label",
        help="label GoEmotions texts with entities where trained taggers agree",
        description="Tag a GoEmotions TSV with several two-head artefacts (fp32) and write "
        "the texts they agree on, with the spans a majority found, as JSON lines.",
    )
    p.add_argument(
        "--teacher",
        action="append",
        required=True,
        type=Path,
        metavar="DIR",
        help="a trained artefact folder (repeat; at least 2)",
    )
    p.add_argument("--texts", type=Path, required=True, metavar="TSV", help="GoEmotions TSV")
    p.add_argument("--min-votes", type=int, required=True, help="a majority of the teachers")
    p.add_argument("--output", type=Path, required=True, metavar="FILE")
    p.add_argument("--batch-size", type=int, default=64)
    p.set_defaults(func=_cmd_pseudo_label)


def pseudo_label(
    teachers: Sequence[Path],
    texts_file: Path,
    min_votes: int,
    output: Path,
    *,
    command: str = "",
    batch_size: int = 64,
    log: Callable[[str], None] = print,
) -> int:
    """Tag ``texts_file`` with every teacher, write the agreed texts to ``output`` and
    return how many were written.

    Raises:
        ValueError: fewer than two teachers, no majority, or teachers of other entity labels.
        DatasetError: a malformed ``texts_file``.
    """
    from model.datasets import read_goemotions
    from model.tagger import Tagger

    if len(teachers) < 2:
        raise ValueError("pseudo-label needs at least 2 --teacher folders")
    check_min_votes(min_votes, len(teachers))
    texts = list(dict.fromkeys(ex.text for ex in read_goemotions(texts_file)))
    predictions, ids, labels = [], [], None
    for folder in teachers:
        tagger = Tagger.load(folder, device="cpu", precision="fp32")
        if labels is not None and tagger.labels != labels:
            raise ValueError(f"{folder}: its entity labels differ from the first teacher's")
        labels = tagger.labels
        started = time.time()
        predictions.append(tagger.tag(texts, batch_size=batch_size))
        ids.append(tagger.model_id)
        log(f"{folder} ({tagger.model_id}): {len(texts)} texts in {time.time() - started:.0f}s")
    rows = agreed_texts(texts, predictions, min_votes)
    header = {
        "teachers": ids,
        "min_votes": min_votes,
        "source": texts_file.name,
        "texts": len(texts),
        "kept": len(rows),
        "command": command,
    }
    write_pseudo_entities(output, header, rows)
    return len(rows)


def _cmd_pseudo_label(args: argparse.Namespace) -> int:
    command = shlex.join(
        ["python", "-m", "model.train", "pseudo-label"]
        + [w for t in args.teacher for w in ("--teacher", str(t))]
        + ["--texts", str(args.texts), "--min-votes", str(args.min_votes)]
        + ["--output", str(args.output)]
    )
    try:
        kept = pseudo_label(
            args.teacher,
            args.texts,
            args.min_votes,
            args.output,
            command=command,
            batch_size=args.batch_size,
            log=lambda m: print(f"[{time.strftime('%H:%M:%S')}] {m}", file=sys.stderr, flush=True),
        )
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{kept} agreed texts written to {args.output}")
    return 0
