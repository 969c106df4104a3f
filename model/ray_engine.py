"""Batch tagging on Ray Data: the local engine and tagger, on one machine or a cluster.

``python -m model tag --engine ray --input DIR_OR_GLOB --output DIR`` tags a folder (or
glob) of ticket files — CSV, TSV, JSONL, Parquet, gzipped or not — into a folder of entity
shards (:mod:`data.entity_shards`) that ``python -m data ingest DIR`` and the Batch tagging
page load into the store. Nothing here is a home-made cluster; the work is one Ray Data
pipeline::

    input files ──read (tasks)──> keyed rows ──map_batches (actor pool)──> entity rows ──> driver
      one task per file             ticket_key as ingest    one Tagger per actor,      one shard
      data.keyed_tickets            computes it             GPU when the cluster has   per input
                                                            them, else 1 CPU each      file

- **Same engine, same model.** Each actor builds its tagger with
  ``Tagger.load(model_dir, device=...)`` — exactly what ``python -m model tag`` does — and
  calls ``tagger.tag(texts, batch_size=...)`` on batches of ``4 × batch_size`` tickets (the
  group size of :func:`model.jobs.tag_store`); scores are rounded to
  :data:`model.jobs.SCORE_DECIMALS` as the store does. The actor checks that its tagger has
  the model id the driver computed from the artefact (:func:`model.tagger.model_id_of`), so
  nodes with different artefacts fail loudly instead of mixing.
- **Ticket keys.** Rows are read by :func:`data.keyed_tickets.keyed_ticket_chunks`: ingest's
  reader, column mapping and normalisation, and ingest's own key SQL. Entities of a shard
  therefore join the tickets that ``python -m data ingest`` stores from the same file; the
  id column, when there is one, is part of that key (as in ingest) and kept in ``_tagged``.
- **Bad rows** (missing, empty or non-text text) are not tagged, reported (file, row,
  column) on stderr and recorded in the shard's marker; a file that cannot be read at all
  (or lacks a text column) fails alone: it is reported, gets no marker, and the command
  exits 2 after finishing the other files.
- **Output and reruns.** The driver receives only entity rows (not texts), collects them
  per input file and, once every row of the file is back, writes its shard atomically
  (temporary name, rename) and then its completion marker. A rerun skips every shard whose
  marker names the same model and the same input (path, size, mtime) and rewrites the rest,
  so a run killed at any moment is finished by running the same command again, without a
  duplicate row. Rows that Ray re-executes after a worker failure are deduplicated by row
  number before writing.
- **Sentiment.** With a two-head tagger (``tagger.has_sentiment``) the actor takes entities
  and sentiment from the same pass (``tag_with_sentiment``) and the shard gets
  ``_sentiment/<name>.parquet`` (the ``ticket_sentiment`` columns: ticket_key, model_id,
  label, score rounded as the store does), written atomically *before* the shard's files and
  its marker, so a complete shard always has it; ``data.entity_shards.load_entity_shards``
  loads it into ``ticket_sentiment`` with the entities.
- **One model per folder.** The output folder's manifest names its model; a run with
  another model is refused (:class:`~data.entity_shards.EntityShardError`) — use another
  folder — so the entities of two models never mix.
- **Resources.** GPU workers take ``--num-gpus-per-worker`` GPUs (default 1 when the cluster
  has GPUs) and one CPU each; CPU workers take one CPU and one torch thread each, as many
  as the cluster has CPUs. Reading asks for no CPU of its own (it is light next to the
  model), so the workers can take every CPU without starving it. ``--num-workers`` sets the
  pool size.
- **Ray itself** is imported lazily (``python -m model`` works without it; ``--engine ray``
  then says ``pip install "ray[data]==2.60.0"``), usage statistics are off
  (``RAY_USAGE_STATS_ENABLED=0``), and a local instance started here (no ``--address``) is
  shut down at the end. With ``--address`` the repository is shipped to the workers as the
  job's ``working_dir`` (without ``var/``, ``.git`` and tests); inputs, output and a custom
  ``--model`` must be on a filesystem every node sees.

Example:
    >>> report = tag_on_ray("var/in/*.csv.gz", "var/shards")        # doctest: +SKIP
    >>> report.rows, report.entities, report.workers                 # doctest: +SKIP
    (120000, 301511, 2)
"""

