"""Batch tagging on Ray Data: the local engine and tagger, on one machine or a cluster.

``python -m model tag --engine ray --input DIR_OR_GLOB --output DIR`` tags a folder (or
glob) of ticket files into a folder of entity shards (:mod:`data.entity_shards`) that
``python -m data ingest DIR`` and the Batch tagging page load into the store. One Ray Data
pipeline, no home-made cluster::

    input files ──read (tasks)──> keyed rows ──map_batches (actor pool)──> entity rows ──> driver
      one task per file             ticket_key as ingest    one Tagger per actor,      one shard
      (model/ray_stages.py)         computes it             GPU when the cluster has   per input
                                                            them, else 1 CPU each      file
                                                                                (model/ray_shards.py)

This module finds the inputs, plans the workers, starts Ray and wires the pipeline. The
promises (the README's "From one machine to a cluster" says them for users): each actor
loads ``Tagger.load(model_dir, device=...)`` as the local command does and checks the model
id the driver computed; ticket keys are ingest's (:mod:`data.keyed_tickets`); bad rows are
reported by file, row and column and recorded in the marker; a shard (its sentiment first,
then its entities, then its completion marker) is written atomically once every row of its
file is back, so a rerun skips complete shards and redoes the rest without a duplicate;
one output folder holds one model; Ray is imported lazily, with usage statistics off.

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
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from model.errors import RayMissingError, RayTagError
from model.ray_shards import PendingShard, ShardResult, fingerprint, finish_shard, now_iso
from model.ray_stages import TagWorker, read_shards

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

RAY_REQUIREMENT = "ray[data]==2.60.0"
REPO_ROOT = Path(__file__).resolve().parents[1]
_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".jsonl", ".ndjson", ".parquet", ".pq")
_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "RAY_USAGE_STATS_ENABLED": "0",
}
_EXCLUDES = [
    "var/",
    ".git/",
    "tests/",
    "docs/",
    "model/datasets/",
    "*.duckdb",
    "*.duckdb.wal",
    "__pycache__/",
    ".venv/",
]

__all__ = [
    "RAY_REQUIREMENT",
    "RayTagReport",
    "WorkerPlan",
    "find_inputs",
    "plan_workers",
    "tag_on_ray",
]


@dataclass(frozen=True)
class WorkerPlan:
    """How many tagging actors, on which device, with which resources each."""

    device: str  # "cpu" | "cuda"
    workers: int
    num_gpus: float  # per worker
    num_cpus: float  # per worker
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
        files = [
            p
            for p in path.iterdir()
            if p.is_file() and not p.name.startswith((".", "_")) and _is_table(p.name)
        ]
    elif path.is_file():
        files = [path]
    elif any(ch in text for ch in "*?["):
        files = [Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file()]
    else:
        raise RayTagError(f"{text}: no such file, folder or glob")
    if not files:
        raise RayTagError(f"{text}: no CSV, TSV, JSONL or Parquet file there")
    return sorted({p.resolve() for p in files})


def plan_workers(
    resources: dict[str, float],
    *,
    device: str = "auto",
    num_gpus_per_worker: float | None = None,
    num_workers: int | None = None,
) -> WorkerPlan:
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
            raise RayTagError(
                "GPU workers were asked for (--device cuda or "
                "--num-gpus-per-worker), but the Ray cluster has no GPU"
            )
        workers = num_workers or max(1, int(gpus // num_gpus_per_worker))
        return WorkerPlan("cuda", workers, float(num_gpus_per_worker), 1.0, None)
    if device == "cuda":
        raise RayTagError("--device cuda needs --num-gpus-per-worker > 0")
    workers = num_workers or max(1, int(cpus))
    per = max(1, int(cpus // workers)) if cpus >= workers else 1
    return WorkerPlan("cpu", workers, 0.0, float(per), per)


# -- the driver ----------------------------------------------------------------------------


def _ray() -> Any:
    try:
        import ray
        import ray.data  # the Data library is what we need
    except ImportError as exc:
        raise RayMissingError(
            f'--engine ray needs Ray Data: pip install "{RAY_REQUIREMENT}" ({exc})'
        ) from None
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
        raise RayTagError(
            f"cannot reach the Ray cluster at {address} ({exc}); is its head "
            "node running (ray start --head)?"
        ) from None


def _init_ray(ray: Any, address: str | None) -> None:
    logging.getLogger("ray").setLevel(logging.WARNING)
    if address:
        _check_reachable(address)
        try:
            ray.init(
                address=address,
                logging_level=logging.WARNING,
                runtime_env={
                    "working_dir": str(REPO_ROOT),
                    "excludes": _EXCLUDES,
                    "env_vars": {**_ENV, **_settings()},
                },
            )
        except ConnectionError as exc:
            raise RayTagError(
                f"cannot connect to the Ray cluster at {address}: {exc} (a cluster "
                "with token authentication also needs RAY_AUTH_MODE=token and "
                "its token)"
            ) from None
    else:
        ray.init(include_dashboard=False, logging_level=logging.WARNING)


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
        model.errors.ModelNotFoundError: no tagger at ``model_dir``;
        data.entity_shards.EntityShardError: ``output`` holds another model's entities.
    """
    from data.entity_shards import check_folder_model, remove_temporary
    from model.artefact import DEFAULT_MODEL_DIR, model_id_of

    started = time.monotonic()
    files = (
        find_inputs(inputs)
        if isinstance(inputs, str | os.PathLike)
        else sorted({Path(p).resolve() for p in inputs})
    )
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
    pending = _shards_to_tag(files, output, model_id, report, on_shard)
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
        plan = plan_workers(
            ray.cluster_resources(),
            device=device,
            num_gpus_per_worker=num_gpus_per_worker,
            num_workers=num_workers,
        )
        report.device, report.workers = plan.device, plan.workers
        tagged = _pipeline(
            ray,
            pending,
            plan,
            {
                "model_dir": str(model_path) if model_path else None,
                "device": plan.device,
                "batch_size": batch_size,
                "model_id": model_id,
                "threads": plan.threads,
            },
            precision=precision,
            read_options={
                "text_column": text_column,
                "id_column": id_column,
                "chunksize": chunksize,
            },
        )
        _collect(
            tagged,
            pending,
            output,
            report,
            total_shards=len(files),
            progress=progress,
            warn=warn,
            on_shard=on_shard,
        )
    finally:
        if own:
            ray.shutdown()
    report.seconds = time.monotonic() - started
    return report


