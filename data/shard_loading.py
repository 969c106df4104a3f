"""Loading a folder of entity shards (:mod:`data.entity_shards`) into the store.

:func:`load_entity_shards` loads the complete shards of a folder into the store, in one
transaction through its writer: entities and ``tagged_tickets`` rows of the tickets that are
in the store and not yet tagged by that model (with their ``ticket_sentiment`` rows when the
shards carry sentiment), plus a ``tagging_runs`` row, so the pages count them as tagged.
Loading twice adds nothing. The folder is checked first (:func:`check_shard_folder`: its
manifest and every complete shard's columns), then the values in the writer's transaction
(NULLs, model ids, offsets inside the ticket's text and the text at them, labels, scores,
overlapping entities, sentiment), so a bad shard is refused, named by file, row and column,
and nothing is written.

Example:
    >>> report = load_entity_shards(store, "var/shards")           # doctest: +SKIP
    >>> report.message                                             # doctest: +SKIP
    'var/shards: 4 shards of default-d5bc82879afd: 12,000 tickets newly tagged, ...'
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from data import rollup_tables, rollup_upkeep
from data.entity_shards import (
    MANIFEST,
    SENTIMENT_LABELS,
    EntityShardError,
    complete_shards,
    is_shard_folder,
    read_json,
    shard_paths,
)

__all__ = [
    "ShardLoadReport",
    "load_entity_shards",
]

_KINDS = {
    "string": pa.types.is_string,
    "large_string": pa.types.is_large_string,
    "integer": pa.types.is_integer,
    "floating": pa.types.is_floating,
}
_EXPECTED = {
    "ticket_key": ("string",),
    "model_id": ("string",),
    "start": ("integer",),
    "end": ("integer",),
    "label": ("string",),
    "text": ("string",),
    "score": ("floating",),
}
_SENTIMENT_EXPECTED = {
    "ticket_key": ("string",),
    "model_id": ("string",),
    "label": ("string",),
    "score": ("floating",),
}
_GLOB_CHARS = re.compile(r"[\[\]*?{}]")
"""Characters DuckDB's ``read_parquet`` takes as a file pattern in a path."""


@dataclass(frozen=True)
class ShardLoadReport:
    """What :func:`load_entity_shards` did."""

    folder: str
    model_id: str
    shards: int
    incomplete: list[str] = field(default_factory=list)  # entity files without a marker
    tickets: int = 0  # tickets in the shards' tagged lists (distinct keys)
    new_tickets: int = 0  # newly counted as tagged by the model
    new_entities: int = 0
    new_sentiments: int = 0  # ticket_sentiment rows added (two-head taggers' shards)
    not_in_store: int = 0  # tagged tickets whose key matches no ticket of the store
    bad_rows: int = 0  # rows the job could not tag (listed in the markers)
    run_id: str | None = None

    @property
    def message(self) -> str:
        """One sentence for the command line and the page."""
        text = (
            f"{self.folder}: {self.shards:,} shard{'' if self.shards == 1 else 's'} of "
            f"{self.model_id}: {self.new_tickets:,} tickets newly tagged, "
            f"{self.new_entities:,} entities added"
        )
        if self.new_sentiments:
            text += f", {self.new_sentiments:,} sentiments added"
        if self.new_tickets == 0 and self.tickets > self.not_in_store:
            text += " (their tickets in the store were tagged by this model already)"
        if self.not_in_store:
            text += (
                f"; {self.not_in_store:,} tagged tickets are not in the store: ingest the "
                "same input files (python -m data ingest FILE...) and load the folder again"
            )
        if self.bad_rows:
            text += f"; {self.bad_rows:,} input rows could not be tagged (see _done/*.json)"
        if self.incomplete:
            text += (
                f"; {len(self.incomplete):,} incomplete shards skipped (rerun the tagging "
                "job to finish them)"
            )
        return text


# -- validation ----------------------------------------------------------------------------