from __future__ import annotations

import glob
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from data.entity_shards import SENTIMENT_SCHEMA
from model.errors import RayMissingError, RayTagError

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

RAY_REQUIREMENT = "ray[data]==2.60.0"
REPO_ROOT = Path(__file__).resolve().parents[1]
_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".jsonl", ".ndjson", ".parquet", ".pq")
_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
        "RAY_USAGE_STATS_ENABLED": "0"}
_EXCLUDES = ["var/", ".git/", "tests/", "docs/", "model/datasets/", "*.duckdb", "*.duckdb.wal",
             "__pycache__/", ".venv/"]

__all__ = ["RAY_REQUIREMENT", "RayMissingError", "RayTagError", "RayTagReport", "ShardResult",
           "WorkerPlan", "find_inputs", "plan_workers", "tag_on_ray"]


@dataclass(frozen=True)
class ShardResult:
    """One input file's shard: tagged now, or skipped because it was complete already."""

    input: str
    name: str
    rows: int
    tagged: int
    entities: int
    bad_rows: list[dict[str, Any]]
    skipped: bool = False


@dataclass(frozen=True)
class WorkerPlan:
    """How many tagging actors, on which device, with which resources each."""

    device: str          # "cpu" | "cuda"
    workers: int
    num_gpus: float      # per worker
    num_cpus: float      # per worker
    threads: int | None  # torch threads per worker (None: torch's default)


@dataclass
class RayTagReport:
    """What :func:`tag_on_ray` did."""

    output: str
    model_id: str
    device: str = "cpu"
    workers: int = 0
    shards: list[ShardResult] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)
    seconds: float = 0.0
    ray_init_seconds: float = 0.0

    @property
    def rows(self) -> int:
        """Input rows of the shards tagged in this run."""
        return sum(s.rows for s in self.shards if not s.skipped)

    @property
    def entities(self) -> int:
        """Entities written in this run."""
        return sum(s.entities for s in self.shards if not s.skipped)

    @property
    def bad_rows(self) -> int:
        """Rows of this run that could not be tagged."""
        return sum(len(s.bad_rows) for s in self.shards if not s.skipped)

    @property
    def skipped(self) -> int:
        """Shards that were complete already."""
        return sum(1 for s in self.shards if s.skipped)


# -- inputs and resources ------------------------------------------------------------------


def _is_table(name: str) -> bool:
    lower = name.lower()
    lower = lower[:-3] if lower.endswith(".gz") else lower
    return lower.endswith(_SUFFIXES)


def find_inputs(spec: str | Path) -> list[Path]:
    """The ticket files named by ``spec``: a file, a folder (its table files) or a glob.

    Raises:
        RayTagError: nothing matches.
    """
    text = os.fspath(spec)
    path = Path(text)
    if path.is_dir():
        files = [p for p in path.iterdir()
                 if p.is_file() and not p.name.startswith((".", "_")) and _is_table(p.name)]
    elif path.is_file():
        files = [path]
    elif any(ch in text for ch in "*?["):
        files = [Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file()]
    else:
        raise RayTagError(f"{text}: no such file, folder or glob")
    if not files:
        raise RayTagError(f"{text}: no CSV, TSV, JSONL or Parquet file there")
    return sorted({p.resolve() for p in files})


