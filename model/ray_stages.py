"""The stages of the Ray Data pipeline that run on workers (see model/ray_engine.py).

Read stage (:func:`read_shards`): each input file as keyed rows (ingest's reader and key),
then an ``end`` row with its row count, or a ``failed`` row. Tag stage (:class:`TagWorker`):
one tagger per actor; one ``tagged``/``bad`` row per input row, one ``entity`` row per
entity, the sentiment on the ``tagged`` row. Both speak in the Arrow schemas below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

__all__ = ["OUT_SCHEMA", "ROWS_SCHEMA", "TagWorker", "marker_rows", "read_shards"]

ROWS_SCHEMA = pa.schema(
    [
        ("shard", pa.int32()),
        ("kind", pa.string()),
        ("row", pa.int64()),
        ("ticket_key", pa.string()),
        ("source_id", pa.string()),
        ("text", pa.string()),
        ("total", pa.int64()),
        ("problem", pa.string()),
        ("column", pa.string()),
    ]
)
"""Read stage → tag stage: ``kind`` ``ticket`` (one input row), ``end`` (the file's row
count in ``total``) or ``failed`` (the file could not be read; ``problem`` says why)."""

OUT_SCHEMA = pa.schema(
    [
        ("shard", pa.int32()),
        ("kind", pa.string()),
        ("row", pa.int64()),
        ("ticket_key", pa.string()),
        ("source_id", pa.string()),
        ("start", pa.int32()),
        ("end", pa.int32()),
        ("label", pa.string()),
        ("text", pa.string()),
        ("score", pa.float64()),
        ("total", pa.int64()),
        ("problem", pa.string()),
        ("column", pa.string()),
        ("sentiment_label", pa.string()),
        ("sentiment_score", pa.float64()),
    ]
)
"""Tag stage → driver: ``kind`` ``tagged`` / ``bad`` (one per input row), ``entity`` (one
per entity), and the read stage's ``end`` / ``failed`` passed through."""


def marker_rows(
    shard: int, kind: str, *, total: int | None = None, problem: str | None = None
) -> pa.Table:
    """One ``end`` (with the file's row count) or ``failed`` (with why) row of a file."""
    values: dict[str, list] = {name: [None] for name in ROWS_SCHEMA.names}
    values.update(shard=[shard], kind=[kind], total=[total], problem=[problem])
    return pa.table(values, schema=ROWS_SCHEMA)


def read_shards(
    batch: pa.Table, *, text_column: str | None, id_column: str | None, chunksize: int
) -> Iterator[pa.Table]:
    """Read stage: each input file of ``batch`` (columns shard, path) as keyed rows, then an
    ``end`` row with its row count — or a ``failed`` row when it cannot be read."""
    from data.errors import IngestError
    from data.keyed_tickets import keyed_ticket_chunks

    for item in batch.to_pylist():
        shard, path = int(item["shard"]), str(item["path"])
        total = 0
        try:
            for chunk in keyed_ticket_chunks(
                path, name=path, text_column=text_column, id_column=id_column, chunksize=chunksize
            ):
                n = chunk.num_rows
                total += n
                yield pa.table(
                    {
                        "shard": pa.array([shard] * n, pa.int32()),
                        "kind": pa.array(["ticket"] * n, pa.string()),
                        "row": chunk["row"],
                        "ticket_key": chunk["ticket_key"],
                        "source_id": chunk["source_id"],
                        "text": chunk["text"],
                        "total": pa.nulls(n, pa.int64()),
                        "problem": chunk["problem"],
                        "column": chunk["column"],
                    },
                    schema=ROWS_SCHEMA,
                )
        except IngestError as exc:
            yield marker_rows(shard, "failed", problem=str(exc))
            continue
        yield marker_rows(shard, "end", total=total)


class TagWorker:
    """Tag stage: one tagger per actor, loaded as the local command loads it."""

    def __init__(
        self,
        *,
        model_dir: str | None,
        device: str,
        batch_size: int,
        model_id: str,
        threads: int | None,
    ) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)
        from model.tagger import Tagger

        self.tagger = Tagger.load(model_dir, device=device)
        if self.tagger.model_id != model_id:
            where = model_dir or "the default folder"
            raise RuntimeError(
                f"this worker loaded model {self.tagger.model_id} from {where}, the driver "
                f"expected {model_id}: every node must have the same artefact"
            )
        self.batch_size = batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Entity rows (and one tagged/bad row per ticket) of a batch of keyed rows."""
        from model.jobs import SCORE_DECIMALS

        cols = {name: batch[name].to_pylist() for name in ROWS_SCHEMA.names}
        todo = [
            i
            for i, (kind, text) in enumerate(zip(cols["kind"], cols["text"], strict=True))
            if kind == "ticket" and text is not None
        ]
        texts = [cols["text"][i] for i in todo]
        if getattr(self.tagger, "has_sentiment", False):
            tagged, sentiments = self.tagger.tag_with_sentiment(texts, batch_size=self.batch_size)
            mood = dict(zip(todo, sentiments, strict=True))
        else:
            tagged, mood = self.tagger.tag(texts, batch_size=self.batch_size), {}
        found = dict(zip(todo, tagged, strict=True))
        out: dict[str, list] = {name: [] for name in OUT_SCHEMA.names}

        def add(i: int, kind: str, entity: Any = None) -> None:
            m = mood.get(i) if kind == "tagged" else None
            out["sentiment_label"].append(None if m is None else m.label)
            out["sentiment_score"].append(
                None if m is None else round(float(m.score), SCORE_DECIMALS)
            )
            for name in ("shard", "row", "ticket_key", "source_id", "total"):
                out[name].append(cols[name][i])
            out["kind"].append(kind)
            bad = kind == "bad"
            out["problem"].append(cols["problem"][i] if bad or kind == "failed" else None)
            out["column"].append(cols["column"][i] if bad else None)
            for name in ("start", "end", "label", "text"):
                out[name].append(None if entity is None else getattr(entity, name))
            out["score"].append(
                None if entity is None else round(float(entity.score), SCORE_DECIMALS)
            )

        for i, kind in enumerate(cols["kind"]):
            if kind != "ticket":
                add(i, kind)  # end / failed markers pass through
            elif i not in found:
                add(i, "bad")
            else:
                add(i, "tagged")
                for entity in found[i]:
                    add(i, "entity", entity)
        return pa.table(out, schema=OUT_SCHEMA)