def _shards_to_tag(
    files: list[Path],
    output: Path,
    model_id: str,
    report: RayTagReport,
    on_shard: Callable[[ShardResult], None] | None,
) -> dict[int, PendingShard]:
    """The files whose shard must be (re)written, by shard number; a file whose marker names
    this model and this very input is reported as skipped instead."""
    from data.entity_shards import read_marker, remove_shard, shard_name

    pending: dict[int, PendingShard] = {}
    for f in files:
        name = shard_name(f)
        marker = read_marker(output, name)
        if (
            marker is not None
            and marker.get("model_id") == model_id
            and marker.get("input") == fingerprint(f)
        ):
            result = ShardResult(
                str(f),
                name,
                int(marker["rows"]),
                int(marker["tagged"]),
                int(marker["entities"]),
                list(marker.get("bad_rows") or []),
                skipped=True,
            )
            report.shards.append(result)
            if on_shard is not None:
                on_shard(result)
            continue
        remove_shard(output, name)  # half-written or stale: redo it
        pending[len(pending)] = PendingShard(f, name)
    return pending


def _pipeline(
    ray: Any,
    pending: dict[int, PendingShard],
    plan: WorkerPlan,
    worker_options: dict[str, Any],
    *,
    precision: str | None,
    read_options: dict[str, Any],
) -> Any:
    """The Ray Data pipeline: read tasks (one per file, no CPU of their own) into the pool
    of tagging actors; iterate it for the entity rows."""
    settings = _settings() | ({"PRICEWAR_TAG_PRECISION": precision} if precision else {})
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # the caller's progress callback shows progress
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # says so
    ctx.execution_options.preserve_order = False
    paths = ray.data.from_items(
        [{"shard": k, "path": str(p.input)} for k, p in pending.items()],
        override_num_blocks=len(pending),
    )
    rows = paths.map_batches(
        read_shards,
        batch_size=1,
        batch_format="pyarrow",
        num_cpus=0,
        compute=ray.data.TaskPoolStrategy(size=min(len(pending), max(2, plan.workers))),
        fn_kwargs=read_options,
    )
    return rows.map_batches(
        TagWorker,
        batch_size=4 * worker_options["batch_size"],
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=plan.workers),
        num_cpus=plan.num_cpus,
        num_gpus=plan.num_gpus or None,
        runtime_env={"env_vars": settings} if settings else None,
        fn_constructor_kwargs=worker_options,
    )


def _collect(
    tagged: Any,
    pending: dict[int, PendingShard],
    output: Path,
    report: RayTagReport,
    *,
    total_shards: int,
    progress: Callable[[int, int, int], None] | None,
    warn: Callable[[str], None] | None,
    on_shard: Callable[[ShardResult], None] | None,
) -> None:
    """Gather the pipeline's rows per file and write each file's shard once all its rows
    are in (``pending`` is emptied as shards are written or fail)."""
    run_started = now_iso()
    done_rows = 0
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
                result = finish_shard(
                    item,
                    output,
                    report.model_id,
                    device=report.device,
                    workers=report.workers,
                    run_started=run_started,
                    warn=warn,
                )
                report.shards.append(result)
                del pending[int(value)]
                shards_done += 1
                if on_shard is not None:
                    on_shard(result)
        if progress is not None:
            progress(done_rows, shards_done, total_shards)
    for item in pending.values():  # cannot happen unless Ray lost rows: say so
        report.failed.append(
            (
                str(item.input),
                "incomplete: the pipeline ended before "
                f"all its rows came back ({item.received} of {item.total})",
            )
        )


def _quiet(blocks: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """``blocks`` without Ray Data's hint that a pool got fewer inputs than workers (few or
    small files): true, harmless, and a warning would fail a run under ``-W error``."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"The (minimum|maximum) number of concurrent", category=UserWarning
        )
        yield from blocks