def plan_workers(resources: dict[str, float], *, device: str = "auto",
                 num_gpus_per_worker: float | None = None,
                 num_workers: int | None = None) -> WorkerPlan:
    """Decide the actor pool from the cluster's resources (``ray.cluster_resources()``).

    ``device="auto"`` uses GPUs when the cluster has them (``num_gpus_per_worker`` default
    1), else CPUs. GPU workers get one CPU each; CPU workers share the cluster's CPUs evenly
    (one torch thread per CPU).

    Raises:
        RayTagError: the request does not fit the device (GPUs asked for, none there).

    Example:
        >>> plan_workers({"CPU": 2.0})
        WorkerPlan(device='cpu', workers=2, num_gpus=0.0, num_cpus=1.0, threads=1)
        >>> plan_workers({"CPU": 64.0, "GPU": 8.0}, num_gpus_per_worker=0.5).workers
        16
    """
    cpus = float(resources.get("CPU", 0.0))
    gpus = float(resources.get("GPU", 0.0))
    if device not in ("auto", "cpu", "cuda"):
        raise RayTagError(f"unknown device {device!r} (auto, cpu or cuda)")
    if num_gpus_per_worker is not None and num_gpus_per_worker < 0:
        raise RayTagError("--num-gpus-per-worker must be 0 or more")
    if num_workers is not None and num_workers < 1:
        raise RayTagError("--num-workers must be at least 1")
    if device == "cpu" and num_gpus_per_worker:
        raise RayTagError("--num-gpus-per-worker > 0 contradicts --device cpu")
    if num_gpus_per_worker is None:
        num_gpus_per_worker = 1.0 if device == "cuda" or (device == "auto" and gpus > 0) else 0.0
    if num_gpus_per_worker > 0:
        if gpus <= 0:
            raise RayTagError("GPU workers were asked for (--device cuda or "
                              "--num-gpus-per-worker), but the Ray cluster has no GPU")
        workers = num_workers or max(1, int(gpus // num_gpus_per_worker))
        return WorkerPlan("cuda", workers, float(num_gpus_per_worker), 1.0, None)
    if device == "cuda":
        raise RayTagError("--device cuda needs --num-gpus-per-worker > 0")
    workers = num_workers or max(1, int(cpus))
    per = max(1, int(cpus // workers)) if cpus >= workers else 1
    return WorkerPlan("cpu", workers, 0.0, float(per), per)


def _fingerprint(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _now_iso() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


# -- the pipeline's stages (run on Ray workers) --------------------------------------------

_ROWS_SCHEMA = pa.schema([
    ("shard", pa.int32()), ("kind", pa.string()), ("row", pa.int64()),
    ("ticket_key", pa.string()), ("source_id", pa.string()), ("text", pa.string()),
    ("total", pa.int64()), ("problem", pa.string()), ("column", pa.string()),
])
"""Read stage → tag stage: ``kind`` ``ticket`` (one input row), ``end`` (the file's row
count in ``total``) or ``failed`` (the file could not be read; ``problem`` says why)."""

_OUT_SCHEMA = pa.schema([
    ("shard", pa.int32()), ("kind", pa.string()), ("row", pa.int64()),
    ("ticket_key", pa.string()), ("source_id", pa.string()),
    ("start", pa.int32()), ("end", pa.int32()), ("label", pa.string()), ("text", pa.string()),
    ("score", pa.float64()), ("total", pa.int64()), ("problem", pa.string()),
    ("column", pa.string()), ("sentiment_label", pa.string()),
    ("sentiment_score", pa.float64()),
])
"""Tag stage → driver: ``kind`` ``tagged`` / ``bad`` (one per input row), ``entity`` (one
per entity), and the read stage's ``end`` / ``failed`` passed through."""


def _marker_rows(shard: int, kind: str, *, total: int | None = None,
                 problem: str | None = None) -> pa.Table:
    values: dict[str, list] = {name: [None] for name in _ROWS_SCHEMA.names}
    values.update(shard=[shard], kind=[kind], total=[total], problem=[problem])
    return pa.table(values, schema=_ROWS_SCHEMA)


def read_shards(batch: pa.Table, *, text_column: str | None, id_column: str | None,
                chunksize: int) -> Iterator[pa.Table]:
    """Read stage: each input file of ``batch`` (columns shard, path) as keyed rows, then an
    ``end`` row with its row count — or a ``failed`` row when it cannot be read."""
    from data.errors import IngestError
    from data.keyed_tickets import keyed_ticket_chunks

    for item in batch.to_pylist():
        shard, path = int(item["shard"]), str(item["path"])
        total = 0
        try:
            for chunk in keyed_ticket_chunks(path, name=path, text_column=text_column,
                                             id_column=id_column, chunksize=chunksize):
                n = chunk.num_rows
                total += n
                yield pa.table({
                    "shard": pa.array([shard] * n, pa.int32()),
                    "kind": pa.array(["ticket"] * n, pa.string()),
                    "row": chunk["row"], "ticket_key": chunk["ticket_key"],
                    "source_id": chunk["source_id"], "text": chunk["text"],
                    "total": pa.nulls(n, pa.int64()), "problem": chunk["problem"],
                    "column": chunk["column"]}, schema=_ROWS_SCHEMA)
        except IngestError as exc:
            yield _marker_rows(shard, "failed", problem=str(exc))
            continue
        yield _marker_rows(shard, "end", total=total)


class TagWorker:
    """Tag stage: one tagger per actor, loaded as the local command loads it."""

    def __init__(self, *, model_dir: str | None, device: str, batch_size: int, model_id: str,
                 threads: int | None) -> None:
        import torch

        if threads:
            torch.set_num_threads(threads)
        from model.tagger import Tagger

        self.tagger = Tagger.load(model_dir, device=device)
        if self.tagger.model_id != model_id:
            where = model_dir or "the default folder"
            raise RuntimeError(
                f"this worker loaded model {self.tagger.model_id} from {where}, the driver "
                f"expected {model_id}: every node must have the same artefact")
        self.batch_size = batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Entity rows (and one tagged/bad row per ticket) of a batch of keyed rows."""
        from model.jobs import SCORE_DECIMALS

        cols = {name: batch[name].to_pylist() for name in _ROWS_SCHEMA.names}
        todo = [i for i, (kind, text) in enumerate(zip(cols["kind"], cols["text"], strict=True))
                if kind == "ticket" and text is not None]
        texts = [cols["text"][i] for i in todo]
        if getattr(self.tagger, "has_sentiment", False):
            tagged, sentiments = self.tagger.tag_with_sentiment(texts, batch_size=self.batch_size)
            mood = dict(zip(todo, sentiments, strict=True))
        else:
            tagged, mood = self.tagger.tag(texts, batch_size=self.batch_size), {}
        found = dict(zip(todo, tagged, strict=True))
        out: dict[str, list] = {name: [] for name in _OUT_SCHEMA.names}

        def add(i: int, kind: str, entity: Any = None) -> None:
            m = mood.get(i) if kind == "tagged" else None
            out["sentiment_label"].append(None if m is None else m.label)
            out["sentiment_score"].append(None if m is None
                                          else round(float(m.score), SCORE_DECIMALS))
            for name in ("shard", "row", "ticket_key", "source_id", "total"):
                out[name].append(cols[name][i])
            out["kind"].append(kind)
            bad = kind == "bad"
            out["problem"].append(cols["problem"][i] if bad or kind == "failed" else None)
            out["column"].append(cols["column"][i] if bad else None)
            for name in ("start", "end", "label", "text"):
                out[name].append(None if entity is None else getattr(entity, name))
            out["score"].append(None if entity is None
                                else round(float(entity.score), SCORE_DECIMALS))

        for i, kind in enumerate(cols["kind"]):
            if kind != "ticket":
                add(i, kind)  # end / failed markers pass through
            elif i not in found:
                add(i, "bad")
            else:
                add(i, "tagged")
                for entity in found[i]:
                    add(i, "entity", entity)
        return pa.table(out, schema=_OUT_SCHEMA)


# -- the driver ----------------------------------------------------------------------------


def _ray() -> Any:
    try:
        import ray
        import ray.data  # the Data library is what we need
    except ImportError as exc:
        raise RayMissingError(
            f'--engine ray needs Ray Data: pip install "{RAY_REQUIREMENT}" ({exc})') from None
    return ray


def _settings() -> dict[str, str]:
    """The driver's ``PRICEWAR_*`` settings (e.g. ``PRICEWAR_TAG_PRECISION``): the actors
    load the tagger as the local command would in this environment."""
    return {k: v for k, v in os.environ.items() if k.startswith("PRICEWAR_")}


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on ``host:port`` / ``ray://host:port`` that nothing listens on (Ray itself
    retries for minutes); ``auto`` and other forms are left to Ray."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise RayTagError(f"cannot reach the Ray cluster at {address} ({exc}); is its head "
                          "node running (ray start --head)?") from None


def _init_ray(ray: Any, address: str | None) -> None:
    logging.getLogger("ray").setLevel(logging.WARNING)
    if address:
        _check_reachable(address)
        try:
            ray.init(address=address, logging_level=logging.WARNING,
                     runtime_env={"working_dir": str(REPO_ROOT), "excludes": _EXCLUDES,
                                  "env_vars": {**_ENV, **_settings()}})
        except ConnectionError as exc:
            raise RayTagError(f"cannot connect to the Ray cluster at {address}: {exc} (a cluster "
                              "with token authentication also needs RAY_AUTH_MODE=token and "
                              "its token)") from None
    else:
        ray.init(include_dashboard=False, logging_level=logging.WARNING)


@dataclass
class _Pending:
    """Rows of one input file received so far."""

    input: Path
    name: str
    tables: list[pa.Table] = field(default_factory=list)
    received: int = 0          # tagged + bad rows (Ray may deliver a re-run batch twice)
    total: int | None = None   # the file's row count, from its 'end' row
    failed: str | None = None

    def add(self, table: pa.Table) -> None:
        kinds = table["kind"]
        ends = table.filter(pc.equal(kinds, "end"))
        if ends.num_rows:
            self.total = int(ends["total"][0].as_py())
        fails = table.filter(pc.equal(kinds, "failed"))
        if fails.num_rows and self.failed is None:
            self.failed = str(fails["problem"][0].as_py())
            self.tables.clear()
        if self.failed is not None:
            return
        self.received += int(pc.sum(pc.is_in(kinds, pa.array(["tagged", "bad"]))).as_py() or 0)
        self.tables.append(table)

    def complete(self) -> bool:
        if self.failed is not None or self.total is None or self.received < self.total:
            return False
        rows = pa.concat_tables(self.tables)
        rows = rows.filter(pc.is_in(rows["kind"], pa.array(["tagged", "bad"])))
        return pc.count_distinct(rows["row"]).as_py() == self.total


def _sentiment_table(rows: pa.Table, model_id: str) -> pa.Table | None:
    """One sentiment row per tagged ticket (first row wins), or ``None`` when the rows carry
    no sentiment (a tagger without the head)."""
    import duckdb

    if rows.num_rows == 0 or rows["sentiment_label"].null_count == rows.num_rows:
        return None
    with duckdb.connect() as conn:
        conn.register("r", rows)
        return conn.sql(
            "SELECT ticket_key, ? AS model_id, arg_min(sentiment_label, row) AS label,"
            " arg_min(sentiment_score, row) AS score FROM r"
            " WHERE kind = 'tagged' AND sentiment_label IS NOT NULL"
            " GROUP BY ticket_key ORDER BY min(row)", params=[model_id]
        ).to_arrow_table().cast(SENTIMENT_SCHEMA)


def _shard_tables(rows: pa.Table, model_id: str) -> tuple[pa.Table, pa.Table, list[dict]]:
    """Entities, tagged tickets and bad rows of one file's rows, deduplicated and sorted."""
    import duckdb

    with duckdb.connect() as conn:
        conn.register("r", rows)
        entities = conn.sql(
            'SELECT ticket_key, ? AS model_id, start, "end", label, text, score FROM r'
            " WHERE kind = 'entity' QUALIFY row_number() OVER"
            ' (PARTITION BY ticket_key, start, "end", label ORDER BY row) = 1'
            ' ORDER BY row, start, "end", label', params=[model_id]).to_arrow_table()
        tagged = conn.sql(
            "SELECT ticket_key, min(row) AS row, arg_min(source_id, row) AS source_id FROM r"
            " WHERE kind = 'tagged' GROUP BY ticket_key ORDER BY row").to_arrow_table()
        bad = conn.sql("SELECT DISTINCT row, \"column\", problem FROM r WHERE kind = 'bad'"
                       " ORDER BY row").fetchall()
    return entities, tagged, [{"row": r, "column": c, "problem": p} for r, c, p in bad]


def tag_on_ray(
    inputs: str | Path | Sequence[Path],
    output: str | Path,
    *,
    model_dir: str | Path | None = None,
    address: str | None = None,
    device: str = "auto",
    num_gpus_per_worker: float | None = None,
    num_workers: int | None = None,
    batch_size: int = 64,
    precision: str | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    chunksize: int = 5000,
    progress: Callable[[int, int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    on_shard: Callable[[ShardResult], None] | None = None,
) -> RayTagReport:
    """Tag ticket files on Ray Data into a folder of entity shards (see the module doc).

    Args:
        inputs: a file, a folder or a glob (:func:`find_inputs`), or a list of files.
        output: the shard folder (created; one model per folder).
        model_dir: tagger artefact (default: the committed default tagger).
        address: a running Ray cluster (``auto``, ``host:6379``, ``ray://host:10001``);
            default: an already initialised Ray, else a local instance for this call.
        device: ``auto`` (GPUs when the cluster has them), ``cpu`` or ``cuda``.
        num_gpus_per_worker: GPUs per actor (fractions share a GPU); default 1 with GPUs.
        num_workers: actors in the pool (default: every GPU, else every CPU).
        batch_size: windows per forward pass (as the local command's ``--batch-size``).
        precision: the tagger's arithmetic, as the local command's ``--precision``; handed
            to the actors as ``PRICEWAR_TAG_PRECISION`` (default: the driver's setting).
        text_column, id_column: override ingest's column detection.
        chunksize: rows per block read from a file.
        progress: ``progress(tickets_done, shards_done, shards_total)`` as results come in.
        warn: called with one line per bad row (20 per file at most, then a count).
        on_shard: called with each shard's result once it is written (or skipped).

    Raises:
        RayTagError: no input, or the resources do not fit; RayMissingError: no Ray;
        model.tagger.ModelNotFoundError: no tagger at ``model_dir``;
        data.entity_shards.EntityShardError: ``output`` holds another model's entities.
    """
    from data.entity_shards import (
        check_folder_model,
        read_marker,
        remove_shard,
        remove_temporary,
        shard_name,
        write_shard,
    )
    from model.tagger import DEFAULT_MODEL_DIR, model_id_of

    started = time.monotonic()
    files = (find_inputs(inputs) if isinstance(inputs, str | os.PathLike)
             else sorted({Path(p).resolve() for p in inputs}))
    if batch_size < 1:
        raise RayTagError("--batch-size must be at least 1")
    model_path = Path(model_dir).resolve() if model_dir is not None else None
    model_id = model_id_of(model_path or DEFAULT_MODEL_DIR)
    output = Path(output)
    files = [f for f in files if output.resolve() not in f.parents]  # not our own shards
    if not files:
        raise RayTagError(f"no input file outside the output folder {output}")
    check_folder_model(output, model_id)
    remove_temporary(output)
    report = RayTagReport(str(output), model_id)
    pending: dict[int, _Pending] = {}
    for f in files:
        name = shard_name(f)
        marker = read_marker(output, name)
        if (marker is not None and marker.get("model_id") == model_id
                and marker.get("input") == _fingerprint(f)):
            result = ShardResult(str(f), name, int(marker["rows"]), int(marker["tagged"]),
                                 int(marker["entities"]), list(marker.get("bad_rows") or []),
                                 skipped=True)
            report.shards.append(result)
            if on_shard is not None:
                on_shard(result)
            continue
        remove_shard(output, name)  # half-written or stale: redo it
        pending[len(pending)] = _Pending(f, name)
    if not pending:
        report.seconds = time.monotonic() - started
        return report

    ray = _ray()
    own = not ray.is_initialized()
    if own:
        t0 = time.monotonic()
        _init_ray(ray, address)
        report.ray_init_seconds = time.monotonic() - t0
    try:
        plan = plan_workers(ray.cluster_resources(), device=device,
                            num_gpus_per_worker=num_gpus_per_worker, num_workers=num_workers)
        report.device, report.workers = plan.device, plan.workers
        settings = _settings() | ({"PRICEWAR_TAG_PRECISION": precision} if precision else {})
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the caller's progress callback shows progress
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # says so
        ctx.execution_options.preserve_order = False
        paths = ray.data.from_items(
            [{"shard": k, "path": str(p.input)} for k, p in pending.items()],
            override_num_blocks=len(pending))
        rows = paths.map_batches(
            read_shards, batch_size=1, batch_format="pyarrow", num_cpus=0,
            compute=ray.data.TaskPoolStrategy(size=min(len(pending), max(2, plan.workers))),
            fn_kwargs={"text_column": text_column, "id_column": id_column,
                       "chunksize": chunksize})
        tagged = rows.map_batches(
            TagWorker, batch_size=4 * batch_size, batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=plan.workers),
            num_cpus=plan.num_cpus, num_gpus=plan.num_gpus or None,
            runtime_env={"env_vars": settings} if settings else None,
            fn_constructor_kwargs={"model_dir": str(model_path) if model_path else None,
                                   "device": plan.device, "batch_size": batch_size,
                                   "model_id": model_id, "threads": plan.threads})
        run_started = _now_iso()
        done_rows = shards_done = 0
        shards_total = len(files)
        shards_done = report.skipped
        for block in _quiet(tagged.iter_batches(batch_size=None, batch_format="pyarrow")):
            for value in pc.unique(block["shard"]).to_pylist():
                item = pending.get(int(value))
                if item is None:
                    continue
                before = item.received
                item.add(block.filter(pc.equal(block["shard"], value)))
                done_rows += item.received - before
                if item.failed is not None:
                    report.failed.append((str(item.input), item.failed))
                    del pending[int(value)]
                    shards_done += 1
                elif item.complete():
                    result = _finish(item, output, model_id, plan, run_started, write_shard,
                                     warn)
                    report.shards.append(result)
                    del pending[int(value)]
                    shards_done += 1
                    if on_shard is not None:
                        on_shard(result)
            if progress is not None:
                progress(done_rows, shards_done, shards_total)
        for item in pending.values():  # cannot happen unless Ray lost rows: say so
            report.failed.append((str(item.input), "incomplete: the pipeline ended before "
                                  f"all its rows came back ({item.received} of {item.total})"))
    finally:
        if own:
            ray.shutdown()
    report.seconds = time.monotonic() - started
    return report


def _quiet(blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """``blocks`` without Ray Data's hint that a pool got fewer inputs than workers (few or
    small files): true, harmless, and a warning would fail a run under ``-W error``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The (minimum|maximum) number of concurrent",
                                category=UserWarning)
        yield from blocks


def _finish(item: _Pending, output: Path, model_id: str, plan: WorkerPlan, run_started: str,
            write_shard: Callable[..., Any], warn: Callable[[str], None] | None) -> ShardResult:
    """Write one complete file's shard and its marker; report its bad rows."""
    rows = pa.concat_tables(item.tables).cast(_OUT_SCHEMA)
    entities, tagged, bad = _shard_tables(rows, model_id)
    total = int(item.total or 0)
    sentiment = _sentiment_table(rows, model_id)  # written before the marker, with the shard
    write_shard(output, item.name, entities, tagged, {
        "name": item.name, "input": _fingerprint(item.input), "model_id": model_id,
        "engine": "ray", "device": plan.device, "workers": plan.workers, "rows": total,
        "tagged": total - len(bad), "tickets": tagged.num_rows, "entities": entities.num_rows,
        "bad_rows": bad, "started_at": run_started, "finished_at": _now_iso()},
        sentiment=sentiment)
    if warn is not None:
        for b in bad[:20]:
            warn(f"{item.input}: row {b['row']}, column {b['column']!r}: {b['problem']}")
        if len(bad) > 20:
            warn(f"{item.input}: … {len(bad) - 20} more bad rows (see "
                 f"{output / '_done' / (item.name + '.json')})")
    return ShardResult(str(item.input), item.name, total, total - len(bad), entities.num_rows,
                       bad)