def _check_columns(path: Path, expected: dict[str, tuple[str, ...]], *, exact: bool) -> None:
    try:
        schema = pq.read_schema(str(path))
    except (OSError, pa.ArrowException) as exc:
        raise EntityShardError(f"{path}: not a readable Parquet file ({exc})") from None
    names = list(schema.names)
    for column, kinds in expected.items():
        if column not in names:
            raise EntityShardError(
                f"{path}: no column {column!r} (the entities table needs "
                f"{', '.join(expected)}; the file has {', '.join(names)})"
            )
        type_ = schema.field(column).type
        if not any(
            _KINDS[k](type_) or (k == "string" and pa.types.is_large_string(type_)) for k in kinds
        ):
            raise EntityShardError(
                f"{path}: column {column!r} is {type_}, expected {' or '.join(kinds)}"
            )
    extra = [n for n in names if n not in expected]
    if exact and extra:
        raise EntityShardError(
            f"{path}: unexpected column {extra[0]!r} (an entity shard has "
            f"exactly the columns of the entities table: "
            f"{', '.join(expected)})"
        )


def _validate(folder: Path) -> tuple[str, list[tuple[str, dict[str, Any]]], list[str]]:
    """The folder's model id, complete shards and incomplete entity files; checks columns."""
    if not folder.is_dir():
        raise EntityShardError(f"{folder}: no such folder")
    pattern = _GLOB_CHARS.search(str(folder.resolve()))
    if pattern:
        # DuckDB's read_parquet reads these as a file pattern: 'sh[a]/f.parquet' would load
        # 'sha/f.parquet', 's*/' every matching folder, not the folder checked here
        raise EntityShardError(
            f"{folder}: the path holds {pattern.group()!r}, which the import would read as a "
            "file pattern; rename or move the folder to a path without [ ] * ? { }"
        )
    if not is_shard_folder(folder):
        raise EntityShardError(
            f"{folder} is not an entity-shard folder (no {MANIFEST}); "
            "write one with: python -m model tag --engine ray --input ... "
            f"--output {folder}"
        )
    manifest = read_json(folder / MANIFEST) or {}
    model_id = manifest.get("model_id")
    if not isinstance(model_id, str) or not model_id:
        raise EntityShardError(f"{folder / MANIFEST}: no model_id")
    if len(model_id) > MAX_MODEL_ID_CHARS or not model_id.isprintable():
        raise EntityShardError(
            f"{folder / MANIFEST}: model_id is not a model id (printable "
            f"text of at most {MAX_MODEL_ID_CHARS} characters)"
        )
    shards = complete_shards(folder)
    names = {name for name, _ in shards}
    incomplete = sorted(p.name for p in folder.glob("*.parquet") if p.stem not in names)
    for name, marker in shards:
        if marker.get("model_id") != model_id:
            raise EntityShardError(
                f"{shard_paths(folder, name).marker}: model "
                f"{marker.get('model_id')!r}, but the folder is of {model_id}"
            )
        paths = shard_paths(folder, name)
        _check_columns(paths.entities, _EXPECTED, exact=True)
        _check_columns(paths.tagged, {"ticket_key": ("string",)}, exact=False)
        if "sentiment" in marker:
            if not paths.sentiment.is_file():
                raise EntityShardError(
                    f"{paths.marker}: the shard has sentiment, but "
                    f"{paths.sentiment} is missing; rerun the tagging job"
                )
            _check_columns(paths.sentiment, _SENTIMENT_EXPECTED, exact=True)
    return model_id, shards, incomplete


def check_shard_folder(folder: Path | str) -> str:
    """The model id of an entity-shard folder whose complete shards have the right columns.

    Raises:
        EntityShardError: not a shard folder, or a shard's columns are wrong.
    """
    return _validate(Path(folder))[0]


_NULLS = ("ticket_key", "model_id", "start", "end", "label", "text", "score")


def _check_values(conn: Any, files: Sequence[str], model_id: str) -> None:
    """No NULL in the entities' NOT NULL columns, and only the folder's model id."""
    checks = ", ".join(f'count_if("{c}" IS NULL)' for c in _NULLS)
    rows = conn.execute(
        f"SELECT filename, {checks}, count_if(model_id IS DISTINCT FROM ?) "  # noqa: S608 - fixed column names; values are parameters
        "FROM read_parquet(?, filename = true) GROUP BY filename",
        [model_id, list(files)],
    ).fetchall()
    for filename, *counts in rows:
        for column, n in zip(_NULLS, counts, strict=False):
            if n:
                raise EntityShardError(
                    f"{filename}: column {column!r} has NULL values "
                    f"({n:,} rows); the entities table needs a value"
                )
        if counts[-1]:
            raise EntityShardError(
                f"{filename}: column 'model_id' names another model than "
                f"the folder's {model_id} ({counts[-1]:,} rows)"
            )
    _check_ranges(conn, files)
    _check_disjoint(conn, files)


#: Longest entity text (characters) and label accepted from a shard.
MAX_ENTITY_CHARS = 1000
MAX_LABEL_CHARS = 32
#: Longest model id accepted from a shard folder's manifest.
MAX_MODEL_ID_CHARS = 300
_LABEL = r"[A-Za-z][A-Za-z0-9_.-]*"
#: Each check of :func:`_check_ranges`: the column it names and what was wrong.
_WHY = {
    "start": ("start", "a negative offset"),
    "end": ("end", "an end not after the start, or past the end of the ticket's text"),
    "text": ("text", f"an entity text over {MAX_ENTITY_CHARS:,} characters"),
    "text_differs": (
        "text",
        "an entity text that is not the ticket's text from its start to its end (the tagger "
        "writes exactly that text; a shard written otherwise could put names on the pages "
        "that no ticket holds)",
    ),
    "label": (
        "label",
        f"a label that is not a short name (letters, digits, '_', '.', '-'; at most "
        f"{MAX_LABEL_CHARS} characters)",
    ),
    "score": ("score", "a score that is not a finite number from 0 to 1"),
}


def _check_sentiment(conn: Any, files: Sequence[str], model_id: str) -> None:
    """Every sentiment row has a key, the folder's model, a known label and a score in
    [0, 1], and the rows of one ticket agree on its label; the first bad row is named
    (file, row, column)."""
    found = conn.execute(
        "SELECT filename, row_number, bad, count(*) OVER () FROM ("
        " SELECT filename, file_row_number + 1 AS row_number, CASE"
        "  WHEN ticket_key IS NULL THEN 'ticket_key'"
        "  WHEN model_id IS DISTINCT FROM ? THEN 'model_id'"
        "  WHEN label IS NULL OR label NOT IN ?  THEN 'label'"
        "  WHEN score IS NULL OR NOT (isfinite(score) AND score BETWEEN 0 AND 1) THEN 'score'"
        # the tagger gives a ticket one sentiment; rows of a ticket written twice must agree
        "  WHEN min(label) OVER w <> max(label) OVER w THEN 'label_differs'"
        "  END AS bad FROM read_parquet(?, filename = true, file_row_number = true)"
        "  WINDOW w AS (PARTITION BY ticket_key))"
        " WHERE bad IS NOT NULL ORDER BY filename, row_number LIMIT 1",
        [model_id, list(SENTIMENT_LABELS), list(files)],
    ).fetchone()
    if found:
        filename, row, bad, n = found
        column, why = {
            "ticket_key": ("ticket_key", "no ticket key"),
            "model_id": ("model_id", f"another model than {model_id}"),
            "label": ("label", f"a label other than {', '.join(SENTIMENT_LABELS)}"),
            "score": ("score", "a score that is not a finite number from 0 to 1"),
            "label_differs": (
                "label",
                "a ticket given another sentiment label in another row (the tagger gives "
                "each ticket one)",
            ),
        }[bad]
        raise EntityShardError(
            f"{filename}: row {row:,}, column {column!r}: {why} "
            f"({n:,} bad rows); nothing was loaded"
        )


def _check_ranges(conn: Any, files: Sequence[str]) -> None:
    """Every entity's offsets lie inside its ticket's text (0 <= start < end <= length),
    its text is the ticket's text from start to end and short, its label is short, its score
    is finite in [0, 1]; the first bad row is named (file, row, column). Rows of tickets not
    in the store are loaded never, so only their own values are checked."""
    found = conn.execute(
        "SELECT filename, row_number, bad, count(*) OVER () FROM ("
        " SELECT e.filename, e.file_row_number + 1 AS row_number, CASE"
        "  WHEN e.start < 0 THEN 'start'"
        '  WHEN e."end" <= e.start OR e."end" > length(t.text) THEN \'end\''
        "  WHEN length(e.text) > ? THEN 'text'"
        # the tagger writes text == ticket[start:end] (DuckDB counts code points, as Python)
        "  WHEN t.text IS NOT NULL AND e.text IS DISTINCT FROM"
        "   substr(t.text, e.start + 1, e.\"end\" - e.start) THEN 'text_differs'"
        "  WHEN length(e.label) > ? OR NOT regexp_full_match(e.label, ?) THEN 'label'"
        "  WHEN NOT (isfinite(e.score) AND e.score BETWEEN 0 AND 1) THEN 'score'"
        "  END AS bad"
        " FROM read_parquet(?, filename = true, file_row_number = true) AS e"
        " LEFT JOIN tickets AS t ON t.ticket_key = e.ticket_key)"
        " WHERE bad IS NOT NULL ORDER BY filename, row_number LIMIT 1",
        [MAX_ENTITY_CHARS, MAX_LABEL_CHARS, _LABEL, list(files)],
    ).fetchone()
    if found:
        filename, row, bad, n = found
        column, why = _WHY[bad]
        raise EntityShardError(
            f"{filename}: row {row:,}, column {column!r}: {why} "
            f"({n:,} bad rows); nothing was loaded"
        )


def _check_disjoint(conn: Any, files: Sequence[str]) -> None:
    """No two entities of a ticket overlap (the tagger gives each token one label, so its
    entities never do; the same entity written twice is one). Overlapping spans would let
    a small shard give one ticket millions of entities: a 730 KB shard of every span of a
    1,500-character ticket (1.1 M entities) made each run of Batch tagging take 47 s and
    2 GB. The first overlapping row is named (file, row, column)."""
    found = conn.execute(
        "SELECT filename, row_number, count(*) OVER () FROM ("
        ' SELECT filename, file_row_number + 1 AS row_number, start, "end", label,'
        '  lag(start) OVER w AS p_start, lag("end") OVER w AS p_end,'
        "  lag(label) OVER w AS p_label"
        " FROM read_parquet(?, filename = true, file_row_number = true)"
        ' WINDOW w AS (PARTITION BY ticket_key ORDER BY start, "end", label, filename,'
        " file_row_number))"
        " WHERE p_end > start"
        '  AND (p_start, p_end, p_label) IS DISTINCT FROM (start, "end", label)'
        " ORDER BY filename, row_number LIMIT 1",
        [list(files)],
    ).fetchone()
    if found:
        filename, row, n = found
        raise EntityShardError(
            f"{filename}: row {row:,}, column 'start': an entity that overlaps another of "
            f"the same ticket (the tagger never writes overlapping entities) ({n:,} bad "
            "rows); nothing was loaded"
        )


# -- loading -------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


_INSERT_ENTITIES = (
    'INSERT INTO entities (ticket_key, model_id, start, "end", label, text, score)'
    ' SELECT e.ticket_key, e.model_id, e.start, e."end", e.label, min(e.text), min(e.score)'
    " FROM read_parquet(?) AS e JOIN _shard_new_keys AS k ON k.ticket_key = e.ticket_key"
    ' ANTI JOIN (SELECT ticket_key, start, "end", label FROM entities WHERE model_id = ?'
    "  AND ticket_key IN (SELECT ticket_key FROM _shard_new_keys)) AS x"
    '  ON x.ticket_key = e.ticket_key AND x.start = e.start AND x."end" = e."end"'
    "  AND x.label = e.label"
    ' GROUP BY k.pos, e.ticket_key, e.model_id, e.start, e."end", e.label'
    ' ORDER BY k.pos, e.start, e."end", e.label'
)
"""The new tickets' entities (``_shard_new_keys``), once each, in their tickets' creation
order: the store's entity rows then follow the days as the Entities page's entity pick
expects (``analytics.explore.tickets._mentions_in``), whatever order the shards hold them
in. Rows the store has already (of a ticket not counted as tagged) are left out here rather
than by ``ON CONFLICT DO NOTHING``: DuckDB does not keep an ``ORDER BY``'s order in an
insert with a conflict clause (its chunks are appended by several threads), and does in a
plain insert."""


def load_entity_shards(store: Any, folder: Path | str) -> ShardLoadReport:
    """Load the complete shards of ``folder`` into the store (one transaction, idempotent).

    For each ticket listed in the shards' ``_tagged`` files that is in the store and has no
    ``tagged_tickets`` row for the folder's model yet, its entities (ticket by ticket in
    creation order, see :data:`_INSERT_ENTITIES`) and its ``tagged_tickets`` row are
    inserted; a ``tagging_runs`` row (status ``done``, device
    ``ray:<device>``) records the load when it added anything. Tickets not in the store are
    counted (ingest the same input files, then load again).

    Raises:
        EntityShardError: not a shard folder, a shard's columns or values are wrong (the
            message names the file and column); nothing was written.
    """
    folder = Path(folder)
    model_id, shards, incomplete = _validate(folder)
    bad_rows = sum(len(m.get("bad_rows") or []) for _, m in shards)
    if not shards:
        return ShardLoadReport(str(folder), model_id, 0, incomplete, bad_rows=bad_rows)
    entity_files = [str(shard_paths(folder, n).entities) for n, _ in shards]
    tagged_files = [str(shard_paths(folder, n).tagged) for n, _ in shards]
    sentiment_files = [str(shard_paths(folder, n).sentiment) for n, m in shards if "sentiment" in m]
    devices = sorted({str(m.get("device") or "?") for _, m in shards})
    finished = [str(m.get("finished_at") or "")[:19] for _, m in shards]
    run_id = f"shards-{uuid.uuid4().hex}"

    def write(conn: Any) -> tuple[int, int, int, int, int]:
        _check_values(conn, entity_files, model_id)
        if sentiment_files:
            _check_sentiment(conn, sentiment_files, model_id)
        listed, in_store = conn.execute(
            "SELECT count(DISTINCT g.ticket_key),"
            " count(DISTINCT g.ticket_key) FILTER (WHERE t.ticket_key IS NOT NULL)"
            " FROM read_parquet(?) AS g LEFT JOIN tickets AS t ON t.ticket_key = g.ticket_key",
            [tagged_files],
        ).fetchone()
        # tickets in the shards, in the store, and not yet tagged by the model, numbered in
        # the order of their creation (the order their entity rows are written in)
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE _shard_new_keys AS"
            " SELECT t.ticket_key,"
            " row_number() OVER (ORDER BY t.created_at NULLS LAST, t.ticket_key) AS pos"
            " FROM (SELECT DISTINCT ticket_key FROM read_parquet(?)) AS g"
            " JOIN tickets AS t ON t.ticket_key = g.ticket_key"
            " ANTI JOIN (SELECT ticket_key FROM tagged_tickets WHERE model_id = ?) AS d"
            " ON d.ticket_key = g.ticket_key",
            [tagged_files, model_id],
        )
        # the entity roll-ups follow the new tickets' tags in this transaction
        # (data.rollup_upkeep)
        with rollup_upkeep.maintained(
            conn,
            "SELECT ticket_key FROM _shard_new_keys",
            parts=(rollup_tables.TAGS,),
            model_id=model_id,
        ):
            entities = conn.execute(_INSERT_ENTITIES, [entity_files, model_id]).fetchone()[0]
            sentiments = 0
            if sentiment_files:
                sentiments = conn.execute(
                    "INSERT INTO ticket_sentiment (ticket_key, model_id, label, score)"
                    " SELECT s.ticket_key, s.model_id, arg_min(s.label, s.score),"
                    " min(s.score) FROM read_parquet(?) AS s"
                    " SEMI JOIN _shard_new_keys AS k ON k.ticket_key = s.ticket_key"
                    " GROUP BY s.ticket_key, s.model_id ON CONFLICT DO NOTHING",
                    [sentiment_files],
                ).fetchone()[0]
            now = _now()
            tickets = conn.execute(
                "INSERT INTO tagged_tickets (ticket_key, model_id, run_id, tagged_at)"
                " SELECT ticket_key, ?, ?, ? FROM _shard_new_keys ON CONFLICT DO NOTHING",
                [model_id, run_id, now],
            ).fetchone()[0]
        conn.execute("DROP TABLE _shard_new_keys")
        if tickets:  # the load is the run that brought these tickets into the store
            conn.execute(
                "INSERT INTO tagging_runs (run_id, model_id, device, started_at, finished_at,"
                " status, tickets, entities, message) VALUES (?, ?, ?, ?, ?, 'done', ?, ?, ?)",
                [
                    run_id,
                    model_id,
                    "ray:" + "+".join(devices),
                    now,
                    now,
                    tickets,
                    entities,
                    f"loaded from {len(shards)} entity shards in {folder} (tagged on Ray, "
                    f"finished {max(finished)})",
                ],
            )
        return int(listed), int(in_store), int(tickets), int(entities), int(sentiments)

    listed, in_store, tickets, entities, sentiments = store.write(write)
    return ShardLoadReport(
        str(folder),
        model_id,
        len(shards),
        incomplete,
        tickets=listed,
        new_tickets=tickets,
        new_entities=entities,
        new_sentiments=sentiments,
        not_in_store=listed - in_store,
        bad_rows=bad_rows,
        run_id=run_id if tickets else None,
    )
